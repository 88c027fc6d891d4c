import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  DynamoDbDestination,
  DynamoDbDestinationEncryption,
  DynamoDbDestinationProps,
} from '../../../lib/destination/dynamodb-destination';
import { RestApiAuthorization } from '../../../lib/ingestion';
import { stackWithStream, synthWithNag } from '../ingestion/helpers';
import { renderJson } from '../ingestion/vtl';

function build(props: DynamoDbDestinationProps = {}): { stack: Stack; dest: DynamoDbDestination; t: Template } {
  const { stack } = stackWithStream();
  const dest = new DynamoDbDestination(stack, 'Latest', props);
  return { stack, dest, t: Template.fromStack(stack) };
}

interface Templates {
  request: string;
  response: string;
  clientError: string;
}

/** A deployed template as text; references to resources (the table name) read `REF(<logical id>)`. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return join[1]
    .map((part) => (typeof part === 'string' ? part : `REF(${(part as { Ref: string }).Ref})`))
    .join(join[0]);
}

/** The deployed templates of the GET method on the resource with this path part. */
function templatesOf(t: Template, pathPart: string): Templates {
  const resources = Object.entries(
    t.findResources('AWS::ApiGateway::Resource', { Properties: { PathPart: pathPart } }),
  );
  expect(resources).toHaveLength(1);
  const methods = Object.values(
    t.findResources('AWS::ApiGateway::Method', { Properties: { ResourceId: { Ref: resources[0][0] } } }),
  );
  expect(methods).toHaveLength(1);
  const integration = methods[0].Properties.Integration;
  const byStatus = (status: string) =>
    integration.IntegrationResponses.find((r: { StatusCode: string }) => r.StatusCode === status).ResponseTemplates[
      'application/json'
    ];
  return {
    request: flatten(integration.RequestTemplates['application/json']),
    response: byStatus('200'),
    clientError: byStatus('500'),
  };
}

const LATEST_STATE_ITEM = {
  deviceId: { S: 'device-00042' },
  windowStart: { N: '1764403200000' },
  windowEnd: { N: '1764403260000' },
  metrics: {
    M: {
      temperature: {
        M: { count: { N: '12' }, min: { N: '20.1' }, max: { N: '22.5' }, mean: { N: '21.4' }, p95: { N: '22.3' } },
      },
    },
  },
  anomalies: { L: [{ M: { metric: { S: 'temperature' }, zScore: { N: '3.4' } } }] },
  tags: { SS: ['a', "b'c"] },
  active: { BOOL: true },
  note: { S: 'line1\nline2 "quoted" \\ it\'s' },
  nothing: { NULL: true },
  emptyList: { L: [] },
  emptyMap: { M: {} },
};

const LATEST_STATE_JSON = {
  deviceId: 'device-00042',
  windowStart: 1764403200000,
  windowEnd: 1764403260000,
  metrics: { temperature: { count: 12, min: 20.1, max: 22.5, mean: 21.4, p95: 22.3 } },
  anomalies: [{ metric: 'temperature', zScore: 3.4 }],
  tags: ['a', "b'c"],
  active: true,
  note: 'line1\nline2 "quoted" \\ it\'s',
  nothing: null,
  emptyList: [],
  emptyMap: {},
};

describe('DynamoDbDestination defaults', () => {
  test('synthesizes with its customer-managed key in a region-agnostic stack', () => {
    const stack = new Stack(new App(), 'Agnostic');
    new DynamoDbDestination(stack, 'Latest');
    expect(() => Template.fromStack(stack)).not.toThrow();
  });

  test('on-demand table keyed by deviceId (S) with point-in-time recovery, retained, not deletion-protected', () => {
    const { t, dest } = build();
    expect(dest.partitionKeyName).toBe('deviceId');
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        KeySchema: [{ AttributeName: 'deviceId', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'deviceId', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: false,
      }),
    });
  });

  test('encrypted with a new rotated customer-managed key', () => {
    const { t, dest } = build();
    expect(dest.encryptionKey).toBeDefined();
    t.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      Description: Match.stringLikeRegexp('DynamoDB'),
    });
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LatestKey'), 'Arn'] },
      },
    });
  });

  test('alarms on throttled requests and system errors, at 1', () => {
    const { t, dest } = build();
    expect(dest.alarms).toHaveLength(2);
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties)
      .filter((p) => JSON.stringify(p).includes('AWS/DynamoDB'));
    expect(alarms).toHaveLength(2);
    const text = JSON.stringify(alarms);
    expect(text).toContain('"MetricName":"ThrottledRequests"');
    expect(text).toContain('"MetricName":"SystemErrors"');
    expect(alarms.every((a) => a.Threshold === 1 && a.ComparisonOperator === 'GreaterThanOrEqualToThreshold')).toBe(
      true,
    );
  });

  test('no read API unless asked', () => {
    const { t, dest } = build();
    expect(dest.api).toBeUndefined();
    t.resourceCountIs('AWS::ApiGateway::RestApi', 0);
    expect(() => dest.grantInvoke(new iam.AccountRootPrincipal())).toThrow(/has no read API/);
  });

  test('grantReadData and grantWriteData pass through to the table and its key', () => {
    const { stack } = stackWithStream();
    const dest = new DynamoDbDestination(stack, 'Latest');
    const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
    const writer = new iam.Role(stack, 'Writer', { assumedBy: new iam.AccountRootPrincipal() });
    dest.grantReadData(reader);
    dest.grantWriteData(writer);
    const t = Template.fromStack(stack);
    const actionsOf = (role: string) =>
      JSON.stringify(
        Object.values(
          t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp(role) }] } }),
        ),
      );
    expect(actionsOf('^Reader')).toContain('dynamodb:GetItem');
    expect(actionsOf('^Reader')).toContain('kms:Decrypt');
    expect(actionsOf('^Reader')).not.toContain('dynamodb:PutItem');
    expect(actionsOf('^Writer')).toContain('dynamodb:PutItem');
    expect(actionsOf('^Writer')).not.toContain('dynamodb:GetItem');
  });
});

describe('DynamoDbDestination options', () => {
  test('key names, sort key, TTL, deletion protection and removal policy', () => {
    const { t } = build({
      tableName: 'read-model',
      partitionKeyName: 'pk',
      sortKeyName: 'sk',
      sortKeyType: dynamodb.AttributeType.STRING,
      timeToLiveAttribute: 'expiresAt',
      deletionProtection: true,
      pointInTimeRecovery: false,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({
        TableName: 'read-model',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
      }),
    });
  });

  test('AWS-managed encryption creates no key', () => {
    const { t, dest } = build({ encryption: DynamoDbDestinationEncryption.AWS_MANAGED_KEY });
    expect(dest.encryptionKey).toBeUndefined();
    t.resourceCountIs('AWS::KMS::Key', 1); // the StreamStore's
    t.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true } });
    expect(JSON.stringify(t.findResources('AWS::DynamoDB::Table'))).not.toContain('KMSMasterKeyId');
  });

  test('a given key is used instead of a new one', () => {
    const { stack } = stackWithStream();
    const key = new kms.Key(stack, 'Mine');
    const dest = new DynamoDbDestination(stack, 'Latest', { encryptionKey: key });
    expect(dest.encryptionKey).toBe(key);
    Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: Match.objectLike({
        KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Mine'), 'Arn'] },
      }),
    });
  });

  test('alarms can be switched off, tuned and sent to a topic', () => {
    expect(build({ createAlarms: false }).dest.alarms).toEqual([]);
    const { stack } = stackWithStream();
    const topic = new sns.Topic(stack, 'Topic');
    new DynamoDbDestination(stack, 'Latest', {
      throttledRequestsThreshold: 5,
      systemErrorsThreshold: 3,
      alarmTopic: topic,
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 5,
      AlarmDescription: Match.stringLikeRegexp('throttled'),
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 3,
      AlarmDescription: Match.stringLikeRegexp('system errors'),
    });
  });
});

describe('DynamoDbDestination read API', () => {
  test('GET /items/{id} calls GetItem with IAM auth, a required path parameter and a read-only role', () => {
    const { t, dest } = build({ tableName: 'latest', enableReadApi: true });
    expect(dest.url).toBeDefined();
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      AuthorizationType: 'AWS_IAM',
      RequestParameters: { 'method.request.path.id': true },
      RequestValidatorId: Match.anyValue(),
      Integration: Match.objectLike({
        Uri: { 'Fn::Join': ['', Match.arrayWith([':apigateway:eu-west-1:dynamodb:action/GetItem'])] },
      }),
    });
    t.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestParameters: true });
    const statements = Object.values(
      t.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^LatestIntegrationRole') }] },
      }),
    ).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.map((s) => s.Action)).toEqual([['dynamodb:GetItem', 'dynamodb:Query'], 'kms:Decrypt']);
    t.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: [
        Match.objectLike({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200, LoggingLevel: 'ERROR' }),
      ],
    });
    expect(dest.alarms).toHaveLength(5);
  });

  test('GetItem request: the path id becomes the key, safely escaped', () => {
    const { t } = build({ tableName: 'latest', enableReadApi: true });
    const { request } = templatesOf(t, '{id}');
    expect(renderJson(request, { pathParams: { id: 'device-00042' } }).json).toEqual({
      TableName: expect.stringMatching(/^REF\(Latest/),
      Key: { deviceId: { S: 'device-00042' } },
    });
    expect(renderJson(request, { pathParams: { id: `a"b'c` } }).json.Key.deviceId.S).toBe(`a"b'c`);
  });

  test('GetItem response: the item as plain JSON, 404 when missing', () => {
    const { t } = build({ tableName: 'latest', enableReadApi: true });
    const { response } = templatesOf(t, '{id}');
    const found = renderJson(response, { body: JSON.stringify({ Item: LATEST_STATE_ITEM }) });
    expect(found.statusOverride).toBeUndefined();
    expect(found.json).toEqual(LATEST_STATE_JSON);
    const missing = renderJson(response, { body: '{}' });
    expect(missing.statusOverride).toBe(404);
    expect(missing.json).toEqual({ message: 'Not found' });
  });

  test('DynamoDB errors: throttling is 429, validation is 400, the rest stays 500', () => {
    const { t } = build({ tableName: 'latest', enableReadApi: true });
    const { clientError } = templatesOf(t, '{id}');
    const throttled = renderJson(clientError, {
      body: JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException' }),
    });
    expect(throttled.statusOverride).toBe(429);
    const invalid = renderJson(clientError, {
      body: JSON.stringify({
        __type: 'com.amazon.coral.validate#ValidationException',
        message: 'key element is empty',
      }),
    });
    expect(invalid.statusOverride).toBe(400);
    expect(invalid.json).toEqual({ message: 'key element is empty' });
    const denied = renderJson(clientError, { body: JSON.stringify({ __type: 'AccessDeniedException' }) });
    expect(denied.statusOverride).toBeUndefined();
  });

  test('with a sort key: GET /items/{id}/{sortKey} (GetItem) and GET /items?pk= (Query)', () => {
    const { t } = build({ tableName: 'read-model', partitionKeyName: 'pk', sortKeyName: 'sk', enableReadApi: true });
    const get = templatesOf(t, '{sortKey}');
    expect(renderJson(get.request, { pathParams: { id: 'order', sortKey: 'order-1' } }).json).toEqual({
      TableName: expect.stringMatching(/^REF\(Latest/),
      Key: { pk: { S: 'order' }, sk: { S: 'order-1' } },
    });
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      RequestParameters: { 'method.request.querystring.pk': true },
      Integration: Match.objectLike({
        Uri: { 'Fn::Join': ['', Match.arrayWith([':apigateway:eu-west-1:dynamodb:action/Query'])] },
      }),
    });
  });

  test('Query request: partition value, limit 1..100 (else 25) and a token that can only carry a sort key value', () => {
    const { t } = build({ tableName: 'read-model', partitionKeyName: 'pk', sortKeyName: 'sk', enableReadApi: true });
    const { request } = templatesOf(t, 'items');
    const first = renderJson(request, { querystring: { pk: 'order' } }).json;
    expect(first).toEqual({
      TableName: expect.stringMatching(/^REF\(Latest/),
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'pk' },
      ExpressionAttributeValues: { ':pk': { S: 'order' } },
      Limit: 25,
    });
    expect(renderJson(request, { querystring: { pk: 'order', limit: '100' } }).json.Limit).toBe(100);
    expect(renderJson(request, { querystring: { pk: 'order', limit: '101' } }).json.Limit).toBe(25);
    expect(renderJson(request, { querystring: { pk: 'order', limit: '5, "Select": "COUNT"' } }).json.Limit).toBe(25);
    const injected = Buffer.from('x"},"TableName":"other').toString('base64');
    const next = renderJson(request, { querystring: { pk: 'order', nextToken: injected } }).json;
    expect(next.TableName).toMatch(/^REF\(Latest/);
    expect(next.ExclusiveStartKey).toEqual({ pk: { S: 'order' }, sk: { S: 'x"},"TableName":"other' } });
  });

  test('Query response: items as plain JSON, count and a nextToken that resumes after the last key', () => {
    const { t } = build({ tableName: 'read-model', partitionKeyName: 'pk', sortKeyName: 'sk', enableReadApi: true });
    const { response, request } = templatesOf(t, 'items');
    const page = renderJson(response, {
      body: JSON.stringify({
        Items: [
          { pk: { S: 'order' }, sk: { S: 'order-1' }, sequence: { N: '3' }, view: { M: { total: { N: '9.5' } } } },
          { pk: { S: 'order' }, sk: { S: 'order-2' }, sequence: { N: '1' }, view: { M: {} } },
        ],
        Count: 2,
        LastEvaluatedKey: { pk: { S: 'order' }, sk: { S: 'order-2' } },
      }),
    }).json;
    expect(page.items).toEqual([
      { pk: 'order', sk: 'order-1', sequence: 3, view: { total: 9.5 } },
      { pk: 'order', sk: 'order-2', sequence: 1, view: {} },
    ]);
    expect(page.count).toBe(2);
    const resumed = renderJson(request, { querystring: { pk: 'order', nextToken: page.nextToken } }).json;
    expect(resumed.ExclusiveStartKey).toEqual({ pk: { S: 'order' }, sk: { S: 'order-2' } });
    const last = renderJson(response, { body: JSON.stringify({ Items: [], Count: 0 }) }).json;
    expect(last).toEqual({ items: [], count: 0 });
  });

  test('GetItem and Query responses convert 32 levels of nesting, and return deeper values as AttributeValue JSON', () => {
    const { t } = build({ tableName: 'read-model', partitionKeyName: 'pk', sortKeyName: 'sk', enableReadApi: true });
    // view: { a: { a: ... { a: 'leaf' } } } with `view` at level 1 and 'leaf' at level 34.
    let deep: Record<string, unknown> = { S: 'leaf' };
    for (let level = 33; level >= 2; level--) deep = { M: { a: deep } };
    const item = { pk: { S: 'order' }, sk: { S: 'order-1' }, view: { M: { a: deep } } };
    let json: unknown = { a: { M: { a: { S: 'leaf' } } } };
    for (let level = 32; level >= 2; level--) json = { a: json };
    const expected = { pk: 'order', sk: 'order-1', view: json };
    const got = renderJson(templatesOf(t, '{sortKey}').response, { body: JSON.stringify({ Item: item }) }).json;
    expect(got).toEqual(expected);
    const page = renderJson(templatesOf(t, 'items').response, { body: JSON.stringify({ Items: [item], Count: 1 }) });
    expect(page.json.items).toEqual([expected]);
  });

  test('API keys and grantInvoke', () => {
    const { stack } = stackWithStream();
    const dest = new DynamoDbDestination(stack, 'Latest', {
      enableReadApi: true,
      readApiOptions: { authorization: RestApiAuthorization.API_KEY, stageName: 'v1' },
    });
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    dest.grantInvoke(caller);
    const t = Template.fromStack(stack);
    expect(dest.apiKey).toBeDefined();
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      ApiKeyRequired: true,
      AuthorizationType: 'NONE',
    });
    t.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'v1' });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Caller') }],
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'execute-api:Invoke' })] },
    });
  });
});

describe('DynamoDbDestination validation', () => {
  const cases: Array<[string, DynamoDbDestinationProps, RegExp]> = [
    ['partition key name', { partitionKeyName: 'device id' }, /partitionKeyName must match .*got 'device id'/],
    ['sort key name', { sortKeyName: 'a/b' }, /sortKeyName must match .*got 'a\/b'/],
    ['TTL attribute', { timeToLiveAttribute: '' }, /timeToLiveAttribute must match .*got ''/],
    ['same keys', { sortKeyName: 'deviceId' }, /sortKeyName must differ from partitionKeyName, got 'deviceId'/],
    [
      'sort key type alone',
      { sortKeyType: dynamodb.AttributeType.NUMBER },
      /sortKeyType requires sortKeyName, got sortKeyType N/,
    ],
    [
      'key with AWS-managed',
      { encryption: DynamoDbDestinationEncryption.AWS_MANAGED_KEY },
      /encryptionKey requires encryption CUSTOMER_MANAGED_KEY/,
    ],
    [
      'API options without API',
      { readApiOptions: { stageName: 'v1' } },
      /readApiOptions requires enableReadApi true, got enableReadApi false/,
    ],
    [
      'throttle threshold',
      { throttledRequestsThreshold: -1 },
      /throttledRequestsThreshold must be zero or more, got -1/,
    ],
    ['system errors threshold', { systemErrorsThreshold: -3 }, /systemErrorsThreshold must be zero or more, got -3/],
    [
      'API option',
      { enableReadApi: true, readApiOptions: { throttlingRateLimit: 0 } },
      /throttlingRateLimit must be an integer between 1 and 10000, got 0/,
    ],
  ];
  test.each(cases)('rejects %s with the received value', (name, props, message) => {
    const { stack } = stackWithStream();
    const withKey = name === 'key with AWS-managed' ? { ...props, encryptionKey: new kms.Key(stack, 'K') } : props;
    expect(() => new DynamoDbDestination(stack, 'Latest', withKey)).toThrow(message);
  });
});

describe('DynamoDbDestination cdk-nag', () => {
  test('the table alone passes the AWS Solutions checks', () => {
    expect(() => synthWithNag((stack) => new DynamoDbDestination(stack, 'Latest'))).not.toThrow();
  });

  test('the table with a Query read API passes the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag(
        (stack) =>
          new DynamoDbDestination(stack, 'Latest', { partitionKeyName: 'pk', sortKeyName: 'sk', enableReadApi: true }),
      ),
    ).not.toThrow();
  });
});
