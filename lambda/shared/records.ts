import type { KinesisStreamRecord } from 'aws-lambda';
import { AggregationFormatError, deaggregate, isAggregated } from './kpl';
import { DeadLetterError } from './errors';

/** One user record, after base64 decoding and KPL de-aggregation. */
export interface DecodedRecord {
  /** Payload bytes. */
  readonly data: Buffer;
  readonly partitionKey: string;
  /** Sequence number of the Kinesis record that carried it (shared by all records of one aggregate). */
  readonly sequenceNumber: string;
  /** Position inside a KPL aggregate, 0 for plain records. */
  readonly subSequenceNumber: number;
  readonly shardId: string;
  /** Approximate arrival time in epoch milliseconds. */
  readonly approximateArrivalTimestamp: number;
}

/** The shard id Lambda puts before the colon of `eventID` (`shardId-000000000000:4959...`). */
export function shardIdOf(record: KinesisStreamRecord): string {
  const i = record.eventID.indexOf(':');
  return i > 0 ? record.eventID.slice(0, i) : record.eventSourceARN;
}

/** Groups a batch by shard, keeping arrival order within each shard (per-shard failure handling needs it). */
export function groupByShard<T>(
  records: readonly KinesisStreamRecord[],
  toItem: (record: KinesisStreamRecord) => T,
): Map<string, T[]> {
  const byShard = new Map<string, T[]>();
  for (const record of records) {
    const shard = shardIdOf(record);
    const list = byShard.get(shard);
    if (list) list.push(toItem(record));
    else byShard.set(shard, [toItem(record)]);
  }
  return byShard;
}

/** Decodes one Lambda Kinesis record into its user records (several when KPL-aggregated). */
export function decodeRecord(record: KinesisStreamRecord): DecodedRecord[] {
  const data = Buffer.from(record.kinesis.data, 'base64');
  const base = {
    sequenceNumber: record.kinesis.sequenceNumber,
    shardId: shardIdOf(record),
    approximateArrivalTimestamp: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
  };
  if (!isAggregated(data)) {
    return [{ ...base, data, partitionKey: record.kinesis.partitionKey, subSequenceNumber: 0 }];
  }
  try {
    return deaggregate(data).map((u, i) => ({
      ...base,
      data: u.data,
      partitionKey: u.partitionKey,
      subSequenceNumber: i,
    }));
  } catch (e) {
    if (e instanceof AggregationFormatError) throw new DeadLetterError('MALFORMED_AGGREGATE', e.message);
    throw e;
  }
}

/** Parses a record's payload as JSON; a payload that is not JSON is a dead letter, not a retry. */
export function parseJson<T = unknown>(record: Pick<DecodedRecord, 'data'>): T {
  const text = record.data.toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new DeadLetterError('MALFORMED_JSON', (e as Error).message);
  }
}

/** The original payload for a dead-letter entry: UTF-8 text when it is valid UTF-8, else base64. */
export function payloadForDeadLetter(data: Buffer): string {
  const text = data.toString('utf8');
  return Buffer.from(text, 'utf8').equals(data) ? text : data.toString('base64');
}
