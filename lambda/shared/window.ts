import type { KinesisStreamRecord, KinesisStreamStateResponse, KinesisStreamTumblingWindowEvent } from 'aws-lambda';
import { BatchOptions, deadLetterEntry, lambdaHandler, trySendDeadLetters } from './batch';
import { DeadLetterEntry, DeadLetterSink } from './dead-letter';
import { isDeadLetterError } from './errors';
import { MetricUnit } from './observability';
import { compareSequenceNumbers, DecodedRecord, decodeRecord, groupByShard, shardIdOf } from './records';

/**
 * Runtime for Kinesis event source mappings with a tumbling window (`TumblingWindowInSeconds`).
 *
 * Lambda calls the function several times per window and shard, passing the `state` the previous call returned, and
 * once more with `isFinalInvokeForWindow` to let it emit the result; the state is then dropped. This runtime keeps
 * the per-record semantics of `processKinesisBatch`:
 * - a `DeadLetterError` dead-letters the record with its reason and the window goes on;
 * - any other error stops the shard: the failing record and every later one are reported in `batchItemFailures`,
 *   and the returned state holds only what was applied before it;
 * - records already applied in this window (Lambda redelivers after a partial failure) are skipped, by a per-shard
 *   high-water mark of (sequenceNumber, subSequenceNumber) kept in the state. Records of a shard are first
 *   delivered in order, so everything at or below the mark has been applied (or dead-lettered) exactly once.
 * On the final invoke, a transient failure or a failing `finish` makes the invocation throw: Lambda then retries the
 * final invoke with the previous state, so the window's result is never emitted from a partial state.
 * The returned state is serialized once per invoke, by `toJson`; its size (`stateBytes`, the `WindowStateBytes`
 * metric) is counted from that serialization when it is a string JSON writes as it is (a compact encoding), instead
 * of stringifying the envelope again.
 */
export interface WindowInfo {
  /** Window start and end, epoch millis (Lambda sends ISO strings). */
  readonly start: number;
  readonly end: number;
  readonly shardId: string;
  readonly eventSourceArn?: string;
  readonly isFinal: boolean;
  /** The state outgrew 1 MB and Lambda ended the window early; the next call continues it with a fresh state. */
  readonly terminatedEarly: boolean;
  /**
   * Identifies the part of the window that this state covers, on the `WindowInfo` given to `finish` (undefined
   * elsewhere, and when no record was applied or dead-lettered with this state): per shard,
   * "<shardId>@<sequenceNumber>:<subSequenceNumber>" of the first record applied or dead-lettered with this state,
   * several shards sorted and joined by ",". A window that Lambda ended early is finished once per part, each with its
   * own id; a retried final invoke starts from the same state, so it has the same id.
   */
  readonly partId?: string;
}

export interface WindowProcessor<S> {
  /** The state at the start of a window (no state from Lambda yet). */
  initialState(window: WindowInfo): S;
  /** Reads the state a previous call returned. */
  fromJson(json: unknown, window: WindowInfo): S;
  toJson(state: S): unknown;
  /**
   * Optional I/O before records are applied (e.g. loading per-key data for keys new to the window). A throw fails
   * the whole batch for retry; it must not change the state.
   */
  prepare?(state: S, records: readonly DecodedRecord[], window: WindowInfo): Promise<void>;
  /**
   * Applies one record. Throw `DeadLetterError` for a record that can never succeed; throw before changing the
   * state, so a rejected record leaves no trace in it.
   */
  apply(state: S, record: DecodedRecord, window: WindowInfo): void;
  /**
   * Emits the window's result on the final invoke. Must be idempotent: a failed final invoke is retried. Returns
   * dead letters for results a sink can never store (a point the database refuses, say): they are sent with the
   * window's other dead letters, after the result is out, so a retry never sends them twice.
   */
  finish?(state: S, window: WindowInfo): Promise<void | readonly DeadLetterEntry[]>;
}

/** `received === processed + deadLettered + failed + skipped` always holds. */
export interface WindowBatchReport {
  readonly received: number;
  readonly processed: number;
  readonly deadLettered: number;
  readonly failed: number;
  /** Redelivered records already applied earlier in this window. */
  readonly skipped: number;
  /**
   * Size of the JSON state returned to Lambda, in bytes (Lambda ends the window early above 1 MB): exactly
   * `Buffer.byteLength(JSON.stringify(response.state))`, computed from the one serialization `toJson` made.
   */
  readonly stateBytes: number;
  readonly response: KinesisStreamStateResponse;
}

/** Thrown on a final invoke that must be retried as a whole. */
export class WindowRetryError extends Error {}

export interface Envelope {
  readonly v: 1;
  /** Per shard: "<sequenceNumber>:<subSequenceNumber>" of the last record applied or dead-lettered. */
  readonly applied: Record<string, string>;
  /**
   * Per shard: the mark of the first record applied or dead-lettered with this state (the part id). Optional: a state
   * written before it existed gets the current mark instead, which is as stable.
   */
  readonly first?: Record<string, string>;
  /** What `toJson` returned: any JSON value; a string (a compact encoding) is measured without serializing it again. */
  readonly user: unknown;
}

export function windowInfoOf(event: KinesisStreamTumblingWindowEvent): WindowInfo {
  const start = Date.parse(event.window?.start);
  const end = Date.parse(event.window?.end);
  if (!Number.isFinite(start) || !Number.isFinite(end)) {
    throw new Error(
      `not a tumbling-window event: window is ${JSON.stringify(event.window)}; enable tumblingWindow on the event source mapping`,
    );
  }
  const shardId = (event as { shardId?: string }).shardId ?? (event.Records[0] ? shardIdOf(event.Records[0]) : '');
  const eventSourceArn = (event as { eventSourceARN?: string }).eventSourceARN ?? event.Records[0]?.eventSourceARN;
  return {
    start,
    end,
    shardId,
    eventSourceArn,
    isFinal: event.isFinalInvokeForWindow === true,
    terminatedEarly: event.isWindowTerminatedEarly === true,
  };
}

export async function processKinesisWindow<S>(
  event: KinesisStreamTumblingWindowEvent,
  processor: WindowProcessor<S>,
  options: BatchOptions,
): Promise<WindowBatchReport> {
  const window = windowInfoOf(event);
  const incoming = event.state as Partial<Envelope> | undefined;
  const hasState = incoming !== undefined && incoming !== null && incoming.v === 1;
  const applied: Record<string, string> = hasState ? { ...(incoming.applied ?? {}) } : {};
  const first: Record<string, string> = hasState ? { ...applied, ...(incoming.first ?? {}) } : {};
  // The marks as parsed values while the batch runs (no string built and parsed again per record); written back to
  // `applied` once, for the returned state.
  const marks = new Map<string, Mark>();
  for (const shard of Object.keys(applied)) marks.set(shard, parseMark(applied[shard]));
  const advance = (shard: string, sequenceNumber: string, sub: number): void => {
    const m = marks.get(shard);
    if (m) {
      if (m.seq !== sequenceNumber) {
        m.seq = sequenceNumber;
        m.lastSeq = undefined;
      }
      m.sub = sub;
    } else marks.set(shard, { seq: sequenceNumber, sub, lastSeq: undefined, lastOrder: 0 });
    first[shard] ??= mark(sequenceNumber, sub);
  };
  const state = hasState ? processor.fromJson(incoming.user, window) : processor.initialState(window);

  // Decode everything first so `prepare` sees the whole batch; undecodable records are dead-lettered in order below.
  const byShard = groupByShard(
    event.Records,
    (record): { record: KinesisStreamRecord; users?: DecodedRecord[]; error?: unknown } => {
      try {
        return { record, users: decodeRecord(record) };
      } catch (error) {
        return { record, error };
      }
    },
  );

  let received = 0;
  let processed = 0;
  let deadLettered = 0;
  let failed = 0;
  let skipped = 0;
  const failures: { itemIdentifier: string }[] = [];
  const fresh: DecodedRecord[] = [];
  for (const [shard, items] of byShard) {
    for (const item of items) {
      for (const u of item.users ?? [])
        if (!isApplied(marks.get(shard), u.sequenceNumber, u.subSequenceNumber)) fresh.push(u);
    }
  }

  // On the final invoke a retry starts again from the previous state, so letters sent before a failure would be sent
  // twice: they wait until the window's result is out. Other invocations send each one before moving the mark past it.
  const deferred: DeadLetterEntry[] = [];
  const deadLetter = async (error: unknown, record: DecodedRecord): Promise<boolean> => {
    const entry = deadLetterEntry(options.stage, error, record);
    if (window.isFinal) {
      deferred.push(entry);
      return true;
    }
    return trySendDeadLetters(options, [entry]);
  };

  let prepareError: unknown;
  if (processor.prepare && fresh.length > 0) {
    try {
      await processor.prepare(state, fresh, window);
    } catch (e) {
      prepareError = e;
    }
  }

  for (const [shard, items] of byShard) {
    let shardFailed = prepareError !== undefined;
    for (const item of items) {
      const seq = item.record.kinesis.sequenceNumber;
      const users = item.users;
      if (!users) {
        received += 1;
        if (isApplied(marks.get(shard), seq, 0)) {
          skipped += 1;
          continue;
        }
        if (shardFailed) {
          failed += 1;
          failures.push({ itemIdentifier: seq });
          continue;
        }
        const raw = Buffer.from(item.record.kinesis.data, 'base64');
        const ok = await deadLetter(item.error, {
          data: raw,
          partitionKey: item.record.kinesis.partitionKey,
          sequenceNumber: seq,
          subSequenceNumber: 0,
          shardId: shard,
          approximateArrivalTimestamp: Math.round(item.record.kinesis.approximateArrivalTimestamp * 1000),
        });
        if (ok) {
          deadLettered += 1;
          advance(shard, seq, 0);
        } else {
          failed += 1;
          shardFailed = true;
          failures.push({ itemIdentifier: seq });
        }
        continue;
      }
      received += users.length;
      let reported = false;
      for (const u of users) {
        if (isApplied(marks.get(shard), u.sequenceNumber, u.subSequenceNumber)) {
          skipped += 1;
          continue;
        }
        if (shardFailed) {
          failed += 1;
          if (!reported) failures.push({ itemIdentifier: seq });
          reported = true;
          continue;
        }
        try {
          processor.apply(state, u, window);
          processed += 1;
          advance(shard, u.sequenceNumber, u.subSequenceNumber);
        } catch (e) {
          if (isDeadLetterError(e) && (await deadLetter(e, u))) {
            deadLettered += 1;
            advance(shard, u.sequenceNumber, u.subSequenceNumber);
            continue;
          }
          options.observability?.logger.warn('record failed, shard stops until retry', {
            stage: options.stage,
            shardId: shard,
            sequenceNumber: u.sequenceNumber,
            subSequenceNumber: u.subSequenceNumber,
            error: (e as Error).message,
          });
          failed += 1;
          shardFailed = true;
          failures.push({ itemIdentifier: seq });
          reported = true;
        }
      }
    }
  }

  if (window.isFinal) {
    if (failed > 0) {
      throw new WindowRetryError(
        `final invoke of window ${event.window.start}..${event.window.end} on ${window.shardId}: ${failed} record(s) failed` +
          (prepareError ? ` (${(prepareError as Error).message})` : '') +
          '; retrying the final invoke so the window is emitted complete',
      );
    }
    const parts = Object.keys(first)
      .sort()
      .map((shard) => `${shard}@${first[shard]}`);
    const unstorable = await processor.finish?.(
      state,
      parts.length > 0 ? { ...window, partId: parts.join(',') } : window,
    );
    if (unstorable) deferred.push(...unstorable);
    if (!(await trySendDeadLetters(options, deferred))) {
      throw new WindowRetryError(
        `final invoke of window ${event.window.start}..${event.window.end} on ${window.shardId}: the dead-letter sink ` +
          `failed for ${deferred.length} record(s); retrying the final invoke (its writes are idempotent)`,
      );
    }
  }

  for (const [shard, m] of marks) applied[shard] = mark(m.seq, m.sub);
  const envelope: Envelope = { v: 1, applied, first, user: processor.toJson(state) };
  const stateBytes = envelopeBytes(envelope);
  const obs = options.observability;
  if (obs) {
    obs.metrics.addMetric('RecordsReceived', MetricUnit.Count, received);
    obs.metrics.addMetric('RecordsProcessed', MetricUnit.Count, processed);
    obs.metrics.addMetric('RecordsDeadLettered', MetricUnit.Count, deadLettered);
    obs.metrics.addMetric('RecordsFailed', MetricUnit.Count, failed);
    obs.metrics.addMetric('RecordsSkippedAsRedelivered', MetricUnit.Count, skipped);
    obs.metrics.addMetric('WindowStateBytes', MetricUnit.Bytes, stateBytes);
    obs.logger.info('window batch done', {
      stage: options.stage,
      shardId: window.shardId,
      window: event.window,
      final: window.isFinal,
      terminatedEarly: window.terminatedEarly,
      received,
      processed,
      deadLettered,
      failed,
      skipped,
      stateBytes,
      ...(prepareError ? { prepareError: (prepareError as Error).message } : {}),
    });
  }
  return {
    received,
    processed,
    deadLettered,
    failed,
    skipped,
    stateBytes,
    response: { state: envelope as unknown as Record<string, unknown>, batchItemFailures: failures },
  };
}

/** Characters JSON.stringify writes unchanged, one UTF-8 byte each (printable ASCII but `"` and `\\`). */
const ESCAPED_OR_MULTIBYTE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;

/**
 * Bytes of `JSON.stringify(envelope)`, as Lambda counts the state. A string `user` (a processor's own compact
 * encoding) that JSON writes as it is is counted, not serialized again; anything else is stringified to measure it.
 */
export function envelopeBytes(envelope: Envelope): number {
  const user = envelope.user;
  if (typeof user !== 'string' || ESCAPED_OR_MULTIBYTE.test(user)) {
    return Buffer.byteLength(JSON.stringify(envelope), 'utf8');
  }
  // {"v":1,"applied":{..},"first":{..},"user":"<user>"} is the rest without its "}", then ,"user":"<user>"}.
  const rest = JSON.stringify({ v: envelope.v, applied: envelope.applied, first: envelope.first });
  return Buffer.byteLength(rest, 'utf8') + ',"user":""'.length + user.length;
}

function mark(sequenceNumber: string, sub: number): string {
  return `${sequenceNumber}:${sub}`;
}

/** A shard's high-water mark, with the order of the last sequence number compared to it (records of a KPL aggregate
 * share theirs, and a shard's records come sorted, so most checks compare one string once). */
interface Mark {
  seq: string;
  sub: number;
  lastSeq: string | undefined;
  lastOrder: number;
}

function parseMark(value: string): Mark {
  const i = value.lastIndexOf(':');
  return { seq: value.slice(0, i), sub: Number(value.slice(i + 1)), lastSeq: undefined, lastOrder: 0 };
}

function isApplied(m: Mark | undefined, sequenceNumber: string, sub: number): boolean {
  if (!m) return false;
  if (sequenceNumber === m.seq) return sub <= m.sub;
  if (sequenceNumber !== m.lastSeq) {
    m.lastSeq = sequenceNumber;
    m.lastOrder = compareSequenceNumbers(sequenceNumber, m.seq);
  }
  return m.lastOrder < 0 || (m.lastOrder === 0 && sub <= m.sub);
}

/** Builds a Lambda handler for a Kinesis event source mapping with a tumbling window and ReportBatchItemFailures. */
export function kinesisWindowHandler<S>(
  stage: string,
  processor: WindowProcessor<S>,
  deadLetters?: DeadLetterSink,
): (event: KinesisStreamTumblingWindowEvent) => Promise<KinesisStreamStateResponse> {
  return lambdaHandler(
    stage,
    (event: KinesisStreamTumblingWindowEvent, options) => processKinesisWindow(event, processor, options),
    deadLetters,
  );
}
