import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { applyNagChecks } from '../../../bin/nag';
import { RestApiAuthorization } from '../../../lib/ingestion';
import { handlerEntry } from '../../../lib/internal';
import {
  ExternalFunctionEndpoint,
  RemoteFunction,
  RemoteFunctionProps,
  StatefulFunctionsApi,
} from '../../../lib/processing';

const ORDER = handlerEntry('functions/order');
const INVENTORY = handlerEntry('functions/inventory');

function newStack(): { app: App; stack: Stack } {
  const app = new App();
  return { app, stack: new Stack(app, 'TestStack', { env: { account: '111122223333', region: 'eu-west-1' } }) };
}

function standalone(stack: Stack, props: Partial<RemoteFunctionProps> = {}): RemoteFunction {
  return new RemoteFunction(stack, 'Order', { functionType: 'order', entry: ORDER, ...props });
}

describe('RemoteFunction', () => {
  // One shared synthesis for the read-only assertions: bundling is the slow part.
  const { stack } = newStack();
  const api = new StatefulFunctionsApi(stack, 'Functions');
  const order = api.addFunction({ functionType: 'order', entry: ORDER, egressNames: ['order-events'] });
  const inventory = api.addFunction({ functionType: 'inventory', entry: INVENTORY });
  const caller = new iam.Role(stack, 'Caller', {
    assumedBy: new iam.ServicePrincipal('kinesisanalytics.amazonaws.com'),
  });
  order.grantInvoke(caller);
  const template = Template.fromStack(stack);

  test('runs nodejs24.x on arm64 with active tracing and its own log group', () => {
    template.resourceCountIs('AWS::Lambda::Function', 2);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 4,
      MemorySize: 256,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('FunctionsFunctionorderLogGroup') } },
    });
  });

  test('the role may write its logs and traces and nothing else', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('FunctionsFunctionorderServiceRole') }] },
    });
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] },
      ManagedPolicyArns: Match.absent(),
    });
  });

  test('several functions share one API, each as POST /<type> with IAM auth, validation and a proxy integration', () => {
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'order' });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'inventory' });
    template.resourceCountIs('AWS::ApiGateway::Method', 2);
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      AuthorizationType: 'AWS_IAM',
      RequestValidatorId: { Ref: Match.stringLikeRegexp('FunctionsApiValidator') },
      RequestModels: { 'application/json': { Ref: Match.stringLikeRegexp('FunctionsApiInvocationModel') } },
      Integration: Match.objectLike({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST', TimeoutInMillis: 5000 }),
    });
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true });
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      ContentType: 'application/json',
      Schema: Match.objectLike({ required: ['address', 'messages'] }),
    });
  });

  test('the stage is throttled, traced and writes JSON access logs', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"requestId"') },
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200, MetricsEnabled: true })],
    });
  });

  test('grantInvoke allows execute-api:Invoke on the function method of the stage only', () => {
    const policy = Object.values(
      template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: Match.stringLikeRegexp('Caller') }] },
      }),
    )[0];
    const statement = policy.Properties.PolicyDocument.Statement;
    expect(statement).toHaveLength(1);
    expect(statement[0].Action).toBe('execute-api:Invoke');
    const arn = JSON.stringify(statement[0].Resource);
    expect(arn).toMatch(/\{"Ref":"FunctionsApiDeploymentStageprod[0-9A-F]+"\},"\/POST\/order"/);
    expect(arn).not.toContain('inventory');
  });

  test('Lambda may be invoked by the deployed stage only (no test-invoke permission)', () => {
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
    expect(permissions).toHaveLength(2);
    for (const p of permissions) expect(JSON.stringify(p.Properties.SourceArn)).not.toContain('test-invoke-stage');
  });

  test('endpointUrl is the stage URL of the function resource', () => {
    const url = JSON.stringify(stack.resolve(order.endpointUrl));
    expect(url).toContain('.execute-api.');
    expect(url).toMatch(
      /^\{"Fn::Join":\["",\["https:\/\/",.*\{"Ref":"FunctionsApiDeploymentStageprod[0-9A-F]+"\},"\/order"\]\]\}$/,
    );
    expect(JSON.stringify(stack.resolve(inventory.endpointUrl))).toMatch(/"\/inventory"\]\]\}$/);
    expect(order.invocationTimeout.toMilliseconds()).toBe(5000);
    expect(order.maxAttempts).toBe(5);
    expect(order.egressNames).toEqual(['order-events']);
  });

  test('alarms on the method 5XX and latency (detailed metrics) and on Lambda errors and throttles', () => {
    expect(order.alarms).toHaveLength(4);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5XXError',
      Namespace: 'AWS/ApiGateway',
      Threshold: 1,
      Dimensions: Match.arrayWith([
        { Name: 'Method', Value: 'POST' },
        { Name: 'Resource', Value: '/order' },
      ]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Latency',
      ExtendedStatistic: 'p99',
      Threshold: 4000,
      Dimensions: Match.arrayWith([{ Name: 'Resource', Value: '/inventory' }]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Throttles', Namespace: 'AWS/Lambda' });
  });

  test('a standalone function gets its own API; alarms notify the topic', () => {
    const f = newStack();
    const topic = new sns.Topic(f.stack, 'Topic');
    const fn = standalone(f.stack, {
      alarmTopic: topic,
      invocationTimeout: Duration.seconds(10),
      timeout: Duration.seconds(8),
    });
    const t = Template.fromStack(f.stack);
    t.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    expect(fn.api.node.path).toBe('TestStack/Order/Api');
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5XXError',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('Topic') }],
    });
    t.hasResourceProperties('AWS::Lambda::Function', { Timeout: 8 });
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      Integration: Match.objectLike({ TimeoutInMillis: 10000 }),
    });
  });

  test('has no unacknowledged cdk-nag finding', () => {
    const f = newStack();
    const a = new StatefulFunctionsApi(f.stack, 'Functions');
    a.addFunction({ functionType: 'order', entry: ORDER });
    a.addFunction({ functionType: 'inventory', entry: INVENTORY });
    applyNagChecks(f.app);
    expect(() => f.app.synth()).not.toThrow();
  });

  describe('validation', () => {
    test.each([
      ['Order', /functionType must match .* got 'Order'/],
      ['a/b', /got 'a\/b'/],
      ['', /got ''/],
    ])('rejects function type %p', (functionType, message) => {
      const f = newStack();
      expect(() => standalone(f.stack, { functionType })).toThrow(message);
    });

    test('rejects a Lambda timeout that is not shorter than the runtime timeout', () => {
      const f = newStack();
      expect(() => standalone(f.stack, { timeout: Duration.seconds(5) })).toThrow(
        /timeout must be shorter than invocationTimeout \(5000 ms\), got 5000 ms/,
      );
    });

    test('rejects an invocation timeout above API Gateway limit', () => {
      const f = newStack();
      expect(() => standalone(f.stack, { invocationTimeout: Duration.seconds(30) })).toThrow(
        /invocationTimeout must be between 1 milli and 29 seconds, got 30 seconds/,
      );
    });

    test('rejects maxAttempts out of range', () => {
      const f = newStack();
      expect(() => standalone(f.stack, { maxAttempts: 0 })).toThrow(
        /maxAttempts must be an integer between 1 and 100, got 0/,
      );
    });

    test('rejects an invalid egress name', () => {
      const f = newStack();
      expect(() => standalone(f.stack, { egressNames: ['order events'] })).toThrow(/egress name .* got 'order events'/);
    });

    test('rejects two functions of the same type on one API', () => {
      const f = newStack();
      const a = new StatefulFunctionsApi(f.stack, 'Functions');
      a.addFunction({ functionType: 'order', entry: ORDER });
      expect(() => new RemoteFunction(f.stack, 'Again', { functionType: 'order', entry: ORDER, api: a })).toThrow(
        /function type 'order' is already served by TestStack\/Functions/,
      );
    });

    test('rejects apiOptions together with api', () => {
      const f = newStack();
      const a = new StatefulFunctionsApi(f.stack, 'Functions');
      expect(() => standalone(f.stack, { api: a, apiOptions: { stageName: 'x' } })).toThrow(
        /apiOptions configure a new API and cannot be combined with api/,
      );
    });

    test('rejects API key authorization', () => {
      const f = newStack();
      expect(
        () => new StatefulFunctionsApi(f.stack, 'Functions', { authorization: RestApiAuthorization.API_KEY }),
      ).toThrow(/supports IAM authorization only, got API_KEY/);
    });
  });
});

describe('ExternalFunctionEndpoint', () => {
  test('grants execute-api:Invoke on the given ARN', () => {
    const { stack } = newStack();
    const role = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    const arn = 'arn:aws:execute-api:eu-west-1:111122223333:abc123/prod/POST/order';
    ExternalFunctionEndpoint.fromUrl({
      functionType: 'order',
      endpointUrl: 'https://x.example/order',
      executeApiArn: arn,
    }).grantInvoke(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'execute-api:Invoke', Resource: arn })] },
    });
  });

  test('without an ARN grants nothing', () => {
    const { stack } = newStack();
    const role = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    const grant = ExternalFunctionEndpoint.fromUrl({
      functionType: 'order',
      endpointUrl: 'http://127.0.0.1:8080/order',
    }).grantInvoke(role);
    expect(grant.success).toBe(false);
    Template.fromStack(stack).resourceCountIs('AWS::IAM::Policy', 0);
  });

  test('rejects a URL that is not http(s)', () => {
    expect(() => ExternalFunctionEndpoint.fromUrl({ functionType: 'order', endpointUrl: 'ftp://x/order' })).toThrow(
      /endpointUrl must be an http\(s\) URL, got 'ftp:\/\/x\/order'/,
    );
  });
});
