import type { KinesisStreamRecord } from 'aws-lambda';
import { AggregationFormatError, isAggregated, ParsedAggregate, parseAggregate } from './kpl';
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

/**
 * Groups a batch by shard, each shard's records in sequence-number order (per-shard failure handling and the
 * redelivery mark need it). Kinesis delivers a shard in order, so this is a check in practice; an out-of-order
 * event (hand-made or replayed) is put in order rather than half-applied, and equal numbers keep their arrival order.
 */
export function groupByShard<T>(
  records: readonly KinesisStreamRecord[],
  toItem: (record: KinesisStreamRecord) => T,
): Map<string, T[]> {
  const byShard = new Map<string, { record: KinesisStreamRecord; item: T }[]>();
  for (const record of records) {
    const shard = shardIdOf(record);
    const entry = { record, item: toItem(record) };
    const list = byShard.get(shard);
    if (list) list.push(entry);
    else byShard.set(shard, [entry]);
  }
  const out = new Map<string, T[]>();
  for (const [shard, list] of byShard) {
    let sorted = true;
    for (let i = 1; i < list.length && sorted; i++) {
      sorted =
        compareSequenceNumbers(list[i - 1].record.kinesis.sequenceNumber, list[i].record.kinesis.sequenceNumber) <= 0;
    }
    // Array.prototype.sort is stable, so records with equal sequence numbers keep their order.
    if (!sorted)
      list.sort((a, b) => compareSequenceNumbers(a.record.kinesis.sequenceNumber, b.record.kinesis.sequenceNumber));
    out.set(
      shard,
      list.map((e) => e.item),
    );
  }
  return out;
}

const DECIMAL = /^[0-9]+$/;

/**
 * Total order on sequence numbers. Kinesis's are decimal strings of up to 128 digits, compared as numbers (by length
 * once leading zeros are gone, then digit by digit: no BigInt parsing on the hot path). Anything else, which only a
 * malformed event carries, sorts after every decimal one, by code units, so comparing never throws.
 */
export function compareSequenceNumbers(a: string, b: string): number {
  const da = DECIMAL.test(a);
  const db = DECIMAL.test(b);
  if (da !== db) return da ? -1 : 1;
  if (da) {
    const x = stripZeros(a);
    const y = stripZeros(b);
    if (x.length !== y.length) return x.length - y.length;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function stripZeros(s: string): string {
  let i = 0;
  while (i < s.length - 1 && s.charCodeAt(i) === 48) i++;
  return i === 0 ? s : s.slice(i);
}

/**
 * Decodes one Lambda Kinesis record into its user records (several when KPL-aggregated). Each user record's data is a
 * view into the one decoded buffer, not a copy.
 */
export function decodeRecord(record: KinesisStreamRecord): DecodedRecord[] {
  const kinesis = record.kinesis;
  const data = Buffer.from(kinesis.data, 'base64');
  const sequenceNumber = kinesis.sequenceNumber;
  const shardId = shardIdOf(record);
  const approximateArrivalTimestamp = Math.round(kinesis.approximateArrivalTimestamp * 1000);
  if (!isAggregated(data)) {
    return [
      {
        data,
        partitionKey: kinesis.partitionKey,
        sequenceNumber,
        subSequenceNumber: 0,
        shardId,
        approximateArrivalTimestamp,
      },
    ];
  }
  let parsed: ParsedAggregate;
  try {
    parsed = parseAggregate(data);
  } catch (e) {
    if (e instanceof AggregationFormatError) throw new DeadLetterError('MALFORMED_AGGREGATE', e.message);
    throw e;
  }
  const { count, partitionKeys, pk, start, end } = parsed;
  const out: DecodedRecord[] = new Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = {
      data: data.subarray(start[i], end[i]),
      partitionKey: partitionKeys[pk[i]],
      sequenceNumber,
      subSequenceNumber: i,
      shardId,
      approximateArrivalTimestamp,
    };
  }
  return out;
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
