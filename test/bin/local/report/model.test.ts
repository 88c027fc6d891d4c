import * as fc from 'fast-check';
import { mergeBuckets, percentilesOf, QuantileSketch, Recorder } from '../../../../bin/local/report/model';
import { propertyParameters } from '../../../support/property';
import { generateRun, START } from './fixture';

/** The sample at rank ⌊q·(n−1)⌋ of the sorted samples: what the sketch estimates. */
function exact(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))];
}

describe('Recorder arithmetic', () => {
  test('counts in, out, dead letters by reason and duplicates per stage, in flow order', () => {
    const rec = new Recorder({ now: () => START, startedAt: START });
    rec.stage('timeseries', 'enrichment').in(100).out(90).deadLetter('schema-invalid', 4).deadLetter('late', 1);
    rec.stage('timeseries', 'enrichment').deadLetter('schema-invalid').deduplicated(4);
    rec.stage('timeseries', 'ingest').in(100).out(100);
    rec.stage('timeseries', 'custom-stage').in(1);
    const ts = rec.snapshot().stacks.find((s) => s.name === 'timeseries')!;
    expect(ts.stages.map((s) => s.name)).toEqual(['ingest', 'enrichment', 'custom-stage']);
    const enrichment = ts.stages[1];
    expect(enrichment).toMatchObject({ in: 100, out: 90, deadLettered: 6, deduplicated: 4 });
    expect(enrichment.deadLetters).toEqual({ 'schema-invalid': 5, late: 1 });
    expect(Object.keys(enrichment.deadLetters)).toEqual(['schema-invalid', 'late']); // most first
    expect(rec.stage('timeseries', 'ingest')).toBe(rec.stage('timeseries', 'ingest')); // cached, no allocation
  });

  test('checkpoints count successes and failures, keep the last and the longest duration', () => {
    const rec = new Recorder({ now: () => START, startedAt: START });
    rec.checkpoint('timeseries', 'enrichment', 800, true, START + 10);
    rec.checkpoint('timeseries', 'enrichment', 1200, true, START + 20);
    rec.checkpoint('timeseries', 'enrichment', 60000, false, START + 30);
    rec.checkpoint('timeseries', 'enrichment', 900, true, START + 40);
    const st = rec.snapshot().stacks[0].stages[0];
    expect(st.checkpoints).toEqual({
      count: 3,
      failures: 1,
      lastDurationMs: 900,
      maxDurationMs: 1200,
      lastAt: START + 40,
    });
    expect(st.lag).toBeNull();
  });

  test('lag keeps the last and the max, and the max per time bucket', () => {
    const rec = new Recorder({ now: () => START, startedAt: START, bucketMs: 1000 });
    rec.lag('timeseries', 'calculator', 300, START + 100);
    rec.lag('timeseries', 'calculator', 500, START + 900);
    rec.lag('timeseries', 'calculator', 200, START + 1500);
    expect(rec.snapshot().stacks[0].stages[0].lag).toEqual({
      lastMs: 200,
      maxMs: 500,
      lastAt: START + 1500,
      series: [
        [START, 500],
        [START + 1000, 200],
      ],
    });
  });

  test('latency is bucketed by write time, with p50/p95/p99 per bucket and overall', () => {
    const rec = new Recorder({ now: () => START, startedAt: START, bucketMs: 1000 });
    const first = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100 ms
    rec.latencies('timeseries', first, START + 10);
    rec.latency('timeseries', 1000, START + 1200);
    const lat = rec.snapshot().stacks[0].latency;
    expect(lat.buckets.map((b) => [b.start, b.end, b.count])).toEqual([
      [START, START + 1000, 100],
      [START + 1000, START + 2000, 1],
    ]);
    const b0 = lat.buckets[0];
    for (const [q, p] of [
      [0.5, b0.p50],
      [0.95, b0.p95],
      [0.99, b0.p99],
    ] as const) {
      expect(Math.abs(p! - exact(first, q)) / exact(first, q)).toBeLessThanOrEqual(0.01 + 1e-9);
    }
    expect(lat.overall.count).toBe(101);
    expect(lat.overall.max).toBe(1000);
    expect(lat.buckets[1].p50).toBe(1000); // clamped to the exact min/max
  });

  test('only the chosen devices keep points; the others cost nothing', () => {
    const rec = new Recorder({
      now: () => START,
      startedAt: START,
      devices: [{ id: 'd1', metric: 'temp', unit: '°C' }],
      maxRawPointsPerDevice: 2,
    });
    rec
      .device('d1')
      .raw(START, 1)
      .raw(START + 1, 2)
      .raw(START + 2, 3)
      .anomaly(START + 1, 2, 'spike');
    rec.device('d1').window({ start: START, end: START + 3, count: 3, min: 1, max: 3, mean: 2, p95: 3 });
    rec.device('other').raw(START, 5).anomaly(START, 5, 'x');
    expect(rec.tracks('d1')).toBe(true);
    expect(rec.tracks('other')).toBe(false);
    const [d] = rec.snapshot().devices;
    expect(rec.snapshot().devices).toHaveLength(1);
    expect(d).toMatchObject({
      deviceId: 'd1',
      metric: 'temp',
      unit: '°C',
      rawDropped: 1,
      anomalies: [{ t: START + 1, value: 2, reason: 'spike' }],
    });
    expect(d.raw).toEqual([
      [START, 1],
      [START + 1, 2],
    ]);
    expect(d.windows).toHaveLength(1);
  });

  test('the snapshot is plain JSON and duration and rates follow the clock', () => {
    let now = START;
    const rec = new Recorder({ now: () => now, startedAt: START });
    rec.stage('eventsourced', 'commands').in(500).out(500);
    now = START + 10000;
    const running = rec.snapshot();
    expect(running).toMatchObject({ finished: false, durationMs: 10000 });
    expect(running.stacks[1].producedPerSecond).toBe(50);
    rec.finish(START + 20000);
    now = START + 99999;
    const done = rec.snapshot();
    expect(done).toMatchObject({ finished: true, durationMs: 20000, endedAt: START + 20000 });
    expect(JSON.parse(JSON.stringify(done))).toEqual(done);
  });

  test('an unknown stack is an error, not a silent new counter', () => {
    const rec = new Recorder({ stacks: ['timeseries'] });
    expect(() => rec.stage('eventsourced', 'commands')).toThrow(/eventsourced/);
  });
});

describe('conservation', () => {
  test('a run whose records are all out, dead-lettered or deduplicated balances', () => {
    const { report } = generateRun({ seconds: 60 });
    for (const s of report.stacks) {
      expect(s.conservation.ok).toBe(true);
      for (const p of s.conservation.paths) expect(p.produced).toBe(p.out + p.deadLettered + p.deduplicated);
    }
    expect(report.stacks[0].conservation.paths.map((p) => p.name)).toEqual(['enriched', 'archived']);
  });

  test('a record lost on one path fails the stack and names the path and the count', () => {
    const { report } = generateRun({ seconds: 60, lose: 7 });
    const ts = report.stacks.find((s) => s.name === 'timeseries')!;
    expect(ts.conservation.ok).toBe(false);
    expect(ts.conservation.produced - ts.conservation.accounted).toBe(7);
    expect(ts.conservation.paths.find((p) => !p.ok)).toMatchObject({ name: 'enriched', missing: 7 });
    expect(report.stacks.find((s) => s.name === 'eventsourced')!.conservation.ok).toBe(true);
  });

  test('a record counted twice is a surplus, not OK', () => {
    const rec = new Recorder({
      now: () => START,
      startedAt: START,
      conservation: { eventsourced: [{ name: 'p', stages: ['commands', 'functions'] }] },
    });
    rec.stage('eventsourced', 'commands').in(10).out(10);
    rec.stage('eventsourced', 'functions').in(10).out(10).deduplicated(1);
    const c = rec.snapshot().stacks[1].conservation;
    expect(c).toMatchObject({ ok: false, produced: 10, accounted: 11 });
    expect(c.paths[0].missing).toBe(-1);
  });

  test('a stack with no records has no verdict paths and is not failed', () => {
    const c = new Recorder().snapshot().stacks[0].conservation;
    expect(c).toEqual({ ok: true, produced: 0, accounted: 0, paths: [] });
  });
});

describe('QuantileSketch', () => {
  const samples = fc.array(
    fc.oneof(
      fc.integer({ min: 0, max: 600000 }),
      fc.double({ min: 0.001, max: 10000, noNaN: true, noDefaultInfinity: true }),
    ),
    { minLength: 1, maxLength: 400 },
  );

  test('merged per-bucket summaries give the overall percentiles of one summary of all samples, within 1 %', () => {
    fc.assert(
      fc.property(fc.array(samples, { minLength: 1, maxLength: 12 }), (buckets) => {
        const all = buckets.flat();
        const single = new QuantileSketch();
        all.forEach((v) => single.add(v));
        // Through JSON, as the report stores them.
        const json = buckets.map((b) => {
          const s = new QuantileSketch();
          b.forEach((v) => s.add(v));
          return { sketch: JSON.parse(JSON.stringify(s.toJSON())) };
        });
        const merged = mergeBuckets(json, 0.01);
        const one = percentilesOf(single);
        // Bucket counts add exactly; only the mean's float sum depends on the order of the additions.
        expect({ ...merged, mean: 0 }).toEqual({ ...one, mean: 0 });
        expect(merged.mean!).toBeCloseTo(one.mean!, 2);
        for (const [q, p] of [
          [0.5, merged.p50],
          [0.95, merged.p95],
          [0.99, merged.p99],
        ] as const) {
          const e = exact(all, q);
          // 1 % of the exact sample, plus the report's rounding to 0.001 ms.
          expect(Math.abs(p! - e)).toBeLessThanOrEqual(e * (0.01 + 1e-9) + 0.0005);
        }
      }),
      propertyParameters(200),
    );
  });

  test('an empty sketch has no percentiles; zeros are counted', () => {
    expect(percentilesOf(new QuantileSketch())).toEqual({
      count: 0,
      p50: null,
      p95: null,
      p99: null,
      max: null,
      mean: null,
    });
    const s = new QuantileSketch();
    [0, 0, 0, 5].forEach((v) => s.add(v));
    expect(s.quantile(0.5)).toBe(0);
    expect(s.quantile(1)).toBe(5);
    expect(() => new QuantileSketch(0.01).merge(new QuantileSketch(0.02))).toThrow(/merge/);
  });
});
