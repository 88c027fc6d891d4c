import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';

/** Builds Lambda Kinesis events the way the event source mapping delivers them. */
export function kinesisRecord(
  data: Buffer | string,
  opts: { shardId?: string; sequenceNumber?: string; partitionKey?: string; arrival?: number } = {},
): KinesisStreamRecord {
  const shardId = opts.shardId ?? 'shardId-000000000000';
  const sequenceNumber = opts.sequenceNumber ?? '1';
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: opts.partitionKey ?? 'pk',
      sequenceNumber,
      data: (typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64'),
      approximateArrivalTimestamp: opts.arrival ?? 1764403200.123,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::111122223333:role/test',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:kinesis:us-east-1:111122223333:stream/test',
  };
}

export function kinesisEvent(records: KinesisStreamRecord[]): KinesisStreamEvent {
  return { Records: records };
}
