import { DDSketch } from '@datadog/sketches-js';
import * as fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import { envelopeBytes } from '../../../lambda/shared/window';
import { processKinesisWindow } from '../../../lambda/shared/window';
import { MAX_METRIC_MAGNITUDE } from '../../../lambda/shared/telemetry';
import {
  aggregateWindow,
  AggregationOptions,
  DEFAULT_AGGREGATION_OPTIONS,
  emptyWindowState,
  seedBaseline,
  stateToJson,
  WindowState,
} from '../../../lambda/timeseries-calculator/aggregate';
import {
  ByteReader,
  ByteWriter,
  readNumber,
  StateFormatError,
  writeNumber,
} from '../../../lambda/timeseries-calculator/bytes';
import { createCalculatorProcessor } from '../../../lambda/timeseries-calculator';
import { QuantileSketch } from '../../../lambda/timeseries-calculator/sketch';
import {
  decodeState,
  encodeState,
  encodeStateWithin,
  STATE_PREFIX,
} from '../../../lambda/timeseries-calculator/state-codec';
import { propertyParameters } from '../../support/property';
import { enriched, kinesisRecord, windowEvent } from './events';

const W0 = Date.UTC(2026, 10, 29, 8, 0, 0);
const W1 = W0 + 60_000;

/**
 * The compact window state (state-codec.ts) on arbitrary states: every field reads back bit for bit (counts, min,
 * max, Welford mean and m2, so the sum; sketches bucket for bucket, so p95 is the same and within the sketch's 1 %),
 * Map orders kept, a restored state goes on as the original, the fitted state is within budget whenever it can be,
 * and the runtime's size is JSON.stringify's. A state of the previous JSON format is still read mid-window.
 */
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
// Any UTF-16 string, lone surrogates included (the codec must not depend on the contract's validation).
const anyString = fc.string({ unit: anyUnit, maxLength: 12 });
const value = fc
  .oneof(
    fc.double({ min: -MAX_METRIC_MAGNITUDE, max: MAX_METRIC_MAGNITUDE, noNaN: true }),
    // Sensor-like readings: short decimals, the codec's compact path.
    fc.tuple(fc.integer({ min: -200_000, max: 200_000 }), fc.integer({ min: 0, max: 4 })).map(([m, d]) => m / 10 ** d),
    fc.constantFrom(0, 5e-324, 2 ** 53 + 2, 1e16, MAX_METRIC_MAGNITUDE),
  )
  .map((v) => (v === 0 ? 0 : v));
const deviceId = fc.oneof(
  fc.constantFrom('device-00001', 'device-00002', 'device-00010', '__proto__', 'constructor'),
  anyString.filter((s) => s.length > 0),
);
const metric = fc.oneof(fc.constantFrom('temperature', 'humidity', 'constructor', 'toString'), anyString);
const eventId = fc.oneof(
  fc.uuid(),
  fc.integer({ min: 0, max: 30 }).map((n) => `e${n}`),
  anyString,
);
const record = fc.record({
  eventId,
  deviceId,
  metrics: fc.dictionary(metric, value, { minKeys: 1, maxKeys: 3 }),
  site: fc.oneof(fc.constant(''), fc.constant('plant-1'), anyString),
});
// Anomalies and collapsed sketches show up in small inputs with these settings.
const options = fc.record({
  anomalyZThreshold: fc.constantFrom(3, 0.5),
  minBaselineSamples: fc.constantFrom(1, 50),
  maxRememberedEventIds: fc.constantFrom(5, 2000),
  sketchMaxBins: fc.constantFrom(4, 2048),
  maxAnomaliesPerWindow: fc.constantFrom(3, 500),
  // Not the alpha encodeState assumes: baselines derived from values must then be written in full.
  baselineAlpha: fc.constantFrom(0.02, 0.5),
});

type Input = { eventId: string; deviceId: string; metrics: Record<string, number>; site: string };
type Options = Partial<AggregationOptions>;

function build(input: Input[], o: Options, seeded: string[]): WindowState {
  const agg: AggregationOptions = { ...DEFAULT_AGGREGATION_OPTIONS, ...o };
  const state = emptyWindowState(W0, W1);
  for (const id of seeded) seedBaseline(state, id, { temperature: { mean: 20.123456789, variance: 0.3, samples: 77 } });
  return aggregateWindow(
    state,
    input.map((r) => enriched(r.eventId, r.deviceId, r.metrics, W0 + 1000, r.site)),
    agg,
  );
}

/** Everything a state holds, orders included, with numbers compared by Object.is (toEqual does). */
function snapshot(s: WindowState, withValues = true): unknown {
  return {
    json: stateToJson(s),
    devices: [...s.devices].map(([id, d]) => [
      id,
      d.site,
      d.baselineLoaded,
      [...d.metrics].map(([n, m]) => [
        n,
        m.count,
        m.mean,
        m.m2,
        m.min,
        m.max,
        m.sketch.toJSON(),
        withValues ? m.values : undefined,
      ]),
      [...d.baseline].map(([n, b]) => [n, b.mean, b.variance, b.samples]),
    ]),
    eventIds: [...s.eventIds],
    eventIdSet: [...s.eventIdSet],
    anomalies: s.anomalies.map((a) => ({ ...a })),
    counters: [s.anomaliesDropped, s.applied, s.duplicates],
  };
}

describe('state codec (property)', () => {
  test('numbers: every double reads back as itself (-0, NaN, infinities, subnormals), short decimals in few bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.double(), { maxLength: 20 }), (xs) => {
        const w = new ByteWriter(16);
        for (const x of xs) writeNumber(w, x);
        const r = new ByteReader(Buffer.from(w.bytes()));
        for (const x of xs) expect(Object.is(readNumber(r), x)).toBe(true);
        expect(r.done).toBe(true);
      }),
      propertyParameters(300),
    );
    const w = new ByteWriter();
    writeNumber(w, 22.94);
    expect(w.length).toBe(3);
  });

  test('varints, zigzag and strings round-trip for every safe integer (zigzag: below 2^52) and any UTF-16 string', () => {
    fc.assert(
      fc.property(
        fc.array(fc.maxSafeNat(), { maxLength: 10 }),
        fc.array(fc.integer({ min: -(2 ** 52 - 1), max: 2 ** 52 - 1 }), { maxLength: 10 }),
        fc.array(fc.string({ unit: anyUnit, maxLength: 100 }), { maxLength: 10 }),
        (nats, ints, strings) => {
          const w = new ByteWriter(4);
          nats.forEach((n) => w.varint(n));
          ints.forEach((n) => w.zigzag(n));
          strings.forEach((s) => w.string(s));
          const r = new ByteReader(Buffer.from(w.bytes()));
          expect(nats.map(() => r.varint())).toEqual(nats);
          expect(ints.map(() => r.zigzag())).toEqual(ints.map((n) => n + 0));
          expect(strings.map(() => r.string())).toEqual(strings);
          expect(r.done).toBe(true);
        },
      ),
      propertyParameters(300),
    );
  });

  test('a state reads back bit for bit, goes on as the original, and any truncation of it is refused', () => {
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 40 }),
        fc.array(record, { maxLength: 10 }),
        options,
        fc.array(deviceId, { maxLength: 2 }),
        (input, more, o, seeded) => {
          const state = build(input, o, seeded);
          const { text, bytes } = encodeState(state);
          expect(text.startsWith(STATE_PREFIX)).toBe(true);
          expect(bytes).toBe(Buffer.byteLength(text, 'utf8'));
          // Lambda hands the state back through JSON.
          const back = decodeState(JSON.parse(JSON.stringify(text)));
          expect(snapshot(back)).toEqual(snapshot(state));
          expect(encodeState(back).text).toBe(text);

          // Counts, min, max and sum exact; p95 the same, within 1 % of the exact value at its rank (the sketch's
          // guarantee when nothing collapsed), and so is the reference DDSketch's on the same positive values.
          for (const [id, dev] of state.devices) {
            for (const [name, s] of dev.metrics) {
              const b = back.devices.get(id)!.metrics.get(name)!;
              expect([b.count, b.min, b.max, b.mean * b.count]).toEqual([s.count, s.min, s.max, s.mean * s.count]);
              expect(b.sketch.quantile(0.95)).toBe(s.sketch.quantile(0.95));
            }
          }

          // Applying more to the copy and to the original gives the same state.
          const agg = { ...DEFAULT_AGGREGATION_OPTIONS, ...o };
          const later = more.map((r) => enriched(r.eventId, r.deviceId, r.metrics, W0 + 2000, r.site));
          aggregateWindow(back, later, agg);
          aggregateWindow(state, later, agg);
          expect(encodeState(back).text).toBe(encodeState(state).text);

          // Every strict prefix of the bytes is refused, never read as a smaller state.
          const raw = Buffer.from(text.slice(STATE_PREFIX.length), 'base64');
          for (const cut of [0, 1, raw.length >> 1, raw.length - 1]) {
            if (cut >= raw.length) continue;
            const truncated = STATE_PREFIX + raw.subarray(0, cut).toString('base64');
            expect(() => decodeState(truncated)).toThrow(StateFormatError);
          }
        },
      ),
      propertyParameters(200),
    );
  });

  test('p95 after the round trip is within 1 % of the exact value at its rank, as the reference DDSketch is', () => {
    const positive = fc.oneof(
      fc.double({ min: 1e-6, max: 1e9, noNaN: true }),
      fc.integer({ min: 1, max: 200_000 }).map((m) => m / 100),
    );
    fc.assert(
      fc.property(fc.array(positive, { minLength: 1, maxLength: 300 }), (values) => {
        const state = aggregateWindow(
          emptyWindowState(W0, W1),
          values.map((v, i) => enriched(`e${i}`, 'd', { t: v })),
          { ...DEFAULT_AGGREGATION_OPTIONS, anomalyZThreshold: 1e12 },
        );
        const sketch = decodeState(encodeState(state).text).devices.get('d')!.metrics.get('t')!.sketch;
        const sorted = [...values].sort((a, b) => a - b);
        const exact = sorted[Math.floor(0.95 * (values.length - 1))];
        const reference = new DDSketch({ relativeAccuracy: 0.01 });
        for (const v of values) reference.accept(v);
        for (const q of [sketch.quantile(0.95)!, reference.getValueAtQuantile(0.95)]) {
          expect(Math.abs(q - exact)).toBeLessThanOrEqual(exact * (0.01 + 1e-12));
        }
      }),
      propertyParameters(150),
    );
  });

  test('fitting: within budget whenever sketches and ids can give enough, measured exactly, nothing else lost', () => {
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 60 }),
        options,
        fc.integer({ min: 50, max: 4000 }),
        (input, o, maxBytes) => {
          const state = build(input, o, []);
          const before = snapshot(state) as { devices: unknown[][] };
          const fitted = encodeStateWithin(state, maxBytes);
          expect(fitted.bytes).toBe(fitted.text.length);
          expect(snapshot(decodeState(fitted.text))).toEqual(snapshot(state));
          if (fitted.bytes > maxBytes) {
            expect(state.eventIds).toHaveLength(0);
            for (const d of state.devices.values())
              for (const s of d.metrics.values()) expect(s.sketch.binCount).toBeLessThanOrEqual(2);
          }
          // Counts, moments, min/max, baselines and anomalies are never dropped.
          const after = snapshot(state) as { devices: unknown[][]; anomalies: unknown };
          const moments = (d: unknown[][]) =>
            d.map(([id, site, loaded, m, b]) => [id, site, loaded, (m as unknown[][]).map((x) => x.slice(0, 6)), b]);
          expect(moments(after.devices)).toEqual(moments(before.devices));
          expect(after.anomalies).toEqual((before as unknown as { anomalies: unknown }).anomalies);
        },
      ),
      propertyParameters(150),
    );
  });

  test("the runtime's state size is JSON.stringify's, for any user value and marks", () => {
    const marks = fc.dictionary(anyString, anyString, { maxKeys: 3 });
    const user = fc.oneof(fc.jsonValue(), fc.string({ unit: anyUnit }), fc.string());
    fc.assert(
      fc.property(marks, marks, user, (applied, first, u) => {
        const envelope = { v: 1 as const, applied, first, user: u };
        expect(envelopeBytes(envelope)).toBe(Buffer.byteLength(JSON.stringify(envelope), 'utf8'));
      }),
      propertyParameters(300),
    );
  });
});

describe('state codec', () => {
  test('a state of the previous JSON format, arriving mid-window after a deploy, is read and goes on', async () => {
    const processor = createCalculatorProcessor({});
    const opts = { stage: 'test', deadLetters: { send: async () => undefined } };
    const first = [1, 2, 3].map((i) =>
      kinesisRecord(i, JSON.stringify(enriched(`e${i}`, `d${i % 2}`, { temperature: 20 + i }))),
    );
    const second = [4, 5].map((i) =>
      kinesisRecord(i, JSON.stringify(enriched(`e${i}`, `d${i % 2}`, { temperature: 20 + i }))),
    );
    const r1 = await processKinesisWindow(windowEvent(first, undefined), processor, opts);
    const current = JSON.parse(JSON.stringify(r1.response.state)) as { user: string };
    // What the deployment before this format returned for the same records: the same envelope, user as JSON.
    const legacy = { ...current, user: stateToJson(decodeState(current.user)) };
    const fromLegacy = await processKinesisWindow(windowEvent(second, legacy), processor, opts);
    const fromCurrent = await processKinesisWindow(windowEvent(second, current), processor, opts);
    expect(fromLegacy.processed).toBe(2);
    // The same state, though not the same bytes: the legacy form had no values, so its series stay statistics.
    const { user: legacyUser, ...legacyRest } = fromLegacy.response.state as { user: string };
    const { user: currentUser, ...currentRest } = fromCurrent.response.state as { user: string };
    expect(legacyRest).toEqual(currentRest);
    expect(snapshot(decodeState(legacyUser), false)).toEqual(snapshot(decodeState(currentUser), false));
    expect(typeof legacyUser).toBe('string');
  });

  test('a sketch reads back from its binary form as the same sketch, parameters written once per run of equal ones', () => {
    const a = new QuantileSketch(0.01, 2048);
    const b = new QuantileSketch(0.02, 64);
    for (let i = 1; i <= 500; i++) {
      a.add(Math.sin(i) * 100);
      b.add(i ** 1.5);
    }
    const w = new ByteWriter();
    const params = { relativeAccuracy: NaN, maxBins: 0 };
    for (const s of [a, a, b, b]) s.writeBinary(w, params);
    const r = new ByteReader(Buffer.from(w.bytes()));
    const read = { relativeAccuracy: NaN, maxBins: 0 };
    expect([0, 1, 2, 3].map(() => QuantileSketch.readBinary(r, read).toJSON())).toEqual(
      [a, a, b, b].map((s) => s.toJSON()),
    );
    expect(a.binaryBytes()).toBeLessThan(w.length / 2);
  });

  test('a state of format 2 (before series were carried as values) is read as the state it was', () => {
    const fixture = JSON.parse(
      fs.readFileSync(path.join(__dirname, '../../fixtures/window-state-w2.json'), 'utf8'),
    ) as { text: string; json: unknown };
    const state = decodeState(fixture.text);
    expect(JSON.parse(JSON.stringify(stateToJson(state)))).toEqual(fixture.json);
    // Written again in format 3: series of few values become values, and it reads back as the same state.
    const again = encodeState(state).text;
    expect(Buffer.from(again.slice(STATE_PREFIX.length), 'base64')[0]).toBe(3);
    expect(snapshot(decodeState(again), false)).toEqual(snapshot(state, false));
  });

  test('series of few values are carried as values: the same state in a fraction of the bytes', () => {
    const state = emptyWindowState(W0, W1);
    const input = [];
    for (let i = 0; i < 6 * 200; i++) {
      const d = i % 200;
      input.push(enriched(`e${i}`, `device-${d}`, { temperature: 20 + ((i * 7) % 13) / 100, cpu: (i % 50) + 0.5 }));
    }
    aggregateWindow(state, input, DEFAULT_AGGREGATION_OPTIONS);
    const asValues = encodeState(state);
    const back = decodeState(asValues.text);
    expect(snapshot(back)).toEqual(snapshot(state));
    for (const dev of state.devices.values()) for (const s of dev.metrics.values()) s.values = undefined;
    const asStatistics = encodeState(state);
    expect(snapshot(decodeState(asStatistics.text), false)).toEqual(snapshot(back, false));
    expect(asValues.bytes).toBeLessThan(asStatistics.bytes / 2);
  });

  test('anything but this format is refused with StateFormatError', () => {
    expect(() => decodeState('{"w":[0,1]}')).toThrow(StateFormatError);
    expect(() => decodeState(STATE_PREFIX + Buffer.from([4]).toString('base64'))).toThrow(/format 4 is not 3 or 2/);
    expect(() => decodeState(STATE_PREFIX + Buffer.from([3]).toString('base64'))).toThrow(/truncated/);
  });
});
