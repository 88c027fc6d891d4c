import { createHash } from 'crypto';
import { KinesisClient, ListShardsCommand, PutRecordsCommand, PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { aggregate } from './kpl';

/** Kinesis service limits (https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html). */
export const KINESIS_MAX_RECORDS_PER_PUT = 500;
export const KINESIS_MAX_BYTES_PER_PUT = 5 * 1024 * 1024;
/** Data blob plus partition key of one Kinesis record. */
export const KINESIS_MAX_RECORD_BYTES = 1024 * 1024;
export const KINESIS_MAX_PARTITION_KEY_CHARS = 256;
const MAX_HASH_KEY = (1n << 128n) - 1n;

/** One record to put on a stream. */
export interface ProducerRecord {
  readonly data: Uint8Array | string;
  readonly partitionKey: string;
  /** Decimal 128-bit hash key that overrides the partition key's MD5 for routing. */
  readonly explicitHashKey?: string;
}

export interface FailedRecord {
  readonly record: ProducerRecord;
  readonly errorCode: string;
  readonly errorMessage: string;
}

/** `sent + failed.length` always equals the number of records given to `send`. */
export interface SendResult {
  readonly sent: number;
  readonly failed: FailedRecord[];
}

export interface KinesisProducerOptions {
  readonly client: KinesisClient;
  /** One of streamArn / streamName is required; the ARN is preferred (cross-account, no name lookup). */
  readonly streamArn?: string;
  readonly streamName?: string;
  /** PutRecords attempts per record, the first one included. @default 5 */
  readonly maxAttempts?: number;
  /** Backoff base: attempt n waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^n)) ("full jitter"). @default 100 */
  readonly baseDelayMs?: number;
  /** Upper bound of one backoff wait. @default 5000 */
  readonly maxDelayMs?: number;
  /**
   * Packs small records into KPL aggregates (consumers de-aggregate them: the KCL, `decodeRecord` in lambda/shared,
   * Lambda event sources with the KPL de-aggregation library). Records are grouped by the shard their hash key maps
   * to (from ListShards, so the role needs kinesis:ListShards) or, when the shard map is unavailable, by hash key;
   * each aggregate carries an explicit hash key that routes it to the shard every record in it would have reached.
   * @default false
   */
  readonly aggregate?: boolean;
  /**
   * Largest aggregate, in bytes of data plus partition key. Kinesis allows 1 MiB per record; the KPL defaults to
   * 50 KiB, which spreads a shard's 1 MiB/s write limit over more records. @default 1 MiB
   */
  readonly maxAggregateBytes?: number;
}

interface Entry {
  readonly data: Uint8Array;
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  /** The caller's records this Kinesis record carries (one unless aggregated). */
  readonly sources: ProducerRecord[];
  /** For an aggregate built from the shard map: the shard it was grouped for. */
  readonly expectedShardId?: string;
}

/** Error codes worth retrying: throttling and service-side failures. Everything else fails the records at once. */
const RETRYABLE_ENTRY_CODES = new Set([
  'ProvisionedThroughputExceededException',
  'InternalFailure',
  'ServiceUnavailable',
  'KMSThrottlingException',
]);
const RETRYABLE_CALL_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'InternalFailure',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ThrottlingException',
  'KMSThrottlingException',
  'TimeoutError',
  'RequestTimeout',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

/**
 * Puts records on a Kinesis data stream with PutRecords: batches within the call limits, retries only the entries
 * that failed (exponential backoff, full jitter, bounded attempts), optionally KPL-aggregates, and never drops a
 * record silently: every record is either counted in `sent` or returned in `failed` with the error.
 *
 * Order: records of one partition key keep their relative order within a call unless an entry is retried after a
 * later entry succeeded (PutRecords gives no ordering across entries of a request that fail and are resent).
 */
export class KinesisProducer {
  private readonly client: KinesisClient;
  private readonly target: { StreamARN?: string; StreamName?: string };
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly aggregation: boolean;
  private readonly maxAggregateBytes: number;
  private shardMap?: Promise<Array<{ start: bigint; end: bigint; id: string }> | undefined>;

  constructor(options: KinesisProducerOptions) {
    if (!options.streamArn === !options.streamName) {
      throw new Error(
        `KinesisProducer needs exactly one of streamArn and streamName, got streamArn=${options.streamArn} streamName=${options.streamName}`,
      );
    }
    this.client = options.client;
    this.target = options.streamArn ? { StreamARN: options.streamArn } : { StreamName: options.streamName };
    this.maxAttempts = positiveInt('maxAttempts', options.maxAttempts ?? 5);
    this.baseDelayMs = nonNegative('baseDelayMs', options.baseDelayMs ?? 100);
    this.maxDelayMs = nonNegative('maxDelayMs', options.maxDelayMs ?? 5000);
    this.aggregation = options.aggregate ?? false;
    this.maxAggregateBytes = positiveInt('maxAggregateBytes', options.maxAggregateBytes ?? KINESIS_MAX_RECORD_BYTES);
    if (this.maxAggregateBytes > KINESIS_MAX_RECORD_BYTES) {
      throw new Error(`maxAggregateBytes must be at most ${KINESIS_MAX_RECORD_BYTES}, got ${this.maxAggregateBytes}`);
    }
  }

  async send(records: readonly ProducerRecord[]): Promise<SendResult> {
    const failed: FailedRecord[] = [];
    const valid: Array<{ record: ProducerRecord; data: Uint8Array }> = [];
    for (const record of records) {
      const data = typeof record.data === 'string' ? Buffer.from(record.data, 'utf8') : record.data;
      const problem = validate(record, data);
      if (problem) failed.push({ record, errorCode: 'ValidationError', errorMessage: problem });
      else valid.push({ record, data });
    }
    const entries = this.aggregation ? await this.aggregateEntries(valid) : valid.map(plainEntry);
    let sent = 0;
    for (const batch of batches(entries)) {
      const out = await this.putWithRetries(batch);
      sent += out.sent;
      failed.push(...out.failed);
    }
    return { sent, failed };
  }

  private async putWithRetries(batch: Entry[]): Promise<SendResult> {
    let pending = batch;
    let sent = 0;
    const failed: FailedRecord[] = [];
    for (let attempt = 1; pending.length > 0; attempt++) {
      const last = attempt >= this.maxAttempts;
      let results: Array<{ code?: string; message?: string }>;
      try {
        const out = await this.client.send(
          new PutRecordsCommand({
            ...this.target,
            Records: pending.map((e): PutRecordsRequestEntry => ({
              Data: e.data,
              PartitionKey: e.partitionKey,
              ExplicitHashKey: e.explicitHashKey,
            })),
          }),
        );
        results = pending.map((_, i) => ({
          code: out.Records?.[i]?.ErrorCode,
          message: out.Records?.[i]?.ErrorMessage,
        }));
        // An aggregate that landed on another shard than planned means the stream was resharded: reload the map
        // before the next aggregation so records of one key keep sharing a shard (and their order).
        if (
          pending.some(
            (e, i) => e.expectedShardId && out.Records?.[i]?.ShardId && out.Records[i].ShardId !== e.expectedShardId,
          )
        ) {
          this.shardMap = undefined;
        }
        if (!out.Records || out.Records.length !== pending.length) {
          results = results.map((r) =>
            r.code ? r : { code: 'InternalFailure', message: 'PutRecords returned no result for this entry' },
          );
        }
      } catch (e) {
        const code = errorCode(e);
        const message = (e as Error)?.message ?? String(e);
        if (!RETRYABLE_CALL_ERRORS.has(code) || last) {
          for (const entry of pending) {
            for (const record of entry.sources) failed.push({ record, errorCode: code, errorMessage: message });
          }
          return { sent, failed };
        }
        await sleep(this.backoff(attempt));
        continue;
      }
      const retry: Entry[] = [];
      results.forEach((r, i) => {
        const entry = pending[i];
        if (!r.code) sent += entry.sources.length;
        else if (RETRYABLE_ENTRY_CODES.has(r.code) && !last) retry.push(entry);
        else {
          for (const record of entry.sources) {
            failed.push({ record, errorCode: r.code, errorMessage: r.message ?? '' });
          }
        }
      });
      pending = retry;
      if (pending.length > 0) await sleep(this.backoff(attempt));
    }
    return { sent, failed };
  }

  private backoff(attempt: number): number {
    return Math.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
  }

  private async aggregateEntries(valid: Array<{ record: ProducerRecord; data: Uint8Array }>): Promise<Entry[]> {
    const shards = await this.loadShardMap();
    const groups = new Map<string, Array<{ record: ProducerRecord; data: Uint8Array; hash: bigint }>>();
    for (const v of valid) {
      const hash = hashKeyOf(v.record);
      const key = shards ? shardOf(shards, hash) : hash.toString();
      const g = groups.get(key);
      if (g) g.push({ ...v, hash });
      else groups.set(key, [{ ...v, hash }]);
    }
    const entries: Entry[] = [];
    for (const [shardKey, group] of groups) {
      let current: typeof group = [];
      let size = 0;
      const flush = () => {
        if (current.length === 1) entries.push(plainEntry(current[0]));
        else if (current.length > 1) {
          const first = current[0];
          entries.push({
            data: aggregate(
              current.map((c) => ({
                partitionKey: c.record.partitionKey,
                explicitHashKey: c.record.explicitHashKey,
                data: Buffer.from(c.data),
              })),
            ),
            partitionKey: first.record.partitionKey,
            // Routes the aggregate exactly where its first record would go; the others share that shard.
            explicitHashKey: first.hash.toString(),
            sources: current.map((c) => c.record),
            expectedShardId: shards ? shardKey : undefined,
          });
        }
        current = [];
        size = AGGREGATE_FIXED_BYTES;
      };
      flush();
      for (const item of group) {
        const cost = aggregatedCost(item.record, item.data);
        // The aggregate's own partition key counts against the record limit too.
        const pkBytes = Buffer.byteLength((current[0] ?? item).record.partitionKey, 'utf8');
        if (current.length > 0 && size + cost + pkBytes > this.maxAggregateBytes) flush();
        current.push(item);
        size += cost;
      }
      flush();
    }
    return entries;
  }

  private loadShardMap(): Promise<Array<{ start: bigint; end: bigint; id: string }> | undefined> {
    this.shardMap ??= listOpenShards(this.client, this.target).catch(() => undefined);
    return this.shardMap;
  }
}

async function listOpenShards(
  client: KinesisClient,
  target: { StreamARN?: string; StreamName?: string },
): Promise<Array<{ start: bigint; end: bigint; id: string }>> {
  const shards: Array<{ start: bigint; end: bigint; id: string }> = [];
  let token: string | undefined;
  do {
    const out = await client.send(
      new ListShardsCommand(token ? { NextToken: token } : { ...target, ShardFilter: { Type: 'AT_LATEST' } }),
    );
    for (const s of out.Shards ?? []) {
      if (s.SequenceNumberRange?.EndingSequenceNumber) continue;
      shards.push({
        id: s.ShardId ?? '',
        start: BigInt(s.HashKeyRange?.StartingHashKey ?? '0'),
        end: BigInt(s.HashKeyRange?.EndingHashKey ?? '0'),
      });
    }
    token = out.NextToken;
  } while (token);
  return shards;
}

function shardOf(shards: Array<{ start: bigint; end: bigint; id: string }>, hash: bigint): string {
  for (const s of shards) if (hash >= s.start && hash <= s.end) return s.id;
  return hash.toString();
}

/** The 128-bit hash Kinesis routes by: the explicit hash key, else the MD5 of the partition key. */
export function hashKeyOf(record: Pick<ProducerRecord, 'partitionKey' | 'explicitHashKey'>): bigint {
  if (record.explicitHashKey !== undefined) return BigInt(record.explicitHashKey);
  return BigInt('0x' + createHash('md5').update(record.partitionKey, 'utf8').digest('hex'));
}

// Magic bytes + MD5 trailer of an aggregate.
const AGGREGATE_FIXED_BYTES = 4 + 16;

/** Upper bound of what one record adds to an aggregate: its table entries and its protobuf record. */
function aggregatedCost(record: ProducerRecord, data: Uint8Array): number {
  const pk = Buffer.byteLength(record.partitionKey, 'utf8');
  const ehk = record.explicitHashKey === undefined ? 0 : record.explicitHashKey.length + 6;
  // 6 bytes = tag + up to 5 length varint bytes per field; 24 covers the record's index varints and framing.
  return pk + 6 + ehk + data.length + 24;
}

function plainEntry(v: { record: ProducerRecord; data: Uint8Array }): Entry {
  return {
    data: v.data,
    partitionKey: v.record.partitionKey,
    explicitHashKey: v.record.explicitHashKey,
    sources: [v.record],
  };
}

function* batches(entries: Entry[]): Generator<Entry[]> {
  let batch: Entry[] = [];
  let bytes = 0;
  for (const e of entries) {
    const size = e.data.length + Buffer.byteLength(e.partitionKey, 'utf8');
    if (batch.length > 0 && (batch.length >= KINESIS_MAX_RECORDS_PER_PUT || bytes + size > KINESIS_MAX_BYTES_PER_PUT)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(e);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

function validate(record: ProducerRecord, data: Uint8Array): string | undefined {
  const pk = record.partitionKey;
  if (typeof pk !== 'string' || pk.length === 0 || pk.length > KINESIS_MAX_PARTITION_KEY_CHARS) {
    return `partition key must have 1..${KINESIS_MAX_PARTITION_KEY_CHARS} characters, got ${typeof pk === 'string' ? pk.length : typeof pk}`;
  }
  const size = data.length + Buffer.byteLength(pk, 'utf8');
  if (size > KINESIS_MAX_RECORD_BYTES) {
    return `data plus partition key is ${size} bytes, more than the ${KINESIS_MAX_RECORD_BYTES} bytes Kinesis accepts`;
  }
  if (record.explicitHashKey !== undefined) {
    if (!/^\d{1,39}$/.test(record.explicitHashKey) || BigInt(record.explicitHashKey) > MAX_HASH_KEY) {
      return `explicit hash key must be a decimal integer in 0..2^128-1, got '${record.explicitHashKey.slice(0, 50)}'`;
    }
  }
  return undefined;
}

function errorCode(e: unknown): string {
  const err = e as { name?: string; code?: string; Code?: string; message?: string };
  if (err?.code && RETRYABLE_CALL_ERRORS.has(err.code)) return err.code;
  // The SDK wraps an error from another realm (a vm context, as jest's) in a plain Error that keeps only the
  // message ("AWS SDK error wrapper for Error: connect ECONNREFUSED ..."): the code is still in it.
  const inMessage = /\b(E[A-Z]{3,})\b/.exec(err?.message ?? '')?.[1];
  if (inMessage && RETRYABLE_CALL_ERRORS.has(inMessage)) return inMessage;
  return err?.name ?? err?.Code ?? 'Error';
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  return v;
}

function nonNegative(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number, got ${v}`);
  return v;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
