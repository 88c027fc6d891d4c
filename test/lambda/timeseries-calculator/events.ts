import type { KinesisStreamRecord, KinesisStreamTumblingWindowEvent } from 'aws-lambda';
import type { EnrichedTelemetryRecord } from '../../../lambda/shared/telemetry';

/** Builders for Lambda tumbling-window events as the Kinesis event source mapping sends them. */
export const SHARD = 'shardId-000000000000';
export const STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/enriched';

export function kinesisRecord(
  seq: number,
  data: string | Buffer,
  partitionKey = 'pk',
  shard = SHARD,
): KinesisStreamRecord {
  const sequenceNumber = String(49590338271490256608559692538361571095921575989136588898n + BigInt(seq));
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey,
      sequenceNumber,
      data: (typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64'),
      approximateArrivalTimestamp: 1764403200.123,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shard}:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/r',
    awsRegion: 'us-east-1',
    eventSourceARN: STREAM_ARN,
  };
}

export function windowEvent(
  records: KinesisStreamRecord[],
  state: Record<string, unknown> | undefined,
  opts: { start?: string; end?: string; final?: boolean } = {},
): KinesisStreamTumblingWindowEvent {
  return {
    Records: records,
    window: { start: opts.start ?? '2026-11-29T08:00:00Z', end: opts.end ?? '2026-11-29T08:01:00Z' },
    state,
    shardId: SHARD,
    eventSourceARN: STREAM_ARN,
    isFinalInvokeForWindow: opts.final ?? false,
    isWindowTerminatedEarly: false,
  } as KinesisStreamTumblingWindowEvent;
}

export function enriched(
  eventId: string,
  deviceId: string,
  metrics: Record<string, number>,
  timestamp = Date.UTC(2026, 10, 29, 8, 0, 10),
  site = 'plant-1',
): EnrichedTelemetryRecord {
  return {
    eventId,
    deviceId,
    timestamp,
    metrics,
    attributes: { fw: '1.2.0' },
    metadata: site ? { site, deviceType: 'thermostat' } : {},
    enriched: Boolean(site),
    processedAt: timestamp + 500,
  };
}
