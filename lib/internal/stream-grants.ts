import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';

/** A producer that sends batches only (no aggregation, so no ListShards): the simulator, the replay. */
export const PUT_RECORDS_ACTIONS: readonly string[] = ['kinesis:PutRecords'];

/** What the Flink Kinesis sink calls on a stream it writes to (the Flink processors' sinks and egresses). */
export const FLINK_SINK_WRITE_ACTIONS: readonly string[] = [
  'kinesis:DescribeStreamSummary',
  'kinesis:ListShards',
  'kinesis:PutRecord',
  'kinesis:PutRecords',
];

/**
 * Lets `grantee` write to `stream` with `actions` (on the stream's ARN) and, when the stream is KMS-encrypted, call
 * `kms:GenerateDataKey` on its key: all a producer to an encrypted stream needs (it never decrypts). Narrower than
 * `stream.grantWrite`, which adds ListShards and `kms:Encrypt`/`ReEncrypt*`/`GenerateDataKey*`.
 */
export function grantPutRecords(
  grantee: iam.IGrantable,
  stream: kinesis.IStream,
  actions: readonly string[] = PUT_RECORDS_ACTIONS,
): iam.Grant {
  const grant = iam.Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns: [stream.streamArn] });
  const keyGrant = stream.encryptionKey?.grant(grantee, 'kms:GenerateDataKey');
  return keyGrant ? grant.combine(keyGrant) : grant;
}
