/**
 * The data model of a `npm run local` run: what the orchestrator records as records move through the two stacks, and
 * the plain-JSON `RunReport` that the live view, the summary table, the JSON file and the HTML report are built from.
 *
 * The Recorder is called once per record batch (or per poll of a metric), not per record: counters are plain numbers
 * on cached per-stage objects, latency samples go into log-bucketed quantile sketches (one per time bucket and one
 * overall), and only the few chosen devices keep their points.
 */

export type StackName = 'timeseries' | 'eventsourced';

export const STACKS: readonly StackName[] = ['timeseries', 'eventsourced'];

/** The stages of each stack in flow order; a stage recorded under another name is listed after these. */
export const DEFAULT_STAGES: Readonly<Record<StackName, readonly string[]>> = {
  timeseries: [
    'ingest',
    'raw-stream',
    'enrichment',
    'enriched-stream',
    'calculator',
    'influxdb',
    'dynamodb',
    'eventbridge',
    'archive',
  ],
  eventsourced: ['commands', 'event-store', 'functions', 'egress', 'projections', 'read-model'],
};

/**
 * A conservation path: every record that enters its first stage must leave its last stage (`out`), or be dead-lettered
 * or deduplicated at one of its stages. Along a path each stage's `out` counts the same units as its `in`.
 */
export interface ConservationPathSpec {
  readonly name: string;
  readonly stages: readonly string[];
}

export const DEFAULT_CONSERVATION: Readonly<Record<StackName, readonly ConservationPathSpec[]>> = {
  timeseries: [
    { name: 'enriched', stages: ['ingest', 'raw-stream', 'enrichment', 'enriched-stream', 'calculator'] },
    { name: 'archived', stages: ['ingest', 'raw-stream', 'archive'] },
  ],
  eventsourced: [
    { name: 'commands', stages: ['commands', 'event-store', 'functions'] },
    { name: 'events', stages: ['egress', 'projections', 'read-model'] },
  ],
};

// ---------------------------------------------------------------------------------------------------------------------
// Quantile sketch

/** Relative accuracy of the latency sketches: a reported percentile is within 1 % of a sample at that rank. */
export const DEFAULT_RELATIVE_ACCURACY = 0.01;

/** Values at or below this are counted as zero (latencies are in ms: a nanosecond is zero). */
const MIN_INDEXABLE = 1e-6;

/** The JSON form of a sketch: `bins` maps a bucket index to its count. */
export interface SketchJson {
  readonly alpha: number;
  readonly count: number;
  readonly zeroCount: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
  readonly bins: Readonly<Record<string, number>>;
}

/**
 * A mergeable quantile sketch with relative-error guarantees (the DDSketch scheme, logarithmic buckets, no collapsing):
 * a value v > 0 falls in bucket i = ceil(log_γ v) with γ = (1+α)/(1−α); the bucket's representative 2γ^i/(γ+1) is
 * within relative error α of every value in (γ^(i−1), γ^i]. Merging adds bucket counts, so a merge of sketches is
 * exactly the sketch of all their samples. 1 ms .. 1 h at 1 % is ~800 buckets at most.
 */
export class QuantileSketch {
  readonly alpha: number;
  private readonly gamma: number;
  private readonly logGamma: number;
  private readonly bins = new Map<number, number>();
  private sortedKeys: number[] | undefined;
  count = 0;
  zeroCount = 0;
  min = Infinity;
  max = -Infinity;
  sum = 0;

  constructor(alpha: number = DEFAULT_RELATIVE_ACCURACY) {
    if (!(alpha > 0 && alpha < 1)) throw new Error(`relative accuracy must be in (0, 1), got ${alpha}`);
    this.alpha = alpha;
    this.gamma = (1 + alpha) / (1 - alpha);
    this.logGamma = Math.log(this.gamma);
  }

  static fromJSON(json: SketchJson): QuantileSketch {
    const s = new QuantileSketch(json.alpha);
    s.count = json.count;
    s.zeroCount = json.zeroCount;
    s.min = json.count > 0 ? json.min : Infinity;
    s.max = json.count > 0 ? json.max : -Infinity;
    s.sum = json.sum;
    for (const k of Object.keys(json.bins)) s.bins.set(Number(k), json.bins[k]);
    return s;
  }

  add(value: number, times = 1): void {
    if (!Number.isFinite(value) || times <= 0) return;
    const v = value < 0 ? 0 : value;
    this.count += times;
    this.sum += v * times;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (v <= MIN_INDEXABLE) {
      this.zeroCount += times;
      return;
    }
    const i = Math.ceil(Math.log(v) / this.logGamma);
    const prev = this.bins.get(i);
    if (prev === undefined) this.sortedKeys = undefined;
    this.bins.set(i, (prev ?? 0) + times);
  }

  merge(other: QuantileSketch | SketchJson): void {
    if (other.alpha !== this.alpha)
      throw new Error(`cannot merge sketches of accuracy ${other.alpha} and ${this.alpha}`);
    if (other.count === 0) return;
    this.count += other.count;
    this.zeroCount += other.zeroCount;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    const add = (k: number, c: number) => {
      const prev = this.bins.get(k);
      if (prev === undefined) this.sortedKeys = undefined;
      this.bins.set(k, (prev ?? 0) + c);
    };
    if (other instanceof QuantileSketch) other.bins.forEach((c, k) => add(k, c));
    else for (const k of Object.keys(other.bins)) add(Number(k), other.bins[k]);
  }

  /**
   * The value at rank ⌊q·(count−1)⌋ (0-based) of the sorted samples, within relative error α; undefined when empty.
   * Clamped to [min, max], which are exact.
   */
  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = Math.floor(Math.min(1, Math.max(0, q)) * (this.count - 1));
    if (rank < this.zeroCount) return Math.max(0, this.min);
    if (this.sortedKeys === undefined) this.sortedKeys = [...this.bins.keys()].sort((a, b) => a - b);
    let seen = this.zeroCount;
    for (const k of this.sortedKeys) {
      seen += this.bins.get(k)!;
      if (seen > rank) {
        const estimate = (2 * Math.pow(this.gamma, k)) / (this.gamma + 1);
        return Math.min(this.max, Math.max(this.min, estimate));
      }
    }
    return this.max;
  }

  toJSON(): SketchJson {
    const bins: Record<string, number> = {};
    this.bins.forEach((c, k) => (bins[String(k)] = c));
    return {
      alpha: this.alpha,
      count: this.count,
      zeroCount: this.zeroCount,
      min: this.count > 0 ? this.min : 0,
      max: this.count > 0 ? this.max : 0,
      sum: this.sum,
      bins,
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The report (plain JSON)

export interface Percentiles {
  readonly count: number;
  /** Milliseconds; null when there is no sample. */
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  readonly mean: number | null;
}

export interface LatencyBucket extends Percentiles {
  /** Epoch ms, inclusive. */
  readonly start: number;
  /** Epoch ms, exclusive. */
  readonly end: number;
  readonly sketch: SketchJson;
}

export interface LatencyReport {
  readonly overall: Percentiles;
  readonly overallSketch: SketchJson;
  readonly buckets: readonly LatencyBucket[];
}

export interface CheckpointStats {
  readonly count: number;
  readonly failures: number;
  readonly lastDurationMs: number | null;
  readonly maxDurationMs: number | null;
  /** Epoch ms of the last completed or failed checkpoint. */
  readonly lastAt: number | null;
}

export interface LagStats {
  readonly lastMs: number;
  readonly maxMs: number;
  readonly lastAt: number;
  /** [bucket start epoch ms, max lag ms in that bucket], in time order. */
  readonly series: ReadonlyArray<readonly [number, number]>;
}

export interface StageReport {
  readonly name: string;
  readonly in: number;
  readonly out: number;
  readonly deadLetters: Readonly<Record<string, number>>;
  /** Sum of `deadLetters`. */
  readonly deadLettered: number;
  readonly deduplicated: number;
  readonly checkpoints: CheckpointStats | null;
  readonly lag: LagStats | null;
}

export interface ConservationPathReport {
  readonly name: string;
  readonly stages: readonly string[];
  /** Records into the path's first stage. */
  readonly produced: number;
  /** Records out of the path's last stage. */
  readonly out: number;
  readonly deadLettered: number;
  readonly deduplicated: number;
  /** out + deadLettered + deduplicated. */
  readonly accounted: number;
  /** produced − accounted: > 0 lost or still in flight, < 0 counted twice. */
  readonly missing: number;
  readonly ok: boolean;
}

export interface ConservationReport {
  /** Every path balances. */
  readonly ok: boolean;
  /** produced / accounted of the path furthest from balance (of the first path when all balance). */
  readonly produced: number;
  readonly accounted: number;
  readonly paths: readonly ConservationPathReport[];
}

export interface StackReport {
  readonly name: StackName;
  readonly stages: readonly StageReport[];
  readonly latency: LatencyReport;
  readonly conservation: ConservationReport;
  /** Records into the first stage per second of run time. */
  readonly producedPerSecond: number;
}

export interface WindowAggregate {
  /** Epoch ms, inclusive. */
  readonly start: number;
  /** Epoch ms, exclusive. */
  readonly end: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly p95: number;
}

export interface Anomaly {
  readonly t: number;
  readonly value: number;
  readonly reason: string;
}

export interface DeviceReport {
  readonly deviceId: string;
  readonly metric: string;
  readonly unit: string;
  /** [epoch ms, value] in the order recorded. */
  readonly raw: ReadonlyArray<readonly [number, number]>;
  /** Raw points not kept because the device reached `maxRawPointsPerDevice`. */
  readonly rawDropped: number;
  readonly windows: readonly WindowAggregate[];
  readonly anomalies: readonly Anomaly[];
}

export interface RunReport {
  readonly version: 1;
  readonly title: string;
  /** Epoch ms. */
  readonly startedAt: number;
  /** Epoch ms: the end of the run, or the snapshot's time while it runs. */
  readonly endedAt: number;
  readonly durationMs: number;
  readonly finished: boolean;
  readonly bucketMs: number;
  readonly relativeAccuracy: number;
  readonly stacks: readonly StackReport[];
  readonly devices: readonly DeviceReport[];
}

// ---------------------------------------------------------------------------------------------------------------------
// The recorder

export interface DeviceSpec {
  readonly id: string;
  readonly metric?: string;
  readonly unit?: string;
}

export interface RecorderOptions {
  readonly title?: string;
  /** Epoch ms; defaults to `now()` at construction. */
  readonly startedAt?: number;
  readonly now?: () => number;
  /** Width of a latency and lag time bucket (default 5 s). */
  readonly bucketMs?: number;
  readonly relativeAccuracy?: number;
  /** The stacks reported, in this order (default both). */
  readonly stacks?: readonly StackName[];
  /** Stage order per stack (default DEFAULT_STAGES). */
  readonly stages?: Partial<Record<StackName, readonly string[]>>;
  readonly conservation?: Partial<Record<StackName, readonly ConservationPathSpec[]>>;
  /** The devices whose points, windows and anomalies are kept; `device()` of any other is a no-op. */
  readonly devices?: ReadonlyArray<string | DeviceSpec>;
  readonly maxRawPointsPerDevice?: number;
}

/** Counters of one stage; every method returns the stage so calls chain: `rec.stage('timeseries','ingest').in(500).out(498)`. */
export class StageRecorder {
  private nIn = 0;
  private nOut = 0;
  private nDedup = 0;
  private readonly dead = new Map<string, number>();
  private ckCount = 0;
  private ckFailures = 0;
  private ckLast: number | null = null;
  private ckMax: number | null = null;
  private ckAt: number | null = null;
  private lagLast = 0;
  private lagMax = 0;
  private lagAt = -1;
  private readonly lagSeries: Array<[number, number]> = [];

  constructor(
    readonly stack: StackName,
    readonly name: string,
    private readonly bucketMs: number,
    private readonly now: () => number,
  ) {}

  in(n: number): this {
    this.nIn += n;
    return this;
  }

  out(n: number): this {
    this.nOut += n;
    return this;
  }

  deadLetter(reason: string, n = 1): this {
    this.dead.set(reason, (this.dead.get(reason) ?? 0) + n);
    return this;
  }

  deduplicated(n: number): this {
    this.nDedup += n;
    return this;
  }

  /** A Flink checkpoint completed (ok) or failed, taking durationMs. */
  checkpoint(durationMs: number, ok = true, atTime: number = this.now()): this {
    if (ok) {
      this.ckCount++;
      this.ckLast = durationMs;
      if (this.ckMax === null || durationMs > this.ckMax) this.ckMax = durationMs;
    } else {
      this.ckFailures++;
    }
    this.ckAt = atTime;
    return this;
  }

  /** The iterator age (MillisBehindLatest) of this consuming stage, as last polled. */
  lag(ms: number, atTime: number = this.now()): this {
    this.lagLast = ms;
    this.lagAt = atTime;
    if (ms > this.lagMax) this.lagMax = ms;
    const bucket = atTime - (atTime % this.bucketMs);
    const last = this.lagSeries[this.lagSeries.length - 1];
    if (last !== undefined && last[0] === bucket) {
      if (ms > last[1]) last[1] = ms;
    } else {
      this.lagSeries.push([bucket, ms]);
    }
    return this;
  }

  get deadLettered(): number {
    let sum = 0;
    this.dead.forEach((c) => (sum += c));
    return sum;
  }

  get inCount(): number {
    return this.nIn;
  }

  get outCount(): number {
    return this.nOut;
  }

  get deduplicatedCount(): number {
    return this.nDedup;
  }

  snapshot(): StageReport {
    const deadLetters: Record<string, number> = {};
    [...this.dead.entries()].sort((a, b) => b[1] - a[1]).forEach(([r, c]) => (deadLetters[r] = c));
    const hasCheckpoints = this.ckCount + this.ckFailures > 0;
    return {
      name: this.name,
      in: this.nIn,
      out: this.nOut,
      deadLetters,
      deadLettered: this.deadLettered,
      deduplicated: this.nDedup,
      checkpoints: hasCheckpoints
        ? {
            count: this.ckCount,
            failures: this.ckFailures,
            lastDurationMs: this.ckLast,
            maxDurationMs: this.ckMax,
            lastAt: this.ckAt,
          }
        : null,
      lag:
        this.lagAt >= 0
          ? {
              lastMs: this.lagLast,
              maxMs: this.lagMax,
              lastAt: this.lagAt,
              series: this.lagSeries.map(([t, v]) => [t, v] as const),
            }
          : null,
    };
  }
}

/** The points of one chosen device; the recorder hands out a shared no-op one for any other device. */
export class DeviceRecorder {
  private readonly rawPoints: Array<[number, number]> = [];
  private dropped = 0;
  private readonly windows: WindowAggregate[] = [];
  private readonly anomalies: Anomaly[] = [];

  constructor(
    readonly spec: Required<DeviceSpec>,
    private readonly maxRaw: number,
    readonly enabled = true,
  ) {}

  raw(t: number, v: number): this {
    if (!this.enabled) return this;
    if (this.rawPoints.length < this.maxRaw) this.rawPoints.push([t, v]);
    else this.dropped++;
    return this;
  }

  window(w: WindowAggregate): this {
    if (this.enabled) this.windows.push({ ...w });
    return this;
  }

  anomaly(t: number, value: number, reason: string): this {
    if (this.enabled) this.anomalies.push({ t, value, reason });
    return this;
  }

  snapshot(): DeviceReport {
    return {
      deviceId: this.spec.id,
      metric: this.spec.metric,
      unit: this.spec.unit,
      // In time order: late records arrive after newer ones, and a line drawn in arrival order would double back.
      raw: this.rawPoints.map(([t, v]) => [t, v] as const).sort((a, b) => a[0] - b[0]),
      rawDropped: this.dropped,
      windows: [...this.windows].sort((a, b) => a.start - b.start),
      anomalies: [...this.anomalies].sort((a, b) => a.t - b.t),
    };
  }
}

class StackState {
  readonly stages = new Map<string, StageRecorder>();
  readonly overall: QuantileSketch;
  readonly buckets = new Map<number, QuantileSketch>();
  lastBucketKey = Number.NaN;
  lastBucket: QuantileSketch | undefined;

  constructor(
    readonly name: StackName,
    readonly order: readonly string[],
    readonly paths: readonly ConservationPathSpec[],
    readonly alpha: number,
  ) {
    this.overall = new QuantileSketch(alpha);
  }

  bucket(start: number): QuantileSketch {
    if (start === this.lastBucketKey && this.lastBucket !== undefined) return this.lastBucket;
    let s = this.buckets.get(start);
    if (s === undefined) {
      s = new QuantileSketch(this.alpha);
      this.buckets.set(start, s);
    }
    this.lastBucketKey = start;
    this.lastBucket = s;
    return s;
  }
}

const round = (v: number | undefined): number | null => (v === undefined ? null : Math.round(v * 1000) / 1000);

export function percentilesOf(s: QuantileSketch): Percentiles {
  return {
    count: s.count,
    p50: round(s.quantile(0.5)),
    p95: round(s.quantile(0.95)),
    p99: round(s.quantile(0.99)),
    max: s.count > 0 ? round(s.max) : null,
    mean: s.count > 0 ? round(s.sum / s.count) : null,
  };
}

export class Recorder {
  readonly title: string;
  readonly startedAt: number;
  readonly bucketMs: number;
  readonly relativeAccuracy: number;
  private readonly now: () => number;
  private readonly stacks = new Map<StackName, StackState>();
  private readonly devices = new Map<string, DeviceRecorder>();
  private readonly noDevice: DeviceRecorder;
  private endedAt: number | undefined;

  constructor(options: RecorderOptions = {}) {
    this.now = options.now ?? Date.now;
    this.title = options.title ?? 'Local streaming run';
    this.startedAt = options.startedAt ?? this.now();
    this.bucketMs = options.bucketMs ?? 5000;
    if (!(this.bucketMs > 0)) throw new Error(`bucketMs must be positive, got ${this.bucketMs}`);
    this.relativeAccuracy = options.relativeAccuracy ?? DEFAULT_RELATIVE_ACCURACY;
    for (const stack of options.stacks ?? STACKS) {
      const order = options.stages?.[stack] ?? DEFAULT_STAGES[stack];
      const paths = options.conservation?.[stack] ?? DEFAULT_CONSERVATION[stack];
      this.stacks.set(stack, new StackState(stack, order, paths, this.relativeAccuracy));
    }
    const maxRaw = options.maxRawPointsPerDevice ?? 20000;
    for (const d of options.devices ?? []) {
      const spec = typeof d === 'string' ? { id: d } : d;
      const full = { id: spec.id, metric: spec.metric ?? 'value', unit: spec.unit ?? '' };
      this.devices.set(spec.id, new DeviceRecorder(full, maxRaw));
    }
    this.noDevice = new DeviceRecorder({ id: '', metric: '', unit: '' }, 0, false);
  }

  private stackState(stack: StackName): StackState {
    const s = this.stacks.get(stack);
    if (s === undefined) throw new Error(`stack '${stack}' is not recorded in this run`);
    return s;
  }

  /** The counters of one stage, created on first use and cached. */
  stage(stack: StackName, name: string): StageRecorder {
    const s = this.stackState(stack);
    let st = s.stages.get(name);
    if (st === undefined) {
      st = new StageRecorder(stack, name, this.bucketMs, this.now);
      s.stages.set(name, st);
    }
    return st;
  }

  /** One end-to-end latency sample (producer timestamp → write in the destination), written at atTime. */
  latency(stack: StackName, ms: number, atTime: number = this.now()): this {
    const s = this.stackState(stack);
    s.overall.add(ms);
    s.bucket(atTime - (atTime % this.bucketMs)).add(ms);
    return this;
  }

  /** A batch of latency samples written at the same time. */
  latencies(stack: StackName, ms: ArrayLike<number>, atTime: number = this.now()): this {
    const s = this.stackState(stack);
    const b = s.bucket(atTime - (atTime % this.bucketMs));
    for (let i = 0; i < ms.length; i++) {
      s.overall.add(ms[i]);
      b.add(ms[i]);
    }
    return this;
  }

  checkpoint(stack: StackName, stage: string, durationMs: number, ok = true, atTime?: number): this {
    this.stage(stack, stage).checkpoint(durationMs, ok, atTime);
    return this;
  }

  lag(stack: StackName, stage: string, ms: number, atTime?: number): this {
    this.stage(stack, stage).lag(ms, atTime);
    return this;
  }

  /** Whether deviceId is one of the chosen devices. */
  tracks(deviceId: string): boolean {
    return this.devices.has(deviceId);
  }

  /** The recorder of a chosen device, or a shared no-op one. */
  device(deviceId: string): DeviceRecorder {
    return this.devices.get(deviceId) ?? this.noDevice;
  }

  /** Marks the run finished; later snapshots keep this end time. */
  finish(atTime: number = this.now()): this {
    this.endedAt = atTime;
    return this;
  }

  snapshot(): RunReport {
    const endedAt = this.endedAt ?? this.now();
    const durationMs = Math.max(0, endedAt - this.startedAt);
    const stacks: StackReport[] = [];
    for (const s of this.stacks.values()) {
      const known = s.order.filter((n) => s.stages.has(n));
      const extra = [...s.stages.keys()].filter((n) => !s.order.includes(n));
      const stages = [...known, ...extra].map((n) => s.stages.get(n)!.snapshot());
      const buckets: LatencyBucket[] = [...s.buckets.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([start, sk]) => ({ start, end: start + this.bucketMs, ...percentilesOf(sk), sketch: sk.toJSON() }));
      const conservation = conserve(s);
      const first = s.order.find((n) => s.stages.has(n)) ?? stages[0]?.name;
      const produced = first === undefined ? 0 : s.stages.get(first)!.inCount;
      stacks.push({
        name: s.name,
        stages,
        latency: { overall: percentilesOf(s.overall), overallSketch: s.overall.toJSON(), buckets },
        conservation,
        producedPerSecond: durationMs > 0 ? Math.round((produced / durationMs) * 1000 * 10) / 10 : 0,
      });
    }
    return {
      version: 1,
      title: this.title,
      startedAt: this.startedAt,
      endedAt,
      durationMs,
      finished: this.endedAt !== undefined,
      bucketMs: this.bucketMs,
      relativeAccuracy: this.relativeAccuracy,
      stacks,
      devices: [...this.devices.values()].map((d) => d.snapshot()),
    };
  }
}

function conserve(s: StackState): ConservationReport {
  const paths: ConservationPathReport[] = [];
  for (const p of s.paths) {
    const stages = p.stages.map((n) => s.stages.get(n));
    // A path none of whose stages saw a record is not part of this run's verdict.
    if (stages.every((st) => st === undefined)) continue;
    const produced = stages[0]?.inCount ?? 0;
    const out = stages[stages.length - 1]?.outCount ?? 0;
    let deadLettered = 0;
    let deduplicated = 0;
    for (const st of stages) {
      if (st === undefined) continue;
      deadLettered += st.deadLettered;
      deduplicated += st.deduplicatedCount;
    }
    const accounted = out + deadLettered + deduplicated;
    paths.push({
      name: p.name,
      stages: [...p.stages],
      produced,
      out,
      deadLettered,
      deduplicated,
      accounted,
      missing: produced - accounted,
      ok: produced === accounted,
    });
  }
  // The headline numbers are those of the path furthest from balance (the first path when all balance).
  const worst = paths.reduce<ConservationPathReport | undefined>(
    (w, p) => (w === undefined || Math.abs(p.missing) > Math.abs(w.missing) ? p : w),
    undefined,
  );
  return {
    ok: paths.every((p) => p.ok),
    produced: worst?.produced ?? 0,
    accounted: worst?.accounted ?? 0,
    paths,
  };
}

/** Merges latency buckets (e.g. of a time range) into one summary. */
export function mergeBuckets(buckets: ReadonlyArray<{ readonly sketch: SketchJson }>, alpha: number): Percentiles {
  const s = new QuantileSketch(alpha);
  for (const b of buckets) s.merge(b.sketch);
  return percentilesOf(s);
}
