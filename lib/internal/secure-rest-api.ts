import { Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { describeDuration, requireResolved, validateInteger, validateName } from './validation';
import { RestApiAuthorization, RestApiOptions } from './rest-api-options';
import { createAlarm, validateThreshold } from './alarms';
import { createEncryptedLogGroup } from './encrypted-log-group';

/** What `createSecureRestApi` builds. */
export interface SecureRestApi {
  readonly api: apigw.RestApi;
  readonly accessLogGroup: logs.LogGroup;
  readonly alarms: cloudwatch.Alarm[];
  readonly apiKey?: apigw.IApiKey;
  readonly usagePlan?: apigw.UsagePlan;
  /** Authorization settings every method of the API must use. */
  readonly methodAuth: Pick<apigw.MethodOptions, 'authorizationType' | 'apiKeyRequired'>;
}

// One JSON object per request: enough to trace a rejected or failed call without data tracing.
const ACCESS_LOG_FIELDS: Record<string, string> = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  sourceIp: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  userArn: '$context.identity.userArn',
  apiKeyId: '$context.identity.apiKeyId',
  integrationStatus: '$context.integration.status',
  integrationError: '$context.integration.error',
  errorMessage: '$context.error.message',
  validationError: '$context.error.validationErrorString',
  xrayTraceId: '$context.xrayTraceId',
};

/** Validates the shared options, with the received value in the message. */
export function validateRestApiOptions(options: RestApiOptions): void {
  validateInteger('throttlingRateLimit', options.throttlingRateLimit, 1, 10000);
  validateInteger('throttlingBurstLimit', options.throttlingBurstLimit, 1, 5000);
  validateInteger('apiKeyQuotaPerDay', options.apiKeyQuotaPerDay, 1);
  validateThreshold('clientErrorThreshold', options.clientErrorThreshold);
  validateThreshold('serverErrorThreshold', options.serverErrorThreshold);
  validateThreshold('latencyP99Threshold', options.latencyP99Threshold?.toMilliseconds());
  if (options.apiKeyQuotaPerDay !== undefined && options.authorization !== RestApiAuthorization.API_KEY) {
    throw new Error(
      `apiKeyQuotaPerDay requires authorization API_KEY, got ${options.authorization ?? 'IAM (default)'}`,
    );
  }
  // aws-cdk-lib names the stage's construct after it (DeploymentStage.<name>), and ids cannot hold tokens.
  requireResolved('stageName', options.stageName, 'aws-cdk-lib names the stage construct after it');
  validateName('stageName', options.stageName, /^[a-zA-Z0-9_]+$/, 1, 128, "letters, digits and '_'");
}

/**
 * A regional REST API with the library's secure defaults: JSON access logs to a CMK-encrypted log group, execution
 * logging at ERROR, X-Ray, stage throttling, a 400 that carries the validation reason, IAM or API-key authorization,
 * optional WAF, and alarms.
 */
export function createSecureRestApi(scope: Construct, options: RestApiOptions, description: string): SecureRestApi {
  validateRestApiOptions(options);
  const authorization = options.authorization ?? RestApiAuthorization.IAM;
  const rateLimit = options.throttlingRateLimit ?? 100;
  const burstLimit = options.throttlingBurstLimit ?? 200;
  const cloudWatchRole = options.cloudWatchRole ?? true;

  const accessLogGroup = createEncryptedLogGroup(
    scope,
    'AccessLogs',
    options.accessLogRetention ?? logs.RetentionDays.ONE_MONTH,
    'API access logs',
  );
  const api = new apigw.RestApi(scope, 'Api', {
    // API Gateway metrics and alarms are keyed by the API name: default to one unique in the account.
    restApiName: options.restApiName ?? Names.uniqueResourceName(scope, { maxLength: 128 }),
    description,
    endpointTypes: [apigw.EndpointType.REGIONAL],
    cloudWatchRole,
    // The account setting outlives this API: other APIs in the region may rely on the role.
    cloudWatchRoleRemovalPolicy: cloudWatchRole ? RemovalPolicy.RETAIN : undefined,
    deployOptions: {
      stageName: options.stageName ?? 'prod',
      throttlingRateLimit: rateLimit,
      throttlingBurstLimit: burstLimit,
      tracingEnabled: options.tracingEnabled ?? true,
      loggingLevel: apigw.MethodLoggingLevel.ERROR,
      // Bodies may carry device or customer data: keep them out of the execution logs.
      dataTraceEnabled: false,
      metricsEnabled: true,
      accessLogDestination: new apigw.LogGroupLogDestination(accessLogGroup),
      accessLogFormat: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
    },
  });
  api.addGatewayResponse('BadRequestBody', {
    type: apigw.ResponseType.BAD_REQUEST_BODY,
    statusCode: '400',
    templates: {
      'application/json': '{"message":$context.error.messageString,"reason":"$context.error.validationErrorString"}',
    },
  });
  api.addGatewayResponse('BadRequestParameters', {
    type: apigw.ResponseType.BAD_REQUEST_PARAMETERS,
    statusCode: '400',
    templates: {
      'application/json': '{"message":$context.error.messageString,"reason":"$context.error.validationErrorString"}',
    },
  });

  const cloudWatchRoleConstruct = api.node.tryFindChild('CloudWatchRole');
  if (cloudWatchRoleConstruct) {
    Validations.of(cloudWatchRoleConstruct).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'The account-level API Gateway logging role uses the AWS-managed policy that API Gateway documents for it; it only writes execution logs.',
    });
  }

  if (options.webAclArn) {
    new wafv2.CfnWebACLAssociation(scope, 'WebAclAssociation', {
      resourceArn: api.deploymentStage.stageArn,
      webAclArn: options.webAclArn,
    });
  } else {
    Validations.of(api).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG3',
      reason:
        'A web ACL is opt-in (webAclArn): callers are authenticated and the stage is throttled; WAF rules depend on the deployment.',
    });
  }

  let apiKey: apigw.IApiKey | undefined;
  let usagePlan: apigw.UsagePlan | undefined;
  if (authorization === RestApiAuthorization.API_KEY) {
    usagePlan = api.addUsagePlan('UsagePlan', {
      description: `Throttling and quota for API keys of ${scope.node.path}`,
      throttle: { rateLimit, burstLimit },
      quota: options.apiKeyQuotaPerDay ? { limit: options.apiKeyQuotaPerDay, period: apigw.Period.DAY } : undefined,
    });
    usagePlan.addApiStage({ stage: api.deploymentStage });
    apiKey = api.addApiKey('ApiKey', { description: `API key for ${scope.node.path}` });
    usagePlan.addApiKey(apiKey);
    Validations.of(api).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG4',
      reason: 'Authorization API_KEY was chosen: every method requires an API key bound to a throttled usage plan.',
    });
  }
  Validations.of(api).acknowledge({
    id: 'AwsSolutions::AwsSolutions-COG4',
    reason:
      'Callers are machines (devices, services), not Cognito users: methods use IAM (SigV4) or, by choice, API keys.',
  });

  const alarms: cloudwatch.Alarm[] = [];
  if (options.createAlarms ?? true) {
    const latency = options.latencyP99Threshold ?? Duration.seconds(1);
    alarms.push(
      createAlarm(
        scope,
        'ClientErrorAlarm',
        {
          metric: api.metricClientError({ statistic: 'Sum', period: Duration.minutes(5) }),
          threshold: options.clientErrorThreshold ?? 50,
          alarmDescription: `Clients of ${scope.node.path} receive many 4XX responses (bad input, auth or throttling)`,
        },
        options.alarmTopic,
      ),
      createAlarm(
        scope,
        'ServerErrorAlarm',
        {
          metric: api.metricServerError({ statistic: 'Sum', period: Duration.minutes(5) }),
          threshold: options.serverErrorThreshold ?? 1,
          alarmDescription: `${scope.node.path} returns 5XX responses (integration failures)`,
        },
        options.alarmTopic,
      ),
      createAlarm(
        scope,
        'LatencyP99Alarm',
        {
          metric: api.metricLatency({ statistic: 'p99', period: Duration.minutes(5) }),
          threshold: latency.toMilliseconds(),
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
          alarmDescription: `p99 latency of ${scope.node.path} is at or above ${describeDuration(latency)}`,
        },
        options.alarmTopic,
      ),
    );
  }

  return {
    api,
    accessLogGroup,
    alarms,
    apiKey,
    usagePlan,
    methodAuth:
      authorization === RestApiAuthorization.IAM
        ? { authorizationType: apigw.AuthorizationType.IAM }
        : { authorizationType: apigw.AuthorizationType.NONE, apiKeyRequired: true },
  };
}

/** Grants `execute-api:Invoke` on exactly these methods of the deployed stage. */
export function grantInvokeMethods(grantee: iam.IGrantable, api: apigw.RestApi, methods: apigw.Method[]): iam.Grant {
  const stage = api.deploymentStage.stageName;
  return iam.Grant.addToPrincipal({
    grantee,
    actions: ['execute-api:Invoke'],
    resourceArns: methods.map((m) => api.arnForExecuteApi(m.httpMethod, m.resource.path, stage)),
  });
}

/** The role API Gateway assumes to call an AWS service directly. */
export function createIntegrationRole(scope: Construct, purpose: string): iam.Role {
  return new iam.Role(scope, 'IntegrationRole', {
    assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
    description: `Lets API Gateway ${purpose} for ${scope.node.path}`,
  });
}
