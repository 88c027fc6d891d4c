import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * A log group encrypted with a customer-managed key. The key policy lets CloudWatch Logs of this account and region
 * use the key only for log groups (encryption context `aws:logs:arn`), which the service requires for CMK log groups.
 */
export function createEncryptedLogGroup(
  scope: Construct,
  id: string,
  retention: logs.RetentionDays,
  purpose: string,
): logs.LogGroup {
  const stack = Stack.of(scope);
  const key = new kms.Key(scope, `${id}Key`, {
    description: `Encrypts ${purpose} of ${scope.node.path}`,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
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
  return new logs.LogGroup(scope, id, {
    encryptionKey: key,
    retention,
    removalPolicy: RemovalPolicy.RETAIN,
  });
}
