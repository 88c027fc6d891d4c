import type { EnrichedTelemetryRecord } from '../shared/telemetry';
import { QuantileSketch, SketchJson } from './sketch';
import { encodeStateWithin } from './state-codec';

/**
 * Pure core of the time-series calculator: per-window, per-device, per-metric statistics and anomaly detection
 * against a per-device baseline. No I/O; the handler feeds validated records in and writes the result out.
 *
 * - count/min/max exact; mean and population standard deviation by Welford's algorithm (numerically stable).
 * - the percentile from a `QuantileSketch` (1 % relative accuracy by default, see sketch.ts).
 * - baseline: exponentially weighted mean and variance per device and metric, carried across windows (the handler
 *   persists it with the latest state in DynamoDB and seeds it back with `seedBaseline`). A value whose z-score
 *   against the baseline exceeds the threshold is an anomaly, once the baseline has seen `minBaselineSamples` values.
 *   The baseline is updated with every value, anomalies included, so it follows a lasting level shift.
 * - duplicates: a record whose eventId was already applied is counted and ignored (bounded memory of the last
 *   `maxRememberedEventIds` ids, carried from the shard's previous window with `carryEventIds`).
 */
export interface AggregationOptions {
  /** |z| above which a value is an anomaly. @default 3 */
  readonly anomalyZThreshold: number;
  /** Percentile reported, in (0, 100]. @default 95 */
  readonly percentile: number;
  /** Weight of a new value in the EWMA baseline (0.02 = about the last 100 values). @default 0.02 */
  readonly baselineAlpha: number;
  /** Values the baseline must have seen before it flags anomalies. @default 50 */
  readonly minBaselineSamples: number;
  /** Event ids remembered per window for duplicate detection. @default 2000 */
  readonly maxRememberedEventIds: number;
  /** Anomalies kept per window (more are counted in `anomaliesDropped`). @default 500 */
  readonly maxAnomaliesPerWindow: number;
  /** Sketch relative accuracy. @default 0.01 */
  readonly sketchAccuracy: number;
  /**
   * Sketch buckets per series, at most. Only the lowest values collapse beyond it: p95 stays within the accuracy for
   * any series of up to 40,000 values (see sketch.ts). @default 2048
   */
  readonly sketchMaxBins: number;
}

export const DEFAULT_AGGREGATION_OPTIONS: AggregationOptions = {
  anomalyZThreshold: 3,
  percentile: 95,
  baselineAlpha: 0.02,
  minBaselineSamples: 50,
  maxRememberedEventIds: 2000,
  maxAnomaliesPerWindow: 500,
  sketchAccuracy: 0.01,
  sketchMaxBins: 2048,
};

export interface Baseline {
  mean: number;
  variance: number;
  /** Values seen (saturates at no limit; only compared with minBaselineSamples). */
  samples: number;
}

export interface SeriesStats {
  count: number;
  mean: number;
  /** Sum of squared deviations from the mean (Welford). */
  m2: number;
  min: number;
  max: number;
  sketch: QuantileSketch;
  /**
   * The values in arrival order while there are at most KEPT_VALUES of them, undefined after: a series of few values
   * is carried in the window state as these values, from which the rest is derived exactly (state-codec.ts).
   */
  values?: number[];
}

/**
 * Values a series keeps (see SeriesStats.values): a device-metric of a busy shard sees about 6 per window; past about
 * 25 sensor readings the statistics are the smaller form anyway.
 */
export const KEPT_VALUES = 32;

export interface DeviceWindow {
  site?: string;
  metrics: Map<string, SeriesStats>;
  baseline: Map<string, Baseline>;
  /** True once the persisted baseline was loaded (or found absent), so it is loaded once per window. */
  baselineLoaded: boolean;
}

export interface Anomaly {
  readonly deviceId: string;
  readonly metric: string;
  readonly value: number;
  readonly zScore: number;
  readonly baselineMean: number;
  readonly baselineStdDev: number;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly eventId: string;
  readonly timestamp: number;
}

export interface WindowState {
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly devices: Map<string, DeviceWindow>;
  /** Recently applied event ids, oldest first. */
  readonly eventIds: string[];
  readonly eventIdSet: Set<string>;
  readonly anomalies: Anomaly[];
  anomaliesDropped: number;
  applied: number;
  duplicates: number;
}

export interface MetricSummary {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stddev: number;
  /** The configured percentile, e.g. p95. */
  readonly percentile: number;
}

export function emptyWindowState(windowStart: number, windowEnd: number): WindowState {
  return {
    windowStart,
    windowEnd,
    devices: new Map(),
    eventIds: [],
    eventIdSet: new Set(),
    anomalies: [],
    anomaliesDropped: 0,
    applied: 0,
    duplicates: 0,
  };
}

/** Applies records to the window state (mutating and returning it). Records must already be validated. */
export function aggregateWindow(
  state: WindowState,
  records: Iterable<EnrichedTelemetryRecord>,
  options: AggregationOptions = DEFAULT_AGGREGATION_OPTIONS,
): WindowState {
  for (const r of records) applyRecord(state, r, options);
  return state;
}

/** Applies one record; returns false when it was a duplicate (already applied in this window). */
export function applyRecord(state: WindowState, r: EnrichedTelemetryRecord, options: AggregationOptions): boolean {
  if (state.eventIdSet.has(r.eventId)) {
    state.duplicates += 1;
    return false;
  }
  rememberEventId(state, r.eventId, options.maxRememberedEventIds);
  state.applied += 1;
  const device = deviceOf(state, r.deviceId);
  if (r.metadata.site) device.site = r.metadata.site;
  // Keys and an index loop: Object.entries allocates a pair per metric, and parsed metrics are prototype-free
  // (dictionary-mode) objects where it is slower still.
  const values = r.metrics;
  const names = Object.keys(values);
  for (let i = 0; i < names.length; i++) {
    const metric = names[i];
    const value = values[metric];
    let s = device.metrics.get(metric);
    if (!s) {
      s = {
        count: 0,
        mean: 0,
        m2: 0,
        min: value,
        max: value,
        sketch: new QuantileSketch(options.sketchAccuracy, options.sketchMaxBins),
        values: [],
      };
      device.metrics.set(metric, s);
    }
    s.count += 1;
    const delta = value - s.mean;
    s.mean += delta / s.count;
    s.m2 += delta * (value - s.mean);
    if (value < s.min) s.min = value;
    if (value > s.max) s.max = value;
    s.sketch.add(value);
    const kept = s.values;
    if (kept !== undefined) {
      if (kept.length < KEPT_VALUES) kept.push(value);
      else s.values = undefined;
    }

    let b = device.baseline.get(metric);
    if (!b) {
      b = { mean: value, variance: 0, samples: 0 };
      device.baseline.set(metric, b);
    } else if (b.samples >= options.minBaselineSamples) {
      const std = baselineStdDev(b);
      const z = (value - b.mean) / std;
      if (Math.abs(z) > options.anomalyZThreshold) {
        const anomaly: Anomaly = {
          deviceId: r.deviceId,
          metric,
          value,
          zScore: z,
          baselineMean: b.mean,
          baselineStdDev: std,
          windowStart: state.windowStart,
          windowEnd: state.windowEnd,
          eventId: r.eventId,
          timestamp: r.timestamp,
        };
        if (state.anomalies.length < options.maxAnomaliesPerWindow) state.anomalies.push(anomaly);
        else state.anomaliesDropped += 1;
      }
    }
    updateBaseline(b, value, options.baselineAlpha);
  }
  return true;
}

/** Exponentially weighted mean and variance (Finch, "Incremental calculation of weighted mean and variance", 2009). */
export function updateBaseline(b: Baseline, value: number, alpha: number): void {
  if (b.samples === 0) {
    b.mean = value;
    b.variance = 0;
  } else {
    const diff = value - b.mean;
    const incr = alpha * diff;
    b.mean += incr;
    b.variance = (1 - alpha) * (b.variance + diff * incr);
  }
  b.samples += 1;
}

/** Standard deviation used for z-scores, floored so a perfectly flat baseline does not divide by zero. */
export function baselineStdDev(b: Baseline): number {
  return Math.max(Math.sqrt(b.variance), 1e-9, Math.abs(b.mean) * 1e-6);
}

/** Seeds a device's baseline from persisted values before its first record in this window. */
export function seedBaseline(
  state: WindowState,
  deviceId: string,
  baseline: Record<string, Baseline> | undefined,
): void {
  const device = deviceOf(state, deviceId);
  if (device.baselineLoaded) return;
  device.baselineLoaded = true;
  for (const [metric, b] of Object.entries(baseline ?? {})) {
    if (!device.baseline.has(metric) && isBaseline(b)) device.baseline.set(metric, { ...b });
  }
}

export function summarize(s: SeriesStats, percentile: number): MetricSummary {
  return {
    count: s.count,
    min: s.min,
    max: s.max,
    mean: s.mean,
    stddev: s.count > 0 ? Math.sqrt(s.m2 / s.count) : 0,
    percentile: s.sketch.quantile(percentile / 100) ?? s.max,
  };
}

/** Field name of the configured percentile: 95 -> p95, 99.9 -> p99_9. */
export function percentileField(percentile: number): string {
  return `p${String(percentile).replace('.', '_')}`;
}

function deviceOf(state: WindowState, deviceId: string): DeviceWindow {
  let d = state.devices.get(deviceId);
  if (!d) {
    d = { metrics: new Map(), baseline: new Map(), baselineLoaded: false };
    state.devices.set(deviceId, d);
  }
  return d;
}

/**
 * Seeds an empty window's duplicate memory with the event ids the shard's previous window remembered, oldest first, so
 * the memory is the shard's last `maxRememberedEventIds` ids across window boundaries: a record the enrichment job
 * writes again after a failover may arrive in a later window than its first copy.
 */
export function carryEventIds(state: WindowState, eventIds: readonly string[], max: number): void {
  for (const id of eventIds) if (!state.eventIdSet.has(id)) rememberEventId(state, id, max);
}

function rememberEventId(state: WindowState, eventId: string, max: number): void {
  state.eventIds.push(eventId);
  state.eventIdSet.add(eventId);
  while (state.eventIds.length > max) state.eventIdSet.delete(state.eventIds.shift()!);
}

function isBaseline(b: unknown): b is Baseline {
  const x = b as Baseline;
  return (
    typeof x === 'object' &&
    x !== null &&
    Number.isFinite(x.mean) &&
    Number.isFinite(x.variance) &&
    x.variance >= 0 &&
    Number.isInteger(x.samples) &&
    x.samples >= 0
  );
}

/**
 * The JSON form of the state written before state-codec.ts (about 200 bytes per device-metric); still read, so a
 * window in flight across a deployment goes on with its state. Arrays instead of objects, no repeated key names.
 * device: [site|null, baselineLoaded(0|1), {metric: [count, mean, m2, min, max, sketch]}, {metric: [mean, variance, samples]}]
 */
export interface WindowStateJson {
  w: [number, number];
  d: Record<
    string,
    [
      string | null,
      number,
      Record<string, [number, number, number, number, number, SketchJson]>,
      Record<string, [number, number, number]>,
    ]
  >;
  e: string[];
  a: Anomaly[];
  /** [anomaliesDropped, applied, duplicates] */
  k: [number, number, number];
}

export function stateToJson(state: WindowState): WindowStateJson {
  // Objects without a prototype: on a plain object, a device or metric named `__proto__` would set the prototype
  // instead of a key and vanish from the JSON. JSON.parse gives such keys back as own properties.
  const d: WindowStateJson['d'] = Object.create(null);
  for (const [id, dev] of state.devices) {
    const m: Record<string, [number, number, number, number, number, SketchJson]> = Object.create(null);
    for (const [name, s] of dev.metrics) m[name] = [s.count, s.mean, s.m2, s.min, s.max, s.sketch.toJSON()];
    const b: Record<string, [number, number, number]> = Object.create(null);
    for (const [name, x] of dev.baseline) b[name] = [x.mean, x.variance, x.samples];
    d[id] = [dev.site ?? null, dev.baselineLoaded ? 1 : 0, m, b];
  }
  return {
    w: [state.windowStart, state.windowEnd],
    d,
    e: [...state.eventIds],
    a: [...state.anomalies],
    k: [state.anomaliesDropped, state.applied, state.duplicates],
  };
}

export function stateFromJson(json: WindowStateJson): WindowState {
  const state = emptyWindowState(json.w[0], json.w[1]);
  for (const [id, [site, loaded, m, b]] of Object.entries(json.d)) {
    const metrics = new Map<string, SeriesStats>();
    for (const [name, [count, mean, m2, min, max, sketch]] of Object.entries(m)) {
      metrics.set(name, { count, mean, m2, min, max, sketch: QuantileSketch.fromJSON(sketch) });
    }
    const baseline = new Map<string, Baseline>();
    for (const [name, [mean, variance, samples]] of Object.entries(b)) baseline.set(name, { mean, variance, samples });
    state.devices.set(id, { ...(site !== null ? { site } : {}), metrics, baseline, baselineLoaded: loaded === 1 });
  }
  for (const id of json.e) {
    state.eventIds.push(id);
    state.eventIdSet.add(id);
  }
  state.anomalies.push(...json.a);
  [state.anomaliesDropped, state.applied, state.duplicates] = json.k;
  return state;
}

/**
 * Keeps the encoded state (state-codec.ts) under `maxBytes` by halving sketch sizes (losing precision on low
 * quantiles first) and then forgetting the oldest remembered event ids. Returns the final size. Counts, means,
 * deviations, min/max and baselines are never dropped. `encodeStateWithin` does the same and returns the text.
 */
export function fitState(state: WindowState, maxBytes: number): number {
  return encodeStateWithin(state, maxBytes).bytes;
}
