import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'crypto';

/** A record that could not be processed, with why. Same shape as the Flink apps' dead-letter records. */
export interface DeadLetterEntry {
  readonly reason: string;
  readonly detail: string;
  /** Which app or handler rejected it. */
  readonly stage: string;
  /** The original record as UTF-8 text, or base64 when it is not UTF-8. */
  readonly payload: string;
  /** When it was dead-lettered, epoch millis. */
  readonly at: number;
  readonly partitionKey?: string;
  readonly sequenceNumber?: string;
  readonly subSequenceNumber?: number;
  readonly shardId?: string;
  /** Set when the payload was cut to fit the destination's message size. */
  readonly truncated?: boolean;
  /** Where the complete entry is stored when it was cut (`s3://bucket/key`), if a payload store is configured. */
  readonly payloadRef?: string;
}

/** Keeps complete dead-letter entries that are too large for their sink; returns a reference to put in the entry. */
export interface PayloadStore {
  put(key: string, body: Buffer): Promise<string>;
}

/**
 * Complete entries as S3 objects under `prefix`. The key is derived from the record's position, so a retried send
 * overwrites the same object instead of adding one. Encryption follows the bucket's default. The S3 client is loaded
 * on the first put: handlers that never spill do not pay for it at cold start.
 */
export class S3PayloadStore implements PayloadStore {
  private client?: Promise<S3Client>;

  constructor(
    private readonly bucket: string,
    private readonly options: { readonly client?: S3Client; readonly prefix?: string } = {},
  ) {}

  async put(key: string, body: Buffer): Promise<string> {
    const s3 = await import('@aws-sdk/client-s3');
    this.client ??= Promise.resolve(this.options.client ?? new s3.S3Client({ maxAttempts: 3 }));
    const objectKey = `${this.options.prefix ?? 'dead-letters/'}${key}`;
    await (
      await this.client
    ).send(
      new s3.PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: body, ContentType: 'application/json' }),
    );
    return `s3://${this.bucket}/${objectKey}`;
  }
}

/** Options both sinks take. */
export interface DeadLetterSinkOptions {
  /** Where an entry too large for the sink is kept in full; without one only the cut entry is stored. */
  readonly payloads?: PayloadStore;
}

/**
 * Entries as the sink stores them: one whose encoding exceeds `maxBytes` is first kept in full in the payload
 * store (when there is one) and carries its `payloadRef`; `fitEntry` then cuts it to the limit.
 */
async function spill(
  entries: readonly DeadLetterEntry[],
  maxBytes: number,
  payloads: PayloadStore | undefined,
): Promise<DeadLetterEntry[]> {
  if (!payloads) return [...entries];
  return Promise.all(
    entries.map(async (e) => {
      const full = JSON.stringify(e);
      if (Buffer.byteLength(full, 'utf8') <= maxBytes) return e;
      return { ...e, payloadRef: await payloads.put(payloadKey(e), Buffer.from(full, 'utf8')) };
    }),
  );
}

/** A stable object key for an entry: its stage and position, or a digest of it when it has none. */
export function payloadKey(e: DeadLetterEntry): string {
  const safe = (v: string) => encodeURIComponent(v).slice(0, 200);
  if (e.shardId !== undefined && e.sequenceNumber !== undefined) {
    return `${safe(e.stage)}/${safe(e.shardId)}/${safe(e.sequenceNumber)}-${e.subSequenceNumber ?? 0}.json`;
  }
  const digest = createHash('sha256').update(`${e.stage}\n${e.reason}\n${e.payload}`, 'utf8').digest('hex');
  return `${safe(e.stage)}/by-content/${digest}.json`;
}

/** Where dead letters go. `send` resolves only when every entry is stored, and throws otherwise. */
export interface DeadLetterSink {
  send(entries: readonly DeadLetterEntry[]): Promise<void>;
}

/**
 * SQS's message size limit was 256 KiB for years and still is on queues created with it; larger quotas are opt-in.
 * It applies to the UTF-8 bytes of one message and to the sum of a SendMessageBatch, so both are measured in bytes.
 */
export const MAX_SQS_MESSAGE_BYTES = 256 * 1024;
/** Kinesis: data plus partition key of one record. */
const MAX_KINESIS_RECORD_BYTES = 1024 * 1024;
const SQS_BATCH = 10;
const KINESIS_BATCH = 500;

export class SqsDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly options: DeadLetterSinkOptions = {},
  ) {}

  async send(entries: readonly DeadLetterEntry[]): Promise<void> {
    const spilled = await spill(entries, MAX_SQS_MESSAGE_BYTES, this.options.payloads);
    const bodies = spilled.map((e) => sqsBody(e, MAX_SQS_MESSAGE_BYTES));
    for (const group of sqsBatches(bodies)) {
      let batch = group.map((body, j) => ({ id: String(j), body }));
      // Retry only the entries SQS refused, a few times, then fail loudly so the records are retried.
      for (let attempt = 0; batch.length > 0; attempt++) {
        const out = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: batch.map((b) => ({ Id: b.id, MessageBody: b.body })),
          }),
        );
        const failed = new Set((out.Failed ?? []).map((f) => f.Id));
        batch = batch.filter((b) => failed.has(b.id));
        if (batch.length > 0 && attempt >= 2) {
          const codes = (out.Failed ?? []).map((f) => `${f.Code}: ${f.Message}`).join('; ');
          throw new Error(`SQS refused ${batch.length} dead-letter entries after 3 attempts: ${codes}`);
        }
      }
    }
  }
}

/**
 * The JSON body of an entry as SQS accepts it, within `maxBytes`: SQS refuses a message holding U+FFFE or U+FFFF
 * (outside the XML character set it allows), which valid UTF-8 payloads may contain, so those are written as JSON
 * escapes (control characters and lone surrogates JSON.stringify escapes already), and the entry is fitted by the
 * size of that encoding (an escape takes 6 bytes, the raw character 3).
 */
export function sqsBody(e: DeadLetterEntry, maxBytes: number): string {
  return sqsJson(fitEntry(e, maxBytes, sqsJson));
}

function sqsJson(v: unknown): string {
  return JSON.stringify(v).replace(/[\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** Groups message bodies into SendMessageBatch calls of at most 10 entries and MAX_SQS_MESSAGE_BYTES in total. */
function sqsBatches(bodies: readonly string[]): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = Buffer.byteLength(body, 'utf8');
    if (current.length > 0 && (current.length >= SQS_BATCH || bytes + size > MAX_SQS_MESSAGE_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(body);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Escaped UTF-8 bytes kept of each short field when an entry is too large without its payload. */
const MAX_SHORT_FIELD_BYTES = 256;

/**
 * The entry, cut to fit `maxBytes` of UTF-8 JSON, with `truncated` set when anything was cut: first the payload (the
 * longest prefix that fits), then, when the other fields alone are too large, each of them to a prefix of bounded
 * escaped size (detail a quarter of the limit, partition key an eighth, the short ones 256 bytes). Never throws for
 * size: a dead letter the destination refuses would be refused on every retry and block its shard for good.
 * `maxBytes` must be at least 4 KiB.
 */
export function fitEntry(
  e: DeadLetterEntry,
  maxBytes: number,
  encode: (v: unknown) => string = JSON.stringify,
): DeadLetterEntry {
  if (maxBytes < 4096) throw new Error(`maxBytes must be at least 4096, got ${maxBytes}`);
  const size = (v: unknown) => Buffer.byteLength(encode(v), 'utf8');
  if (size(e) <= maxBytes) return e;
  const prefix = (v: string, budget: number) => prefixFitting(v, budget, size);
  let base: DeadLetterEntry = { ...e, payload: '', truncated: true };
  if (size(base) > maxBytes) {
    const short = (v: string) => prefix(v, MAX_SHORT_FIELD_BYTES);
    base = {
      ...base,
      reason: short(e.reason),
      stage: short(e.stage),
      detail: prefix(e.detail, Math.floor(maxBytes / 4)),
      ...(e.partitionKey !== undefined ? { partitionKey: prefix(e.partitionKey, Math.floor(maxBytes / 8)) } : {}),
      ...(e.sequenceNumber !== undefined ? { sequenceNumber: short(e.sequenceNumber) } : {}),
      ...(e.shardId !== undefined ? { shardId: short(e.shardId) } : {}),
    };
  }
  return { ...base, payload: prefix(e.payload, maxBytes - size(base)) };
}

/** Longest prefix of `s` whose encoded size (quotes excluded) is at most `budget`; escaping makes it non-linear. */
function prefixFitting(s: string, budget: number, size: (v: unknown) => number): string {
  const cost = (n: number) => size(s.slice(0, n)) - 2;
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (cost(mid) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return cutAt(s, lo);
}

/** The first `n` UTF-16 units of `s`, one fewer when that would end on half of a surrogate pair. */
function cutAt(s: string, n: number): string {
  const last = s.charCodeAt(n - 1);
  return s.slice(0, n > 0 && last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}

/** Kinesis partition keys are 1..256 Unicode characters. */
const MAX_PARTITION_KEY_CHARS = 256;

/**
 * The partition key a dead letter is written under: the record's own when Kinesis accepts it (so one key's dead
 * letters stay in order), else a digest of it (a KPL key may be longer than 256 characters), else the reason.
 */
export function deadLetterPartitionKey(e: DeadLetterEntry): string {
  const key = e.partitionKey;
  if (!key) return [...e.reason].slice(0, MAX_PARTITION_KEY_CHARS).join('') || 'dead-letter';
  if ([...key].length <= MAX_PARTITION_KEY_CHARS) return key;
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

export class KinesisDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly client: KinesisClient,
    private readonly streamArn: string,
    private readonly options: DeadLetterSinkOptions = {},
  ) {}

  async send(entries: readonly DeadLetterEntry[]): Promise<void> {
    // 1 KiB below the record limit leaves room for the partition key in the spill decision.
    const spilled = await spill(entries, MAX_KINESIS_RECORD_BYTES - 1024, this.options.payloads);
    const all = spilled.map((e) => {
      const partitionKey = deadLetterPartitionKey(e);
      const fitted = fitEntry(e, MAX_KINESIS_RECORD_BYTES - Buffer.byteLength(partitionKey, 'utf8'));
      return { Data: Buffer.from(JSON.stringify(fitted), 'utf8'), PartitionKey: partitionKey };
    });
    for (let i = 0; i < all.length; i += KINESIS_BATCH) {
      let pending = all.slice(i, i + KINESIS_BATCH);
      for (let attempt = 0; pending.length > 0; attempt++) {
        const out = await this.client.send(new PutRecordsCommand({ StreamARN: this.streamArn, Records: pending }));
        // An entry without a result is not known to be stored: send it again.
        pending = pending.filter((_, j) => !out.Records?.[j] || out.Records[j].ErrorCode);
        if (pending.length > 0 && attempt >= 2) {
          throw new Error(`Kinesis refused ${pending.length} dead-letter entries after 3 attempts`);
        }
      }
    }
  }
}
