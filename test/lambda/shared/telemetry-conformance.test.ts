import * as fs from 'fs';
import * as path from 'path';
import { isDeadLetterError } from '../../../lambda/shared/errors';
import { parseTelemetry, TelemetryRecord, TimeWindowCheck } from '../../../lambda/shared/telemetry';

/** The fixtures the Java parser runs too (flink-apps/timeseries-enrichment TelemetryConformanceTest). */
const FIXTURES = path.join(__dirname, '../../fixtures');
const DEFAULT_WINDOW: TimeWindowCheck = { nowMs: 1764403200000, maxFutureSkewMs: 300000, maxPastAgeMs: 86400000 };

interface Line {
  name: string;
  input?: string;
  inputBase64?: string;
  verdict: string;
  parsed?: unknown;
  window?: TimeWindowCheck;
  padToBytes?: number;
}

function load(file: string): Line[] {
  const text = fs.readFileSync(path.join(FIXTURES, file), 'utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines.length === 0) throw new Error(`${file} holds no cases`);
  return lines.map((l) => JSON.parse(l) as Line);
}

/** The payload of a line: its bytes, padded with an ignored "pad" field to padToBytes when it has one. */
export function payloadOf(line: Line): Buffer {
  const raw =
    line.inputBase64 !== undefined ? Buffer.from(line.inputBase64, 'base64') : Buffer.from(line.input!, 'utf8');
  if (line.padToBytes === undefined) return raw;
  const filler = line.padToBytes - raw.length - '"pad":"",'.length;
  if (raw[0] !== 0x7b || filler < 0) throw new Error(`${line.name}: cannot pad to ${line.padToBytes} bytes`);
  const padded = Buffer.concat([Buffer.from(`{"pad":"${'x'.repeat(filler)}",`), raw.subarray(1)]);
  expect(padded.length).toBe(line.padToBytes);
  return padded;
}

function normalized(r: TelemetryRecord): unknown {
  return {
    eventId: r.eventId,
    deviceId: r.deviceId,
    timestamp: r.timestamp,
    metrics: { ...r.metrics },
    attributes: { ...(r.attributes ?? {}) },
  };
}

describe.each(['telemetry-conformance.jsonl', 'telemetry-generated.jsonl'])('%s', (file) => {
  const lines = load(file);
  test.each(lines.map((l) => [l.name, l] as const))('%s', (_, line) => {
    let verdict: string;
    let record: TelemetryRecord | undefined;
    try {
      record = parseTelemetry(payloadOf(line), line.window ?? DEFAULT_WINDOW);
      verdict = 'ok';
    } catch (e) {
      if (!isDeadLetterError(e)) throw e;
      verdict = e.reason;
    }
    expect(verdict).toBe(line.verdict);
    if (record) {
      // toEqual compares numbers with Object.is, so a -0 left in the result fails here.
      expect(normalized(record)).toEqual(line.parsed);
      // Every name is an ordinary own key of a prototype-free object (no __proto__ setter, nothing inherited).
      expectOwnKeysOnly(record.metrics);
      expect(Object.keys(record.metrics).sort()).toEqual(
        Object.keys((line.parsed as { metrics: object }).metrics).sort(),
      );
      if (record.attributes) expectOwnKeysOnly(record.attributes);
    }
  });
});

/** Nothing inherited: the prototype chain holds no property at all (no `__proto__` setter, no `constructor`). */
function expectOwnKeysOnly(o: object): void {
  for (let p = Object.getPrototypeOf(o) as object | null; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    expect(Reflect.ownKeys(p)).toEqual([]);
  }
  expect('constructor' in o && !Object.prototype.hasOwnProperty.call(o, 'constructor')).toBe(false);
}
