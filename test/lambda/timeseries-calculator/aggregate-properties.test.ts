import * as fc from 'fast-check';
import type { EnrichedTelemetryRecord } from '../../../lambda/shared/telemetry';
import { MAX_METRIC_MAGNITUDE } from '../../../lambda/shared/telemetry';
import {
  aggregateWindow,
  DEFAULT_AGGREGATION_OPTIONS,
  emptyWindowState,
  stateFromJson,
  stateToJson,
  summarize,
} from '../../../lambda/timeseries-calculator/aggregate';
import { latestStateItem, storable } from '../../../lambda/timeseries-calculator/sinks';
import { propertyParameters } from '../../support/property';

const W0 = Date.UTC(2026, 10, 29, 8, 0, 0);
const W1 = W0 + 60_000;

/**
 * The calculator's numeric law on arbitrary records of the contract's domain (|v| <= 1e60, subnormals, the
 * largest magnitudes, values far apart): every summary is finite and ordered (min <= mean <= max, stddev >= 0), each
 * applied record counts once per metric it carries, duplicates by eventId count nothing, the state survives the JSON
 * round trip through Lambda unchanged, and every number of the latest-state item is one DynamoDB can store.
 * Overflowing aggregates (issue 8, class 2) were infinite or NaN standard deviations and p95s for finite inputs.
 */
// What the parser hands over: the contract's domain, with -0 already normalized to 0.
const value = fc
  .oneof(
    fc.double({ min: -MAX_METRIC_MAGNITUDE, max: MAX_METRIC_MAGNITUDE, noNaN: true }),
    fc.constantFrom(MAX_METRIC_MAGNITUDE, -MAX_METRIC_MAGNITUDE, 0, 5e-324, 1e-200, 2 ** 53 + 2, 1e16),
  )
  .map((v) => (v === 0 ? 0 : v));
// Device ids and metric names include prototype names the contract accepts.
const deviceId = fc.constantFrom('d1', 'd2', '__proto__', 'constructor');
const metric = fc.constantFrom('temperature', 'constructor', 'toString', 'valueOf');

const record = fc.record({
  eventId: fc.integer({ min: 0, max: 40 }).map((n) => `e${n}`),
  deviceId,
  metrics: fc.dictionary(metric, value, { minKeys: 1, maxKeys: 3 }),
});

function enriched(r: { eventId: string; deviceId: string; metrics: Record<string, number> }): EnrichedTelemetryRecord {
  return {
    ...r,
    timestamp: W0 + 1000,
    metadata: { site: 'plant' },
    enriched: true,
    processedAt: W0 + 1500,
  };
}

const finiteNumbers = (v: unknown): number[] =>
  typeof v === 'number'
    ? [v]
    : v && typeof v === 'object'
      ? Object.values(v as Record<string, unknown>).flatMap(finiteNumbers)
      : [];

describe('aggregate (property)', () => {
  test('finite, ordered summaries; conservation; lossless JSON state; storable latest state', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 60 }), (input) => {
        const records = input.map(enriched);
        const state = aggregateWindow(emptyWindowState(W0, W1), records, DEFAULT_AGGREGATION_OPTIONS);

        // Conservation: each eventId is applied once, later copies are duplicates.
        const firstById = new Map<string, EnrichedTelemetryRecord>();
        for (const r of records) if (!firstById.has(r.eventId)) firstById.set(r.eventId, r);
        expect(state.applied).toBe(firstById.size);
        expect(state.applied + state.duplicates).toBe(records.length);

        for (const [id, dev] of state.devices) {
          for (const [name, stats] of dev.metrics) {
            const values = [...firstById.values()]
              .filter((r) => r.deviceId === id && Object.prototype.hasOwnProperty.call(r.metrics, name))
              .map((r) => r.metrics[name]);
            const s = summarize(stats, 95);
            expect(s.count).toBe(values.length);
            for (const x of [s.min, s.max, s.mean, s.stddev, s.percentile]) expect(Number.isFinite(x)).toBe(true);
            expect(s.min).toBe(Math.min(...values));
            expect(s.max).toBe(Math.max(...values));
            expect(s.stddev).toBeGreaterThanOrEqual(0);
            // Rounding may put the mean an ulp outside [min, max] only when they are equal in magnitude order.
            const slack = Math.max(Math.abs(s.min), Math.abs(s.max)) * 1e-12;
            expect(s.mean).toBeGreaterThanOrEqual(s.min - slack);
            expect(s.mean).toBeLessThanOrEqual(s.max + slack);
            // Within the sketch's 1 % of the range; subnormals (below 2^-1022) count as 0 in the sketch.
            const tiny = 2.3e-308;
            expect(s.percentile).toBeGreaterThanOrEqual(s.min - Math.abs(s.min) * 0.011 - tiny);
            expect(s.percentile).toBeLessThanOrEqual(s.max + Math.abs(s.max) * 0.011 + tiny);
          }
        }

        // The state Lambda carries between invocations comes back as it went.
        const json = JSON.parse(JSON.stringify(stateToJson(state)));
        expect(stateToJson(stateFromJson(json))).toEqual(stateToJson(state));
        expect([...stateFromJson(json).devices.keys()].sort()).toEqual([...state.devices.keys()].sort());

        // Every number of every latest-state item is finite and within DynamoDB's range (0 or 1e-130..1e126).
        for (const [id, dev] of state.devices) {
          const summaries = new Map([...dev.metrics].map(([n, st]) => [n, summarize(st, 95)]));
          const item = latestStateItem(id, W0, W1, summaries, 'p95', [], dev.baseline, 1, dev.site);
          for (const x of finiteNumbers({ ...item })) {
            expect(Number.isFinite(x)).toBe(true);
            expect(x === 0 || (Math.abs(x) >= 1e-130 && Math.abs(x) < 1e126)).toBe(true);
            expect(storable(x)).toBe(x);
          }
          expect(Object.keys(item.metrics).sort()).toEqual([...dev.metrics.keys()].sort());
        }
      }),
      propertyParameters(150),
    );
  });

  test('regression (issue 8, class 2): values of 1e60 and 0 give a finite standard deviation and p95', () => {
    // One 0 and nineteen 1e60: mean 0.95e60, variance 0.95 * 0.05 * 1e120; p95 at rank floor(0.95 * 19) = 18.
    const values = [0, ...Array.from({ length: 19 }, () => MAX_METRIC_MAGNITUDE)];
    const state = aggregateWindow(
      emptyWindowState(W0, W1),
      values.map((t, i) => enriched({ eventId: `e${i}`, deviceId: 'd', metrics: { t } })),
    );
    const s = summarize(state.devices.get('d')!.metrics.get('t')!, 95);
    expect(Math.abs(s.stddev / (Math.sqrt(0.95 * 0.05) * MAX_METRIC_MAGNITUDE) - 1)).toBeLessThan(1e-9);
    expect(Math.abs(s.percentile - MAX_METRIC_MAGNITUDE) / MAX_METRIC_MAGNITUDE).toBeLessThanOrEqual(0.01);
  });
});
