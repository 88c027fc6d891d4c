import { DeadLetterError } from './errors';

/**
 * The telemetry record contract of the time-series architecture, checked with the same rules and reason codes as
 * the Flink enrichment app (flink-apps/timeseries-enrichment TelemetryParser): MALFORMED_JSON, then SCHEMA (shape and
 * types), then OUT_OF_RANGE (values), then TIMESTAMP_FUTURE / TIMESTAMP_PAST (only when a time window is given).
 * Unknown top-level fields are ignored. Both parsers give the same verdict on every line of
 * test/fixtures/telemetry-conformance.jsonl and telemetry-generated.jsonl; the rules are in docs/guarantees.md.
 *
 * `metrics`, `attributes` and `metadata` of a parsed record inherit nothing (see TELEMETRY_DICT_PROTOTYPE):
 * metric and attribute names such as `__proto__` or `constructor` are ordinary own keys. Copy them into a Map or
 * another prototype-free object, not into `{}`, where assigning `__proto__` would set the prototype instead.
 */
export interface TelemetryRecord {
  readonly eventId: string;
  readonly deviceId: string;
  /** Event time, epoch milliseconds. */
  readonly timestamp: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly attributes?: Readonly<Record<string, string>>;
}

/** A record of the enriched stream, written by the Flink enrichment app. */
export interface EnrichedTelemetryRecord extends TelemetryRecord {
  /** String fields from the device reference data; empty for an unknown device. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly enriched: boolean;
  readonly processedAt: number;
}

export const TELEMETRY_LIMITS = {
  maxEventIdLength: 128,
  maxMetrics: 100,
  deviceId: /^[A-Za-z0-9_.:-]{1,128}$/,
  metricName: /^[A-Za-z0-9_]{1,64}$/,
} as const;

export interface TimeWindowCheck {
  /** Processing time the timestamp is compared with. */
  readonly nowMs: number;
  /** Largest accepted lead of the timestamp over now. */
  readonly maxFutureSkewMs: number;
  /** Largest accepted age of the timestamp. */
  readonly maxPastAgeMs: number;
}

/** Largest accepted payload: the Kinesis default record size. */
const MAX_PAYLOAD_BYTES = 1024 * 1024;

/** Limits on the JSON text itself, anywhere in the document (ignored fields included); beyond them MALFORMED_JSON. */
export const TELEMETRY_JSON_LIMITS = {
  maxPayloadBytes: MAX_PAYLOAD_BYTES,
  /** Containers (objects and arrays) open at once; the record object itself is level 1. */
  maxDepth: 64,
  /** Characters of one number literal, sign and exponent included. */
  maxNumberLength: 100,
  /** UTF-16 code units of one decoded object key (Jackson's default name limit, which the Java parser keeps). */
  maxNameLength: 50_000,
} as const;

/** Metric values beyond this magnitude are OUT_OF_RANGE, so squares and sums downstream stay finite. */
/**
 * A metric name the calculator could not store: every JavaScript DynamoDB marshaller (the SDK's included) builds
 * maps with `map[key] = value`, where `__proto__` sets the prototype instead of a key, so the metric would vanish
 * from the latest-state item. Rejected up front, in both parsers, rather than lost downstream.
 */
export const RESERVED_METRIC_NAME = '__proto__';
const RESERVED_METRIC_DETAIL =
  "metric name '__proto__' is reserved: it cannot be stored as a DynamoDB map key by the AWS SDK for JavaScript";

export const MAX_METRIC_MAGNITUDE = 1e60;
/** 9999-12-31T23:59:59.999Z in epoch milliseconds: the largest accepted timestamp (the smallest is 0). */
export const MAX_TIMESTAMP_MS = 253402300799999;

// ignoreBOM: a leading BOM stays in the text (and is rejected below) instead of being dropped silently.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes strict UTF-8 and parses JSON under the limits of TELEMETRY_JSON_LIMITS; anything else is MALFORMED_JSON.
 * Objects in the result are JSON.parse's own (keys such as `__proto__` are own data properties there).
 */
export function parseTelemetryJson(data: Uint8Array): unknown {
  if (data.length === 0) throw new DeadLetterError('MALFORMED_JSON', 'empty payload');
  if (data.length > MAX_PAYLOAD_BYTES) {
    throw new DeadLetterError('MALFORMED_JSON', `payload has ${data.length} bytes, more than ${MAX_PAYLOAD_BYTES}`);
  }
  if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) {
    throw new DeadLetterError('MALFORMED_JSON', 'payload starts with a UTF-8 byte order mark');
  }
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    throw new DeadLetterError('MALFORMED_JSON', 'payload is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DeadLetterError('MALFORMED_JSON', (e as Error).message);
  }
  const problem = checkJsonText(text);
  if (problem !== undefined) throw new DeadLetterError('MALFORMED_JSON', problem);
  return value;
}

/** Objects with more keys than this switch from a linear scan of their keys to a Set. */
const LINEAR_KEY_SCAN = 16;
// Module-level and reused: the check runs once per record on the Lambda hot path.
const scanKeys: string[] = [];
const scanKeyStart: number[] = [0];
const scanSets: (Set<string> | undefined)[] = [undefined];

/**
 * One pass over text that JSON.parse has accepted, for what JSON.parse lets through: duplicate keys (it keeps the
 * last), nesting and number literals beyond the limits, keys longer than the name limit, and escaped UTF-16
 * surrogates without their pair (they cannot be encoded as UTF-8 downstream). Raw unpaired surrogates cannot occur
 * in text decoded from strict UTF-8. Returns the first problem found, or undefined.
 */
function checkJsonText(s: string): string | undefined {
  const n = s.length;
  const keys = scanKeys;
  const keyStart = scanKeyStart;
  const sets = scanSets;
  // keys[keyStart[d] .. keyCount) are the keys seen so far of the object open at depth d; sets[d] replaces that
  // range once the object has more than LINEAR_KEY_SCAN keys.
  if (keys.length > 1024) keys.length = 0; // let go of what a large record left behind
  let keyCount = 0;
  let depth = 0;
  let largeObjects = 0;
  let nextBackslash = s.indexOf('\\');
  if (nextBackslash < 0) nextBackslash = n;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      // A string. Its end is the next quote unless an escape comes first.
      let end = s.indexOf('"', i + 1);
      let escaped = false;
      if (nextBackslash < end) {
        escaped = true;
        end = endOfEscapedString(s, i + 1);
        if (end < 0) return 'string holds an unpaired UTF-16 surrogate escape';
        nextBackslash = s.indexOf('\\', end);
        if (nextBackslash < 0) nextBackslash = n;
      }
      let j = end + 1;
      let d = s.charCodeAt(j);
      while (d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) d = s.charCodeAt(++j);
      if (d !== 0x3a) {
        i = end + 1;
        continue;
      }
      // A key (a string followed by ':' in valid JSON).
      const name = escaped ? (JSON.parse(s.slice(i, end + 1)) as string) : s.slice(i + 1, end);
      if (name.length > TELEMETRY_JSON_LIMITS.maxNameLength) {
        return `object key has ${name.length} characters, more than ${TELEMETRY_JSON_LIMITS.maxNameLength}`;
      }
      const set = largeObjects === 0 ? undefined : sets[depth];
      if (set === undefined) {
        const from = keyStart[depth];
        for (let k = from; k < keyCount; k++) {
          if (keys[k] === name) return `duplicate key '${abbreviate(name)}'`;
        }
        keys[keyCount++] = name;
        if (keyCount - from > LINEAR_KEY_SCAN) {
          sets[depth] = new Set(keys.slice(from, keyCount));
          largeObjects++;
          keyCount = from;
        }
      } else {
        if (set.has(name)) return `duplicate key '${abbreviate(name)}'`;
        set.add(name);
      }
      i = j + 1;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > TELEMETRY_JSON_LIMITS.maxDepth) {
        return `nesting is deeper than ${TELEMETRY_JSON_LIMITS.maxDepth} levels`;
      }
      keyStart[depth] = keyCount;
      sets[depth] = undefined;
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      keyCount = keyStart[depth];
      if (largeObjects !== 0 && sets[depth] !== undefined) {
        sets[depth] = undefined;
        largeObjects--;
      }
      depth--;
      i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      let d = s.charCodeAt(j);
      while ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) {
        d = s.charCodeAt(++j);
      }
      if (j - i > TELEMETRY_JSON_LIMITS.maxNumberLength) {
        return `number literal has ${j - i} characters, more than ${TELEMETRY_JSON_LIMITS.maxNumberLength}`;
      }
      i = j;
    } else {
      i++;
    }
  }
  return undefined;
}

/** Index of the closing quote of the string whose content starts at `from`, or -1 for an unpaired surrogate escape. */
function endOfEscapedString(s: string, from: number): number {
  let i = from;
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === 0x22) return i;
    if (c !== 0x5c) {
      i++;
      continue;
    }
    if (s.charCodeAt(i + 1) !== 0x75) {
      i += 2;
      continue;
    }
    const unit = parseInt(s.slice(i + 2, i + 6), 16);
    i += 6;
    if (unit >= 0xdc00 && unit <= 0xdfff) return -1;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      if (s.charCodeAt(i) !== 0x5c || s.charCodeAt(i + 1) !== 0x75) return -1;
      const low = parseInt(s.slice(i + 2, i + 6), 16);
      if (!(low >= 0xdc00 && low <= 0xdfff)) return -1;
      i += 6;
    }
  }
}

/** Validates a parsed raw telemetry record; throws DeadLetterError with the reason for a bad one. */
export function validateTelemetry(value: unknown, window?: TimeWindowCheck): TelemetryRecord {
  return validateRaw(value, window, false);
}

/** `owned`: the value is JSON.parse's result that nothing else holds, so its objects are adopted instead of copied. */
function validateRaw(value: unknown, window: TimeWindowCheck | undefined, owned: boolean): TelemetryRecord {
  const obj = checkShape(value, owned);
  const shape = lastShape;
  checkValues(obj, shape, window);
  const attributes = obj.attributes;
  if (isPlainObject(attributes)) {
    return {
      eventId: obj.eventId as string,
      deviceId: obj.deviceId as string,
      timestamp: shape.timestamp,
      metrics: shape.metrics,
      attributes: ownCopy(attributes as Record<string, string>, owned),
    };
  }
  return {
    eventId: obj.eventId as string,
    deviceId: obj.deviceId as string,
    timestamp: shape.timestamp,
    metrics: shape.metrics,
  };
}

/** Validates a parsed enriched telemetry record (raw contract plus metadata, enriched, processedAt). */
export function validateEnrichedTelemetry(value: unknown, window?: TimeWindowCheck): EnrichedTelemetryRecord {
  return validateEnriched(value, window, false);
}

function validateEnriched(
  value: unknown,
  window: TimeWindowCheck | undefined,
  owned: boolean,
): EnrichedTelemetryRecord {
  const obj = checkShape(value, owned);
  const shape = lastShape;
  const metadata = obj.metadata;
  if (!isPlainObject(metadata)) throw schema(`metadata must be an object of strings, got ${describe(metadata)}`);
  const meta = stringsCopy(metadata, 'metadata', owned);
  const enriched = obj.enriched;
  if (typeof enriched !== 'boolean') throw schema(`enriched must be a boolean, got ${describe(enriched)}`);
  const processedAt = obj.processedAt;
  if (typeof processedAt !== 'number' || !Number.isInteger(processedAt)) {
    throw schema(`processedAt must be an integer number of epoch milliseconds, got ${describe(processedAt)}`);
  }
  checkValues(obj, shape, window);
  if (!Number.isSafeInteger(processedAt)) {
    throw new DeadLetterError('OUT_OF_RANGE', `processedAt ${processedAt} is not a safe integer`);
  }
  const attributes = obj.attributes;
  // Two literals of fixed shape (rather than spreads), so every record of a batch shares one hidden class.
  if (isPlainObject(attributes)) {
    return {
      eventId: obj.eventId as string,
      deviceId: obj.deviceId as string,
      timestamp: shape.timestamp,
      metrics: shape.metrics,
      attributes: ownCopy(attributes as Record<string, string>, owned),
      metadata: meta,
      enriched,
      processedAt,
    };
  }
  return {
    eventId: obj.eventId as string,
    deviceId: obj.deviceId as string,
    timestamp: shape.timestamp,
    metrics: shape.metrics,
    metadata: meta,
    enriched,
    processedAt,
  };
}

/** Parses and validates one raw record's bytes. */
export function parseTelemetry(data: Uint8Array, window?: TimeWindowCheck): TelemetryRecord {
  return validateRaw(parseTelemetryJson(data), window, true);
}

/** Parses and validates one enriched record's bytes. */
export function parseEnrichedTelemetry(data: Uint8Array, window?: TimeWindowCheck): EnrichedTelemetryRecord {
  return validateEnriched(parseTelemetryJson(data), window, true);
}

/**
 * The objects that records hand out for `metrics`, `attributes` and `metadata` inherit from this one, which has no
 * prototype and no properties: nothing is inherited (no `__proto__` setter, no `constructor`), so every name is an
 * ordinary own key, as with `Object.create(null)`; but unlike `Object.create(null)` objects (which V8 keeps in slow
 * dictionary mode) they are ordinary fast objects that share hidden classes across records.
 */
export const TELEMETRY_DICT_PROTOTYPE: object = Object.freeze(Object.create(null) as object);

/** An empty object whose keys are all own keys (see TELEMETRY_DICT_PROTOTYPE). */
export function emptyDict<T>(): Record<string, T> {
  return Object.create(TELEMETRY_DICT_PROTOTYPE) as Record<string, T>;
}

// Character classes of TELEMETRY_LIMITS' patterns, checked by table rather than by regular expression.
const DEVICE_ID_CHAR = 1;
const METRIC_NAME_CHAR = 2;
const CHAR_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9_.:-]/.test(ch)) CHAR_CLASS[c] |= DEVICE_ID_CHAR;
  if (/[A-Za-z0-9_]/.test(ch)) CHAR_CLASS[c] |= METRIC_NAME_CHAR;
}

/** Whether s has min..max characters, each of the class (the same verdict as the TELEMETRY_LIMITS pattern). */
function matchesClass(s: string, cls: number, max: number): boolean {
  const n = s.length;
  if (n === 0 || n > max) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || (CHAR_CLASS[c] & cls) === 0) return false;
  }
  return true;
}

/** What checkShape found beyond the record object itself (one module-level object: no allocation per record). */
interface Shape {
  timestamp: number;
  /** The metrics, copied and with -0 as 0. */
  metrics: Record<string, number>;
  /** Name of the first metric beyond MAX_METRIC_MAGNITUDE (reported after the SCHEMA checks), or undefined. */
  outOfRange: string | undefined;
}
const lastShape: Shape = {
  timestamp: 0,
  metrics: TELEMETRY_DICT_PROTOTYPE as Record<string, number>,
  outOfRange: undefined,
};

function checkShape(value: unknown, owned: boolean): Record<string, unknown> {
  if (!isPlainObject(value)) throw schema(`record must be a JSON object, got ${describe(value)}`);
  const { eventId, deviceId, timestamp, metrics, attributes } = value;
  if (typeof eventId !== 'string') throw schema(`eventId must be a string, got ${describe(eventId)}`);
  if (eventId.length === 0 || eventId.length > TELEMETRY_LIMITS.maxEventIdLength) {
    throw schema(`eventId must have 1..${TELEMETRY_LIMITS.maxEventIdLength} characters, got ${eventId.length}`);
  }
  if (typeof deviceId !== 'string') throw schema(`deviceId must be a string, got ${describe(deviceId)}`);
  if (!matchesClass(deviceId, DEVICE_ID_CHAR, 128)) {
    throw schema(`deviceId must match ${TELEMETRY_LIMITS.deviceId.source}, got '${abbreviate(deviceId)}'`);
  }
  // Any notation of an integer is one (1.7e12, 1700000000000.0). Infinity comes from a literal too large for a
  // double: a value problem (OUT_OF_RANGE), not a type problem.
  if (typeof timestamp !== 'number' || !(Number.isInteger(timestamp) || !Number.isFinite(timestamp))) {
    throw schema(`timestamp must be an integer number of epoch milliseconds, got ${describe(timestamp)}`);
  }
  if (!isPlainObject(metrics)) throw schema(`metrics must be an object, got ${describe(metrics)}`);
  const names = Object.keys(metrics);
  if (names.length === 0 || names.length > TELEMETRY_LIMITS.maxMetrics) {
    throw schema(`metrics must have 1..${TELEMETRY_LIMITS.maxMetrics} entries, got ${names.length}`);
  }
  // The copy is built in the same pass (a record that fails a check leaves it to the garbage collector); an owned
  // object is normalized in place instead, and adopted below.
  const copy = owned ? (metrics as Record<string, number>) : emptyDict<number>();
  let outOfRange: string | undefined;
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (!matchesClass(name, METRIC_NAME_CHAR, 64)) {
      throw schema(`metric name must match ${TELEMETRY_LIMITS.metricName.source}, got '${abbreviate(name)}'`);
    }
    if (name === RESERVED_METRIC_NAME) throw schema(RESERVED_METRIC_DETAIL);
    const v = metrics[name];
    if (typeof v !== 'number') throw schema(`metrics.${name} must be a number, got ${describe(v)}`);
    if (outOfRange === undefined && !(Math.abs(v) <= MAX_METRIC_MAGNITUDE)) outOfRange = name;
    if (!owned)
      copy[name] = v + 0; // -0 becomes 0
    else if (v === 0) copy[name] = 0;
  }
  if (owned) Object.setPrototypeOf(copy, TELEMETRY_DICT_PROTOTYPE);
  if (attributes !== undefined && attributes !== null) {
    if (!isPlainObject(attributes))
      throw schema(`attributes must be an object of strings, got ${describe(attributes)}`);
    checkStrings(attributes, 'attributes');
  }
  const shape = lastShape;
  shape.timestamp = timestamp;
  shape.metrics = copy;
  shape.outOfRange = outOfRange;
  return value;
}

function checkValues(obj: Record<string, unknown>, shape: Shape, window?: TimeWindowCheck): void {
  const raw = shape.timestamp;
  if (!(raw >= 0 && raw <= MAX_TIMESTAMP_MS)) {
    throw new DeadLetterError(
      'OUT_OF_RANGE',
      `timestamp ${abbreviate(String(raw))} is outside 0..${MAX_TIMESTAMP_MS} (epoch milliseconds, years 1970-9999)`,
    );
  }
  const timestamp = raw + 0; // -0 becomes 0
  shape.timestamp = timestamp;
  const name = shape.outOfRange;
  if (name !== undefined) {
    const value = (obj.metrics as Record<string, number>)[name];
    throw new DeadLetterError(
      'OUT_OF_RANGE',
      `metrics.${name} must be a finite number of magnitude at most 1e60, got ${abbreviate(String(value))}`,
    );
  }
  if (window) {
    if (timestamp > window.nowMs + window.maxFutureSkewMs) {
      throw new DeadLetterError(
        'TIMESTAMP_FUTURE',
        `timestamp ${timestamp} is more than ${window.maxFutureSkewMs} ms ahead of processing time ${window.nowMs}`,
      );
    }
    if (timestamp < window.nowMs - window.maxPastAgeMs) {
      throw new DeadLetterError(
        'TIMESTAMP_PAST',
        `timestamp ${timestamp} is more than ${window.maxPastAgeMs} ms behind processing time ${window.nowMs}`,
      );
    }
  }
}

/** SCHEMA unless every value of the object is a string. */
function checkStrings(source: Record<string, unknown>, field: string): void {
  const keys = Object.keys(source);
  for (let i = 0; i < keys.length; i++) {
    const v = source[keys[i]];
    if (typeof v !== 'string') throw schema(`${field}.${abbreviate(keys[i])} must be a string, got ${describe(v)}`);
  }
}

/** checkStrings, and the copy (see ownCopy) in the same pass. */
function stringsCopy(source: Record<string, unknown>, field: string, owned: boolean): Record<string, string> {
  if (owned) {
    checkStrings(source, field);
    return adopt(source as Record<string, string>);
  }
  const out = emptyDict<string>();
  const keys = Object.keys(source);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = source[k];
    if (typeof v !== 'string') throw schema(`${field}.${abbreviate(k)} must be a string, got ${describe(v)}`);
    out[k] = v;
  }
  return out;
}

/**
 * An object JSON.parse made, given the prototype of the copies: its keys are already own data properties (JSON.parse
 * defines `__proto__` as one), and from now on nothing is inherited either.
 */
function adopt<T>(source: Record<string, T>): Record<string, T> {
  Object.setPrototypeOf(source, TELEMETRY_DICT_PROTOTYPE);
  return source;
}

/** A copy in which every key of the source is an ordinary own key (see TELEMETRY_DICT_PROTOTYPE). */
function ownCopy<T>(source: Record<string, T>, owned: boolean): Record<string, T> {
  if (owned) return adopt(source);
  const out = emptyDict<T>();
  const keys = Object.keys(source);
  for (let i = 0; i < keys.length; i++) out[keys[i]] = source[keys[i]];
  return out;
}

function schema(detail: string): DeadLetterError {
  return new DeadLetterError('SCHEMA', detail);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (field missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `string '${abbreviate(v)}'`;
  if (typeof v === 'number') return `number ${abbreviate(String(v))}`;
  return `${typeof v} ${abbreviate(String(v))}`;
}

/** Keeps details short so a hostile record cannot make its dead letter much larger than itself. */
function abbreviate(s: string): string {
  return s.length <= 64 ? s : `${s.slice(0, 61)}...`;
}
