import * as fc from 'fast-check';
import type { EnrichedTelemetryRecord } from '../../../lambda/shared/telemetry';
import {
  AggregationOptions,
  aggregateWindow,
  Anomaly,
  Baseline,
  DEFAULT_AGGREGATION_OPTIONS,
  emptyWindowState,
  seedBaseline,
  summarize,
  WindowState,
} from '../../../lambda/timeseries-calculator/aggregate';
import {
  aggregateFromJson,
  aggregateToJson,
  fitAggregate,
  mergePart,
  WindowAggregate,
  WindowPart,
} from '../../../lambda/timeseries-calculator/merge';
import {
  aggregateItemBytes,
  latestStateItem,
  latestStateItemBytes,
  MAX_ITEM_BYTES,
} from '../../../lambda/timeseries-calculator/sinks';
import { QuantileSketch } from '../../../lambda/timeseries-calculator/sketch';
import { propertyParameters } from '../../support/property';

/**
 * The merge of a window's parts (issue 8, class 10): when Lambda ends a window early, the window is finished once per
 * part and each part merges into the stored aggregate. Law: splitting any record sequence into any parts and merging
 * them (through the stored JSON form, as DynamoDB holds it) equals aggregating all records at once; merging a part
 * again is a no-op.
 */
const W0 = Date.UTC(2026, 10, 29, 8, 0, 0);
const W1 = W0 + 60_000;
// A baseline that flags anomalies early, so parts carry some.
const OPTIONS: AggregationOptions = { ...DEFAULT_AGGREGATION_OPTIONS, minBaselineSamples: 3, anomalyZThreshold: 2 };

function enriched(i: number, deviceId: string, metrics: Record<string, number>): EnrichedTelemetryRecord {
  return {
    eventId: `e${i}`,
    deviceId,
    timestamp: W0 + 1000,
    metrics,
    metadata: { site: 'plant' },
    enriched: true,
    processedAt: W0 + 1500,
  };
}

/** Each part's result per device, the baseline carried from part to part as the handler does through DynamoDB. */
function partsOf(records: EnrichedTelemetryRecord[], cuts: number[]): Map<string, WindowPart>[] {
  const bounds = [0, ...[...new Set(cuts)].sort((a, b) => a - b), records.length];
  const out: Map<string, WindowPart>[] = [];
  let baselines = new Map<string, Record<string, Baseline>>();
  for (let i = 0; i + 1 < bounds.length; i++) {
    const slice = records.slice(bounds[i], bounds[i + 1]);
    const state = emptyWindowState(W0, W1);
    for (const r of slice) seedBaseline(state, r.deviceId, baselines.get(r.deviceId));
    aggregateWindow(state, slice, OPTIONS);
    out.push(devicePartsOf(state, `shard@${bounds[i]}`));
    const next = new Map(baselines);
    for (const [id, dev] of state.devices) next.set(id, Object.fromEntries(dev.baseline));
    baselines = next;
  }
  return out;
}

function devicePartsOf(state: WindowState, partId: string): Map<string, WindowPart> {
  const parts = new Map<string, WindowPart>();
  for (const [id, dev] of state.devices) {
    parts.set(id, {
      windowStart: W0,
      windowEnd: W1,
      partId,
      site: dev.site,
      metrics: dev.metrics,
      anomalies: state.anomalies.filter((a: Anomaly) => a.deviceId === id),
      baseline: dev.baseline,
      updatedAt: 1,
    });
  }
  return parts;
}

/** As stored in DynamoDB and read back. */
function roundTrip(deviceId: string, a: WindowAggregate): WindowAggregate {
  return aggregateFromJson(a.windowStart, a.windowEnd, JSON.parse(JSON.stringify(aggregateToJson(deviceId, a))));
}

const close = (a: number, b: number, scale: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, scale);

describe('merging the parts of a window ended early', () => {
  const value = fc.oneof(
    fc.double({ min: -1e9, max: 1e9, noNaN: true }).map((v) => (v === 0 ? 0 : v)),
    fc.integer({ min: -5, max: 5 }),
  );
  const recordsArb = fc.array(
    fc.record({
      deviceId: fc.constantFrom('d1', 'd2', 'constructor'),
      metrics: fc.dictionary(fc.constantFrom('t', 'h', 'toString'), value, { minKeys: 1, maxKeys: 3 }),
    }),
    { minLength: 1, maxLength: 80 },
  );

  test('property: any split into parts, merged, equals aggregating all records at once; merging a part twice is a no-op', () => {
    fc.assert(
      fc.property(recordsArb, fc.array(fc.nat(80), { maxLength: 5 }), fc.nat(), (raw, rawCuts, again) => {
        const records = raw.map((r, i) => enriched(i, r.deviceId, r.metrics));
        const cuts = rawCuts.map((c) => c % (records.length + 1));
        const whole = emptyWindowState(W0, W1);
        aggregateWindow(whole, records, OPTIONS);

        const parts = partsOf(records, cuts);
        const stored = new Map<string, WindowAggregate>();
        for (const part of parts) {
          for (const [id, p] of part) {
            const out = mergePart(stored.get(id), p, OPTIONS.maxAnomaliesPerWindow);
            expect(out.kind).toBe(stored.has(id) ? 'merged' : 'replaced');
            stored.set(id, roundTrip(id, out.aggregate));
          }
        }

        // A retried final invoke of any part: recognised by its id, nothing changes.
        const retried = parts[again % parts.length];
        for (const [id, p] of retried) {
          const out = mergePart(stored.get(id), p, OPTIONS.maxAnomaliesPerWindow);
          expect(out.kind).toBe('already-merged');
          expect(aggregateToJson(id, out.aggregate)).toEqual(aggregateToJson(id, stored.get(id)!));
        }

        expect([...stored.keys()].sort()).toEqual([...whole.devices.keys()].sort());
        for (const [id, dev] of whole.devices) {
          const merged = stored.get(id)!;
          expect(merged.parts.length).toBe(parts.filter((p) => p.has(id)).length);
          expect([...merged.metrics.keys()].sort()).toEqual([...dev.metrics.keys()].sort());
          for (const [name, s] of dev.metrics) {
            const m = merged.metrics.get(name)!;
            const scale = Math.max(Math.abs(s.min), Math.abs(s.max));
            expect([m.count, m.min, m.max]).toEqual([s.count, s.min, s.max]);
            expect(close(m.mean, s.mean, scale)).toBe(true);
            const sum = summarize(m, 95);
            const single = summarize(s, 95);
            expect(close(sum.stddev, single.stddev, scale)).toBe(true);
            // Sketches merge exactly: the same buckets, so the same p95.
            expect(m.sketch.toJSON()).toEqual(s.sketch.toJSON());
            expect(sum.percentile).toBe(single.percentile);
          }
          // Anomalies: the baseline carried over, so the same ones, in the same order; the same baseline at the end.
          expect(merged.anomalies).toEqual(whole.anomalies.filter((a) => a.deviceId === id));
          expect(merged.baseline).toEqual(dev.baseline);
        }
      }),
      propertyParameters(50),
    );
  });

  test('an aggregate of a later window is never merged into or replaced by an older part', () => {
    const state = emptyWindowState(W0, W1);
    aggregateWindow(state, [enriched(1, 'd1', { t: 1 })], OPTIONS);
    const older = devicePartsOf(state, 'p1').get('d1')!;
    const later = { ...older, windowStart: W1, windowEnd: W1 + 60_000, partId: 'p2' };
    const stored = mergePart(undefined, later, 500).aggregate;
    expect(mergePart(stored, older, 500)).toMatchObject({ kind: 'newer-stored', aggregate: { windowEnd: W1 } });
    // An earlier window's aggregate is replaced by the next window's first part.
    expect(mergePart(mergePart(undefined, older, 500).aggregate, later, 500)).toMatchObject({
      kind: 'replaced',
      aggregate: { windowEnd: W1 + 60_000, parts: ['p2'] },
    });
  });

  test('the same anomaly (eventId, metric) from two parts is kept once; over maxAnomalies they are counted as dropped', () => {
    const anomaly = (eventId: string): Anomaly => ({
      deviceId: 'd1',
      metric: 't',
      value: 9,
      zScore: 5,
      baselineMean: 1,
      baselineStdDev: 1,
      windowStart: W0,
      windowEnd: W1,
      eventId,
      timestamp: W0,
    });
    const part = (partId: string, ids: string[]): WindowPart => ({
      windowStart: W0,
      windowEnd: W1,
      partId,
      metrics: new Map(),
      anomalies: ids.map(anomaly),
      baseline: new Map(),
      updatedAt: 1,
    });
    const first = mergePart(undefined, part('p1', ['a', 'b']), 3).aggregate;
    const second = mergePart(first, part('p2', ['b', 'c', 'd']), 3).aggregate;
    expect(second.anomalies.map((a) => a.eventId)).toEqual(['a', 'b', 'c']);
    expect(second.anomaliesDropped).toBe(1);
  });

  describe('item sizes (DynamoDB refuses items over 400 KB)', () => {
    /** 100 metrics of one device, each with `values(i)` as its series; the items as the handler writes them. */
    function sizes(values: (metric: number) => number[], anomalies = 0) {
      const state = emptyWindowState(W0, W1);
      const n = values(0).length;
      const records = Array.from({ length: n }, (_, i) => {
        const metrics: Record<string, number> = {};
        for (let m = 0; m < 100; m++) metrics[`metric_${String(m).padStart(3, '0')}`] = values(m)[i];
        return enriched(i, 'device-00042', metrics);
      });
      aggregateWindow(state, records, DEFAULT_AGGREGATION_OPTIONS);
      const part = devicePartsOf(state, `shardId-000000000000@${'4'.repeat(56)}:0`).get('device-00042')!;
      const many: Anomaly[] = Array.from({ length: anomalies }, (_, i) => ({
        deviceId: 'device-00042',
        metric: `metric_${String(i % 100).padStart(3, '0')}`,
        value: 123.456789012345,
        zScore: 4.56789012345678,
        baselineMean: 21.0123456789012,
        baselineStdDev: 0.312345678901234,
        windowStart: W0,
        windowEnd: W1,
        eventId: `6f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8-${i}`,
        timestamp: W0 + i,
      }));
      const aggregate = mergePart(undefined, { ...part, anomalies: many }, 500).aggregate;
      const item = (a: WindowAggregate) =>
        latestStateItem(
          'device-00042',
          W0,
          W1,
          new Map([...a.metrics].map(([k, s]) => [k, summarize(s, 95)])),
          'p95',
          [...a.anomalies],
          new Map(a.baseline),
          a.updatedAt,
          a.site,
        );
      const measure = (a: WindowAggregate) =>
        Math.max(aggregateItemBytes('device-00042', a), latestStateItemBytes(item(a)));
      const fitted = fitAggregate(aggregate, measure, MAX_ITEM_BYTES);
      return {
        aggregateItem: aggregateItemBytes('device-00042', aggregate),
        latestItem: latestStateItemBytes(item(aggregate)),
        sketchJson: JSON.stringify(aggregate.metrics.get('metric_000')!.sketch.toJSON()).length,
        fitted,
        fittedBytes: measure(fitted),
      };
    }

    // Deterministic pseudo-random numbers, so the measured sizes are the same on every run.
    function random(seed: number): () => number {
      let s = seed >>> 0;
      return () => {
        s = (s * 1664525 + 1013904223) >>> 0;
        return s / 2 ** 32;
      };
    }
    const normal = (rnd: () => number) => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());

    test('100 metrics, typical sensor series (normal(20, 0.5), 600 values): a few tens of KB', () => {
      const series = Array.from({ length: 100 }, (_, m) => {
        const rnd = random(m + 1);
        return Array.from({ length: 600 }, () => 20 + 0.5 * normal(rnd));
      });
      const s = sizes((m) => series[m]);
      // Measured: sketch 51 B, aggregate item 20,693 B (5.8 KB of it the baseline), latest-state item 15,466 B.
      expect(s.sketchJson).toBeLessThanOrEqual(64);
      expect(s.aggregateItem).toBeLessThan(24 * 1024);
      expect(s.latestItem).toBeLessThan(24 * 1024);
      expect(s.fittedBytes).toBe(Math.max(s.aggregateItem, s.latestItem));
    });

    test('100 metrics, heavy-tailed series (lognormal(0, 2), 10,000 values) and 500 anomalies: under the budget, sketches exact', () => {
      const series = Array.from({ length: 100 }, (_, m) => {
        const rnd = random(1000 + m);
        return Array.from({ length: 10_000 }, () => Math.exp(2 * normal(rnd)));
      });
      const s = sizes((m) => series[m], 500);
      // Measured: sketch 1,627 B, aggregate item 252,026 B (about 166 KB of it the sketches, 80 KB the anomalies),
      // latest-state item 126,889 B (the anomalies, in full).
      expect(s.sketchJson).toBeLessThan(2048);
      expect(s.aggregateItem).toBeLessThan(256 * 1024);
      expect(s.latestItem).toBeLessThan(MAX_ITEM_BYTES);
      // Nothing to shrink: the merged sketches are stored as they are.
      expect(s.fittedBytes).toBe(Math.max(s.aggregateItem, s.latestItem));
    }, 60_000);

    test('worst case, 100 metrics with 2048 buckets each: sketches are shrunk under the budget, p95 within 1 %', () => {
      // Values 1.05^k spread over 2048 buckets, 4 values each, per metric: about 8.5 KB of sketch JSON per metric.
      const values = Array.from({ length: 8192 }, (_, i) => 1.0201 ** (i % 2048) * (1 + (i >> 11) * 1e-4));
      const s = sizes(() => values);
      // Measured: 424,744 B as merged, 221,544 B after one halving (at most 1,024 buckets per sketch).
      expect(s.aggregateItem).toBeGreaterThan(400 * 1024);
      expect(s.fittedBytes).toBeLessThanOrEqual(MAX_ITEM_BYTES);
      const sorted = [...values].sort((a, b) => a - b);
      const exact = sorted[Math.floor(0.95 * (sorted.length - 1))];
      const p95 = s.fitted.metrics.get('metric_000')!.sketch.quantile(0.95)!;
      expect(Math.abs(p95 - exact) / exact).toBeLessThanOrEqual(0.01 + 1e-12);
      expect(s.fitted.metrics.get('metric_000')!.count).toBe(8192);
    }, 60_000);
  });

  test('a sketch shrunk to fit still merges', () => {
    const a = new QuantileSketch();
    for (let i = 1; i <= 500; i++) a.add(i);
    a.shrink(16);
    const b = new QuantileSketch();
    for (let i = 501; i <= 1000; i++) b.add(i);
    a.merge(b);
    expect(a.count).toBe(1000);
    expect(Math.abs(a.quantile(0.95)! - 950) / 950).toBeLessThanOrEqual(0.01);
  });
});
