import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * Lets CloudWatch Logs of this account and region use `key` for log groups only (encryption context
 * `aws:logs:arn`). CloudWatch Logs requires this key policy statement: without it, creating a log group with the key
 * fails.
 */
export function allowCloudWatchLogs(key: kms.IKey): void {
  const stack = Stack.of(key);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
        },
      },
    }),
  );
}

export interface EncryptedLogGroupOptions {
  /** The key to encrypt with; its policy must already let CloudWatch Logs use it. @default - a new key */
  readonly encryptionKey?: kms.IKey;
  /** The id of the new key. @default `${id}Key` */
  readonly keyId?: string;
}

/**
 * A log group (retained on stack deletion) encrypted with `options.encryptionKey` or with a new customer-managed key
 * whose policy lets CloudWatch Logs use it.
 */
export function createEncryptedLogGroup(
  scope: Construct,
  id: string,
  retention: logs.RetentionDays,
  purpose: string,
  options: EncryptedLogGroupOptions = {},
): logs.LogGroup {
  let key = options.encryptionKey;
  if (!key) {
    key = new kms.Key(scope, options.keyId ?? `${id}Key`, {
      description: `Encrypts ${purpose} of ${scope.node.path}`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    allowCloudWatchLogs(key);
  }
  return new logs.LogGroup(scope, id, {
    encryptionKey: key,
    retention,
    removalPolicy: RemovalPolicy.RETAIN,
  });
}
