import { Recorder, StackName } from './report/model';

/**
 * Feeds cumulative counters (what the pollers, runners and taps report) into the additive Recorder: each update
 * records only the growth since the last one, so the same total can be reported every tick.
 */
export class StageCounters {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly recorder: Recorder,
    private readonly stack: StackName,
  ) {}

  public in(stage: string, total: number): void {
    const d = this.delta(`${stage}/in`, total);
    if (d > 0) this.recorder.stage(this.stack, stage).in(d);
  }

  public out(stage: string, total: number): void {
    const d = this.delta(`${stage}/out`, total);
    if (d > 0) this.recorder.stage(this.stack, stage).out(d);
  }

  public deadLetters(stage: string, byReason: ReadonlyMap<string, number> | Record<string, number>): void {
    const entries = byReason instanceof Map ? [...byReason.entries()] : Object.entries(byReason);
    for (const [reason, total] of entries) {
      const d = this.delta(`${stage}/dead/${reason}`, total);
      if (d > 0) this.recorder.stage(this.stack, stage).deadLetter(reason, d);
    }
  }

  public deduplicated(stage: string, total: number): void {
    const d = this.delta(`${stage}/dedup`, total);
    if (d > 0) this.recorder.stage(this.stack, stage).deduplicated(d);
  }

  private delta(key: string, total: number): number {
    const previous = this.last.get(key) ?? 0;
    this.last.set(key, Math.max(previous, total));
    return total - previous;
  }
}

/** Counts by key, for dead letters by reason and the like. */
export class Tally {
  public readonly counts = new Map<string, number>();
  public total = 0;

  public add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
    this.total += n;
  }
}
