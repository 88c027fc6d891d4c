import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import {
  DeadLetterEntry,
  DeadLetterSink,
  KinesisDeadLetterSink,
  S3PayloadStore,
  SqsDeadLetterSink,
} from './dead-letter';
import { isDeadLetterError } from './errors';
import { DecodedRecord, decodeRecord, groupByShard, payloadForDeadLetter, shardIdOf } from './records';
import { kinesisClient, sqsClient } from './clients';
import { createObservability, MetricUnit, Observability } from './observability';

/** Handles one user record. Throw `DeadLetterError` for a record that can never succeed, anything else to retry. */
export type RecordHandler = (record: DecodedRecord) => Promise<void> | void;

export interface BatchOptions {
  /** Name written into dead-letter entries and logs. */
  readonly stage: string;
  readonly deadLetters: DeadLetterSink;
  readonly observability?: Observability;
}

/** What happened to a batch. `received === processed + deadLettered + failed` always holds. */
export interface BatchReport {
  /** User records in the batch (after KPL de-aggregation; an undecodable Kinesis record counts as one). */
  readonly received: number;
  readonly processed: number;
  readonly deadLettered: number;
  /** Records reported back to Lambda for retry (the first transient failure of a shard and everything after it). */
  readonly failed: number;
  readonly response: KinesisStreamBatchResponse;
}

/**
 * Processes a Kinesis batch record by record, in order within each shard.
 * - A `DeadLetterError` sends the record with its reason to the dead-letter sink; the batch goes on.
 * - Any other error stops that shard: the failing record and every later record of the shard are reported in
 *   `batchItemFailures`, so Lambda retries from there and per-shard order holds. Other shards go on.
 * - If the dead-letter sink itself fails, the record is treated as a transient failure (never lost).
 * Handlers must be idempotent: a retried batch re-delivers records (a KPL aggregate is retried as a whole).
 */
export async function processKinesisBatch(
  event: KinesisStreamEvent,
  handler: RecordHandler,
  options: BatchOptions,
): Promise<BatchReport> {
  const byShard = groupByShard(event.Records, (r) => r);

  let received = 0;
  let processed = 0;
  let deadLettered = 0;
  let failed = 0;
  const failures: { itemIdentifier: string }[] = [];

  for (const records of byShard.values()) {
    let shardFailed = false;
    for (const record of records) {
      if (shardFailed) {
        const n = countUserRecords(record);
        received += n;
        failed += n;
        failures.push({ itemIdentifier: record.kinesis.sequenceNumber });
        continue;
      }
      let users: DecodedRecord[];
      try {
        users = decodeRecord(record);
      } catch (e) {
        received += 1;
        const raw = Buffer.from(record.kinesis.data, 'base64');
        const ok = await tryDeadLetter(options, e, {
          data: raw,
          partitionKey: record.kinesis.partitionKey,
          sequenceNumber: record.kinesis.sequenceNumber,
          subSequenceNumber: 0,
          shardId: shardIdOf(record),
          approximateArrivalTimestamp: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
        });
        if (ok) deadLettered += 1;
        else {
          failed += 1;
          shardFailed = true;
          failures.push({ itemIdentifier: record.kinesis.sequenceNumber });
        }
        continue;
      }
      received += users.length;
      // Dead letters of one Kinesis record are sent once its every user record is done. A transient failure of a
      // later record of a KPL aggregate makes Lambda redeliver the whole aggregate: letters sent before it would be
      // sent again on that retry, so they are dropped and recreated then, exactly once.
      const letters: DeadLetterEntry[] = [];
      let done = 0;
      let transient: unknown;
      for (; done < users.length; done++) {
        try {
          await handler(users[done]);
          processed += 1;
        } catch (e) {
          if (isDeadLetterError(e)) {
            letters.push(deadLetterEntry(options.stage, e, users[done]));
            continue;
          }
          transient = e;
          break;
        }
      }
      if (transient === undefined && (await trySendDeadLetters(options, letters))) {
        deadLettered += letters.length;
        continue;
      }
      if (transient !== undefined) {
        options.observability?.logger.warn('record failed, shard stops until retry', {
          stage: options.stage,
          shardId: users[done].shardId,
          sequenceNumber: users[done].sequenceNumber,
          subSequenceNumber: users[done].subSequenceNumber,
          error: (transient as Error).message,
        });
      }
      // Retried as a whole: the failing record, the ones after it and the unsent letters.
      failed += letters.length + (users.length - done);
      shardFailed = true;
      failures.push({ itemIdentifier: record.kinesis.sequenceNumber });
    }
  }

  const obs = options.observability;
  if (obs) {
    obs.metrics.addMetric('RecordsReceived', MetricUnit.Count, received);
    obs.metrics.addMetric('RecordsProcessed', MetricUnit.Count, processed);
    obs.metrics.addMetric('RecordsDeadLettered', MetricUnit.Count, deadLettered);
    obs.metrics.addMetric('RecordsFailed', MetricUnit.Count, failed);
    obs.logger.info('batch done', { stage: options.stage, received, processed, deadLettered, failed });
  }
  return { received, processed, deadLettered, failed, response: { batchItemFailures: failures } };
}

function countUserRecords(record: KinesisStreamRecord): number {
  try {
    return decodeRecord(record).length;
  } catch {
    return 1;
  }
}

/** The dead-letter entry for a record and the error that rejected it. */
export function deadLetterEntry(stage: string, error: unknown, record: DecodedRecord): DeadLetterEntry {
  return {
    reason: isDeadLetterError(error) ? error.reason : 'UNDECODABLE',
    detail: isDeadLetterError(error) ? error.detail : String((error as Error)?.message ?? error),
    stage,
    payload: payloadForDeadLetter(record.data),
    at: Date.now(),
    partitionKey: record.partitionKey,
    sequenceNumber: record.sequenceNumber,
    subSequenceNumber: record.subSequenceNumber,
    shardId: record.shardId,
  };
}

/** Sends dead-letter entries; false (and a log line) when the sink fails, so the caller retries the records. */
export async function trySendDeadLetters(options: BatchOptions, entries: readonly DeadLetterEntry[]): Promise<boolean> {
  if (entries.length === 0) return true;
  try {
    await options.deadLetters.send(entries);
    for (const e of entries) {
      options.observability?.logger.info('record dead-lettered', {
        stage: options.stage,
        reason: e.reason,
        detail: e.detail.slice(0, 1024),
      });
    }
    return true;
  } catch (e) {
    options.observability?.logger.error('dead-letter sink failed; record will be retried', {
      stage: options.stage,
      error: (e as Error).message,
    });
    return false;
  }
}

/** Sends one record to the dead-letter sink; false (and a log line) when the sink fails, so the caller retries. */
export async function tryDeadLetter(options: BatchOptions, error: unknown, record: DecodedRecord): Promise<boolean> {
  return trySendDeadLetters(options, [deadLetterEntry(options.stage, error, record)]);
}

/**
 * The dead-letter sink configured for a deployed handler: `DEAD_LETTER_QUEUE_URL` (SQS, set by
 * `LambdaStreamProcessor`) or `DEAD_LETTER_STREAM_ARN` (Kinesis); with `DEAD_LETTER_PAYLOAD_BUCKET`, entries too
 * large for it are kept in full in that bucket and the stored entry points there.
 */
export function deadLetterSinkFromEnv(env: NodeJS.ProcessEnv = process.env): DeadLetterSink {
  const options = env.DEAD_LETTER_PAYLOAD_BUCKET
    ? { payloads: new S3PayloadStore(env.DEAD_LETTER_PAYLOAD_BUCKET) }
    : {};
  if (env.DEAD_LETTER_QUEUE_URL) return new SqsDeadLetterSink(sqsClient(), env.DEAD_LETTER_QUEUE_URL, options);
  if (env.DEAD_LETTER_STREAM_ARN) {
    return new KinesisDeadLetterSink(kinesisClient(), env.DEAD_LETTER_STREAM_ARN, options);
  }
  throw new Error('set DEAD_LETTER_QUEUE_URL or DEAD_LETTER_STREAM_ARN: records that cannot be processed need a place');
}

/**
 * Wraps a runtime (batch or window) into a Lambda handler: the dead-letter sink is resolved on first use, so that
 * importing a handler module (e.g. in unit tests) needs no environment, and metrics are flushed after every call.
 */
export function lambdaHandler<E, R>(
  stage: string,
  run: (event: E, options: BatchOptions) => Promise<{ readonly response: R }>,
  deadLetters?: DeadLetterSink,
): (event: E) => Promise<R> {
  const observability = createObservability(stage);
  let sink = deadLetters;
  return async (event) => {
    try {
      sink ??= deadLetterSinkFromEnv();
      return (await run(event, { stage, deadLetters: sink, observability })).response;
    } finally {
      observability.metrics.publishStoredMetrics();
    }
  };
}

/** Builds a Lambda handler for a Kinesis event source mapping with ReportBatchItemFailures. */
export function kinesisHandler(
  stage: string,
  handler: RecordHandler,
  deadLetters?: DeadLetterSink,
): (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse> {
  return lambdaHandler(
    stage,
    (event: KinesisStreamEvent, options) => processKinesisBatch(event, handler, options),
    deadLetters,
  );
}
