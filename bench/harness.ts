/**
 * The contract of `npm run bench`: every row of the performance table is a `BenchRow` in `bench/rows/`, measured
 * against its baseline in the same run. Figures are ratios; absolute numbers are printed for information only.
 */

/** `full` is the real measurement; `smoke` runs every row once on tiny inputs (in `npm test`, so rows cannot rot). */
export type BenchMode = 'full' | 'smoke';

/** Per-round values of one subject and its baseline, in one unit (rounds interleaved with the baseline). */
export interface Measurement {
  /** What was measured when a row has several (e.g. "1,000 devices"); empty for a row with one. */
  readonly variant: string;
  readonly unit: string;
  readonly subject: readonly number[];
  readonly baseline: readonly number[];
  /**
   * How the ratio reads: `cost` is subject / baseline (times, bytes: lower is better), `speed` is subject /
   * baseline of a rate (records/s: higher is better). The ratio is the median of the per-round ratios.
   */
  readonly ratio: 'cost' | 'speed';
  /** Facts worth printing beside the ratio (absolute rates, state bytes per device-metric…). */
  readonly notes?: readonly string[];
}

/** The target a ratio must meet: `<=` for costs, `>=` for speeds. */
export interface Target {
  readonly op: '<=' | '>=';
  readonly value: number;
}

export interface BenchRow {
  /** Stable id, used in results.json and to select rows (`npm run bench -- --only <id>`). */
  readonly id: string;
  /** The figure, as the README's table names it. */
  readonly figure: string;
  /** What the subject is compared with. */
  readonly baseline: string;
  readonly target: Target;
  /** Measures the row; every measurement it returns is checked against the target. */
  measure(mode: BenchMode): Promise<Measurement[]>;
}

/** Rounds and warm-up of an interleaved timing. */
export interface InterleaveOptions {
  readonly rounds: number;
  /** Untimed calls of each side before the rounds (JIT warm-up). @default 2 */
  readonly warmup?: number;
  /** Calls of each side per round, timed together (for work far below a millisecond). @default 1 */
  readonly repeat?: number;
}

/**
 * Times `subject` and `baseline` alternately, `rounds` times each, starting with a different one every round so
 * that neither side always runs on a warmer (or more throttled) CPU. Returns milliseconds per call for each round.
 * Runs a GC between calls when node was started with `--expose-gc` (`npm run bench` does).
 */
export async function interleave(
  subject: () => unknown,
  baseline: () => unknown,
  options: InterleaveOptions,
): Promise<{ subject: number[]; baseline: number[] }> {
  const repeat = options.repeat ?? 1;
  const time = async (fn: () => unknown): Promise<number> => {
    gc();
    const start = process.hrtime.bigint();
    for (let i = 0; i < repeat; i++) await fn();
    return Number(process.hrtime.bigint() - start) / 1e6 / repeat;
  };
  for (let i = 0; i < (options.warmup ?? 2); i++) {
    await subject();
    await baseline();
  }
  const out = { subject: [] as number[], baseline: [] as number[] };
  for (let round = 0; round < options.rounds; round++) {
    if (round % 2 === 0) {
      out.subject.push(await time(subject));
      out.baseline.push(await time(baseline));
    } else {
      out.baseline.push(await time(baseline));
      out.subject.push(await time(subject));
    }
  }
  return out;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) g();
}

/** Median, min and max. */
export function summarize(values: readonly number[]): { median: number; min: number; max: number } {
  if (values.length === 0) throw new Error('no values to summarize');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** The per-round ratios of a measurement (subject over baseline), summarized. */
export function ratios(m: Measurement): { median: number; min: number; max: number } {
  if (m.subject.length !== m.baseline.length) {
    throw new Error(`${m.variant || 'measurement'}: ${m.subject.length} subject rounds, ${m.baseline.length} baseline`);
  }
  return summarize(m.subject.map((s, i) => s / m.baseline[i]));
}

/** Whether a ratio meets its target. */
export function meets(ratio: number, target: Target): boolean {
  return target.op === '<=' ? ratio <= target.value : ratio >= target.value;
}
