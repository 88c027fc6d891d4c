import { DeadLetterError, DecodedRecord, parseJson } from '../shared';

/** A record the stateful-functions runtime wrote to an egress stream (brief: "Egress record"). */
export interface EgressEvent {
  readonly eventId: string;
  readonly type: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** Per-address position, 1 for the first record of an aggregate, strictly increasing. */
  readonly sequence: number;
  /** Epoch millis. */
  readonly occurredAt: number;
  readonly payload: Record<string, unknown>;
}

const MAX_ID_LENGTH = 1024;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function text(obj: Record<string, unknown>, key: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_ID_LENGTH) {
    throw new DeadLetterError(
      'SCHEMA',
      `${key} must be a non-empty string of at most ${MAX_ID_LENGTH} chars, got ${show(v)}`,
    );
  }
  return v;
}

/** Decodes and checks one egress record; anything that does not follow the format is a dead letter with its reason. */
export function parseEgressEvent(record: Pick<DecodedRecord, 'data'>): EgressEvent {
  const value = parseJson(record);
  if (!isObject(value)) throw new DeadLetterError('SCHEMA', `egress record must be a JSON object, got ${show(value)}`);
  const sequence = value.sequence;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 1) {
    throw new DeadLetterError('SCHEMA', `sequence must be an integer >= 1, got ${show(sequence)}`);
  }
  const occurredAt = value.occurredAt;
  if (typeof occurredAt !== 'number' || !Number.isSafeInteger(occurredAt) || occurredAt < 0) {
    throw new DeadLetterError('SCHEMA', `occurredAt must be epoch milliseconds, got ${show(occurredAt)}`);
  }
  if (!isObject(value.payload)) {
    throw new DeadLetterError('SCHEMA', `payload must be a JSON object, got ${show(value.payload)}`);
  }
  return {
    eventId: text(value, 'eventId'),
    type: text(value, 'type'),
    aggregateType: text(value, 'aggregateType'),
    aggregateId: text(value, 'aggregateId'),
    sequence,
    occurredAt,
    payload: value.payload,
  };
}
