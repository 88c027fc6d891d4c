import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/**
 * Target of S3 server access logs. Log delivery does not support SSE-KMS targets, hence S3-managed encryption.
 */
export function createAccessLogsBucket(scope: Construct, id: string, expiration: Duration): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules: [{ id: 'ExpireAccessLogs', expiration }],
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions::AwsSolutions-S1',
    reason: 'This bucket is the server access log target; logging it to itself would log its own log deliveries.',
  });
  return bucket;
}

/** Options of `createSecureBucket`. */
export interface SecureBucketOptions {
  readonly encryptionKey: kms.IKey;
  readonly serverAccessLogsBucket?: s3.IBucket;
  readonly serverAccessLogsPrefix?: string;
  readonly lifecycleRules?: s3.LifecycleRule[];
  /** Reason for the S1 acknowledgement when there is no access logs bucket. */
  readonly noAccessLogsReason?: string;
}

/** A bucket encrypted with a customer-managed key, TLS-only, with public access blocked and ACLs disabled. */
export function createSecureBucket(scope: Construct, id: string, options: SecureBucketOptions): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: options.encryptionKey,
    // Bucket keys cut KMS requests (and cost) for high-volume writers such as Firehose.
    bucketKeyEnabled: true,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: options.serverAccessLogsBucket,
    serverAccessLogsPrefix: options.serverAccessLogsBucket ? options.serverAccessLogsPrefix : undefined,
    lifecycleRules: options.lifecycleRules,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  if (!options.serverAccessLogsBucket) {
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason: options.noAccessLogsReason ?? 'Server access logging was turned off by the construct user.',
    });
  }
  return bucket;
}
