import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Duration } from 'aws-cdk-lib';

/** How callers authenticate to a REST API built by this library. */
export enum RestApiAuthorization {
  /** SigV4-signed requests from AWS principals allowed `execute-api:Invoke` (see `grantInvoke`). */
  IAM = 'IAM',
  /** An `x-api-key` header checked against an API key attached to a usage plan with throttling and a quota. */
  API_KEY = 'API_KEY',
}

/**
 * Options shared by the REST APIs this library creates (`ApiGatewayIngestion`, the read API of
 * `DynamoDbDestination`): authorization, stage throttling, logging, tracing, WAF and alarms.
 */
export interface RestApiOptions {
  /** @default - a name derived from the construct path */
  readonly restApiName?: string;
  /** Name of the deployed stage. @default 'prod' */
  readonly stageName?: string;
  /** @default RestApiAuthorization.IAM */
  readonly authorization?: RestApiAuthorization;
  /** Steady-state requests per second allowed by the stage (and the usage plan with API keys). @default 100 */
  readonly throttlingRateLimit?: number;
  /** Burst of requests allowed by the stage (and the usage plan with API keys). @default 200 */
  readonly throttlingBurstLimit?: number;
  /** Requests per day allowed per API key (API_KEY authorization only). @default - no quota */
  readonly apiKeyQuotaPerDay?: number;
  /** Retention of the access log group (JSON lines, encrypted with a customer-managed key). @default logs.RetentionDays.ONE_MONTH */
  readonly accessLogRetention?: logs.RetentionDays;
  /** Turn on X-Ray tracing for the stage. @default true */
  readonly tracingEnabled?: boolean;
  /**
   * Create the account-level role that lets API Gateway write execution logs to CloudWatch. Execution logging
   * (level ERROR) is on for every method and fails to deploy in a region where no such role is configured; turn this
   * off when the account already has one.
   * @default true
   */
  readonly cloudWatchRole?: boolean;
  /** Associate this AWS WAFv2 web ACL (regional scope) with the stage. @default - no web ACL */
  readonly webAclArn?: string;
  /** Create the default alarms (4XX, 5XX, p99 latency). @default true */
  readonly createAlarms?: boolean;
  /** Alarm when 4XX responses in 5 minutes reach this count. @default 50 */
  readonly clientErrorThreshold?: number;
  /** Alarm when 5XX responses in 5 minutes reach this count. @default 1 */
  readonly serverErrorThreshold?: number;
  /** Alarm when the p99 latency over 5 minutes reaches this. @default Duration.seconds(1) */
  readonly latencyP99Threshold?: Duration;
  /** Topic notified when an alarm fires or recovers. @default - no action */
  readonly alarmTopic?: sns.ITopic;
}
