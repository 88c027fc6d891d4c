import type { ProducerRecord, SendResult } from '../../lambda/shared/producer';
import type { SourceRecord } from './sources';
import type { TokenBucket } from './token-bucket';

/** Puts records on the target; `lambda/shared/producer.ts`'s KinesisProducer fits. */
export interface RecordSink {
  send(records: readonly ProducerRecord[]): Promise<SendResult>;
}

export interface PublishFailure {
  readonly partitionKey: string;
  readonly records: number;
  readonly reason: string;
}

export interface PublishResult {
  readonly written: number;
  readonly failed: number;
  readonly failures: PublishFailure[];
}

const MAX_BATCH_RECORDS = 500;
const MAX_BATCH_BYTES = 5 * 1024 * 1024;

/**
 * Groups records by partition key and sorts each group into its original order (rank, then position).
 * Returns the groups in first-seen order; different keys have no order between them.
 */
export function orderByPartitionKey(records: readonly SourceRecord[]): Map<string, SourceRecord[]> {
  const groups = new Map<string, SourceRecord[]>();
  for (const r of records) {
    const g = groups.get(r.partitionKey);
    if (g) g.push(r);
    else groups.set(r.partitionKey, [r]);
  }
  for (const g of groups.values()) {
    g.sort((a, b) => a.rank - b.rank || (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  }
  return groups;
}

/**
 * Writes the groups to the sink, preserving each partition key's order: a batch holds at most one record per key,
 * and a key's next record is sent only after the previous one was acknowledged (PutRecords can reorder entries of
 * one request when some are retried). Keys are interleaved round-robin. When a record fails for good (after the
 * sink's own retries), the rest of its key is not written either: writing it would leave a hole in the middle of
 * that aggregate's history. Every record ends up counted as written or failed.
 */
export async function publishInOrder(
  groups: Map<string, SourceRecord[]>,
  sink: RecordSink,
  bucket: TokenBucket,
  onProgress: (written: number, failed: number) => void = () => undefined,
): Promise<PublishResult> {
  const queues = [...groups.entries()].map(([key, list]) => ({ key, list, next: 0 }));
  const maxBatch = Math.min(MAX_BATCH_RECORDS, bucket.capacity);
  let active = queues.filter((q) => q.list.length > 0);
  let cursor = 0;
  let written = 0;
  let failed = 0;
  const failures: PublishFailure[] = [];

  while (active.length > 0) {
    const picked: typeof active = [];
    let bytes = 0;
    for (let n = 0; n < active.length && picked.length < maxBatch; n++) {
      const q = active[(cursor + n) % active.length];
      const size = q.list[q.next].data.length + Buffer.byteLength(q.key, 'utf8');
      if (picked.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
      picked.push(q);
      bytes += size;
    }
    cursor = (cursor + picked.length) % active.length;

    const batch: ProducerRecord[] = picked.map((q) => ({ partitionKey: q.key, data: q.list[q.next].data }));
    await bucket.take(batch.length);
    const result = await sink.send(batch);
    const failedByRecord = new Map(result.failed.map((f) => [f.record, f]));
    picked.forEach((q, i) => {
      const failure = failedByRecord.get(batch[i]);
      if (!failure) {
        written += 1;
        q.next += 1;
        return;
      }
      const rest = q.list.length - q.next;
      failed += rest;
      failures.push({
        partitionKey: q.key,
        records: rest,
        reason: `${failure.errorCode}: ${failure.errorMessage}${rest > 1 ? ` (and the ${rest - 1} later record(s) of this key were not written)` : ''}`,
      });
      q.next = q.list.length;
    });
    onProgress(written, failed);
    const before = active.length;
    active = active.filter((q) => q.next < q.list.length);
    if (active.length !== before) cursor = active.length === 0 ? 0 : cursor % active.length;
  }
  return { written, failed, failures };
}
