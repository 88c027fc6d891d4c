import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { createEncryptedLogGroup } from './encrypted-log-group';
import { markBundled, sharedBundleCode } from './shared-bundle';
import { validateDuration } from './validation';

/** esbuild's target for the runtime below. */
const TARGET = 'node24';

/** Settings of a library-owned Lambda function. */
export interface ObservedFunctionSpec {
  readonly entry: string;
  readonly handler?: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly roleDescription: string;
  /** Powertools service name. */
  readonly serviceName: string;
  readonly environment?: { [key: string]: string };
  readonly reservedConcurrentExecutions?: number;
  readonly logRetention?: logs.RetentionDays;
  /** Key for the log group; its policy must let CloudWatch Logs use it. @default - a new key with rotation */
  readonly logEncryptionKey?: kms.IKey;
  readonly tracing?: boolean;
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
}

/** Construct ids of the three resources; they are part of the callers' public contract. */
export interface ObservedFunctionIds {
  readonly logGroup: string;
  readonly role: string;
  readonly function: string;
}

export interface ObservedFunction {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
}

/**
 * Every Lambda function of the library: nodejs24.x on arm64 bundled with the local esbuild (no Docker; minified,
 * no source maps, so asset hashes are stable; once per entry for the whole app, see `sharedBundleCode`), its own
 * retained log group encrypted with a customer-managed key, and an explicit role that may write only to that log
 * group (no managed policy). Callers add what the function does to `role`.
 */
export function createObservedFunction(
  scope: Construct,
  ids: ObservedFunctionIds,
  spec: ObservedFunctionSpec,
): ObservedFunction {
  // Lambda allows at most 15 minutes.
  validateDuration('timeout', spec.timeout, Duration.seconds(1), Duration.minutes(15));
  const logGroup = createEncryptedLogGroup(
    scope,
    ids.logGroup,
    spec.logRetention ?? logs.RetentionDays.ONE_MONTH,
    'Lambda logs',
    { encryptionKey: spec.logEncryptionKey },
  );
  const role = new iam.Role(scope, ids.role, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: spec.roleDescription,
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  if (spec.vpc) {
    // What AWSLambdaVPCAccessExecutionRole allows, inline: Lambda manages the function's network interfaces.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
  }
  const tracing = spec.tracing ?? true;
  const handler = spec.handler ?? 'handler';
  // One bundle per entry for the whole app (several functions, stacks and stages share entries), built in-process.
  const code = sharedBundleCode(scope, spec.entry, { target: TARGET });
  const fn = new nodejs.NodejsFunction(scope, ids.function, {
    entry: spec.entry,
    code,
    handler: code && !handler.includes('.') ? `index.${handler}` : handler,
    description: spec.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: spec.memorySize,
    timeout: spec.timeout,
    reservedConcurrentExecutions: spec.reservedConcurrentExecutions,
    role,
    logGroup,
    tracing: tracing ? lambda.Tracing.ACTIVE : undefined,
    vpc: spec.vpc,
    vpcSubnets: spec.vpcSubnets,
    securityGroups: spec.securityGroups,
    environment: {
      POWERTOOLS_SERVICE_NAME: spec.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: 'CdkStreamingPatterns',
      ...spec.environment,
    },
    bundling: {
      forceDockerBundling: false,
      minify: true,
      sourceMap: false,
      target: TARGET,
      format: nodejs.OutputFormat.CJS,
      externalModules: [],
    },
  });
  if (code) markBundled(fn);
  if (tracing || spec.vpc) {
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) and, in a VPC, the network interface actions Lambda needs (ec2:CreateNetworkInterface and related) support no resource-level permissions.',
    });
  }
  return { function: fn, role, logGroup };
}

/** A Powertools service name unique within the account: the stack name and the construct id. */
export function serviceNameOf(scope: Construct, id: string): string {
  return `${Stack.of(scope).stackName}-${id}`;
}
