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

// SQS messages are at most 256 KiB by default; keep room for the envelope.
const MAX_SQS_PAYLOAD_CHARS = 200 * 1024;
const SQS_BATCH = 10;

export class SqsDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(entries: readonly DeadLetterEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += SQS_BATCH) {
      let batch = entries.slice(i, i + SQS_BATCH).map((e, j) => ({ id: String(j), body: JSON.stringify(fitSqs(e)) }));
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

function fitSqs(e: DeadLetterEntry): DeadLetterEntry {
  return e.payload.length <= MAX_SQS_PAYLOAD_CHARS
    ? e
    : { ...e, payload: e.payload.slice(0, MAX_SQS_PAYLOAD_CHARS), truncated: true };
}

export class KinesisDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly client: KinesisClient,
    private readonly streamArn: string,
  ) {}

  async send(entries: readonly DeadLetterEntry[]): Promise<void> {
    let pending = entries.map((e) => ({
      Data: Buffer.from(JSON.stringify(e), 'utf8'),
      PartitionKey: e.partitionKey || e.reason,
    }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      const out = await this.client.send(new PutRecordsCommand({ StreamARN: this.streamArn, Records: pending }));
      pending = pending.filter((_, i) => out.Records?.[i]?.ErrorCode);
      if (pending.length > 0 && attempt >= 2) {
        throw new Error(`Kinesis refused ${pending.length} dead-letter entries after 3 attempts`);
      }
    }
  }
}
