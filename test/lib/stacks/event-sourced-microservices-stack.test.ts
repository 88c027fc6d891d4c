import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Lazy, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { applyNagChecks } from '../../../bin/nag';
import { FlinkCode } from '../../../lib/processing';
import {
  EventSourcedMicroservicesStack,
  EventSourcedMicroservicesStackProps,
  eventSourcedMicroservicesPropsFromContext,
} from '../../../lib/stacks';
import { alarmDeliveryProblems } from './alarm-delivery';

process.env.JSII_DEPRECATED = 'quiet';

/** The shipping function of the docs' recipe (docs/event-sourced-microservices.md). */
const SHIPPING = path.resolve(__dirname, '..', '..', '..', 'examples', 'docs', 'functions', 'shipping', 'index.ts');
const SHIPMENT_REQUESTED = {
  name: 'ShipmentRequested',
  schema: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'string' } } },
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'event-sourced-stack-'));
const jar = path.join(tmp, 'stateful-functions.jar');
// An empty zip archive is a valid jar for asset staging: the tests need no Maven build.
fs.writeFileSync(jar, Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]));

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function build(
  props: Partial<EventSourcedMicroservicesStackProps> = {},
  bundle = true,
): {
  app: App;
  stack: EventSourcedMicroservicesStack;
} {
  // Without bundling the template is the same but for asset hashes; variants that assert nothing of their Lambda
  // bundles skip it (esbuild for every function costs ~1.5 s per synth).
  const app = new App(bundle ? {} : { context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new EventSourcedMicroservicesStack(app, 'EventSourced', {
    env: { account: '111122223333', region: 'us-east-1' },
    statefulFunctionsCode: FlinkCode.fromJar(jar),
    ...props,
  });
  return { app, stack };
}

/**
 * Synthesizes with cdk-nag applied and returns the template; synth throws on an unacknowledged finding. Memoized per
 * props, so each variant is synthesized once per suite however many tests read it.
 */
const synthesized = new Map<string, { template?: Template; error?: unknown }>();
function synthWithNag(props: Partial<EventSourcedMicroservicesStackProps> = {}): Template {
  const key = JSON.stringify(props);
  if (!synthesized.has(key)) {
    const { app, stack } = build(props);
    applyNagChecks(app);
    try {
      synthesized.set(key, { template: Template.fromJSON(app.synth().getStackByName(stack.stackName).template) });
    } catch (error) {
      synthesized.set(key, { error });
    }
  }
  const { template, error } = synthesized.get(key)!;
  if (error) throw error;
  return template!;
}

/** Property groups of the Flink application, by id. */
function propertyGroups(template: Template): Record<string, Record<string, unknown>> {
  const app = Object.values(template.findResources('AWS::KinesisAnalyticsV2::Application'))[0];
  const list = app.Properties.ApplicationConfiguration.EnvironmentProperties.PropertyGroups as {
    PropertyGroupId: string;
    PropertyMap: Record<string, unknown>;
  }[];
  return Object.fromEntries(list.map((g) => [g.PropertyGroupId, g.PropertyMap]));
}

/** module.json of a template, with the tokens of its Fn::Join flattened (`REF_<id>`, `ATT_<id>`), parsed. */
function moduleJsonOf(template: Template): {
  functions: Record<string, { endpoint: string; timeoutMs: number; maxAttempts: number }>;
  ingress: { eventType: string; functionType: string }[];
  egress: Record<string, unknown>;
} {
  const flatten = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = v as Record<string, unknown>;
    if (o['Fn::Join']) return (o['Fn::Join'] as [string, unknown[]])[1].map(flatten).join('');
    if (o.Ref) return `REF_${o.Ref as string}`;
    return JSON.stringify(v);
  };
  return JSON.parse(flatten(propertyGroups(template).StatefulFunctions['module.json']));
}

/** Statements of the policies attached to roles whose logical id matches `role`. */
function statementsOf(template: Template, role: RegExp): { Action: string | string[]; Resource: unknown }[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => role.test(r.Ref)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

const logicalIdOf = (template: Template, type: string, pattern: RegExp): string => {
  const ids = Object.keys(template.findResources(type)).filter((id) => pattern.test(id));
  if (ids.length !== 1) throw new Error(`expected one ${type} matching ${pattern}, got ${ids.join(', ') || 'none'}`);
  return ids[0];
};

describe('EventSourcedMicroservicesStack', () => {
  let template: Template;
  beforeAll(() => {
    template = synthWithNag();
  });

  test('matches the snapshot (asset hashes masked)', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });

  test('CloudWatch may publish alarms to the topic and use its key (the TLS-only topic policy replaces the default)', () => {
    expect(alarmDeliveryProblems(template)).toEqual({ topicsChecked: 1, problems: [] });
  });

  test('the event store keeps 7 days by default; the egress streams too', () => {
    const eventStore = logicalIdOf(template, 'AWS::Kinesis::Stream', /^EventStore[0-9A-F]{8}$/);
    expect(template.toJSON().Resources[eventStore].Properties.RetentionPeriodHours).toBe(168);
    for (const egress of [/^OrderEvents[0-9A-F]{8}$/, /^InventoryEvents[0-9A-F]{8}$/]) {
      const id = logicalIdOf(template, 'AWS::Kinesis::Stream', egress);
      expect(template.toJSON().Resources[id].Properties.RetentionPeriodHours).toBe(168);
    }
  });

  test('retention is configurable up to 365 days', () => {
    const t = Template.fromStack(build({ eventStoreRetention: Duration.days(365) }, false).stack);
    t.hasResourceProperties('AWS::Kinesis::Stream', { RetentionPeriodHours: 8760 });
  });

  test('commands enter through POST /events/<type>, one schema per command, with a required idempotency key', () => {
    for (const name of ['PlaceOrder', 'PayOrder', 'ShipOrder', 'CancelOrder', 'RestockItem']) {
      template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: name });
      template.hasResourceProperties('AWS::ApiGateway::Model', { Name: `${name}Event` });
    }
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      Name: 'PlaceOrderEvent',
      Schema: Match.objectLike({
        properties: Match.objectLike({
          payload: Match.objectLike({ required: ['customerId', 'lines'], additionalProperties: false }),
        }),
      }),
    });
    const keyed = Object.values(template.findResources('AWS::ApiGateway::Method')).filter(
      (m) => m.Properties.RequestParameters?.['method.request.header.Idempotency-Key'] === true,
    );
    expect(keyed).toHaveLength(5);
    // The key becomes the envelope's eventId.
    for (const m of keyed)
      expect(JSON.stringify(m.Properties.Integration.RequestTemplates)).toContain("$input.params('Idempotency-Key')");
    // Only the event routes: no raw record writes into the event store.
    expect(
      Object.values(template.findResources('AWS::ApiGateway::Resource')).some(
        (r) => r.Properties.PathPart === 'records',
      ),
    ).toBe(false);
  });

  test('the ingestion role writes to the event store only', () => {
    const eventStore = logicalIdOf(template, 'AWS::Kinesis::Stream', /^EventStore[0-9A-F]{8}$/);
    const statements = statementsOf(template, /^IngestionIntegrationRole/);
    const kinesis = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('kinesis:')));
    expect(kinesis).toEqual([
      expect.objectContaining({
        Action: ['kinesis:PutRecord', 'kinesis:PutRecords'],
        Resource: { 'Fn::GetAtt': [eventStore, 'Arn'] },
      }),
    ]);
  });

  test('order and inventory functions sit behind POST /order and POST /inventory with IAM auth', () => {
    for (const entry of ['order', 'inventory']) {
      template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: entry });
    }
    const functionsApi = logicalIdOf(template, 'AWS::ApiGateway::RestApi', /^FunctionsApi[0-9A-F]{8}$/);
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).filter(
      (m) => m.Properties.RestApiId.Ref === functionsApi,
    );
    expect(methods).toHaveLength(2);
    for (const m of methods) {
      expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
      expect(m.Properties.Integration.Type).toBe('AWS_PROXY');
    }
  });

  test('the functions have no AWS permissions beyond logs and traces, and no env besides runtime settings', () => {
    for (const fn of ['order', 'inventory']) {
      const actions = statementsOf(template, new RegExp(`^FunctionsFunction${fn}ServiceRole`))
        .flatMap((s) => [s.Action].flat())
        .sort();
      expect(actions).toEqual([
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ]);
    }
  });

  test('only the Flink application role may invoke the function methods', () => {
    const invokers = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('execute-api:Invoke'),
    );
    expect(invokers).toHaveLength(1);
    expect(invokers[0].Properties.Roles).toEqual([{ Ref: expect.stringMatching(/^RuntimeServiceRole[0-9A-F]{8}$/) }]);
    const invoke = (invokers[0].Properties.PolicyDocument.Statement as { Action: string; Resource: unknown }[]).filter(
      (s) => s.Action === 'execute-api:Invoke',
    );
    const resources = JSON.stringify(invoke.map((s) => s.Resource));
    expect(resources).toContain('/POST/order');
    expect(resources).toContain('/POST/inventory');
    expect(resources).not.toContain('/*');
  });

  test('module.json routes every command to its function and declares both egresses', () => {
    const groups = propertyGroups(template);
    const moduleJson = JSON.stringify(groups.StatefulFunctions['module.json']);
    for (const [eventType, functionType] of [
      ['PlaceOrder', 'order'],
      ['PayOrder', 'order'],
      ['ShipOrder', 'order'],
      ['CancelOrder', 'order'],
      ['RestockItem', 'inventory'],
    ]) {
      expect(moduleJson).toContain(`{\\"eventType\\":\\"${eventType}\\",\\"functionType\\":\\"${functionType}\\"}`);
    }
    expect(moduleJson).toContain('\\"egress\\":{\\"order-events\\":{},\\"inventory-events\\":{}}');
    expect(groups.StatefulFunctions['signing.region']).toBe('us-east-1');
    expect(groups['Egress.order-events']['stream.arn']).toEqual({
      'Fn::GetAtt': [logicalIdOf(template, 'AWS::Kinesis::Stream', /^OrderEvents[0-9A-F]{8}$/), 'Arn'],
    });
    expect(groups['Egress.inventory-events']['stream.arn']).toEqual({
      'Fn::GetAtt': [logicalIdOf(template, 'AWS::Kinesis::Stream', /^InventoryEvents[0-9A-F]{8}$/), 'Arn'],
    });
    expect(groups.KinesisSource['stream.arn']).toEqual({
      'Fn::GetAtt': [logicalIdOf(template, 'AWS::Kinesis::Stream', /^EventStore[0-9A-F]{8}$/), 'Arn'],
    });
    expect(groups.StateExport['s3.prefix']).toBe('state-exports');
    expect(groups.DeadLetterSink['stream.arn']).toEqual({
      'Fn::GetAtt': [logicalIdOf(template, 'AWS::Kinesis::Stream', /^RuntimeDeadLetters[0-9A-F]{8}$/), 'Arn'],
    });
  });

  test('one projection per egress stream writes the read model with PutItem only', () => {
    const table = logicalIdOf(template, 'AWS::DynamoDB::Table', /^ReadModelV1Table/);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
    });
    for (const [name, stream] of [
      ['orderevents', /^OrderEvents[0-9A-F]{8}$/],
      ['inventoryevents', /^InventoryEvents[0-9A-F]{8}$/],
    ] as const) {
      const fn = logicalIdOf(
        template,
        'AWS::Lambda::Function',
        new RegExp(`^ReadModelV1Projection${name}Function[0-9A-F]{8}$`),
      );
      const props = template.toJSON().Resources[fn].Properties;
      expect(props.Environment.Variables.READ_MODEL_TABLE).toEqual({ Ref: table });
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: fn },
        EventSourceArn: { 'Fn::GetAtt': [logicalIdOf(template, 'AWS::Kinesis::Stream', stream), 'Arn'] },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      const dynamo = statementsOf(template, new RegExp(`^ReadModelV1Projection${name}ServiceRole`)).filter((s) =>
        [s.Action].flat().some((a) => a.startsWith('dynamodb:')),
      );
      expect(dynamo).toEqual([
        expect.objectContaining({ Action: 'dynamodb:PutItem', Resource: { 'Fn::GetAtt': [table, 'Arn'] } }),
      ]);
    }
  });

  test('the read model has a query API', () => {
    const readApi = logicalIdOf(template, 'AWS::ApiGateway::RestApi', /^ReadModelV1TableApi[0-9A-F]{8}$/);
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).filter(
      (m) => m.Properties.RestApiId.Ref === readApi,
    );
    expect(methods.map((m) => m.Properties.HttpMethod)).toEqual(['GET', 'GET']);
    template.hasOutput('QueryApiUrl', {
      Value: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ Ref: readApi }])] }),
    });
  });

  test('the event store and both egress streams are archived to S3 as newline-delimited raw JSON', () => {
    const streams = [/^EventStore[0-9A-F]{8}$/, /^OrderEvents[0-9A-F]{8}$/, /^InventoryEvents[0-9A-F]{8}$/].map((p) =>
      logicalIdOf(template, 'AWS::Kinesis::Stream', p),
    );
    const prefixes = ['events/', 'order-events/', 'inventory-events/'];
    template.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 3);
    streams.forEach((stream, i) => {
      template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
        KinesisStreamSourceConfiguration: {
          KinesisStreamARN: { 'Fn::GetAtt': [stream, 'Arn'] },
          RoleARN: Match.anyValue(),
        },
        ExtendedS3DestinationConfiguration: Match.objectLike({
          // The layout bin/replay/sources.ts (archivePartitions) lists.
          Prefix: `${prefixes[i]}year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/`,
          CompressionFormat: 'UNCOMPRESSED',
          DataFormatConversionConfiguration: Match.absent(),
          ProcessingConfiguration: {
            Enabled: true,
            Processors: [Match.objectLike({ Type: 'AppendDelimiterToRecord' })],
          },
        }),
      });
    });
  });

  test('the replay role reads the streams and archives and writes only to the egress streams', () => {
    const statements = statementsOf(template, /^ReplayRole[0-9A-F]{8}$/);
    const byAction = (action: string) => statements.filter((s) => [s.Action].flat().includes(action));
    const streamArn = (p: RegExp) => ({ 'Fn::GetAtt': [logicalIdOf(template, 'AWS::Kinesis::Stream', p), 'Arn'] });
    const read = byAction('kinesis:GetRecords');
    expect(read.map((s) => s.Action)).toEqual(
      Array(3).fill(['kinesis:ListShards', 'kinesis:GetShardIterator', 'kinesis:GetRecords']),
    );
    expect(read.map((s) => s.Resource)).toEqual([
      streamArn(/^EventStore[0-9A-F]{8}$/),
      streamArn(/^OrderEvents[0-9A-F]{8}$/),
      streamArn(/^InventoryEvents[0-9A-F]{8}$/),
    ]);
    const write = byAction('kinesis:PutRecords');
    expect(write.map((s) => s.Resource)).toEqual([
      streamArn(/^OrderEvents[0-9A-F]{8}$/),
      streamArn(/^InventoryEvents[0-9A-F]{8}$/),
    ]);
    expect(write.every((s) => s.Action === 'kinesis:PutRecords')).toBe(true);
    expect(byAction('s3:ListBucket')).toHaveLength(3);
    expect(byAction('s3:GetObject')).toHaveLength(3);
    const actions = new Set(statements.flatMap((s) => [s.Action].flat()));
    expect([...actions].sort()).toEqual([
      'kinesis:GetRecords',
      'kinesis:GetShardIterator',
      'kinesis:ListShards',
      'kinesis:PutRecords',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      's3:GetObject',
      's3:ListBucket',
    ]);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 's3:ListBucket',
            Condition: { StringLike: { 's3:prefix': ['order-events/*'] } },
          }),
        ]),
      },
    });
  });

  test('a CloudWatch dashboard covers the pipeline', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]);
    for (const title of ['Remote functions: p99 latency', 'Projections: iterator age', 'Egress streams']) {
      expect(body).toContain(title);
    }
  });

  test('every alarm notifies the encrypted alarm topic', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(30);
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlarmTopic/) }]);
  });

  test('each API has its own name, so their metrics and alarms do not mix', () => {
    const names = Object.values(template.findResources('AWS::ApiGateway::RestApi')).map((r) => r.Properties.Name);
    expect(names.sort()).toEqual([
      'EventSourced-Commands',
      'EventSourced-ReadModelV1',
      expect.stringMatching(/^EventSourcedFunctions/),
    ]);
  });

  test('one API sets the account logging role; the other stages deploy after it', () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    const account = logicalIdOf(template, 'AWS::ApiGateway::Account', /^IngestionApiAccount/);
    const stages = Object.values(template.findResources('AWS::ApiGateway::Stage'));
    expect(stages).toHaveLength(3);
    for (const s of stages) expect(s.DependsOn).toContain(account);
  });

  test('rebuilding a read model adds a generation fed by the egress streams and a replay stream', () => {
    const t = synthWithNag({ rebuildReadModelGeneration: 2 });
    expect(Object.keys(t.findResources('AWS::DynamoDB::Table')).map((id) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual(
      expect.arrayContaining(['ReadModelV1Table', 'ReadModelV2Table']),
    );
    const replay = logicalIdOf(t, 'AWS::Kinesis::Stream', /^ReplayStream[0-9A-F]{8}$/);
    const v2 = logicalIdOf(t, 'AWS::Lambda::Function', /^ReadModelV2ProjectionreplayFunction[0-9A-F]{8}$/);
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: v2 },
      EventSourceArn: { 'Fn::GetAtt': [replay, 'Arn'] },
      StartingPosition: 'TRIM_HORIZON',
    });
    // Three projections per generation input: two egress streams (V1), two egress + replay (V2).
    t.resourceCountIs('AWS::Lambda::EventSourceMapping', 5);
    const put = statementsOf(t, /^ReplayRole[0-9A-F]{8}$/).filter((s) => s.Action === 'kinesis:PutRecords');
    expect(put.map((s) => s.Resource)).toContainEqual({ 'Fn::GetAtt': [replay, 'Arn'] });
    t.hasOutput('RebuildQueryApiUrl', {});
    t.hasOutput('QueryApiUrl', {
      Value: Match.objectLike({
        'Fn::Join': [
          '',
          Match.arrayWith([{ Ref: logicalIdOf(t, 'AWS::ApiGateway::RestApi', /^ReadModelV1TableApi/) }]),
        ],
      }),
    });
  });

  test('switching generations points the query API at the rebuilt table', () => {
    const t = Template.fromStack(build({ readModelGeneration: 2 }, false).stack);
    t.resourceCountIs('AWS::DynamoDB::Table', 1);
    t.hasOutput('QueryApiUrl', {
      Value: Match.objectLike({
        'Fn::Join': [
          '',
          Match.arrayWith([{ Ref: logicalIdOf(t, 'AWS::ApiGateway::RestApi', /^ReadModelV2TableApi/) }]),
        ],
      }),
    });
  });

  test('has no unacknowledged cdk-nag finding, also while rebuilding', () => {
    for (const props of [{}, { rebuildReadModelGeneration: 2 }]) {
      expect(() => synthWithNag(props)).not.toThrow();
    }
  });

  test('an unacknowledged finding fails synth (the gate works)', () => {
    const { app, stack: s } = build({}, false);
    new s3.Bucket(s, 'Unreviewed');
    applyNagChecks(app);
    expect(() => app.synth()).toThrow(/AwsSolutions-S1|Validation failed/);
  });

  describe('adding functions and egress streams', () => {
    const invokeResources = (t: Template): string =>
      JSON.stringify(
        statementsOf(t, /^RuntimeServiceRole[0-9A-F]{8}$/)
          .filter((st) => st.Action === 'execute-api:Invoke')
          .map((st) => st.Resource),
      );

    test('a function added later through functionsApi.addFunction is in module.json, routed and invocable', () => {
      // GIVEN the stack as built
      const { stack } = build({}, false);
      // WHEN a function, its egress and its route are added from outside
      stack.functionsApi.addFunction({ functionType: 'shipping', entry: SHIPPING, egressNames: ['shipping-events'] });
      stack.addEgressStream({ name: 'shipping-events' });
      stack.runtime.addIngress({ eventType: 'ShipmentRequested', functionType: 'shipping' });

      // THEN
      const t = Template.fromStack(stack);
      const module = moduleJsonOf(t);
      expect(Object.keys(module.functions)).toEqual(['order', 'inventory', 'shipping']);
      expect(module.functions.shipping).toEqual({
        endpoint: expect.stringMatching(/^https:\/\/REF_FunctionsApi[0-9A-F]{8}\..*\/shipping$/),
        timeoutMs: 5000,
        maxAttempts: 5,
      });
      expect(module.ingress).toContainEqual({ eventType: 'ShipmentRequested', functionType: 'shipping' });
      expect(invokeResources(t)).toContain('/POST/shipping');
    });

    test('functions and egressStreams props wire a function end to end, and pass cdk-nag', () => {
      const { app, stack } = build(
        {
          egressStreams: [{ name: 'shipping-events', retentionPeriod: Duration.days(14) }],
          functions: [
            {
              functionType: 'shipping',
              entry: SHIPPING,
              egressNames: ['shipping-events'],
              commands: [SHIPMENT_REQUESTED],
            },
          ],
        },
        false,
      );
      applyNagChecks(app);
      const t = Template.fromJSON(app.synth().getStackByName(stack.stackName).template);

      // The Lambda behind POST /shipping of the functions API, alarming to the stack's topic.
      const fn = logicalIdOf(t, 'AWS::Lambda::Function', /^FunctionsFunctionshippingFunction[0-9A-F]{8}$/);
      const functionsApi = logicalIdOf(t, 'AWS::ApiGateway::RestApi', /^FunctionsApi[0-9A-F]{8}$/);
      t.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'shipping', RestApiId: { Ref: functionsApi } });
      t.hasResourceProperties('AWS::ApiGateway::Method', {
        RestApiId: { Ref: functionsApi },
        AuthorizationType: 'AWS_IAM',
        Integration: Match.objectLike({
          Uri: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [fn, 'Arn'] }])] }),
        }),
      });
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlarmTopic') }],
      });
      expect(stack.functionsApi.functions.shipping).toBeDefined();

      // The command is accepted with the idempotency key and routed to the function.
      t.hasResourceProperties('AWS::ApiGateway::Model', { Name: 'ShipmentRequestedEvent' });
      const command = Object.values(t.findResources('AWS::ApiGateway::Method')).filter((m) =>
        JSON.stringify(m.Properties.Integration.RequestTemplates ?? {}).includes('ShipmentRequested'),
      );
      expect(command).toHaveLength(1);
      expect(command[0].Properties.RequestParameters).toEqual({ 'method.request.header.Idempotency-Key': true });
      const module = moduleJsonOf(t);
      expect(module.ingress).toContainEqual({ eventType: 'ShipmentRequested', functionType: 'shipping' });
      expect(Object.keys(module.functions)).toContain('shipping');
      expect(Object.keys(module.egress)).toEqual(['order-events', 'inventory-events', 'shipping-events']);
      expect(invokeResources(t)).toContain('/POST/shipping');

      // The egress stream exists, the runtime may write to it, it is archived, and the replay role can use it.
      const stream = logicalIdOf(t, 'AWS::Kinesis::Stream', /^ShippingEvents[0-9A-F]{8}$/);
      expect(t.toJSON().Resources[stream].Properties.RetentionPeriodHours).toBe(336);
      const streamArn = { 'Fn::GetAtt': [stream, 'Arn'] };
      expect(propertyGroups(t)['Egress.shipping-events']['stream.arn']).toEqual(streamArn);
      expect(statementsOf(t, /^RuntimeServiceRole[0-9A-F]{8}$/)).toContainEqual(
        expect.objectContaining({ Action: expect.arrayContaining(['kinesis:PutRecords']), Resource: streamArn }),
      );
      t.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
        KinesisStreamSourceConfiguration: { KinesisStreamARN: streamArn, RoleARN: Match.anyValue() },
        ExtendedS3DestinationConfiguration: Match.objectLike({
          Prefix: Match.stringLikeRegexp('^shipping-events/year='),
        }),
      });
      const replay = statementsOf(t, /^ReplayRole[0-9A-F]{8}$/);
      for (const action of ['kinesis:GetRecords', 'kinesis:PutRecords']) {
        expect(replay.filter((st) => [st.Action].flat().includes(action)).map((st) => st.Resource)).toContainEqual(
          streamArn,
        );
      }
      t.hasOutput('ShippingEventsStreamArn', { Value: streamArn });
      t.hasOutput('ShippingEventsArchiveBucket', {});
      expect(stack.egressStreams['shipping-events'].store.stream.node.path).toBe(
        'EventSourced/ShippingEvents/Resource',
      );
      expect(Object.keys(stack.egressStreams)).toEqual(['order-events', 'inventory-events', 'shipping-events']);
      const dashboard = JSON.stringify(t.findResources('AWS::CloudWatch::Dashboard'));
      expect(dashboard).toContain('Remote function shipping: p99 latency');
      expect(dashboard).toContain('Egress shipping-events: incoming records');
    });

    test('addFunction after construction routes its commands through the ingestion API and the runtime', () => {
      const { stack } = build({}, false);
      stack.addEgressStream({ name: 'shipping-events' });
      const fn = stack.addFunction({
        functionType: 'shipping',
        entry: SHIPPING,
        egressNames: ['shipping-events'],
        commands: [SHIPMENT_REQUESTED],
      });
      const t = Template.fromStack(stack);
      t.hasResourceProperties('AWS::ApiGateway::Resource', {
        PathPart: 'ShipmentRequested',
        RestApiId: { Ref: logicalIdOf(t, 'AWS::ApiGateway::RestApi', /^IngestionApi[0-9A-F]{8}$/) },
      });
      expect(moduleJsonOf(t).ingress).toContainEqual({ eventType: 'ShipmentRequested', functionType: 'shipping' });
      expect(fn.alarms).toHaveLength(4);
    });

    test('a function writing to an undeclared egress fails synth, naming the function and the egress', () => {
      const { app, stack } = build({}, false);
      stack.addFunction({
        functionType: 'shipping',
        entry: SHIPPING,
        egressNames: ['shipping-events'],
        commands: [SHIPMENT_REQUESTED],
      });
      expect(() => app.synth()).toThrow(
        /function 'shipping' writes to egress 'shipping-events', which is not declared \(egress: order-events, inventory-events\)/,
      );
    });

    test('functionsApi.addFunction alone (no route, no egress) fails synth instead of deploying an orphan', () => {
      const { app, stack } = build({}, false);
      // Construction accepts it: routes and egress may still be added.
      expect(() =>
        stack.functionsApi.addFunction({ functionType: 'shipping', entry: SHIPPING, egressNames: ['shipping-events'] }),
      ).not.toThrow();
      expect(() => app.synth()).toThrow(
        /function 'shipping' writes to egress 'shipping-events', which is not declared/,
      );
    });

    test('a function nothing routes to or messages fails synth', () => {
      const { app, stack } = build({}, false);
      stack.addEgressStream({ name: 'shipping-events' });
      stack.addFunction({ functionType: 'shipping', entry: SHIPPING, egressNames: ['shipping-events'] });
      expect(() => app.synth()).toThrow(
        /function 'shipping' is never called: no ingress route targets it and no called function lists it in messageTargets/,
      );
    });

    test('an egress stream that exists, or whose construct ids are taken, is rejected with its name', () => {
      const { stack } = build({}, false);
      expect(() => stack.addEgressStream({ name: 'order-events' })).toThrow(
        /egress stream 'order-events' already exists in EventSourced/,
      );
      expect(() => stack.addEgressStream({ name: 'order_events' })).toThrow(
        /egress name 'order_events' would reuse the construct id 'OrderEvents' of EventSourced/,
      );
      expect(() => stack.addEgressStream({ name: 'shipping events' })).toThrow(/egress name must match/);
      expect(() => stack.addEgressStream({ name: 'shipping-events', retentionPeriod: Duration.days(400) })).toThrow(
        /retentionPeriod must be between 1 day and 365 days, got 400 days/,
      );
    });
  });

  describe('validation', () => {
    test('retention beyond 365 days', () => {
      expect(() => build({ eventStoreRetention: Duration.days(400) }, false)).toThrow(
        /eventStoreRetention must be between 1 day and 365 days, got 400 days/,
      );
      expect(() => build({ egressRetention: Duration.hours(12) }, false)).toThrow(
        /egressRetention must be between 1 day and 365 days, got 12 hours/,
      );
    });

    test('retention tokens are passed on, not compared', () => {
      // Duration.hours(token) used to fail with "must be between 1 and 365 days, got -7.867310790458975e+287".
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      const stack = new EventSourcedMicroservicesStack(app, 'EventSourced', {
        env: { account: '111122223333', region: 'us-east-1' },
        statefulFunctionsCode: FlinkCode.fromJar(jar),
        eventStoreRetention: Duration.hours(Lazy.number({ produce: () => 48 })),
        egressRetention: Duration.hours(Lazy.number({ produce: () => 72 })),
      });
      const streams = Object.values(Template.fromStack(stack).findResources('AWS::Kinesis::Stream'));
      const hours = streams.map((st) => st.Properties.RetentionPeriodHours);
      expect(hours).toEqual(expect.arrayContaining([48, 72]));
    });

    test('rebuilding the served generation', () => {
      expect(() => build({ readModelGeneration: 3, rebuildReadModelGeneration: 3 }, false)).toThrow(
        /rebuildReadModelGeneration must differ from readModelGeneration \(3\), got 3/,
      );
    });
  });

  describe('props from context', () => {
    test('reads eventsourced:* keys', () => {
      const app = new App({
        context: {
          'eventsourced:eventStoreRetentionDays': 30,
          'eventsourced:egressRetentionDays': '14',
          'eventsourced:readModelGeneration': 2,
          'eventsourced:rebuildReadModelGeneration': 3,
          'eventsourced:removalPolicy': 'DESTROY',
        },
      });
      const props = eventSourcedMicroservicesPropsFromContext(app);
      expect(props.eventStoreRetention?.toDays()).toBe(30);
      expect(props.egressRetention?.toDays()).toBe(14);
      expect(props.readModelGeneration).toBe(2);
      expect(props.rebuildReadModelGeneration).toBe(3);
      expect(props.removalPolicy).toBe(RemovalPolicy.DESTROY);
    });

    test('eventsourced:statefulFunctionsCode takes a jar in S3 (s3://bucket/key) or a local jar', () => {
      const app = new App({
        context: { 'eventsourced:statefulFunctionsCode': 's3://ci-artifacts/runtime/stateful-functions-1.0.0.jar' },
      });
      const props = eventSourcedMicroservicesPropsFromContext(app);
      const { stack } = build({ statefulFunctionsCode: props.statefulFunctionsCode }, false);
      Template.fromStack(stack).hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
        ApplicationConfiguration: Match.objectLike({
          ApplicationCodeConfiguration: Match.objectLike({
            CodeContent: {
              S3ContentLocation: {
                BucketARN: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::ci-artifacts']] },
                FileKey: 'runtime/stateful-functions-1.0.0.jar',
              },
            },
          }),
        }),
      });
      const local = new App({ context: { 'eventsourced:statefulFunctionsCode': jar } });
      expect(eventSourcedMicroservicesPropsFromContext(local).statefulFunctionsCode).toBeInstanceOf(FlinkCode);
      const missing = new App({ context: { 'eventsourced:statefulFunctionsCode': '/nowhere/sf.jar' } });
      expect(() => eventSourcedMicroservicesPropsFromContext(missing)).toThrow(
        /FlinkCode.fromJar needs an existing jar file, got \/nowhere\/sf.jar/,
      );
    });

    test('the replaced eventsourced:statefulFunctionsJarPath is rejected, naming its replacement', () => {
      const app = new App({ context: { 'eventsourced:statefulFunctionsJarPath': jar } });
      expect(() => eventSourcedMicroservicesPropsFromContext(app)).toThrow(
        /context eventsourced:statefulFunctionsJarPath was replaced by eventsourced:statefulFunctionsCode/,
      );
    });

    test('rejects values of the wrong kind, with the value', () => {
      const app = new App({ context: { 'eventsourced:eventStoreRetentionDays': 'a week' } });
      expect(() => eventSourcedMicroservicesPropsFromContext(app)).toThrow(
        /context eventsourced:eventStoreRetentionDays must be a number, got "a week"/,
      );
      const app2 = new App({ context: { 'eventsourced:removalPolicy': 'SNAPSHOT' } });
      expect(() => eventSourcedMicroservicesPropsFromContext(app2)).toThrow(
        /context eventsourced:removalPolicy must be RETAIN or DESTROY, got 'SNAPSHOT'/,
      );
    });
  });
});
