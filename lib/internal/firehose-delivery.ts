import { Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './nag';

/** What Firehose needs from a Kinesis source stream (Firehose developer guide, "Grant Firehose access to..."). */
export const KINESIS_SOURCE_ACTIONS = [
  'kinesis:DescribeStream',
  'kinesis:DescribeStreamSummary',
  'kinesis:GetShardIterator',
  'kinesis:GetRecords',
  'kinesis:ListShards',
];

/** Key prefix Firehose writes under: segments of letters, digits and `!_.*'()-`, each ending with `/`. */
export const S3_PREFIX = /^([A-Za-z0-9!_.*'()-]+\/)*$/;

/** Throws with the received value unless `value` is a non-empty S3 key prefix ending with '/' (or a token). */
export function validatePrefix(name: string, value: string): void {
  if (!Token.isUnresolved(value) && (value === '' || !S3_PREFIX.test(value))) {
    throw new Error(
      `${name} must be non-empty, end with '/' and use only letters, digits and !_.*'()-, got '${value}'`,
    );
  }
}

/** A role only Firehose of this account can assume. */
export function createFirehoseRole(scope: Construct, id: string, description: string): iam.Role {
  return new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
    description,
  });
}

/** The statements every Kinesis-sourced delivery stream of this library needs, scoped to its resources. */
export interface DeliveryStatementsOptions {
  readonly stream: kinesis.IStream;
  /** The bucket Firehose writes failed records (and any backup) to. */
  readonly bucket: s3.IBucket;
  /** Key prefixes Firehose writes under in `bucket`. */
  readonly prefixes: string[];
  /** The key of `bucket`. */
  readonly bucketKey: kms.IKey;
  readonly logGroup: logs.ILogGroup;
}

export function deliveryStatements(scope: Construct, options: DeliveryStatementsOptions): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const statements = [
    new iam.PolicyStatement({ actions: KINESIS_SOURCE_ACTIONS, resources: [options.stream.streamArn] }),
    new iam.PolicyStatement({
      actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
      resources: [options.bucket.bucketArn],
    }),
    new iam.PolicyStatement({
      actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      resources: options.prefixes.map((p) => options.bucket.arnForObjects(`${p}*`)),
    }),
    new iam.PolicyStatement({
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [options.bucketKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
    }),
    new iam.PolicyStatement({
      actions: ['logs:PutLogEvents', 'logs:CreateLogStream'],
      resources: [options.logGroup.logGroupArn],
    }),
  ];
  if (options.stream.encryptionKey) {
    statements.push(
      new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [options.stream.encryptionKey.keyArn] }),
    );
  }
  return statements;
}

/** Acknowledges the IAM5 finding of each `<bucket>/<prefix>*` resource of `deliveryStatements`. */
export function acknowledgePrefixWildcards(policy: iam.Policy, bucket: s3.IBucket, prefixes: string[]): void {
  for (const prefix of prefixes) {
    acknowledgeWildcardResource(
      policy,
      `${bucket.bucketArn}/${prefix}*`,
      `Firehose names the objects it writes by time and error type under '${prefix}'; access is limited to that prefix.`,
    );
  }
}

/** The KDF1 acknowledgement every Kinesis-sourced delivery stream needs. */
export function acknowledgeKinesisSourceEncryption(deliveryStream: Construct): void {
  Validations.of(deliveryStream).acknowledge({
    id: 'AwsSolutions::AwsSolutions-KDF1',
    reason:
      'Firehose refuses server-side encryption on delivery streams with a Kinesis source; data at rest is encrypted by the source stream and the CMKs of the destinations.',
  });
}

/** The Kinesis source configuration of a delivery stream read with `role`. */
export function kinesisSource(
  stream: kinesis.IStream,
  role: iam.IRole,
): firehose.CfnDeliveryStream.KinesisStreamSourceConfigurationProperty {
  return { kinesisStreamArn: stream.streamArn, roleArn: role.roleArn };
}

/** A metric of the delivery stream named `deliveryStreamName` in namespace AWS/Firehose. */
export function firehoseMetric(
  deliveryStreamName: string,
  metricName: string,
  statistic: string,
  props?: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/Firehose',
    metricName,
    dimensionsMap: { DeliveryStreamName: deliveryStreamName },
    statistic,
    ...props,
  });
}
