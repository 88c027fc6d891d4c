import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';

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
  ) {}

  async send(entries: readonly DeadLetterEntry[]): Promise<void> {
    const bodies = entries.map((e) => JSON.stringify(fitEntry(e, MAX_SQS_MESSAGE_BYTES)));
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

/**
 * The entry, with its payload cut (and `truncated` set) when its JSON form exceeds `maxBytes` of UTF-8. A dead
 * letter the destination refuses for its size would be refused on every retry and block its shard for good.
 */
export function fitEntry(e: DeadLetterEntry, maxBytes: number): DeadLetterEntry {
  if (Buffer.byteLength(JSON.stringify(e), 'utf8') <= maxBytes) return e;
  const budget = maxBytes - Buffer.byteLength(JSON.stringify({ ...e, payload: '', truncated: true }), 'utf8');
  if (budget < 0) throw new Error(`dead-letter entry does not fit in ${maxBytes} bytes even without its payload`);
  // Longest prefix whose escaped UTF-8 size fits (escaping and multi-byte characters make size non-linear).
  const cost = (n: number) => Buffer.byteLength(JSON.stringify(e.payload.slice(0, n)), 'utf8') - 2;
  let lo = 0;
  let hi = e.payload.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (cost(mid) <= budget) lo = mid;
    else hi = mid - 1;
  }
  // Never end on half of a surrogate pair.
  const last = e.payload.charCodeAt(lo - 1);
  if (lo > 0 && last >= 0xd800 && last <= 0xdbff) lo -= 1;
  return { ...e, payload: e.payload.slice(0, lo), truncated: true };
}

export class KinesisDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly client: KinesisClient,
    private readonly streamArn: string,
  ) {}

  async send(entries: readonly DeadLetterEntry[]): Promise<void> {
    const all = entries.map((e) => {
      const partitionKey = e.partitionKey || e.reason;
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
