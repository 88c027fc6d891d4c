import Ajv from 'ajv';
import draft04 from 'ajv/lib/refs/json-schema-draft-04.json';
import { Duration, Stack } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  ApiGatewayIngestion,
  ApiGatewayIngestionProps,
  IngestionSchemas,
  RestApiAuthorization,
} from '../../../lib/ingestion';
import {
  KINESIS_CLIENT_ERROR_TEMPLATE,
  PUT_RECORDS_RESPONSE_TEMPLATE,
  putEventTemplate,
  putRecordResponseTemplate,
  putRecordsTemplate,
  putRecordTemplate,
} from '../../../lib/ingestion/private/kinesis-templates';
import { stackWithStream, synthWithNag } from './helpers';
import { renderJson } from './vtl';

const STREAM_ARN = 'arn:aws:kinesis:eu-west-1:123456789012:stream/raw';
const RECORD = {
  eventId: '7d0f7a4e-9c1b-4a8e-bb43-2f0e7b0e1a11',
  deviceId: 'device-00042',
  timestamp: 1764403200123,
  metrics: { temperature: 21.4, humidity: 40.2 },
  attributes: { fw: '1.2.0' },
};

function build(props: Partial<ApiGatewayIngestionProps> = {}): {
  stack: Stack;
  ingestion: ApiGatewayIngestion;
  t: Template;
} {
  const { stack, store } = stackWithStream();
  const ingestion = new ApiGatewayIngestion(stack, 'Ingestion', { stream: store.stream, ...props });
  return { stack, ingestion, t: Template.fromStack(stack) };
}

function resourceIdOf(t: Template, pathPart: string): string {
  const found = Object.entries(t.findResources('AWS::ApiGateway::Resource', { Properties: { PathPart: pathPart } }));
  expect(found).toHaveLength(1);
  return found[0][0];
}

function modelSchema(t: Template, name: string): Record<string, unknown> {
  const models = Object.values(t.findResources('AWS::ApiGateway::Model', { Properties: { Name: name } }));
  expect(models).toHaveLength(1);
  return models[0].Properties.Schema;
}

function draft4(): Ajv.Ajv {
  const ajv = new Ajv({ schemaId: 'auto', allErrors: true });
  ajv.addMetaSchema(draft04);
  return ajv;
}

describe('ApiGatewayIngestion defaults', () => {
  test('POST /records and POST /records/batch call PutRecord and PutRecords with IAM authorization', () => {
    const { t } = build();
    for (const [pathPart, action] of [
      ['records', 'PutRecord'],
      ['batch', 'PutRecords'],
    ]) {
      t.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'POST',
        AuthorizationType: 'AWS_IAM',
        ResourceId: { Ref: resourceIdOf(t, pathPart) },
        Integration: Match.objectLike({
          Type: 'AWS',
          IntegrationHttpMethod: 'POST',
          PassthroughBehavior: 'NEVER',
          Uri: { 'Fn::Join': ['', Match.arrayWith([`:apigateway:eu-west-1:kinesis:action/${action}`])] },
          RequestParameters: { 'integration.request.header.Content-Type': "'application/x-amz-json-1.1'" },
        }),
      });
    }
    t.resourcePropertiesCountIs('AWS::ApiGateway::Resource', { PathPart: 'events' }, 0);
  });

  test('the regional stage is throttled, traced, logs errors without bodies and writes JSON access logs', () => {
    const { t } = build();
    t.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    const format = new Capture();
    t.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      TracingEnabled: true,
      MethodSettings: [
        {
          HttpMethod: '*',
          ResourcePath: '/*',
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          MetricsEnabled: true,
          ThrottlingRateLimit: 100,
          ThrottlingBurstLimit: 200,
        },
      ],
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: format },
    });
    const fields = JSON.parse(format.asString());
    expect(fields).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      validationError: '$context.error.validationErrorString',
      integrationError: '$context.integration.error',
    });
  });

  test('access logs go to a log group encrypted with a rotated customer-managed key, kept one month', () => {
    const { t } = build();
    t.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 30,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('IngestionAccessLogsKey'), 'Arn'] },
    });
    t.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'logs.eu-west-1.amazonaws.com' },
            Condition: {
              ArnLike: {
                'kms:EncryptionContext:aws:logs:arn': {
                  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:eu-west-1:123456789012:log-group:*']],
                },
              },
            },
          }),
        ]),
      },
    });
  });

  test('a body that fails validation gets 400 with the validation reason', () => {
    const { t } = build();
    t.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
    t.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'BAD_REQUEST_BODY',
      StatusCode: '400',
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('\\$context\\.error\\.validationErrorString') },
    });
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      ResourceId: { Ref: resourceIdOf(t, 'records') },
      RequestValidatorId: Match.anyValue(),
      RequestModels: { 'application/json': Match.anyValue() },
    });
  });

  test('the default model requires a non-empty string deviceId and nothing else', () => {
    const { t } = build();
    const validate = draft4().compile(modelSchema(t, 'Record'));
    expect(validate({ deviceId: 'd-1', anything: [1] })).toBe(true);
    expect(validate({ sensor: 'x' })).toBe(false);
    expect(validate({ deviceId: '' })).toBe(false);
    expect(validate({ deviceId: 42 })).toBe(false);
  });

  test('the batch model accepts 1 to 500 records that each pass the record model', () => {
    const { t } = build({ eventSchema: IngestionSchemas.telemetryRecord() });
    const validate = draft4().compile(modelSchema(t, 'RecordBatch'));
    expect(validate({ records: [RECORD] })).toBe(true);
    expect(validate({ records: Array.from({ length: 500 }, () => RECORD) })).toBe(true);
    expect(validate({ records: Array.from({ length: 501 }, () => RECORD) })).toBe(false);
    expect(validate({ records: [] })).toBe(false);
    expect(validate({ records: [{ ...RECORD, deviceId: 'bad id' }] })).toBe(false);
    expect(validate(RECORD)).toBe(false);
  });

  test('the integration role may only put records to this stream and generate data keys with its key', () => {
    const { t } = build();
    const policies = t.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('IngestionIntegrationRole') }] },
    });
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.map((s) => s.Action)).toEqual([
      ['kinesis:PutRecord', 'kinesis:PutRecords'],
      'kms:GenerateDataKey',
    ]);
    expect(statements[0].Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Store/), 'Arn'] });
    expect(statements[1].Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^StoreKey/), 'Arn'] });
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'apigateway.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
          }),
        ],
      },
    });
  });

  test('alarms on 4XX (50), 5XX (1) and p99 latency (1 s)', () => {
    const { t, ingestion } = build();
    expect(ingestion.alarms).toHaveLength(3);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: '4XXError', Statistic: 'Sum', Threshold: 50 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: '5XXError', Statistic: 'Sum', Threshold: 1 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Latency',
      ExtendedStatistic: 'p99',
      Threshold: 1000,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  test('creates the account-level CloudWatch role that execution logging needs', () => {
    const { t } = build();
    t.resourceCountIs('AWS::ApiGateway::Account', 1);
  });

  test('exposes the stage URL and the partition key field', () => {
    const { stack, ingestion } = build();
    expect(stack.resolve(ingestion.url)).toEqual({
      'Fn::Join': ['', expect.arrayContaining(['https://', '.execute-api.eu-west-1.'])],
    });
    expect(ingestion.partitionKeyField).toBe('deviceId');
  });

  test('grantInvoke allows execute-api:Invoke on exactly the write methods of the stage', () => {
    const { stack, store } = stackWithStream();
    const ingestion = new ApiGatewayIngestion(stack, 'Ingestion', { stream: store.stream });
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    ingestion.grantInvoke(caller);
    const t = Template.fromStack(stack);
    const resources = new Capture();
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Caller') }],
      PolicyDocument: { Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: resources }] },
    });
    const arns = resources.asArray().map((r) => JSON.stringify(r));
    expect(arns).toHaveLength(2);
    expect(arns[0]).toMatch(/"IngestionApiDeploymentStageprod[0-9A-F]+"},"\/POST\/records"\]\]}$/);
    expect(arns[1]).toMatch(/"IngestionApiDeploymentStageprod[0-9A-F]+"},"\/POST\/records\/batch"\]\]}$/);
  });
});

describe('ApiGatewayIngestion options', () => {
  test('API_KEY authorization requires a key bound to a throttled usage plan with the given quota', () => {
    const { t, ingestion } = build({
      authorization: RestApiAuthorization.API_KEY,
      apiKeyQuotaPerDay: 100000,
      throttlingRateLimit: 50,
      throttlingBurstLimit: 80,
    });
    expect(ingestion.apiKey).toBeDefined();
    t.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    t.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 50, BurstLimit: 80 },
      Quota: { Limit: 100000, Period: 'DAY' },
    });
    t.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1);
    t.resourcePropertiesCountIs('AWS::ApiGateway::Method', { AuthorizationType: 'NONE', ApiKeyRequired: true }, 2);
    t.resourcePropertiesCountIs('AWS::ApiGateway::Method', { AuthorizationType: 'AWS_IAM' }, 0);
  });

  test('partitionKeyField changes the model and the partition key in both templates', () => {
    const { t } = build({ partitionKeyField: 'sensorId' });
    expect(modelSchema(t, 'Record')).toMatchObject({ required: ['sensorId'] });
    const templates = Object.values(t.findResources('AWS::ApiGateway::Method')).map((m) =>
      JSON.stringify(m.Properties.Integration.RequestTemplates),
    );
    expect(templates.every((s) => s.includes('$.sensorId') || s.includes('$r.sensorId'))).toBe(true);
  });

  test('eventSchema becomes the record model', () => {
    const { t } = build({ eventSchema: IngestionSchemas.telemetryRecord() });
    const validate = draft4().compile(modelSchema(t, 'Record'));
    expect(validate(RECORD)).toBe(true);
    expect(validate({ ...RECORD, metrics: {} })).toBe(false);
  });

  test('eventTypes create one route and one model per type, and no record routes', () => {
    const { t } = build({
      eventTypes: [
        { name: 'PlaceOrder', schema: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' } } } },
        { name: 'CancelOrder', schema: { type: 'object' } },
      ],
    });
    resourceIdOf(t, 'PlaceOrder');
    resourceIdOf(t, 'CancelOrder');
    t.resourcePropertiesCountIs('AWS::ApiGateway::Resource', { PathPart: 'records' }, 0);
    const validate = draft4().compile(modelSchema(t, 'PlaceOrderEvent'));
    expect(validate({ aggregateId: 'order-1', payload: { sku: 'sku-1' } })).toBe(true);
    expect(validate({ aggregateId: 'order-1', occurredAt: '2026-11-29T08:00:00Z', payload: { sku: 'a' } })).toBe(true);
    expect(validate({ aggregateId: 'order-1', payload: {} })).toBe(false);
    expect(validate({ payload: { sku: 'a' } })).toBe(false);
    expect(validate({ aggregateId: 'order-1', occurredAt: 'yesterday', payload: { sku: 'a' } })).toBe(false);
  });

  test('enableRecordRoutes keeps the record routes next to the event routes', () => {
    const { t } = build({ eventTypes: [{ name: 'PlaceOrder', schema: {} }], enableRecordRoutes: true });
    resourceIdOf(t, 'records');
    resourceIdOf(t, 'PlaceOrder');
  });

  test('idempotencyKeyHeader is a required header of the event methods', () => {
    const { t } = build({ eventTypes: [{ name: 'PlaceOrder', schema: {} }], idempotencyKeyHeader: 'Idempotency-Key' });
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      ResourceId: { Ref: resourceIdOf(t, 'PlaceOrder') },
      RequestParameters: { 'method.request.header.Idempotency-Key': true },
    });
  });

  test('addEventType adds an event route after construction, with the idempotency key and one /events resource', () => {
    const { stack, store } = stackWithStream();
    const ingestion = new ApiGatewayIngestion(stack, 'Ingestion', {
      stream: store.stream,
      eventTypes: [{ name: 'PlaceOrder', schema: {} }],
      idempotencyKeyHeader: 'Idempotency-Key',
    });
    ingestion.addEventType({ name: 'ShipmentRequested', schema: { type: 'object', required: ['orderId'] } });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::ApiGateway::Resource', {
      PathPart: 'ShipmentRequested',
      ParentId: { Ref: resourceIdOf(t, 'events') },
    });
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      ResourceId: { Ref: resourceIdOf(t, 'ShipmentRequested') },
      RequestParameters: { 'method.request.header.Idempotency-Key': true },
    });
    expect(modelSchema(t, 'ShipmentRequestedEvent')).toMatchObject({
      properties: { payload: { required: ['orderId'] } },
    });
    expect(ingestion.methods).toHaveLength(2);
    expect(() => ingestion.addEventType({ name: 'PlaceOrder', schema: {} })).toThrow(
      /event type names must be unique, got 'PlaceOrder' twice/,
    );
    expect(() => ingestion.addEventType({ name: 'Ship It', schema: {} })).toThrow(
      /event type name must match .* got 'Ship It'/,
    );
  });

  test('stage name, throttling, tracing, log retention and the CloudWatch role are configurable', () => {
    const { t } = build({
      stageName: 'v1',
      throttlingRateLimit: 10,
      throttlingBurstLimit: 20,
      tracingEnabled: false,
      accessLogRetention: logs.RetentionDays.ONE_YEAR,
      cloudWatchRole: false,
    });
    t.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: false,
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 })],
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
    t.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  test('webAclArn associates the web ACL with the stage', () => {
    const webAclArn = 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/ingest/abc';
    const { t } = build({ webAclArn });
    t.hasResourceProperties('AWS::WAFv2::WebACLAssociation', { WebACLArn: webAclArn });
  });

  test('alarms can be switched off, tuned and sent to a topic', () => {
    const off = build({ createAlarms: false });
    expect(off.ingestion.alarms).toEqual([]);
    expect(off.t.findResources('AWS::CloudWatch::Alarm', { Properties: { Namespace: 'AWS/ApiGateway' } })).toEqual({});
    const { stack, store } = stackWithStream();
    const topic = new sns.Topic(stack, 'Topic');
    new ApiGatewayIngestion(stack, 'Ingestion', {
      stream: store.stream,
      clientErrorThreshold: 5,
      serverErrorThreshold: 2,
      latencyP99Threshold: Duration.millis(300),
      alarmTopic: topic,
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '4XXError',
      Threshold: 5,
      AlarmActions: [{ Ref: Match.anyValue() }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5XXError',
      Threshold: 2,
      OKActions: [{ Ref: Match.anyValue() }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Latency', Threshold: 300 });
  });

  test('a stream without a key gets no KMS permission', () => {
    const { stack } = stackWithStream();
    const stream = kinesis.Stream.fromStreamArn(stack, 'Imported', STREAM_ARN);
    new ApiGatewayIngestion(stack, 'Ingestion', { stream });
    const json = JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy'));
    expect(json).toContain('kinesis:PutRecords');
    expect(json).not.toContain('kms:');
  });
});

describe('ApiGatewayIngestion validation', () => {
  const cases: Array<[string, Partial<ApiGatewayIngestionProps>, RegExp]> = [
    ['partitionKeyField', { partitionKeyField: 'device id' }, /partitionKeyField must match .*got 'device id'/],
    [
      'eventSchema without the key',
      { eventSchema: { type: 'object', required: ['x'] } },
      /must list partitionKeyField 'deviceId'.*\["x"\]/,
    ],
    [
      'idempotencyKeyHeader format',
      { eventTypes: [{ name: 'A', schema: {} }], idempotencyKeyHeader: 'Bad Header' },
      /idempotencyKeyHeader must match .*got 'Bad Header'/,
    ],
    [
      'idempotencyKeyHeader without events',
      { idempotencyKeyHeader: 'Idempotency-Key' },
      /applies to eventTypes, got 'Idempotency-Key'/,
    ],
    [
      'event name',
      { eventTypes: [{ name: 'Place Order', schema: {} }] },
      /event type name must match .*got 'Place Order'/,
    ],
    [
      'duplicate event',
      {
        eventTypes: [
          { name: 'A', schema: {} },
          { name: 'A', schema: {} },
        ],
      },
      /unique, got 'A' twice/,
    ],
    ['no routes', { enableRecordRoutes: false }, /would accept no writes/],
    ['rate limit', { throttlingRateLimit: 0 }, /throttlingRateLimit must be an integer between 1 and 10000, got 0/],
    [
      'burst limit',
      { throttlingBurstLimit: 5001 },
      /throttlingBurstLimit must be an integer between 1 and 5000, got 5001/,
    ],
    ['quota without API key', { apiKeyQuotaPerDay: 10 }, /apiKeyQuotaPerDay requires authorization API_KEY, got IAM/],
    ['stage name', { stageName: 'prod-1' }, /stageName must be 1-128 characters of .*got 'prod-1'/],
    ['4XX threshold', { clientErrorThreshold: -1 }, /clientErrorThreshold must be zero or more, got -1/],
    ['5XX threshold', { serverErrorThreshold: -2 }, /serverErrorThreshold must be zero or more, got -2/],
  ];
  test.each(cases)('rejects %s with the received value', (_name, props, message) => {
    const { stack, store } = stackWithStream();
    expect(() => new ApiGatewayIngestion(stack, 'Ingestion', { stream: store.stream, ...props })).toThrow(message);
  });
});

describe('ApiGatewayIngestion mapping templates', () => {
  test('the deployed templates are the ones rendered below', () => {
    const { stack } = stackWithStream();
    const stream = kinesis.Stream.fromStreamArn(stack, 'Imported', STREAM_ARN);
    new ApiGatewayIngestion(stack, 'Ingestion', {
      stream,
      eventTypes: [{ name: 'PlaceOrder', schema: {} }],
      enableRecordRoutes: true,
      idempotencyKeyHeader: 'Idempotency-Key',
    });
    const deployed = Object.values(Template.fromStack(stack).findResources('AWS::ApiGateway::Method')).map(
      (m) => m.Properties.Integration.RequestTemplates['application/json'],
    );
    expect(deployed).toEqual(
      expect.arrayContaining([
        putRecordTemplate(STREAM_ARN, 'deviceId'),
        putRecordsTemplate(STREAM_ARN, 'deviceId'),
        putEventTemplate(STREAM_ARN, 'PlaceOrder', 'Idempotency-Key'),
      ]),
    );
  });

  test('PutRecord writes the body unchanged, partitioned by the named field', () => {
    const body = JSON.stringify(RECORD);
    const { json } = renderJson(putRecordTemplate(STREAM_ARN, 'deviceId'), { body });
    expect(json.StreamARN).toBe(STREAM_ARN);
    expect(json.PartitionKey).toBe('device-00042');
    expect(Buffer.from(json.Data, 'base64').toString('utf8')).toBe(body);
  });

  test('partition keys with quotes, backslashes and non-ASCII survive as valid JSON', () => {
    const key = `it's "a" \\ key/é`;
    const { json } = renderJson(putRecordTemplate(STREAM_ARN, 'deviceId'), { body: JSON.stringify({ deviceId: key }) });
    expect(json.PartitionKey).toBe(key);
  });

  test('PutRecords writes each element of records as its own record, in order', () => {
    const records = [RECORD, { ...RECORD, eventId: 'e-2', deviceId: 'device-7' }, { ...RECORD, deviceId: 'device-9' }];
    const { json } = renderJson(putRecordsTemplate(STREAM_ARN, 'deviceId'), { body: JSON.stringify({ records }) });
    expect(json.Records).toHaveLength(3);
    expect(json.Records.map((r: { PartitionKey: string }) => r.PartitionKey)).toEqual([
      'device-00042',
      'device-7',
      'device-9',
    ]);
    expect(
      json.Records.map((r: { Data: string }) => JSON.parse(Buffer.from(r.Data, 'base64').toString('utf8'))),
    ).toEqual(records);
  });

  test('an event becomes the envelope with the idempotency key as eventId, partitioned by aggregateId', () => {
    const body = JSON.stringify({
      aggregateId: 'order-1',
      occurredAt: '2026-11-29T07:59:59Z',
      payload: { sku: 'sku-1', qty: 2 },
    });
    const { json } = renderJson(putEventTemplate(STREAM_ARN, 'PlaceOrder', 'Idempotency-Key'), {
      body,
      headers: { 'Idempotency-Key': 'client-key-1' },
    });
    expect(json.PartitionKey).toBe('order-1');
    expect(JSON.parse(Buffer.from(json.Data, 'base64').toString('utf8'))).toEqual({
      eventId: 'client-key-1',
      type: 'PlaceOrder',
      aggregateId: 'order-1',
      occurredAt: '2026-11-29T07:59:59Z',
      payload: { sku: 'sku-1', qty: 2 },
    });
  });

  test('a retried event with the same key carries the same eventId; without a key each request gets its own', () => {
    const body = JSON.stringify({ aggregateId: 'order-1', payload: {} });
    const envelope = (template: string, requestId: string, headers: Record<string, string> = {}) =>
      JSON.parse(Buffer.from(renderJson(template, { body, requestId, headers }).json.Data, 'base64').toString('utf8'));
    const keyed = putEventTemplate(STREAM_ARN, 'PlaceOrder', 'Idempotency-Key');
    expect(envelope(keyed, 'r-1', { 'Idempotency-Key': 'k' }).eventId).toBe('k');
    expect(envelope(keyed, 'r-2', { 'Idempotency-Key': 'k' }).eventId).toBe('k');
    const unkeyed = putEventTemplate(STREAM_ARN, 'PlaceOrder');
    expect(envelope(unkeyed, 'r-1').eventId).toBe('r-1');
    expect(envelope(unkeyed, 'r-2').eventId).toBe('r-2');
  });

  test('without occurredAt the request time becomes ISO-8601 UTC', () => {
    const body = JSON.stringify({ aggregateId: "o'1", payload: { note: 'a "quoted" text' } });
    const { json } = renderJson(putEventTemplate(STREAM_ARN, 'PlaceOrder'), {
      body,
      requestTime: '05/Feb/2027:23:04:09 +0000',
    });
    const envelope = JSON.parse(Buffer.from(json.Data, 'base64').toString('utf8'));
    expect(envelope.occurredAt).toBe('2027-02-05T23:04:09Z');
    expect(envelope.aggregateId).toBe("o'1");
    expect(envelope.payload).toEqual({ note: 'a "quoted" text' });
  });

  test('responses: ids for PutRecord and events, per-record results for PutRecords', () => {
    const kinesisResponse = JSON.stringify({ SequenceNumber: '4960', ShardId: 'shardId-000000000001' });
    expect(renderJson(putRecordResponseTemplate(false), { body: kinesisResponse }).json).toEqual({
      sequenceNumber: '4960',
      shardId: 'shardId-000000000001',
    });
    expect(
      renderJson(putRecordResponseTemplate(true, 'Idempotency-Key'), {
        body: kinesisResponse,
        headers: { 'Idempotency-Key': 'k-9' },
      }).json,
    ).toEqual({ eventId: 'k-9', sequenceNumber: '4960', shardId: 'shardId-000000000001' });
    const batch = JSON.stringify({
      FailedRecordCount: 1,
      Records: [
        { SequenceNumber: '1', ShardId: 'shardId-0' },
        { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: "Rate exceeded for shard 'x'" },
      ],
    });
    expect(renderJson(PUT_RECORDS_RESPONSE_TEMPLATE, { body: batch }).json).toEqual({
      failedRecordCount: 1,
      records: [
        { sequenceNumber: '1', shardId: 'shardId-0' },
        { errorCode: 'ProvisionedThroughputExceededException', errorMessage: "Rate exceeded for shard 'x'" },
      ],
    });
  });

  test('Kinesis throttling becomes 429; other Kinesis client errors keep the 500 status', () => {
    const throttled = renderJson(KINESIS_CLIENT_ERROR_TEMPLATE, {
      body: JSON.stringify({ __type: 'ProvisionedThroughputExceededException', message: 'Rate exceeded' }),
    });
    expect(throttled.statusOverride).toBe(429);
    const denied = renderJson(KINESIS_CLIENT_ERROR_TEMPLATE, {
      body: JSON.stringify({ __type: 'AccessDeniedException' }),
    });
    expect(denied.statusOverride).toBeUndefined();
    expect(denied.json).toEqual({ message: 'The stream rejected the request', type: 'AccessDeniedException' });
  });
});

describe('ApiGatewayIngestion cdk-nag', () => {
  test('defaults pass the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag((stack, store) => new ApiGatewayIngestion(stack, 'Ingestion', { stream: store.stream })),
    ).not.toThrow();
  });

  test('API keys with event types pass the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag(
        (stack, store) =>
          new ApiGatewayIngestion(stack, 'Ingestion', {
            stream: store.stream,
            authorization: RestApiAuthorization.API_KEY,
            eventTypes: [{ name: 'PlaceOrder', schema: { type: 'object' } }],
            idempotencyKeyHeader: 'Idempotency-Key',
          }),
      ),
    ).not.toThrow();
  });
});
