import { DeadLetterError } from './errors';

/**
 * The telemetry record contract of the time-series architecture, checked with the same rules and reason codes as
 * the Flink enrichment app (flink-apps/timeseries-enrichment TelemetryParser): MALFORMED_JSON, then SCHEMA (shape and
 * types), then OUT_OF_RANGE (values), then TIMESTAMP_FUTURE / TIMESTAMP_PAST (only when a time window is given).
 * Unknown top-level fields are ignored. Difference from the Java parser: JSON.parse rejects NaN/Infinity literals, so
 * they are MALFORMED_JSON here; numbers too large for a double (1e400) are OUT_OF_RANGE in both.
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

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes strict UTF-8 and parses JSON; anything else is MALFORMED_JSON. */
export function parseTelemetryJson(data: Uint8Array): unknown {
  if (data.length === 0) throw new DeadLetterError('MALFORMED_JSON', 'empty payload');
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    throw new DeadLetterError('MALFORMED_JSON', 'payload is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DeadLetterError('MALFORMED_JSON', (e as Error).message);
  }
}

/** Validates a parsed raw telemetry record; throws DeadLetterError with the reason for a bad one. */
export function validateTelemetry(value: unknown, window?: TimeWindowCheck): TelemetryRecord {
  const obj = checkShape(value);
  return checkValues(obj, window);
}

/** Validates a parsed enriched telemetry record (raw contract plus metadata, enriched, processedAt). */
export function validateEnrichedTelemetry(value: unknown, window?: TimeWindowCheck): EnrichedTelemetryRecord {
  const obj = checkShape(value);
  const metadata = obj.metadata;
  if (!isPlainObject(metadata)) throw schema(`metadata must be an object of strings, got ${describe(metadata)}`);
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw schema(`metadata.${abbreviate(k)} must be a string, got ${describe(v)}`);
  }
  if (typeof obj.enriched !== 'boolean') throw schema(`enriched must be a boolean, got ${describe(obj.enriched)}`);
  if (typeof obj.processedAt !== 'number' || !Number.isInteger(obj.processedAt)) {
    throw schema(`processedAt must be an integer number of epoch milliseconds, got ${describe(obj.processedAt)}`);
  }
  const base = checkValues(obj, window);
  if (!Number.isSafeInteger(obj.processedAt)) {
    throw new DeadLetterError('OUT_OF_RANGE', `processedAt ${obj.processedAt} is not a safe integer`);
  }
  return {
    ...base,
    metadata: metadata as Record<string, string>,
    enriched: obj.enriched,
    processedAt: obj.processedAt,
  };
}

/** Parses and validates one raw record's bytes. */
export function parseTelemetry(data: Uint8Array, window?: TimeWindowCheck): TelemetryRecord {
  return validateTelemetry(parseTelemetryJson(data), window);
}

/** Parses and validates one enriched record's bytes. */
export function parseEnrichedTelemetry(data: Uint8Array, window?: TimeWindowCheck): EnrichedTelemetryRecord {
  return validateEnrichedTelemetry(parseTelemetryJson(data), window);
}

function checkShape(value: unknown): Record<string, unknown> {
  if (!isPlainObject(value)) throw schema(`record must be a JSON object, got ${describe(value)}`);
  const { eventId, deviceId, timestamp, metrics, attributes } = value;
  if (typeof eventId !== 'string') throw schema(`eventId must be a string, got ${describe(eventId)}`);
  if (eventId.length === 0 || eventId.length > TELEMETRY_LIMITS.maxEventIdLength) {
    throw schema(`eventId must have 1..${TELEMETRY_LIMITS.maxEventIdLength} characters, got ${eventId.length}`);
  }
  if (typeof deviceId !== 'string') throw schema(`deviceId must be a string, got ${describe(deviceId)}`);
  if (!TELEMETRY_LIMITS.deviceId.test(deviceId)) {
    throw schema(`deviceId must match ${TELEMETRY_LIMITS.deviceId.source}, got '${abbreviate(deviceId)}'`);
  }
  // Infinity comes from a literal too large for a double: a value problem (OUT_OF_RANGE), not a type problem.
  if (typeof timestamp !== 'number' || !(Number.isInteger(timestamp) || !Number.isFinite(timestamp))) {
    throw schema(`timestamp must be an integer number of epoch milliseconds, got ${describe(timestamp)}`);
  }
  if (!isPlainObject(metrics)) throw schema(`metrics must be an object, got ${describe(metrics)}`);
  const names = Object.keys(metrics);
  if (names.length === 0 || names.length > TELEMETRY_LIMITS.maxMetrics) {
    throw schema(`metrics must have 1..${TELEMETRY_LIMITS.maxMetrics} entries, got ${names.length}`);
  }
  for (const name of names) {
    if (!TELEMETRY_LIMITS.metricName.test(name)) {
      throw schema(`metric name must match ${TELEMETRY_LIMITS.metricName.source}, got '${abbreviate(name)}'`);
    }
    if (typeof metrics[name] !== 'number')
      throw schema(`metrics.${name} must be a number, got ${describe(metrics[name])}`);
  }
  if (attributes !== undefined && attributes !== null) {
    if (!isPlainObject(attributes))
      throw schema(`attributes must be an object of strings, got ${describe(attributes)}`);
    for (const [k, v] of Object.entries(attributes)) {
      if (typeof v !== 'string') throw schema(`attributes.${abbreviate(k)} must be a string, got ${describe(v)}`);
    }
  }
  return value;
}

function checkValues(obj: Record<string, unknown>, window?: TimeWindowCheck): TelemetryRecord {
  const timestamp = obj.timestamp as number;
  if (!Number.isSafeInteger(timestamp)) {
    throw new DeadLetterError('OUT_OF_RANGE', `timestamp ${abbreviate(String(timestamp))} is not a safe integer`);
  }
  const metrics = obj.metrics as Record<string, number>;
  for (const [name, value] of Object.entries(metrics)) {
    if (!Number.isFinite(value)) {
      throw new DeadLetterError('OUT_OF_RANGE', `metrics.${name} must be a finite number, got ${value}`);
    }
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
  const attributes = obj.attributes;
  return {
    eventId: obj.eventId as string,
    deviceId: obj.deviceId as string,
    timestamp,
    metrics,
    ...(isPlainObject(attributes) ? { attributes: attributes as Record<string, string> } : {}),
  };
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
