import { Duration, Names, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { describeDuration, requireResolved, validateDuration, validateInteger, validateRange } from '../internal';
import { RestApiAuthorization, RestApiOptions } from '../internal/rest-api-options';
import { createObservedFunction } from '../internal/observed-function';
import { createAlarm, validateThreshold } from '../internal/alarms';
import { createSecureRestApi, grantInvokeMethods } from '../internal/secure-rest-api';
import type { StatefulFunctionsProcessor } from './stateful-functions-processor';

/**
 * A remote function the stateful-functions runtime can call: its type, its HTTP endpoint and how the runtime calls
 * it. `RemoteFunction` implements it; `ExternalFunctionEndpoint.fromUrl` describes an endpoint deployed elsewhere.
 */
export interface IRemoteFunctionEndpoint {
  /** Function type, the `type` of every address this endpoint serves (e.g. `order`). */
  readonly functionType: string;
  /** URL the runtime POSTs invocations to (module.json `endpoint`). */
  readonly endpointUrl: string;
  /** Per-call timeout of the runtime (module.json `timeoutMs`). */
  readonly invocationTimeout: Duration;
  /** Calls before the runtime dead-letters the messages (module.json `maxAttempts`). */
  readonly maxAttempts: number;
  /** Egress names the function writes to; the processor checks that each one is declared. */
  readonly egressNames: string[];
  /**
   * Function types the function sends messages to (`ctx.send`); the processor checks that each one is known, and
   * counts a function these messages reach as called even without an ingress route.
   */
  readonly messageTargets: string[];
  /** Lets `grantee` call the endpoint (e.g. the Flink application role). */
  grantInvoke(grantee: iam.IGrantable): iam.Grant;
}

/** Options of an endpoint that is not deployed by this library. */
export interface ExternalFunctionEndpointProps {
  /** Function type served by the endpoint. */
  readonly functionType: string;
  /** https URL of the endpoint. */
  readonly endpointUrl: string;
  /**
   * `execute-api` ARN to grant `execute-api:Invoke` on, when the endpoint is an IAM-authorized API Gateway method
   * (e.g. `arn:aws:execute-api:eu-west-1:111122223333:abc123/prod/POST/order`).
   * @default - no grant: the endpoint authorizes callers by other means
   */
  readonly executeApiArn?: string;
  /** @default Duration.seconds(5) */
  readonly invocationTimeout?: Duration;
  /** @default 5 */
  readonly maxAttempts?: number;
  /** Egress names the function writes to. @default - none */
  readonly egressNames?: string[];
  /** Function types the function sends messages to. @default - none */
  readonly messageTargets?: string[];
}

/** A remote function endpoint deployed outside this construct tree (another stack, account or platform). */
export class ExternalFunctionEndpoint implements IRemoteFunctionEndpoint {
  /** Describes an endpoint by its URL. */
  public static fromUrl(props: ExternalFunctionEndpointProps): IRemoteFunctionEndpoint {
    return new ExternalFunctionEndpoint(props);
  }

  public readonly functionType: string;
  public readonly endpointUrl: string;
  public readonly invocationTimeout: Duration;
  public readonly maxAttempts: number;
  public readonly egressNames: string[];
  public readonly messageTargets: string[];
  private readonly executeApiArn?: string;

  private constructor(props: ExternalFunctionEndpointProps) {
    validateFunctionType(props.functionType);
    if (!Token.isUnresolved(props.endpointUrl) && !/^https?:\/\/\S+$/.test(props.endpointUrl)) {
      throw new Error(`endpointUrl must be an http(s) URL, got '${props.endpointUrl}'`);
    }
    this.functionType = props.functionType;
    this.endpointUrl = props.endpointUrl;
    this.invocationTimeout = props.invocationTimeout ?? Duration.seconds(5);
    this.maxAttempts = props.maxAttempts ?? 5;
    this.egressNames = [...(props.egressNames ?? [])];
    this.messageTargets = [...(props.messageTargets ?? [])];
    this.executeApiArn = props.executeApiArn;
    validateInvocation(this.invocationTimeout, this.maxAttempts);
    for (const name of this.egressNames) validateEgressName(name);
    for (const target of this.messageTargets) validateFunctionType(target, 'messageTargets entry');
  }

  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    if (!this.executeApiArn) return iam.Grant.drop(grantee, `invoke ${this.endpointUrl}`);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.executeApiArn],
    });
  }
}

/** How one function is added to a `StatefulFunctionsApi` (everything of `RemoteFunctionProps` but the API). */
export interface RemoteFunctionOptions {
  /**
   * Function type: the `type` of the addresses the function serves and the resource path (`POST /<type>`). Must match
   * `[a-z][a-z0-9-]{0,62}`. Renaming it later orphans the state Flink keeps for the old type.
   */
  readonly functionType: string;
  /** Path of the handler's TypeScript entry (e.g. `handlerEntry('functions/order')`), exporting `handler`. */
  readonly entry: string;
  /** @default 'handler' */
  readonly handler?: string;
  /** @default - the construct path */
  readonly description?: string;
  /** @default 256 */
  readonly memorySize?: number;
  /**
   * Lambda timeout; must be shorter than `invocationTimeout` so a call the runtime gave up on is not still running.
   * @default Duration.seconds(4)
   */
  readonly timeout?: Duration;
  /** Environment variables. Functions must be deterministic: pass configuration, never per-call data. @default - none */
  readonly environment?: { [key: string]: string };
  /** @default - unreserved */
  readonly reservedConcurrentExecutions?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** The runtime's per-call timeout (module.json `timeoutMs`), at most 29 seconds (API Gateway's limit). @default Duration.seconds(5) */
  readonly invocationTimeout?: Duration;
  /** Calls before the runtime dead-letters the messages (module.json `maxAttempts`), 1 to 100. @default 5 */
  readonly maxAttempts?: number;
  /** Egress names the function writes to; `StatefulFunctionsProcessor` checks each one is declared. @default - none */
  readonly egressNames?: string[];
  /**
   * Function types the function sends messages to (`ctx.send`). `StatefulFunctionsProcessor` checks each one is known;
   * a function no ingress route targets must be one of them, else synth fails (nothing would ever call it).
   * @default - none
   */
  readonly messageTargets?: string[];
  /** Create the function's alarms (5XX and p99 latency of its method, Lambda errors and throttles). @default true */
  readonly createAlarms?: boolean;
  /** Alarm when 5XX responses of the method in 5 minutes reach this count. @default 1 */
  readonly serverErrorThreshold?: number;
  /** Alarm when the p99 latency of the method over 5 minutes reaches this. @default - 80% of `invocationTimeout` (all of it when that is a token) */
  readonly latencyP99Threshold?: Duration;
  /** Alarm when Lambda errors in 5 minutes reach this count. @default 1 */
  readonly errorsThreshold?: number;
  /** Alarm when Lambda throttles in 5 minutes reach this count. @default 1 */
  readonly throttlesThreshold?: number;
  /** Topic notified when an alarm fires or recovers. @default - no action */
  readonly alarmTopic?: sns.ITopic;
}

export interface RemoteFunctionProps extends RemoteFunctionOptions {
  /**
   * The API the function's method is added to. Several functions share one API this way.
   * @default - a new `StatefulFunctionsApi` with `apiOptions`
   */
  readonly api?: StatefulFunctionsApi;
  /** Options of the API created when `api` is not given. @default - the defaults of `RestApiOptions` */
  readonly apiOptions?: RestApiOptions;
}

const FUNCTION_TYPE = /^[a-z][a-z0-9-]{0,62}$/;
// API Gateway's default integration timeout for REST APIs.
const MAX_INTEGRATION_TIMEOUT_MS = 29_000;

/**
 * One regional REST API for remote stateful functions: IAM authorization only (the runtime signs with SigV4),
 * request validation (a JSON body with an address and messages is required), stage throttling, JSON access logs to an
 * encrypted log group, X-Ray, and API-wide alarms on 4XX, 5XX and p99 latency. Functions add a `POST /<type>` method
 * each with `addFunction`.
 */
export class StatefulFunctionsApi extends Construct {
  public readonly api: apigw.RestApi;
  public readonly accessLogGroup: logs.LogGroup;
  /** API-wide alarms (4XX, 5XX, p99 latency). Per-function alarms live on each `RemoteFunction`. */
  public readonly alarms: cloudwatch.Alarm[];
  /** Validates that the body is present and matches `invocationModel`. */
  public readonly requestValidator: apigw.RequestValidator;
  /** JSON schema of an invocation request (address and at least one message). */
  public readonly invocationModel: apigw.Model;
  /** Functions added so far, by type. */
  public readonly functions: { [functionType: string]: RemoteFunction } = {};
  /** Processors that call every function of this API, including those added later. */
  private readonly processors: StatefulFunctionsProcessor[] = [];

  constructor(scope: Construct, id: string, props: RestApiOptions = {}) {
    super(scope, id);
    if (props.authorization !== undefined && props.authorization !== RestApiAuthorization.IAM) {
      // The runtime authenticates with its role (SigV4); API keys would let any key holder change function state.
      throw new Error(`StatefulFunctionsApi supports IAM authorization only, got ${props.authorization}`);
    }
    // A unique default name: API Gateway metrics are keyed by ApiName, so two APIs named alike would share them.
    const restApiName = props.restApiName ?? Names.uniqueResourceName(this, { maxLength: 128 });
    const built = createSecureRestApi(
      this,
      { ...props, restApiName },
      `Remote stateful functions of ${this.node.path}`,
    );
    this.api = built.api;
    this.accessLogGroup = built.accessLogGroup;
    this.alarms = built.alarms;
    this.requestValidator = this.api.addRequestValidator('Validator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    this.invocationModel = this.api.addModel('InvocationModel', {
      contentType: 'application/json',
      modelName: 'FunctionInvocation',
      schema: {
        schema: apigw.JsonSchemaVersion.DRAFT4,
        title: 'FunctionInvocation',
        type: apigw.JsonSchemaType.OBJECT,
        required: ['address', 'messages'],
        properties: {
          address: {
            type: apigw.JsonSchemaType.OBJECT,
            required: ['type', 'id'],
            properties: {
              type: { type: apigw.JsonSchemaType.STRING, minLength: 1 },
              id: { type: apigw.JsonSchemaType.STRING, minLength: 1 },
            },
          },
          stateVersion: { type: apigw.JsonSchemaType.INTEGER, minimum: 0 },
          messages: { type: apigw.JsonSchemaType.ARRAY, minItems: 1 },
        },
      },
    });
  }

  /** Adds a function as `POST /<functionType>` of this API. */
  public addFunction(options: RemoteFunctionOptions): RemoteFunction {
    validateFunctionType(options.functionType);
    return new RemoteFunction(this, `Function-${options.functionType}`, { ...options, api: this });
  }

  /** @internal Registers a function; types are unique per API because they are its resource paths. */
  public _register(fn: RemoteFunction): apigw.Resource {
    if (this.functions[fn.functionType]) {
      throw new Error(`function type '${fn.functionType}' is already served by ${this.node.path}`);
    }
    this.functions[fn.functionType] = fn;
    return this.api.root.addResource(fn.functionType);
  }

  /** @internal Hands every function, present and future, to `processor` (`StatefulFunctionsProcessor.addFunctionsApi`). */
  public _subscribe(processor: StatefulFunctionsProcessor): void {
    if (this.processors.includes(processor)) return;
    this.processors.push(processor);
    for (const fn of Object.values(this.functions)) processor.addFunction(fn);
  }

  /** @internal Called by a function once its method exists, so the processors can grant and list it. */
  public _announce(fn: RemoteFunction): void {
    for (const processor of this.processors) processor.addFunction(fn);
  }

  /** Grants `execute-api:Invoke` on every function method of this API. */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return grantInvokeMethods(
      grantee,
      this.api,
      Object.values(this.functions).map((f) => f.method),
    );
  }

  /** 5XX responses of the whole API. @default statistic Sum over 5 minutes */
  public metricServerError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.api.metricServerError({ statistic: 'Sum', ...props });
  }

  /** Latency of the whole API. @default statistic p99 over 5 minutes */
  public metricLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.api.metricLatency({ statistic: 'p99', ...props });
  }
}

/**
 * A remote stateful function: a `NodejsFunction` (nodejs24.x, arm64, local esbuild, X-Ray) with its own
 * least-privilege role (logs to its own log group, tracing, nothing else) behind `POST /<functionType>` of a
 * `StatefulFunctionsApi` with a Lambda proxy integration, IAM authorization and request validation. `grantInvoke`
 * allows exactly this method; `endpointUrl` goes into the runtime's module definition. Alarms on the method's 5XX and
 * p99 latency (detailed API metrics) and on Lambda errors and throttles.
 */
export class RemoteFunction extends Construct implements IRemoteFunctionEndpoint {
  public readonly functionType: string;
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  /** The API serving the function (shared or created for it). */
  public readonly api: StatefulFunctionsApi;
  public readonly method: apigw.Method;
  public readonly endpointUrl: string;
  public readonly invocationTimeout: Duration;
  public readonly maxAttempts: number;
  public readonly egressNames: string[];
  public readonly messageTargets: string[];
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: RemoteFunctionProps) {
    super(scope, id);
    validateFunctionType(props.functionType);
    if (props.api && props.apiOptions) {
      throw new Error('apiOptions configure a new API and cannot be combined with api');
    }
    this.functionType = props.functionType;
    this.invocationTimeout = props.invocationTimeout ?? Duration.seconds(5);
    this.maxAttempts = props.maxAttempts ?? 5;
    this.egressNames = [...(props.egressNames ?? [])];
    this.messageTargets = [...(props.messageTargets ?? [])];
    const timeout = props.timeout ?? Duration.seconds(4);
    validateInvocation(this.invocationTimeout, this.maxAttempts);
    validateRange('memorySize', props.memorySize, 128, 10240, 'MB');
    validateInteger('reservedConcurrentExecutions', props.reservedConcurrentExecutions, 0);
    if (
      !timeout.isUnresolved() &&
      !this.invocationTimeout.isUnresolved() &&
      timeout.toMilliseconds() >= this.invocationTimeout.toMilliseconds()
    ) {
      throw new Error(
        `timeout must be shorter than invocationTimeout (${this.invocationTimeout.toMilliseconds()} ms), got ${timeout.toMilliseconds()} ms`,
      );
    }
    for (const name of this.egressNames) validateEgressName(name);
    for (const target of this.messageTargets) validateFunctionType(target, 'messageTargets entry');
    validateThreshold('serverErrorThreshold', props.serverErrorThreshold);
    validateThreshold('errorsThreshold', props.errorsThreshold);
    validateThreshold('throttlesThreshold', props.throttlesThreshold);
    validateThreshold('latencyP99Threshold', props.latencyP99Threshold?.toMilliseconds());

    this.api = props.api ?? new StatefulFunctionsApi(this, 'Api', props.apiOptions);

    // Functions compute from their request only: the role may write its logs and traces, nothing else.
    const created = createObservedFunction(
      this,
      { logGroup: 'LogGroup', role: 'ServiceRole', function: 'Function' },
      {
        entry: props.entry,
        handler: props.handler,
        description: props.description ?? `Remote stateful function ${this.functionType} (${this.node.path})`,
        roleDescription: `Execution role of remote function ${this.functionType} (${this.node.path})`,
        serviceName: `${Stack.of(this).stackName}-${this.functionType}`,
        memorySize: props.memorySize ?? 256,
        timeout,
        reservedConcurrentExecutions: props.reservedConcurrentExecutions,
        logRetention: props.logRetention,
        environment: props.environment,
      },
    );
    this.logGroup = created.logGroup;
    this.role = created.role;
    this.function = created.function;

    const resource = this.api._register(this);
    this.method = resource.addMethod(
      'POST',
      new apigw.LambdaIntegration(this.function, {
        proxy: true,
        timeout: this.invocationTimeout,
        // Only the deployed stage may invoke the function, not the console's test-invoke.
        allowTestInvoke: false,
      }),
      {
        authorizationType: apigw.AuthorizationType.IAM,
        requestValidator: this.api.requestValidator,
        requestModels: { 'application/json': this.api.invocationModel },
      },
    );
    this.endpointUrl = this.api.api.urlForPath(resource.path);

    if (props.createAlarms ?? true) this.createAlarms(props);
    this.api._announce(this);
  }

  /** Grants `execute-api:Invoke` on this function's method of the deployed stage only. */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return grantInvokeMethods(grantee, this.api.api, [this.method]);
  }

  /** 5XXError of this function's method (detailed API metrics). @default statistic Sum over 5 minutes */
  public metricServerError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.methodMetric('5XXError', { statistic: 'Sum', ...props });
  }

  /** 4XXError of this function's method (validation, auth, throttling). @default statistic Sum over 5 minutes */
  public metricClientError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.methodMetric('4XXError', { statistic: 'Sum', ...props });
  }

  /** Latency of this function's method, milliseconds. @default statistic p99 over 5 minutes */
  public metricLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.methodMetric('Latency', { statistic: 'p99', ...props });
  }

  /** Lambda Errors. @default statistic Sum over 5 minutes */
  public metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricErrors({ statistic: 'Sum', ...props });
  }

  /** Lambda Throttles. @default statistic Sum over 5 minutes */
  public metricThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricThrottles({ statistic: 'Sum', ...props });
  }

  private methodMetric(metricName: string, props: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: {
        ApiName: this.api.api.restApiName,
        Method: 'POST',
        Resource: `/${this.functionType}`,
        Stage: this.api.api.deploymentStage.stageName,
      },
      ...props,
    });
  }

  private createAlarms(props: RemoteFunctionProps): void {
    const topic = props.alarmTopic;
    // 80% of a deploy-time invocationTimeout cannot be computed here: the alarm then fires at the timeout itself.
    const latency =
      props.latencyP99Threshold ??
      (this.invocationTimeout.isUnresolved()
        ? this.invocationTimeout
        : Duration.millis(Math.round(this.invocationTimeout.toMilliseconds() * 0.8)));
    this.alarms.push(
      createAlarm(
        this,
        'ServerErrorAlarm',
        {
          metric: this.metricServerError(),
          threshold: props.serverErrorThreshold ?? 1,
          alarmDescription: `POST /${this.functionType} returns 5XX: the runtime retries and then dead-letters its messages`,
        },
        topic,
      ),
      createAlarm(
        this,
        'LatencyP99Alarm',
        {
          metric: this.metricLatency(),
          threshold: latency.toMilliseconds(),
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
          alarmDescription: `p99 latency of POST /${this.functionType} is at or above ${describeDuration(latency)} (runtime timeout ${describeDuration(this.invocationTimeout)})`,
        },
        topic,
      ),
      createAlarm(
        this,
        'ErrorsAlarm',
        {
          metric: this.metricErrors(),
          threshold: props.errorsThreshold ?? 1,
          alarmDescription: `Remote function ${this.functionType} (${this.node.path}) fails`,
        },
        topic,
      ),
      createAlarm(
        this,
        'ThrottlesAlarm',
        {
          metric: this.metricThrottles(),
          threshold: props.throttlesThreshold ?? 1,
          alarmDescription: `Remote function ${this.functionType} (${this.node.path}) is throttled`,
        },
        topic,
      ),
    );
  }
}

/** Function types name API resources and are matched against routes and message targets at synth time. */
function validateFunctionType(type: string, name = 'functionType'): void {
  requireResolved(name, type, 'it routes events to the function and names its API resource at synth time');
  if (!FUNCTION_TYPE.test(type)) {
    throw new Error(`${name} must match ${FUNCTION_TYPE.source}, got '${type}'`);
  }
}

/** Egress names become property group names `Egress.<name>` (at most 50 characters in all). */
export function validateEgressName(name: string): void {
  requireResolved('egress name', name, 'it is matched against the declared egress streams at synth time');
  if (!/^[a-zA-Z0-9_-]{1,43}$/.test(name)) {
    throw new Error(
      `egress name must match [a-zA-Z0-9_-]{1,43} (it names property group Egress.<name>), got '${name}'`,
    );
  }
}

function validateInvocation(timeout: Duration, maxAttempts: number): void {
  validateDuration('invocationTimeout', timeout, Duration.millis(1), Duration.millis(MAX_INTEGRATION_TIMEOUT_MS));
  validateInteger('maxAttempts', maxAttempts, 1, 100);
}
