import type { FailedRecord, ProducerRecord, SendResult } from '../shared/producer';
import { GeneratorOptions, RecordKind, TelemetryGenerator } from './generator';

/** Anything that sends records the way `KinesisProducer` does. */
export interface RecordSender {
  send(records: readonly ProducerRecord[]): Promise<SendResult>;
}

export interface SimulationOptions extends GeneratorOptions {
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  /** Stop early (after the current second) once this epoch-millis deadline is near. @default no deadline */
  readonly deadlineMs?: number;
  /** Called after each second with the running totals. */
  readonly onProgress?: (progress: SimulationSummary & { second: number }) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface SimulationSummary {
  readonly generated: number;
  readonly sent: number;
  readonly failed: number;
  readonly byKind: Record<RecordKind, number>;
  /**
   * Records sent whose eventId a record sent before them has: what a dedupe by eventId drops. Less than
   * `byKind.duplicate` when a put failed (the copy or its original was never sent).
   */
  readonly duplicatesSent: number;
  /** The first few failures with their error, for the log. */
  readonly failures: Array<{ partitionKey: string; errorCode: string; errorMessage: string }>;
  /** Seconds actually produced (fewer than asked when the deadline stopped the run). */
  readonly seconds: number;
}

const MAX_REPORTED_FAILURES = 20;

export function validateSimulation(o: Pick<SimulationOptions, 'ratePerSecond' | 'durationSeconds'>): void {
  if (!Number.isInteger(o.ratePerSecond) || o.ratePerSecond < 1) {
    throw new Error(`rate per second must be a positive integer, got ${o.ratePerSecond}`);
  }
  if (!Number.isInteger(o.durationSeconds) || o.durationSeconds < 1) {
    throw new Error(`duration in seconds must be a positive integer, got ${o.durationSeconds}`);
  }
}

/**
 * Produces `ratePerSecond` records per second for `durationSeconds`, paced on the wall clock: each second's records
 * are stamped within that second and sent, then the run waits for the next second. When sending takes longer than a
 * second the run falls behind rather than dropping records. Every record is either sent or counted as failed.
 */
export async function runSimulation(sender: RecordSender, options: SimulationOptions): Promise<SimulationSummary> {
  validateSimulation(options);
  const now = options.now ?? Date.now;
  const generator = new TelemetryGenerator(options);
  const byKind: Record<RecordKind, number> = { normal: 0, anomaly: 0, duplicate: 0, late: 0, malformed: 0 };
  const failures: SimulationSummary['failures'] = [];
  let generated = 0;
  let sent = 0;
  let failed = 0;
  let duplicatesSent = 0;
  const sentEventIds = new Set<string>();
  let seconds = 0;
  const start = now();
  for (let second = 0; second < options.durationSeconds; second++) {
    const slotStart = start + second * 1000;
    if (options.deadlineMs !== undefined && now() + 1000 > options.deadlineMs) break;
    const wait = slotStart - now();
    if (wait > 0) await sleep(wait);
    const records = generator.batch(options.ratePerSecond, slotStart, slotStart + 1000);
    for (const r of records) byKind[r.kind] += 1;
    generated += records.length;
    const entries = records.map((r) => ({ partitionKey: r.partitionKey, data: r.data }));
    const result = await sender.send(entries);
    sent += result.sent;
    failed += result.failed.length;
    const failedEntries = new Set(result.failed.map((f) => f.record));
    records.forEach((r, i) => {
      if (r.eventId === undefined || failedEntries.has(entries[i])) return;
      if (sentEventIds.has(r.eventId)) duplicatesSent += 1;
      else sentEventIds.add(r.eventId);
    });
    collect(failures, result.failed);
    seconds += 1;
    options.onProgress?.({
      generated,
      sent,
      failed,
      byKind: { ...byKind },
      duplicatesSent,
      failures,
      seconds,
      second: second + 1,
    });
  }
  return { generated, sent, failed, byKind, duplicatesSent, failures, seconds };
}

function collect(into: SimulationSummary['failures'], failed: readonly FailedRecord[]): void {
  for (const f of failed) {
    if (into.length >= MAX_REPORTED_FAILURES) return;
    into.push({ partitionKey: f.record.partitionKey, errorCode: f.errorCode, errorMessage: f.errorMessage });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
