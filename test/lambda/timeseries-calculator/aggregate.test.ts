import {
  aggregateWindow,
  DEFAULT_AGGREGATION_OPTIONS,
  emptyWindowState,
  fitState,
  percentileField,
  seedBaseline,
  stateFromJson,
  stateToJson,
  summarize,
} from '../../../lambda/timeseries-calculator/aggregate';
import { QuantileSketch } from '../../../lambda/timeseries-calculator/sketch';
import { encodeState } from '../../../lambda/timeseries-calculator/state-codec';
import { mulberry32 } from '../../../lambda/device-fleet-simulator/generator';
import { enriched } from './events';

const W0 = Date.UTC(2026, 10, 29, 8, 0, 0);
const W1 = W0 + 60_000;

describe('aggregateWindow statistics', () => {
  test('count, min, max, mean and population stddev are exact', () => {
    const values = [2, 4, 4, 4, 5, 5, 7, 9];
    const state = aggregateWindow(
      emptyWindowState(W0, W1),
      values.map((v, i) => enriched(`e${i}`, 'device-1', { temperature: v })),
    );
    const s = summarize(state.devices.get('device-1')!.metrics.get('temperature')!, 95);
    // Hand-computed: sum 40, mean 5, squared deviations 9+1+1+1+0+0+4+16 = 32, variance 32/8 = 4.
    expect(s).toMatchObject({ count: 8, min: 2, max: 9, mean: 5, stddev: 2 });
  });

  test('keeps devices and metrics apart, and the site from metadata', () => {
    const state = aggregateWindow(emptyWindowState(W0, W1), [
      enriched('a', 'd1', { temperature: 10, humidity: 50 }),
      enriched('b', 'd2', { temperature: 20 }, undefined, 'plant-2'),
      enriched('c', 'd1', { temperature: 30 }),
    ]);
    const d1 = state.devices.get('d1')!;
    expect(summarize(d1.metrics.get('temperature')!, 95)).toMatchObject({
      count: 2,
      mean: 20,
      stddev: 10,
      min: 10,
      max: 30,
    });
    expect(summarize(d1.metrics.get('humidity')!, 95)).toMatchObject({ count: 1, mean: 50, stddev: 0 });
    expect(d1.site).toBe('plant-1');
    expect(state.devices.get('d2')!.site).toBe('plant-2');
  });

  test('the percentile is within the sketch accuracy (1 %) of the exact value', () => {
    const random = mulberry32(11);
    const values = Array.from({ length: 5000 }, () => 20 + 10 * random() ** 3);
    const state = aggregateWindow(
      emptyWindowState(W0, W1),
      values.map((v, i) => enriched(`e${i}`, 'd', { cpu: v })),
      { ...DEFAULT_AGGREGATION_OPTIONS, maxRememberedEventIds: 10_000 },
    );
    const sorted = [...values].sort((a, b) => a - b);
    for (const p of [50, 95, 99]) {
      const exact = sorted[Math.floor((p / 100) * (values.length - 1))];
      const got = summarize(state.devices.get('d')!.metrics.get('cpu')!, p).percentile;
      expect(Math.abs(got - exact) / exact).toBeLessThanOrEqual(0.01);
    }
  });

  test('percentile field names', () => {
    expect(percentileField(95)).toBe('p95');
    expect(percentileField(99.9)).toBe('p99_9');
  });
});

describe('QuantileSketch', () => {
  test('handles negatives and zeros, merges, and collapses the lowest buckets first', () => {
    const s = new QuantileSketch(0.01, 8);
    for (const v of [-100, -10, -1, 0, 0, 1, 10, 100, 1000, 10000]) s.add(v);
    expect(s.binCount).toBeLessThanOrEqual(8);
    expect(s.count).toBe(10);
    // The top stays precise after collapsing.
    expect(Math.abs(s.quantile(1)! - 10000) / 10000).toBeLessThanOrEqual(0.01);
    const other = new QuantileSketch(0.01, 8);
    other.add(5);
    s.merge(other);
    expect(s.count).toBe(11);
    expect(() => s.merge(new QuantileSketch(0.02))).toThrow(/accuracy 0.01 and 0.02/);
    expect(QuantileSketch.fromJSON(JSON.parse(JSON.stringify(s))).toJSON()).toEqual(s.toJSON());
  });

  test('negative values: within accuracy at every quantile when nothing collapsed, at the top when collapsed', () => {
    const wide = new QuantileSketch(0.01, 1024);
    const narrow = new QuantileSketch(0.01, 64);
    for (let i = 1; i <= 100; i++) {
      wide.add(-i);
      narrow.add(-i);
    }
    for (const [q, exact] of [
      [0, -100],
      [0.5, -51],
      [1, -1],
    ]) {
      expect(Math.abs(wide.quantile(q)! - exact) / Math.abs(exact)).toBeLessThanOrEqual(0.01);
    }
    expect(narrow.binCount).toBe(64);
    expect(Math.abs(narrow.quantile(1)! + 1)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(narrow.quantile(0.95)! + 6)).toBeLessThanOrEqual(0.06);
  });
});

describe('duplicates', () => {
  test('a record with an eventId already applied in the window is not counted twice', () => {
    const r = [enriched('e1', 'd', { t: 1 }), enriched('e2', 'd', { t: 3 })];
    const state = aggregateWindow(emptyWindowState(W0, W1), [...r, r[0], r[1], r[0]]);
    expect(state.devices.get('d')!.metrics.get('t')!.count).toBe(2);
    expect(state.applied).toBe(2);
    expect(state.duplicates).toBe(3);
  });

  test('the remembered ids are bounded', () => {
    const opts = { ...DEFAULT_AGGREGATION_OPTIONS, maxRememberedEventIds: 3 };
    const state = aggregateWindow(
      emptyWindowState(W0, W1),
      [1, 2, 3, 4, 5].map((i) => enriched(`e${i}`, 'd', { t: i })),
      opts,
    );
    expect(state.eventIds).toEqual(['e3', 'e4', 'e5']);
    aggregateWindow(state, [enriched('e5', 'd', { t: 5 })], opts);
    expect(state.duplicates).toBe(1);
  });
});

describe('anomalies', () => {
  const opts = DEFAULT_AGGREGATION_OPTIONS;

  function normal(n: number, seed: number, from = 0) {
    const random = mulberry32(seed);
    return Array.from({ length: n }, (_, i) => {
      const u = 1 - random();
      const v = random();
      const noise = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
      return enriched(`n${from + i}`, 'd', { temperature: 21 + 0.3 * Math.max(-2.5, Math.min(2.5, noise)) });
    });
  }

  test('normal data raises no anomaly', () => {
    // Noise clipped at 2.5 sigma: nothing in it is a 3-sigma event.
    const state = aggregateWindow(emptyWindowState(W0, W1), normal(2000, 3), { ...opts, maxRememberedEventIds: 5000 });
    expect(state.applied).toBe(2000);
    expect(state.anomalies).toEqual([]);
  });

  test('a spike after warm-up is detected with its z-score and baseline', () => {
    const state = aggregateWindow(emptyWindowState(W0, W1), normal(200, 4), opts);
    aggregateWindow(state, [enriched('spike', 'd', { temperature: 30 })], opts);
    expect(state.anomalies).toHaveLength(1);
    const a = state.anomalies[0];
    expect(a).toMatchObject({
      deviceId: 'd',
      metric: 'temperature',
      value: 30,
      eventId: 'spike',
      windowStart: W0,
      windowEnd: W1,
    });
    expect(a.zScore).toBeGreaterThan(3);
    expect(a.zScore).toBeCloseTo((30 - a.baselineMean) / a.baselineStdDev, 10);
    expect(a.baselineMean).toBeGreaterThan(20.5);
    expect(a.baselineMean).toBeLessThan(21.5);
  });

  test('no anomaly before the baseline has warmed up', () => {
    const state = aggregateWindow(
      emptyWindowState(W0, W1),
      [...normal(10, 5), enriched('early', 'd', { temperature: 90 })],
      opts,
    );
    expect(state.anomalies).toEqual([]);
  });

  test('a baseline seeded from a previous window detects at once', () => {
    const state = emptyWindowState(W0, W1);
    seedBaseline(state, 'd', { temperature: { mean: 21, variance: 0.09, samples: 500 } });
    aggregateWindow(state, [enriched('x', 'd', { temperature: 19.5 })], opts);
    expect(state.anomalies.map((a) => [a.eventId, Math.round(a.zScore)])).toEqual([['x', -5]]);
  });

  test('anomalies kept per window are bounded and the rest counted', () => {
    const state = emptyWindowState(W0, W1);
    const devices = ['d1', 'd2', 'd3', 'd4'];
    for (const d of devices) seedBaseline(state, d, { t: { mean: 0, variance: 1, samples: 1000 } });
    aggregateWindow(
      state,
      devices.map((d) => enriched(`a-${d}`, d, { t: 100 })),
      { ...opts, maxAnomaliesPerWindow: 2 },
    );
    expect(state.anomalies.map((a) => a.deviceId)).toEqual(['d1', 'd2']);
    expect(state.anomalies).toHaveLength(2);
    expect(state.anomaliesDropped).toBe(2);
  });
});

describe('state', () => {
  test('round-trips through JSON unchanged', () => {
    const state = aggregateWindow(emptyWindowState(W0, W1), [
      enriched('a', 'd1', { temperature: 10.5, humidity: -3 }),
      enriched('b', 'd2', { temperature: 0 }, undefined, ''),
      enriched('c', 'd1', { temperature: 11.25 }),
    ]);
    seedBaseline(state, 'd3', { t: { mean: 1, variance: 2, samples: 3 } });
    const json = JSON.parse(JSON.stringify(stateToJson(state)));
    const back = stateFromJson(json);
    expect(stateToJson(back)).toEqual(stateToJson(state));
    expect(back.eventIdSet.has('b')).toBe(true);
    // Applying more after the round trip gives what applying to the original gives.
    aggregateWindow(back, [enriched('d', 'd1', { temperature: 12 })]);
    aggregateWindow(state, [enriched('d', 'd1', { temperature: 12 })]);
    expect(stateToJson(back)).toEqual(stateToJson(state));
  });

  test('1000 devices x 5 metrics at 1 record/s for a minute fit the 1 MB Lambda state limit', () => {
    const random = mulberry32(21);
    const state = emptyWindowState(W0, W1);
    const metrics = ['temperature', 'humidity', 'pressure', 'vibration', 'cpu'];
    const base = [21, 45, 1010, 0.5, 30];
    for (let s = 0; s < 60; s++) {
      const batch = [];
      for (let d = 0; d < 1000; d++) {
        const m: Record<string, number> = {};
        metrics.forEach((name, i) => (m[name] = Math.round(base[i] * (1 + 0.05 * (random() - 0.5)) * 1000) / 1000));
        batch.push(enriched(`e-${s}-${d}`, `device-${d}`, m));
      }
      aggregateWindow(state, batch);
    }
    const size = fitState(state, 900 * 1024);
    expect(size).toBeLessThanOrEqual(900 * 1024);
    expect(encodeState(state).bytes).toBe(size);
    // Shrinking never loses counts or exact moments.
    expect(summarize(state.devices.get('device-7')!.metrics.get('cpu')!, 95).count).toBe(60);
  });

  test('fitState halves sketches, then forgets event ids, to meet the budget', () => {
    const state = aggregateWindow(
      emptyWindowState(W0, W1),
      Array.from({ length: 300 }, (_, i) => enriched(`event-${i}`, 'd', { t: 1.5 ** (i % 60) })),
      // No anomalies here: anomalies are never dropped to save space.
      { ...DEFAULT_AGGREGATION_OPTIONS, maxRememberedEventIds: 1000, anomalyZThreshold: 1e12 },
    );
    const before = Buffer.byteLength(JSON.stringify(stateToJson(state)));
    const size = fitState(state, 2000);
    expect(before).toBeGreaterThan(2000);
    expect(size).toBeLessThanOrEqual(2000);
    expect(state.devices.get('d')!.metrics.get('t')!.count).toBe(300);
    expect(state.eventIds.length).toBeLessThan(300);
  });
});
