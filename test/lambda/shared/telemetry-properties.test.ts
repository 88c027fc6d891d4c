import * as fc from 'fast-check';
import { DeadLetterError, isDeadLetterError } from '../../../lambda/shared/errors';
import {
  parseEnrichedTelemetry,
  parseTelemetry,
  parseTelemetryJson,
  TelemetryRecord,
  validateEnrichedTelemetry,
  validateTelemetry,
} from '../../../lambda/shared/telemetry';
import { propertyParameters } from '../../support/property';

const NOW = 1764403200000;
const WINDOW = { nowMs: NOW, maxFutureSkewMs: 300000, maxPastAgeMs: 86400000 };
const REASONS = ['MALFORMED_JSON', 'SCHEMA', 'OUT_OF_RANGE', 'TIMESTAMP_FUTURE', 'TIMESTAMP_PAST'];

/** A record or a DeadLetterError with a known reason; anything else thrown fails the property. */
function verdict(data: Uint8Array): TelemetryRecord | DeadLetterError {
  try {
    return parseTelemetry(data, WINDOW);
  } catch (e) {
    if (!isDeadLetterError(e)) throw e;
    expect(REASONS).toContain(e.reason);
    return e;
  }
}

const wellFormed = (s: string) => /^(?:[^\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/.test(s);
const text = fc.string({ maxLength: 12, unit: 'binary' }).filter(wellFormed);
const recordArb = fc.record({
  eventId: text.filter((s) => s.length > 0),
  deviceId: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,128}$/),
  timestamp: fc.integer({ min: NOW - 86400000, max: NOW + 300000 }),
  metrics: fc.dictionary(
    fc
      .oneof(
        fc.stringMatching(/^[A-Za-z0-9_]{1,64}$/),
        fc.constantFrom('constructor', 'toString', 'hasOwnProperty', '0'),
      )
      // The one name the contract reserves: no JavaScript DynamoDB marshaller can write it as a map key.
      .filter((name) => name !== '__proto__'),
    fc.oneof(fc.double({ min: -1e60, max: 1e60, noNaN: true }), fc.constantFrom(1e60, -1e60, 5e-324, 2 ** 53 + 2)),
    { minKeys: 1, maxKeys: 10 },
  ),
  attributes: fc.dictionary(text, text, { maxKeys: 4 }),
});
const normalized = (r: TelemetryRecord) => ({
  ...r,
  metrics: Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [k, v + 0])),
  attributes: { ...r.attributes },
});
const plain = (r: TelemetryRecord) => ({ ...r, metrics: { ...r.metrics }, attributes: { ...r.attributes } });

describe('telemetry parser properties', () => {
  test('arbitrary bytes get a verdict', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void verdict(b)),
      propertyParameters(300),
    );
  });

  test('arbitrary strings get a verdict', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => void verdict(Buffer.from(s, 'utf8'))),
      propertyParameters(300),
    );
  });

  test('arbitrary JSON values get a verdict, and only objects can be records', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = verdict(Buffer.from(JSON.stringify(v) ?? '', 'utf8'));
        if (!(r instanceof DeadLetterError))
          expect(typeof v === 'object' && v !== null && !Array.isArray(v)).toBe(true);
      }),
      propertyParameters(300),
    );
  });

  test('arbitrary text spliced into a valid record gets a verdict', () => {
    fc.assert(
      fc.property(recordArb, fc.string({ unit: 'binary', maxLength: 20 }), fc.nat(), (r, s, at) => {
        const json = JSON.stringify(r);
        const k = at % (json.length + 1);
        verdict(Buffer.from(json.slice(0, k) + s + json.slice(k), 'utf8'));
      }),
      propertyParameters(300),
    );
  });

  test('valid records round-trip (-0 comes back as 0, names stay own keys)', () => {
    fc.assert(
      fc.property(recordArb, (r) => {
        const got = verdict(Buffer.from(JSON.stringify(r), 'utf8'));
        expect(got).not.toBeInstanceOf(DeadLetterError);
        expect(plain(got as TelemetryRecord)).toEqual(normalized(r));
      }),
      propertyParameters(300),
    );
  });

  test('ignored JSON values within the limits do not change the record', () => {
    fc.assert(
      fc.property(recordArb, fc.jsonValue({ maxDepth: 10 }), (r, v) => {
        const json = JSON.stringify(r);
        const extra = JSON.stringify(v);
        const got = verdict(Buffer.from(`{"extra":${extra},${json.slice(1)}`, 'utf8'));
        // fc.jsonValue strings may hold lone surrogates, which JSON.stringify escapes: those are rejected.
        if (!wellFormed(extra.replace(/\\u(d[89a-f][0-9a-f]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))))) {
          expect((got as DeadLetterError).reason).toBe('MALFORMED_JSON');
        } else {
          expect(plain(got as TelemetryRecord)).toEqual(normalized(r));
        }
      }),
      propertyParameters(200),
    );
  });

  test('the JSON layer enforces depth, number length and duplicates wherever they occur', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 80 }),
        fc.integer({ min: 1, max: 120 }),
        fc.boolean(),
        (depth, digits, dup) => {
          const inner = `{"n":1${'0'.repeat(digits - 1)}${dup ? ',"n":2' : ''}}`;
          const text = '['.repeat(depth - 1) + inner + ']'.repeat(depth - 1);
          const expectOk = depth <= 64 && digits <= 100 && !dup;
          let ok = true;
          try {
            parseTelemetryJson(Buffer.from(text, 'utf8'));
          } catch (e) {
            expect((e as DeadLetterError).reason).toBe('MALFORMED_JSON');
            ok = false;
          }
          expect(ok).toBe(expectOk);
        },
      ),
      propertyParameters(300),
    );
  });

  test('metric values are valid exactly in [-1e60, 1e60]', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (v) => {
        const literal = Number.isFinite(v) ? String(v) : v > 0 ? '1e400' : '-1e400';
        const got = verdict(
          Buffer.from(`{"eventId":"e","deviceId":"d","timestamp":${NOW},"metrics":{"t":${literal}}}`),
        );
        if (Math.abs(v) <= 1e60) expect((got as TelemetryRecord).metrics.t).toBe(v + 0);
        else expect((got as DeadLetterError).reason).toBe('OUT_OF_RANGE');
      }),
      propertyParameters(300),
    );
  });
  // parse* adopts the objects JSON.parse made; validate* copies a caller's value and leaves it untouched.
  test('parsing bytes and validating the parsed value give the same verdict, record and message', () => {
    const outcome = (f: () => unknown) => {
      try {
        return { ok: f() };
      } catch (e) {
        if (!isDeadLetterError(e)) throw e;
        return { reason: e.reason, message: e.message };
      }
    };
    const field = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(-0, 1e61, 'x', '__proto__', JSON.parse('{"__proto__":"a"}') as object, { constructor: 1 }),
    );
    const valueArb = fc.oneof(
      recordArb.map((r) => ({ ...r, metadata: { site: 's' }, enriched: true, processedAt: NOW })),
      fc.dictionary(
        fc.constantFrom(
          'eventId',
          'deviceId',
          'timestamp',
          'metrics',
          'attributes',
          'metadata',
          'enriched',
          'processedAt',
          '__proto__',
        ),
        field,
      ),
      recordArb
        .chain((r) => fc.record({ r: fc.constant(r), k: fc.constantFrom('metrics', 'attributes'), v: field }))
        .map(({ r, k, v }) => ({ ...r, [k]: v, metadata: { constructor: 'c' }, enriched: false, processedAt: 0 })),
    );
    fc.assert(
      fc.property(valueArb, (value) => {
        const json = JSON.stringify(value);
        const bytes = Buffer.from(json, 'utf8');
        const given = JSON.parse(json) as unknown;
        expect(outcome(() => parseTelemetry(bytes, WINDOW))).toEqual(outcome(() => validateTelemetry(given, WINDOW)));
        expect(outcome(() => parseEnrichedTelemetry(bytes))).toEqual(outcome(() => validateEnrichedTelemetry(given)));
        expect(given).toEqual(JSON.parse(json));
        expect(Object.getPrototypeOf(given)).toBe(Object.prototype);
      }),
      propertyParameters(300),
    );
  });
});
