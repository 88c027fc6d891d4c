import { createHash } from 'crypto';
import { KinesisClient, ListShardsCommand, PutRecordsCommand, PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { AggregateEncoder, KPL_FRAMING_BYTES } from './kpl';

/** Kinesis service limits (https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html). */
export const KINESIS_MAX_RECORDS_PER_PUT = 500;
export const KINESIS_MAX_BYTES_PER_PUT = 5 * 1024 * 1024;
/** Data blob plus partition key of one Kinesis record. */
export const KINESIS_MAX_RECORD_BYTES = 1024 * 1024;
export const KINESIS_MAX_PARTITION_KEY_CHARS = 256;

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
   * each aggregate carries its first record's partition key and explicit hash key, which route it to the shard every
   * record in it would have reached.
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
  private router?: Promise<Router>;
  private readonly encoder = new AggregateEncoder();

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
    const valid: ProducerRecord[] = [];
    const dataBytes: number[] = [];
    for (const record of records) {
      const data = record.data;
      const size =
        typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data instanceof Uint8Array ? data.length : -1;
      const problem = validate(record, size);
      if (problem) failed.push({ record, errorCode: 'ValidationError', errorMessage: problem });
      else {
        valid.push(record);
        dataBytes.push(size);
      }
    }
    const entries = this.aggregation ? await this.aggregateEntries(valid, dataBytes) : valid.map(plainEntry);
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
          this.router = undefined;
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

  /**
   * Groups the records by the shard they map to, then packs each group, in order, into aggregates of at most
   * maxAggregateBytes (exact sizes, written straight into each aggregate's buffer). A record alone in its group, or
   * too big to share an aggregate, is sent as it is.
   */
  private async aggregateEntries(valid: ProducerRecord[], dataBytes: number[]): Promise<Entry[]> {
    const router = await this.loadRouter();
    router.trim();
    const groups: number[][] = [];
    const order: number[] = [];
    for (let i = 0; i < valid.length; i++) {
      const r = valid[i];
      const g = router.groupOf(r.partitionKey, r.explicitHashKey);
      const list = groups[g];
      if (list === undefined) {
        groups[g] = [i];
        order.push(g);
      } else list.push(i);
    }
    const entries: Entry[] = [];
    const encoder = this.encoder;
    for (const g of order) {
      const list = groups[g];
      for (let k = 0; k < list.length;) {
        const first = valid[list[k]];
        // The aggregate's own partition key counts against the record limit too.
        const budget = this.maxAggregateBytes - KPL_FRAMING_BYTES - Buffer.byteLength(first.partitionKey, 'utf8');
        const n = list.length - k === 1 ? 1 : encoder.plan(valid, list, k, list.length, budget, dataBytes);
        if (n === 1) {
          entries.push(plainEntry(first));
          k++;
          continue;
        }
        const sources = list.slice(k, k + n).map((i) => valid[i]);
        entries.push({
          data: encoder.encode(valid, list, k, n),
          // Routes the aggregate exactly where its first record would go (the partition key's MD5 unless that record
          // has an explicit hash key); the others share that shard.
          partitionKey: first.partitionKey,
          explicitHashKey: first.explicitHashKey === undefined ? undefined : stripLeadingZeros(first.explicitHashKey),
          sources,
          expectedShardId: router.shardIdOf(g),
        });
        k += n;
      }
    }
    return entries;
  }

  private loadRouter(): Promise<Router> {
    this.router ??= listOpenShards(this.client, this.target).then(
      (shards) => new Router(shards),
      () => new Router(undefined),
    );
    return this.router;
  }
}

interface Shard {
  readonly id: string;
  /** Hash key range, inclusive, as 16-byte big-endian numbers (compared as bytes: no BigInt per record). */
  readonly start: Buffer;
  readonly end: Buffer;
  /** Their first 4 bytes as numbers: most comparisons end there without a call into Buffer.compare. */
  readonly startTop: number;
  readonly endTop: number;
}

function compareHash(a: Buffer, aTop: number, b: Buffer, bTop: number): number {
  return aTop !== bTop ? aTop - bTop : a.compare(b);
}

/** Distinct partition keys (and explicit hash keys) whose group a router remembers before it starts over. */
const ROUTE_CACHE_LIMIT = 100_000;

/**
 * Maps records to groups that share a shard: the shard owning the record's hash key when the shard map is known,
 * else (or for a hash key no open shard covers) the exact hash key. Remembers the group of each partition key and
 * explicit hash key, so a key's MD5 is computed once, not once per record.
 */
class Router {
  private readonly byPartitionKey = new Map<string, number>();
  private readonly byHashKey = new Map<string, number>();
  private readonly byHash = new Map<string, number>();
  /** The shard id of each group; undefined for a group of one exact hash key. */
  private readonly groupShards: Array<string | undefined>;

  constructor(private readonly shards: readonly Shard[] | undefined) {
    this.groupShards = shards ? shards.map((s) => s.id) : [];
  }

  groupOf(partitionKey: string, explicitHashKey: string | undefined): number {
    if (explicitHashKey === undefined) {
      let g = this.byPartitionKey.get(partitionKey);
      if (g === undefined) {
        g = this.locate(md5Of(partitionKey));
        this.byPartitionKey.set(partitionKey, g);
      }
      return g;
    }
    let g = this.byHashKey.get(explicitHashKey);
    if (g === undefined) {
      g = this.locate(decimalToHashKey(explicitHashKey));
      this.byHashKey.set(explicitHashKey, g);
    }
    return g;
  }

  shardIdOf(group: number): string | undefined {
    return this.groupShards[group];
  }

  /** Forgets every route once the caches grow past their limit (between sends only, so a send's groups agree). */
  trim(): void {
    if (this.byPartitionKey.size + this.byHashKey.size + this.byHash.size <= ROUTE_CACHE_LIMIT) return;
    this.byPartitionKey.clear();
    this.byHashKey.clear();
    this.byHash.clear();
    this.groupShards.length = this.shards?.length ?? 0;
  }

  private locate(hash: Buffer): number {
    const shards = this.shards;
    if (shards) {
      // The last shard starting at or below the hash, if its range reaches it.
      let lo = 0;
      let hi = shards.length - 1;
      let found = -1;
      const top = hash.readUInt32BE(0);
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (compareHash(shards[mid].start, shards[mid].startTop, hash, top) <= 0) {
          found = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (found >= 0 && compareHash(hash, top, shards[found].end, shards[found].endTop) <= 0) return found;
    }
    const key = hash.toString('latin1');
    let g = this.byHash.get(key);
    if (g === undefined) {
      g = this.groupShards.length;
      this.groupShards.push(undefined);
      this.byHash.set(key, g);
    }
    return g;
  }
}

async function listOpenShards(
  client: KinesisClient,
  target: { StreamARN?: string; StreamName?: string },
): Promise<Shard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    const out = await client.send(
      new ListShardsCommand(token ? { NextToken: token } : { ...target, ShardFilter: { Type: 'AT_LATEST' } }),
    );
    for (const s of out.Shards ?? []) {
      if (s.SequenceNumberRange?.EndingSequenceNumber) continue;
      const start = decimalToHashKey(s.HashKeyRange?.StartingHashKey ?? '0');
      const end = decimalToHashKey(s.HashKeyRange?.EndingHashKey ?? '0');
      shards.push({ id: s.ShardId ?? '', start, end, startTop: start.readUInt32BE(0), endTop: end.readUInt32BE(0) });
    }
    token = out.NextToken;
  } while (token);
  return shards.sort((a, b) => a.start.compare(b.start));
}

// MD5 (RFC 1321) of a partition key in plain JavaScript over reused scratch space. A partition key is at most 256
// UTF-16 units (768 UTF-8 bytes), and for inputs that short node's createHash costs several times the hashing
// itself, in object set-up alone. Checked against node's MD5 by the property tests.
const MD5_K = Int32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);
const MD5_S = Uint8Array.from([
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 4,
  11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
]);
const md5Input = Buffer.alloc(KINESIS_MAX_PARTITION_KEY_CHARS * 3 + 128);
const md5Words = new Int32Array(16);
const md5Digest = Buffer.alloc(16);

/** MD5 of the UTF-8 bytes of `text`, written into a scratch buffer that the next call overwrites. */
export function md5Of(text: string): Buffer {
  if (text.length * 3 + 72 > md5Input.length) return createHash('md5').update(text, 'utf8').digest();
  const buf = md5Input;
  let len = 0;
  for (; len < text.length; len++) {
    const c = text.charCodeAt(len);
    if (c >= 0x80) break;
    buf[len] = c;
  }
  if (len < text.length) len = buf.write(text, 0, 'utf8');
  // Padding: 0x80, zeros up to 56 mod 64, then the length in bits as a 64-bit little-endian number.
  const blocks = ((len + 8) >> 6) + 1;
  const total = blocks << 6;
  buf[len] = 0x80;
  buf.fill(0, len + 1, total - 8);
  const bits = len * 8;
  buf.writeUInt32LE(bits >>> 0, total - 8);
  buf.writeUInt32LE(Math.floor(bits / 2 ** 32), total - 4);
  let a0 = 0x67452301;
  let b0 = 0xefcdab89 | 0;
  let c0 = 0x98badcfe | 0;
  let d0 = 0x10325476;
  const m = md5Words;
  for (let o = 0; o < total; o += 64) {
    for (let j = 0; j < 16; j++) {
      const p = o + j * 4;
      m[j] = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
    }
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const x = (a + f + MD5_K[i] + m[g]) | 0;
      const s = MD5_S[i];
      a = d;
      d = c;
      c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  md5Digest.writeInt32LE(a0, 0);
  md5Digest.writeInt32LE(b0, 4);
  md5Digest.writeInt32LE(c0, 8);
  md5Digest.writeInt32LE(d0, 12);
  return md5Digest;
}

const hashKeyLimbs = new Uint32Array(8);

/**
 * A decimal hash key (digits only, at most 2^128 - 1, as validated) as a 16-byte big-endian number, by schoolbook
 * multiplication on eight 16-bit limbs, four digits at a time: no BigInt and no hex string.
 */
export function decimalToHashKey(decimal: string): Buffer {
  const limbs = hashKeyLimbs;
  limbs.fill(0);
  let c = 0;
  while (c < decimal.length) {
    // The next up-to-four digits: limbs = limbs * 10^n + value (each limb * 10^4 + carry stays below 2^31).
    let value = 0;
    let scale = 1;
    for (let n = 0; n < 4 && c < decimal.length; n++, c++) {
      value = value * 10 + (decimal.charCodeAt(c) - 48);
      scale *= 10;
    }
    let carry = value;
    for (let i = 7; i >= 0; i--) {
      const v = limbs[i] * scale + carry;
      limbs[i] = v & 0xffff;
      carry = v >>> 16;
    }
  }
  const out = Buffer.allocUnsafe(16);
  for (let i = 0; i < 8; i++) out.writeUInt16BE(limbs[i], i * 2);
  return out;
}

/** The 128-bit hash Kinesis routes by: the explicit hash key, else the MD5 of the partition key. */
export function hashKeyOf(record: Pick<ProducerRecord, 'partitionKey' | 'explicitHashKey'>): bigint {
  if (record.explicitHashKey !== undefined) return BigInt(record.explicitHashKey);
  return BigInt('0x' + md5Of(record.partitionKey).toString('hex'));
}

function stripLeadingZeros(decimal: string): string {
  let i = 0;
  while (i < decimal.length - 1 && decimal.charCodeAt(i) === 48) i++;
  return i === 0 ? decimal : decimal.slice(i);
}

function plainEntry(record: ProducerRecord): Entry {
  return {
    data: typeof record.data === 'string' ? Buffer.from(record.data, 'utf8') : record.data,
    partitionKey: record.partitionKey,
    // Kinesis takes hash keys without leading zeros; validation accepts them.
    explicitHashKey: record.explicitHashKey === undefined ? undefined : stripLeadingZeros(record.explicitHashKey),
    sources: [record],
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

const HASH_KEY_DIGITS = /^\d{1,39}$/;
const MAX_HASH_KEY_DECIMAL = ((1n << 128n) - 1n).toString();

/** `dataBytes` is the payload's size, or -1 when the payload is neither a string nor bytes. */
function validate(record: ProducerRecord, dataBytes: number): string | undefined {
  const pk = record.partitionKey;
  if (typeof pk !== 'string' || pk.length === 0 || pk.length > KINESIS_MAX_PARTITION_KEY_CHARS) {
    return `partition key must have 1..${KINESIS_MAX_PARTITION_KEY_CHARS} characters, got ${typeof pk === 'string' ? pk.length : typeof pk}`;
  }
  if (dataBytes < 0) return `data must be a string or a Uint8Array, got ${typeof record.data}`;
  // A UTF-8 character is at most 3 bytes per UTF-16 unit: measure the key only when it could matter.
  const size =
    dataBytes + (dataBytes + pk.length * 3 > KINESIS_MAX_RECORD_BYTES ? Buffer.byteLength(pk, 'utf8') : pk.length);
  if (size > KINESIS_MAX_RECORD_BYTES) {
    return `data plus partition key is ${size} bytes, more than the ${KINESIS_MAX_RECORD_BYTES} bytes Kinesis accepts`;
  }
  const ehk = record.explicitHashKey;
  if (ehk !== undefined) {
    // Digits only, then compared with 2^128 - 1 as decimal text (same length: by code units).
    const ok = typeof ehk === 'string' && HASH_KEY_DIGITS.test(ehk) && (ehk.length < 39 || ehk <= MAX_HASH_KEY_DECIMAL);
    if (!ok) {
      return `explicit hash key must be a decimal integer in 0..2^128-1, got '${String(ehk).slice(0, 50)}'`;
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
