import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { applyNagChecks } from '../../../bin/nag';
import { handlerEntry } from '../../../lib/internal';
import {
  ExternalFunctionEndpoint,
  FlinkCode,
  IRemoteFunctionEndpoint,
  StatefulFunctionsApi,
  StatefulFunctionsProcessor,
  StatefulFunctionsProcessorProps,
} from '../../../lib/processing';
import { StreamStore } from '../../../lib/storage';

process.env.JSII_DEPRECATED = 'quiet';

let tmp: string;
let jar: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'statefun-processor-'));
  jar = path.join(tmp, 'stateful-functions.jar');
  // An empty zip archive is a valid jar for asset staging: the tests need no Maven build.
  fs.writeFileSync(jar, Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ORDER_ARN = 'arn:aws:execute-api:eu-west-1:111122223333:api123/prod/POST/order';
const INVENTORY_ARN = 'arn:aws:execute-api:eu-west-1:111122223333:api123/prod/POST/inventory';

function endpoints(egressNames: { order?: string[]; inventory?: string[] } = {}): IRemoteFunctionEndpoint[] {
  return [
    ExternalFunctionEndpoint.fromUrl({
      functionType: 'order',
      endpointUrl: 'https://api123.execute-api.eu-west-1.amazonaws.com/prod/order',
      executeApiArn: ORDER_ARN,
      egressNames: egressNames.order ?? ['order-events'],
    }),
    ExternalFunctionEndpoint.fromUrl({
      functionType: 'inventory',
      endpointUrl: 'https://api123.execute-api.eu-west-1.amazonaws.com/prod/inventory',
      executeApiArn: INVENTORY_ARN,
      invocationTimeout: Duration.seconds(3),
      maxAttempts: 7,
      egressNames: egressNames.inventory ?? ['inventory-events'],
    }),
  ];
}

interface Fixture {
  app: App;
  stack: Stack;
  orderEvents: StreamStore;
  inventoryEvents: StreamStore;
}

function fixture(bundle = true): Fixture {
  // Tests of RemoteFunctions go without bundling: they assert the wiring, not the Lambda bundle.
  const app = new App(bundle ? {} : { context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'TestStack', { env: { account: '111122223333', region: 'eu-west-1' } });
  return {
    app,
    stack,
    orderEvents: new StreamStore(stack, 'OrderEvents', { createAlarms: false }),
    inventoryEvents: new StreamStore(stack, 'InventoryEvents', { createAlarms: false }),
  };
}

function processor(f: Fixture, props: Partial<StatefulFunctionsProcessorProps> = {}): StatefulFunctionsProcessor {
  return new StatefulFunctionsProcessor(f.stack, 'Functions', {
    code: FlinkCode.fromJar(jar),
    functions: endpoints(),
    ingress: [
      { eventType: 'PlaceOrder', functionType: 'order' },
      { eventType: 'RestockItem', functionType: 'inventory' },
    ],
    egress: [
      { name: 'order-events', stream: f.orderEvents.stream },
      { name: 'inventory-events', stream: f.inventoryEvents.stream },
    ],
    ...props,
  });
}

/** The property groups of the application as CloudFormation renders them. */
function groups(stack: Stack): Record<string, Record<string, unknown>> {
  const app = Object.values(Template.fromStack(stack).findResources('AWS::KinesisAnalyticsV2::Application'))[0];
  const list = app.Properties.ApplicationConfiguration.EnvironmentProperties.PropertyGroups as {
    PropertyGroupId: string;
    PropertyMap: Record<string, unknown>;
  }[];
  return Object.fromEntries(list.map((g) => [g.PropertyGroupId, g.PropertyMap]));
}

/** module.json with the tokens of its Fn::Join flattened, then parsed. */
function moduleJson(stack: Stack): Record<string, unknown> {
  const value = groups(stack).StatefulFunctions['module.json'];
  const flatten = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = v as Record<string, unknown>;
    if (o['Fn::Join']) return (o['Fn::Join'] as [string, unknown[]])[1].map(flatten).join('');
    if (o.Ref) return `REF_${o.Ref as string}`;
    return JSON.stringify(v);
  };
  return JSON.parse(flatten(value));
}

describe('StatefulFunctionsProcessor', () => {
  test('creates a 7-day event store read from TRIM_HORIZON by the runtime', () => {
    const f = fixture();
    const p = processor(f);
    const t = Template.fromStack(f.stack);
    expect(p.eventStoreStore).toBeDefined();
    t.hasResourceProperties('AWS::Kinesis::Stream', {
      RetentionPeriodHours: 168,
      StreamEncryption: { EncryptionType: 'KMS', KeyId: Match.anyValue() },
    });
    const source = groups(f.stack).KinesisSource;
    expect(source['initial.position']).toBe('TRIM_HORIZON');
    expect(JSON.stringify(source['stream.arn'])).toContain('FunctionsEventStore');
  });

  test('event store retention is configurable up to 365 days', () => {
    const f = fixture();
    processor(f, { eventStoreRetention: Duration.days(365) });
    Template.fromStack(f.stack).hasResourceProperties('AWS::Kinesis::Stream', { RetentionPeriodHours: 8760 });
  });

  test('an existing event store is read and not created', () => {
    const f = fixture();
    const store = new StreamStore(f.stack, 'Store', { createAlarms: false });
    const p = processor(f, { eventStore: store.stream });
    expect(p.eventStoreStore).toBeUndefined();
    expect(JSON.stringify(groups(f.stack).KinesisSource['stream.arn'])).toContain('Store');
    // OrderEvents, InventoryEvents, Store and the dead-letter stream.
    Template.fromStack(f.stack).resourceCountIs('AWS::Kinesis::Stream', 4);
  });

  test('module.json routes ingress to functions, lists the functions with timeout and attempts, and the egress', () => {
    const f = fixture();
    processor(f);
    expect(moduleJson(f.stack)).toEqual({
      functions: {
        order: {
          endpoint: 'https://api123.execute-api.eu-west-1.amazonaws.com/prod/order',
          timeoutMs: 5000,
          maxAttempts: 5,
        },
        inventory: {
          endpoint: 'https://api123.execute-api.eu-west-1.amazonaws.com/prod/inventory',
          timeoutMs: 3000,
          maxAttempts: 7,
        },
      },
      ingress: [
        { eventType: 'PlaceOrder', functionType: 'order' },
        { eventType: 'RestockItem', functionType: 'inventory' },
      ],
      egress: { 'order-events': {}, 'inventory-events': {} },
    });
  });

  test('requests are SigV4-signed in the stack region; concurrency is configurable', () => {
    const f = fixture();
    processor(f, { maxConcurrentCalls: 40 });
    const g = groups(f.stack).StatefulFunctions;
    expect(g['signing.region']).toBe('eu-west-1');
    expect(g['max.concurrent.calls']).toBe('40');
  });

  test('signing can be turned off for endpoints without IAM auth', () => {
    const f = fixture();
    processor(f, { signRequests: false });
    expect(groups(f.stack).StatefulFunctions['signing.region']).toBeUndefined();
  });

  test('one Egress.<name> group per egress with the stream ARN and region', () => {
    const f = fixture();
    processor(f);
    const g = groups(f.stack);
    expect(g['Egress.order-events']).toEqual({
      'stream.arn': { 'Fn::GetAtt': [expect.stringMatching(/^OrderEvents/), 'Arn'] },
      'aws.region': 'eu-west-1',
    });
    expect(g['Egress.inventory-events']['stream.arn']).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^InventoryEvents/), 'Arn'],
    });
  });

  test('the application role may invoke exactly the function methods', () => {
    const f = fixture();
    processor(f);
    Template.fromStack(f.stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'execute-api:Invoke', Resource: ORDER_ARN }),
          Match.objectLike({ Action: 'execute-api:Invoke', Resource: INVENTORY_ARN }),
        ]),
      },
    });
  });

  test('the application role may write to each egress stream and its key', () => {
    const f = fixture();
    processor(f);
    const policy = JSON.stringify(Template.fromStack(f.stack).findResources('AWS::IAM::Policy'));
    for (const stream of ['OrderEvents', 'InventoryEvents']) {
      Template.fromStack(f.stack).hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: Match.arrayWith(['kinesis:PutRecords']),
              Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${stream}`), 'Arn'] },
            }),
            Match.objectLike({
              Action: 'kms:GenerateDataKey',
              Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${stream}Key`), 'Arn'] },
            }),
          ]),
        },
      });
    }
    expect(policy).not.toContain('kinesis:*');
  });

  test('dead letters go to a 7-day stream of their own, with an alarm on any record', () => {
    const f = fixture();
    const p = processor(f);
    expect(p.deadLetterStore).toBeDefined();
    expect(JSON.stringify(groups(f.stack).DeadLetterSink['stream.arn'])).toContain('FunctionsDeadLetters');
    Template.fromStack(f.stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IncomingRecords',
      Threshold: 1,
      Dimensions: [{ Name: 'StreamName', Value: { Ref: Match.stringLikeRegexp('FunctionsDeadLetters') } }],
    });
  });

  test('state exports go to a KMS-encrypted TLS-only bucket; the role writes the prefix only', () => {
    const f = fixture();
    const p = processor(f, { stateExportInterval: Duration.minutes(2) });
    const t = Template.fromStack(f.stack);
    const exportGroup = groups(f.stack).StateExport;
    expect(exportGroup['s3.prefix']).toBe('state-exports');
    expect(exportGroup['interval.seconds']).toBe('120');
    expect(exportGroup['s3.bucket']).toEqual({ Ref: expect.stringMatching(/^FunctionsStateExportBucket/) });
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) }),
        ],
      },
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ Prefix: 'state-exports/', ExpirationInDays: 30 })],
      },
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('FunctionsStateExportBucket') },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
            Resource: {
              'Fn::Join': [
                '',
                [{ 'Fn::GetAtt': [Match.stringLikeRegexp('FunctionsStateExportBucket'), 'Arn'] }, '/state-exports/*'],
              ],
            },
          }),
        ]),
      },
    });
    expect(p.stateExportBucket).toBeDefined();
  });

  test('state export can go to a given bucket, or be turned off', () => {
    const f = fixture();
    const bucket = s3.Bucket.fromBucketName(f.stack, 'Given', 'given-bucket');
    processor(f, { stateExportBucket: bucket, stateExportPrefix: 'exports/statefun' });
    expect(groups(f.stack).StateExport['s3.bucket']).toBe('given-bucket');
    expect(groups(f.stack).StateExport['s3.prefix']).toBe('exports/statefun');

    const g = fixture();
    const p = processor(g, { stateExportEnabled: false });
    expect(groups(g.stack).StateExport).toBeUndefined();
    expect(p.stateExportBucket).toBeUndefined();
    expect(() => p.grantReadStateExports(p.role)).toThrow(/has no state export: stateExportEnabled is false/);
  });

  test('the application alarms include source lag; alarms notify the topic', () => {
    const f = fixture();
    const topic = new sns.Topic(f.stack, 'Topic');
    const p = processor(f, { alarmTopic: topic });
    expect(p.alarms.length).toBeGreaterThanOrEqual(6);
    const alarms = Object.values(Template.fromStack(f.stack).findResources('AWS::CloudWatch::Alarm'));
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Topic/) }]);
  });

  test('has no unacknowledged cdk-nag finding', () => {
    const f = fixture();
    processor(f);
    applyNagChecks(f.app);
    expect(() => f.app.synth()).not.toThrow();
  });

  describe('functions, routes and egress added after construction', () => {
    /** The statements of the application role's policy. */
    const roleStatements = (stack: Stack) =>
      Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
        .filter((p) =>
          (p.Properties.Roles as { Ref: string }[]).some((r) => /^FunctionsRuntimeServiceRole/.test(r.Ref)),
        )
        .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);

    test('a function added to a functionsApi later is in module.json with its route, and may be invoked', () => {
      const f = fixture(false);
      const api = new StatefulFunctionsApi(f.stack, 'Api');
      api.addFunction({ functionType: 'order', entry: handlerEntry('functions/order'), egressNames: ['order-events'] });
      const p = processor(f, {
        functions: [],
        functionsApis: [api],
        ingress: [{ eventType: 'PlaceOrder', functionType: 'order' }],
        egress: [{ name: 'order-events', stream: f.orderEvents.stream }],
      });
      // WHEN: added after the processor exists
      api.addFunction({ functionType: 'shipping', entry: handlerEntry('functions/inventory') });
      p.addIngress({ eventType: 'ShipmentRequested', functionType: 'shipping' });

      // THEN
      const module = moduleJson(f.stack) as {
        functions: Record<string, { endpoint: string }>;
        ingress: unknown[];
      };
      expect(Object.keys(module.functions)).toEqual(['order', 'shipping']);
      expect(module.functions.shipping.endpoint).toMatch(/^https:\/\/REF_Api.*\/shipping$/);
      expect(module.ingress).toContainEqual({ eventType: 'ShipmentRequested', functionType: 'shipping' });
      const invoke = roleStatements(f.stack).filter((st) => st.Action === 'execute-api:Invoke');
      expect(JSON.stringify(invoke.map((st) => st.Resource))).toContain('/POST/shipping');
      expect(p.functions.map((fn) => fn.functionType)).toEqual(['order', 'shipping']);
    });

    test('addFunction, addIngress and addEgress after construction are rendered, granted and checked', () => {
      const f = fixture();
      const p = processor(f);
      const shippingEvents = new StreamStore(f.stack, 'ShippingEvents', { createAlarms: false });
      p.addFunction(
        ExternalFunctionEndpoint.fromUrl({
          functionType: 'shipping',
          endpointUrl: 'https://api123.execute-api.eu-west-1.amazonaws.com/prod/shipping',
          executeApiArn: 'arn:aws:execute-api:eu-west-1:111122223333:api123/prod/POST/shipping',
          egressNames: ['shipping-events'],
        }),
      );
      p.addIngress({ eventType: 'ShipmentRequested', functionType: 'shipping' });
      p.addEgress({ name: 'shipping-events', stream: shippingEvents.stream });

      const module = moduleJson(f.stack) as { functions: Record<string, unknown>; egress: Record<string, unknown> };
      expect(module.functions.shipping).toEqual({
        endpoint: 'https://api123.execute-api.eu-west-1.amazonaws.com/prod/shipping',
        timeoutMs: 5000,
        maxAttempts: 5,
      });
      expect(Object.keys(module.egress)).toEqual(['order-events', 'inventory-events', 'shipping-events']);
      expect(groups(f.stack)['Egress.shipping-events']['stream.arn']).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/^ShippingEvents/), 'Arn'],
      });
      const statements = roleStatements(f.stack);
      expect(statements).toContainEqual(
        expect.objectContaining({
          Action: 'execute-api:Invoke',
          Resource: 'arn:aws:execute-api:eu-west-1:111122223333:api123/prod/POST/shipping',
        }),
      );
      expect(statements).toContainEqual(
        expect.objectContaining({
          Action: expect.arrayContaining(['kinesis:PutRecords']),
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ShippingEvents/), 'Arn'] },
        }),
      );
    });

    test('a function added to a functionsApi later with an undeclared egress fails synth, naming both', () => {
      const f = fixture(false);
      const api = new StatefulFunctionsApi(f.stack, 'Api');
      api.addFunction({ functionType: 'order', entry: handlerEntry('functions/order') });
      const p = processor(f, {
        functions: [],
        functionsApis: [api],
        ingress: [{ eventType: 'PlaceOrder', functionType: 'order' }],
      });
      api.addFunction({
        functionType: 'shipping',
        entry: handlerEntry('functions/inventory'),
        egressNames: ['shipping-events'],
      });
      // Routed, so the undeclared egress is what fails, at synth and not when the function is added.
      p.addIngress({ eventType: 'ShipmentRequested', functionType: 'shipping' });
      expect(() => f.app.synth()).toThrow(
        /function 'shipping' writes to egress 'shipping-events', which is not declared \(egress: order-events, inventory-events\)/,
      );
    });

    test('a function nothing calls fails synth; one reached through messageTargets does not', () => {
      const called = (name: string, messageTargets: string[] = []) =>
        ExternalFunctionEndpoint.fromUrl({
          functionType: name,
          endpointUrl: `https://api123.execute-api.eu-west-1.amazonaws.com/prod/${name}`,
          messageTargets,
        });
      const f = fixture();
      const p = processor(f, {
        functions: [],
        egress: [],
        ingress: [{ eventType: 'PlaceOrder', functionType: 'order' }],
      });
      p.addFunction(called('order', ['payment']));
      p.addFunction(called('payment', ['ledger']));
      p.addFunction(called('ledger'));
      p.addFunction(called('shipping', ['shipping']));
      expect(() => f.app.synth()).toThrow(
        /function 'shipping' is never called: no ingress route targets it and no called function lists it in messageTargets/,
      );
      expect(() => f.app.synth()).not.toThrow(/function '(payment|ledger)' is never called/);
    });

    test('a message target that is no function fails synth', () => {
      const f = fixture();
      processor(f, {
        functions: endpoints().map((e) =>
          e.functionType === 'order'
            ? ExternalFunctionEndpoint.fromUrl({
                functionType: 'order',
                endpointUrl: e.endpointUrl,
                egressNames: ['order-events'],
                messageTargets: ['inventroy'],
              })
            : e,
        ),
      });
      expect(() => f.app.synth()).toThrow(
        /function 'order' sends messages to unknown function type 'inventroy' \(functions: order, inventory\)/,
      );
    });

    test('route and egress formats and duplicates are rejected when added', () => {
      const f = fixture();
      const p = processor(f);
      expect(() => p.addIngress({ eventType: 'PlaceOrder', functionType: 'inventory' })).toThrow(
        /ingress routes event type 'PlaceOrder' twice/,
      );
      expect(() => p.addEgress({ name: 'order-events', stream: f.inventoryEvents.stream })).toThrow(
        /egress names must be unique, got 'order-events' twice/,
      );
      expect(() => p.addEgress({ name: 'bad name', stream: f.inventoryEvents.stream })).toThrow(
        /egress name must match .* got 'bad name'/,
      );
      expect(() => p.addFunction(endpoints()[0])).toThrow(/function types must be unique, got 'order' twice/);
      expect(() =>
        ExternalFunctionEndpoint.fromUrl({
          functionType: 'shipping',
          endpointUrl: 'https://example.com/shipping',
          messageTargets: ['Order Service'],
        }),
      ).toThrow(/messageTargets entry must match .* got 'Order Service'/);
    });
  });

  describe('validation', () => {
    // References are checked at synth, when every add* call has been made.
    test('an ingress route to an unknown function type fails synth', () => {
      const f = fixture();
      processor(f, {
        ingress: [
          { eventType: 'PlaceOrder', functionType: 'order' },
          { eventType: 'RestockItem', functionType: 'inventory' },
          { eventType: 'ShipOrder', functionType: 'shipping' },
        ],
      });
      expect(() => f.app.synth()).toThrow(
        /ingress for 'ShipOrder' targets unknown function type 'shipping' \(functions: order, inventory\)/,
      );
    });

    test('a function writing to an undeclared egress fails synth', () => {
      const f = fixture();
      processor(f, { functions: endpoints({ order: ['orders'] }) });
      expect(() => f.app.synth()).toThrow(
        /function 'order' writes to egress 'orders', which is not declared \(egress: order-events, inventory-events\)/,
      );
    });

    test('an event type routed twice', () => {
      const f = fixture();
      expect(() =>
        processor(f, {
          ingress: [
            { eventType: 'PlaceOrder', functionType: 'order' },
            { eventType: 'PlaceOrder', functionType: 'inventory' },
          ],
        }),
      ).toThrow(/ingress routes event type 'PlaceOrder' twice/);
    });

    test('an invalid event type', () => {
      const f = fixture();
      expect(() => processor(f, { ingress: [{ eventType: 'place order', functionType: 'order' }] })).toThrow(
        /eventType must match .* got 'place order'/,
      );
    });

    test('duplicate function types and egress names', () => {
      const [order] = endpoints();
      expect(() => processor(fixture(), { functions: [order, order] })).toThrow(
        /function types must be unique, got 'order' twice/,
      );
      const g = fixture();
      expect(() =>
        processor(g, {
          egress: [
            { name: 'order-events', stream: g.orderEvents.stream },
            { name: 'order-events', stream: g.inventoryEvents.stream },
          ],
        }),
      ).toThrow(/egress names must be unique, got 'order-events' twice/);
    });

    test('no functions or no ingress fails synth', () => {
      const f = fixture();
      processor(f, { functions: [] });
      expect(() => f.app.synth()).toThrow(/functions must not be empty/);
      const g = fixture();
      processor(g, { ingress: [] });
      expect(() => g.app.synth()).toThrow(/ingress must not be empty/);
    });

    test('event store retention beyond 365 days, or with an existing event store', () => {
      const f = fixture();
      expect(() => processor(fixture(), { eventStoreRetention: Duration.days(366) })).toThrow(
        /eventStoreRetention must be between 1 day and 365 days, got 366 days/,
      );
      expect(() => processor(f, { eventStore: f.orderEvents.stream, eventStoreRetention: Duration.days(30) })).toThrow(
        /eventStoreRetention configures a new event store and cannot be combined with eventStore/,
      );
    });

    test('state export settings without state export, and a bad prefix', () => {
      expect(() => processor(fixture(), { stateExportEnabled: false, stateExportPrefix: 'x' })).toThrow(
        /stateExportPrefix need stateExportEnabled, got false/,
      );
      expect(() => processor(fixture(), { stateExportPrefix: '/exports/' })).toThrow(
        /stateExportPrefix must be key segments without leading or trailing '\/', got '\/exports\/'/,
      );
      expect(() => processor(fixture(), { stateExportInterval: Duration.seconds(5) })).toThrow(
        /stateExportInterval must be between 10 seconds and 1 day, got 5 seconds/,
      );
    });

    test('a jar in S3 is passed through unchanged to the runtime application', () => {
      const f = fixture();
      const bucket = s3.Bucket.fromBucketName(f.stack, 'Code', 'code');
      processor(f, { code: FlinkCode.fromBucket(bucket, 'runtime/stateful-functions-1.0.0.jar') });
      Template.fromStack(f.stack).hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
        ApplicationConfiguration: Match.objectLike({
          ApplicationCodeConfiguration: Match.objectLike({
            CodeContent: {
              S3ContentLocation: {
                BucketARN: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::code']] },
                FileKey: 'runtime/stateful-functions-1.0.0.jar',
              },
            },
          }),
        }),
      });
    });

    test('a module.json longer than a Managed Flink property value', () => {
      const f = fixture();
      const many = Array.from({ length: 30 }, (_, i) =>
        ExternalFunctionEndpoint.fromUrl({
          functionType: `function-number-${i}`,
          endpointUrl: `https://api123.execute-api.eu-west-1.amazonaws.com/prod/function-number-${i}`,
        }),
      );
      processor(f, {
        functions: many,
        ingress: many.map((fn, i) => ({ eventType: `Event${i}`, functionType: fn.functionType })),
      });
      expect(() => f.app.synth()).toThrow(
        /module.json must be at most 2048 characters \(a Managed Flink property value\), got at least \d+/,
      );
    });
  });
});
