import type { Anomaly, Baseline, SeriesStats } from './aggregate';
import { QuantileSketch, SketchJson } from './sketch';

/**
 * Merging the parts of a window that Lambda ended early (pure, no I/O).
 *
 * When a window's state outgrows 1 MB, Lambda ends the window early and sends the rest of its records to later
 * invocations with a fresh state: the window is finished once per part, with the same window boundaries. Each part
 * merges its per-device result into the one stored for the window (`WindowAggregate`, kept in DynamoDB beside the
 * latest state), and writes the window's points and latest state from the merge, so the last part writes the whole
 * window. Parts are identified by `WindowInfo.partId` (stable across retries of a final invoke): a part already in
 * `parts` is not merged again, so a retried final invoke changes nothing.
 *
 * - count, min and max are exact; mean and m2 are combined by Chan et al.'s pairwise formula, equal to aggregating
 *   all values at once up to floating-point rounding;
 * - sketches merge exactly (`QuantileSketch.merge`) unless one was shrunk to fit an item (`fitAggregate`);
 * - anomalies are concatenated in merge order, skipping one whose (eventId, metric) is already there, up to
 *   `maxAnomalies`;
 * - the baseline and `updatedAt` are the last merged part's (a part continues the baseline the previous one stored),
 *   so a retried final invoke of an earlier part rewrites exactly what is there.
 */
export interface WindowAggregate {
  readonly windowStart: number;
  readonly windowEnd: number;
  /** Ids of the parts merged, in merge order. */
  readonly parts: readonly string[];
  readonly site?: string;
  readonly metrics: ReadonlyMap<string, SeriesStats>;
  readonly anomalies: readonly Anomaly[];
  /** Anomalies left out: over `maxAnomalies`, or to keep the items under their size budget. */
  readonly anomaliesDropped: number;
  readonly baseline: ReadonlyMap<string, Baseline>;
  readonly updatedAt: number;
}

/** One part's result for one device. */
export interface WindowPart {
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly partId: string;
  readonly site?: string;
  readonly metrics: ReadonlyMap<string, SeriesStats>;
  readonly anomalies: readonly Anomaly[];
  /** The device's baseline at the end of the part. */
  readonly baseline: ReadonlyMap<string, Baseline>;
  readonly updatedAt: number;
}

/**
 * - `merged`: the part was added to the stored aggregate of the same window (store it);
 * - `replaced`: nothing stored for this window (absent or an earlier window): the part starts it (store it);
 * - `already-merged`: the stored aggregate holds this part already (a retried final invoke): write from it as it is;
 * - `newer-stored`: a later window is stored, so this one cannot be merged any more: the part alone, not stored.
 */
export type MergeKind = 'merged' | 'replaced' | 'already-merged' | 'newer-stored';

export interface MergeOutcome {
  readonly kind: MergeKind;
  readonly aggregate: WindowAggregate;
}

/** Merges a part into what is stored for its device. Inputs are not changed. */
export function mergePart(stored: WindowAggregate | undefined, part: WindowPart, maxAnomalies: number): MergeOutcome {
  const fresh = (): WindowAggregate => {
    const anomalies = dedupeAnomalies([], part.anomalies);
    return {
      windowStart: part.windowStart,
      windowEnd: part.windowEnd,
      parts: [part.partId],
      ...(part.site ? { site: part.site } : {}),
      metrics: copyMetrics(part.metrics),
      anomalies: anomalies.slice(0, maxAnomalies),
      anomaliesDropped: Math.max(0, anomalies.length - maxAnomalies),
      baseline: copyBaseline(part.baseline),
      updatedAt: part.updatedAt,
    };
  };
  if (
    !stored ||
    stored.windowEnd < part.windowEnd ||
    (stored.windowEnd === part.windowEnd && stored.windowStart !== part.windowStart)
  ) {
    return { kind: 'replaced', aggregate: fresh() };
  }
  if (stored.windowEnd > part.windowEnd) return { kind: 'newer-stored', aggregate: fresh() };
  if (stored.parts.includes(part.partId)) return { kind: 'already-merged', aggregate: stored };

  const metrics = copyMetrics(stored.metrics);
  for (const [name, s] of part.metrics) {
    const prev = metrics.get(name);
    metrics.set(name, prev ? mergeSeries(prev, s) : copySeries(s));
  }
  const anomalies = dedupeAnomalies(stored.anomalies, part.anomalies);
  const site = part.site ?? stored.site;
  return {
    kind: 'merged',
    aggregate: {
      windowStart: stored.windowStart,
      windowEnd: stored.windowEnd,
      parts: [...stored.parts, part.partId],
      ...(site ? { site } : {}),
      metrics,
      anomalies: anomalies.slice(0, maxAnomalies),
      anomaliesDropped: stored.anomaliesDropped + Math.max(0, anomalies.length - maxAnomalies),
      baseline: copyBaseline(part.baseline),
      updatedAt: part.updatedAt,
    },
  };
}

/** The statistics of a's and b's values together (new object; a and b unchanged). */
export function mergeSeries(a: SeriesStats, b: SeriesStats): SeriesStats {
  if (b.count === 0) return copySeries(a);
  if (a.count === 0) return copySeries(b);
  const count = a.count + b.count;
  const delta = b.mean - a.mean;
  let sketch = copySketch(a.sketch);
  if (a.sketch.relativeAccuracy === b.sketch.relativeAccuracy) sketch.merge(b.sketch);
  // Sketches of different accuracies (the setting changed within a window) cannot merge: keep the larger one rather
  // than fail the final invoke for good.
  else if (b.sketch.count > a.sketch.count) sketch = copySketch(b.sketch);
  return {
    count,
    // Chan, Golub and LeVeque (1979), the pairwise form of Welford's update.
    mean: a.mean + delta * (b.count / count),
    m2: a.m2 + b.m2 + delta * delta * ((a.count / count) * b.count),
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    sketch,
  };
}

/**
 * Keeps `measure(aggregate) <= maxBytes` by halving every sketch's bins (the lowest quantiles lose precision first,
 * as `fitState` does) and then leaving out the latest anomalies. Returns the aggregate (a copy when it changed).
 */
export function fitAggregate(
  aggregate: WindowAggregate,
  measure: (a: WindowAggregate) => number,
  maxBytes: number,
): WindowAggregate {
  if (measure(aggregate) <= maxBytes) return aggregate;
  const metrics = copyMetrics(aggregate.metrics);
  let current: WindowAggregate = { ...aggregate, metrics };
  // Halving from the largest sketch's size shrinks the largest sketches first and leaves small ones as they are.
  let bins = 2;
  for (const s of metrics.values()) bins = Math.max(bins, s.sketch.binCount);
  while (measure(current) > maxBytes && bins > 2) {
    bins = Math.max(2, Math.floor(bins / 2));
    for (const s of metrics.values()) s.sketch.shrink(bins);
  }
  while (measure(current) > maxBytes && current.anomalies.length > 0) {
    const keep = Math.floor(current.anomalies.length / 2);
    current = {
      ...current,
      anomalies: current.anomalies.slice(0, keep),
      anomaliesDropped: current.anomaliesDropped + current.anomalies.length - keep,
    };
  }
  return current;
}

/**
 * Compact JSON of an aggregate, as stored in DynamoDB (one string attribute, so doubles round-trip exactly and metric
 * names are plain keys): {d: deviceId, p: parts, s: site|null, m: {metric: [count, mean, m2, min, max, sketch]},
 * a: [[metric, value, zScore, baselineMean, baselineStdDev, eventId, timestamp]], x: dropped,
 * b: {metric: [mean, variance, samples]}, u: updatedAt}. Anomalies leave out
 * what the item holds once (device, window): 500 of them take about 60 KB instead of 165.
 */
export interface WindowAggregateJson {
  d: string;
  p: string[];
  s: string | null;
  m: Record<string, [number, number, number, number, number, SketchJson]>;
  a: [string, number, number, number, number, string, number][];
  x: number;
  b: Record<string, [number, number, number]>;
  u: number;
}

export function aggregateToJson(deviceId: string, a: WindowAggregate): WindowAggregateJson {
  // No prototype, so a metric named `__proto__` or `constructor` is a plain key.
  const m: WindowAggregateJson['m'] = Object.create(null);
  for (const [name, s] of a.metrics) m[name] = [s.count, s.mean, s.m2, s.min, s.max, s.sketch.toJSON()];
  const b: WindowAggregateJson['b'] = Object.create(null);
  for (const [name, x] of a.baseline) b[name] = [x.mean, x.variance, x.samples];
  return {
    d: deviceId,
    p: [...a.parts],
    s: a.site ?? null,
    m,
    a: a.anomalies.map((x) => [x.metric, x.value, x.zScore, x.baselineMean, x.baselineStdDev, x.eventId, x.timestamp]),
    x: a.anomaliesDropped,
    b,
    u: a.updatedAt,
  };
}

export function aggregateFromJson(windowStart: number, windowEnd: number, json: WindowAggregateJson): WindowAggregate {
  const metrics = new Map<string, SeriesStats>();
  for (const [name, [count, mean, m2, min, max, sketch]] of Object.entries(json.m)) {
    metrics.set(name, { count, mean, m2, min, max, sketch: QuantileSketch.fromJSON(sketch) });
  }
  const anomalies = json.a.map(
    ([metric, value, zScore, baselineMean, baselineStdDev, eventId, timestamp]): Anomaly => ({
      deviceId: json.d,
      metric,
      value,
      zScore,
      baselineMean,
      baselineStdDev,
      windowStart,
      windowEnd,
      eventId,
      timestamp,
    }),
  );
  return {
    windowStart,
    windowEnd,
    parts: [...json.p],
    ...(json.s !== null ? { site: json.s } : {}),
    metrics,
    anomalies,
    anomaliesDropped: json.x,
    baseline: new Map(
      Object.entries(json.b).map(([name, [mean, variance, samples]]) => [name, { mean, variance, samples }]),
    ),
    updatedAt: json.u,
  };
}

function dedupeAnomalies(stored: readonly Anomaly[], added: readonly Anomaly[]): Anomaly[] {
  const seen = new Set(stored.map(anomalyKey));
  const out = [...stored];
  for (const a of added) {
    const k = anomalyKey(a);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(a);
  }
  return out;
}

function anomalyKey(a: Anomaly): string {
  return JSON.stringify([a.eventId, a.metric]);
}

function copyBaseline(b: ReadonlyMap<string, Baseline>): Map<string, Baseline> {
  return new Map([...b].map(([name, x]) => [name, { ...x }]));
}

function copyMetrics(metrics: ReadonlyMap<string, SeriesStats>): Map<string, SeriesStats> {
  return new Map([...metrics].map(([name, s]) => [name, copySeries(s)]));
}

function copySeries(s: SeriesStats): SeriesStats {
  return { count: s.count, mean: s.mean, m2: s.m2, min: s.min, max: s.max, sketch: copySketch(s.sketch) };
}

function copySketch(s: QuantileSketch): QuantileSketch {
  return QuantileSketch.fromJSON(s.toJSON());
}
