import { convertToNative } from '@aws-sdk/util-dynamodb';
import { DeadLetterError } from './errors';
import type { DecodedRecord } from './records';

/**
 * A DynamoDB attribute value as Kinesis Data Streams for DynamoDB writes it in JSON: binary values (`B`, `BS`) are
 * base64 strings, numbers (`N`, `NS`) decimal strings.
 */
export type DynamoDbWireAttributeValue =
  | { S: string }
  | { N: string }
  | { B: string }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: string[] }
  | { M: Record<string, DynamoDbWireAttributeValue> }
  | { L: DynamoDbWireAttributeValue[] }
  | { NULL: true }
  | { BOOL: boolean };

export type DynamoDbWireItem = Record<string, DynamoDbWireAttributeValue>;

export type DynamoDbChangeEventName = 'INSERT' | 'MODIFY' | 'REMOVE';

/**
 * One item-level change as DynamoDB puts it on a Kinesis data stream (the payload of one Kinesis record), before
 * unmarshalling. `OldImage`/`NewImage` are present as the change has them (no view type to choose: Kinesis
 * destinations always carry both images).
 */
export interface DynamoDbChangeRecordWire {
  readonly awsRegion: string;
  readonly eventID: string;
  readonly eventName: DynamoDbChangeEventName;
  /** `{ type: 'Service', principalId: 'dynamodb.amazonaws.com' }` for a delete by TTL; null or absent otherwise. */
  readonly userIdentity?: { readonly type: string; readonly principalId: string } | null;
  readonly recordFormat: 'application/json';
  readonly tableName: string;
  readonly dynamodb: {
    /** Epoch milliseconds or microseconds, as the destination's `ApproximateCreationDateTimePrecision` says. */
    readonly ApproximateCreationDateTime?: number;
    readonly Keys: DynamoDbWireItem;
    readonly NewImage?: DynamoDbWireItem;
    readonly OldImage?: DynamoDbWireItem;
    readonly SizeBytes: number;
  };
  readonly eventSource: 'aws:dynamodb';
}

/** A change with its keys and images unmarshalled to plain values (`Set` for sets, `Uint8Array` for binary). */
export interface DynamoDbChange<T = Record<string, unknown>> {
  readonly eventName: DynamoDbChangeEventName;
  readonly eventId: string;
  readonly tableName: string;
  readonly awsRegion: string;
  readonly keys: Record<string, unknown>;
  readonly newImage?: T;
  readonly oldImage?: T;
  readonly sizeBytes: number;
  /** `ApproximateCreationDateTime` as written, in the destination's precision. */
  readonly approximateCreationDateTime?: number;
  /** The same in epoch milliseconds (fractional for microsecond precision). */
  readonly approximateCreationTimeMillis?: number;
  /** True for a REMOVE done by DynamoDB's time to live rather than by a client. */
  readonly removedByTtl: boolean;
}

export interface ParseDynamoDbChangeOptions {
  /**
   * Unmarshal numbers as `NumberValue` (their exact decimal strings). Without it numbers become JS numbers
   * (decimals with more than ~15 significant digits round), integers beyond 2^53 become `bigint`, and a number neither
   * can hold (`1e+300`) makes the record a dead letter.
   * @default false
   */
  readonly wrapNumbers?: boolean;
}

const EVENT_NAMES: ReadonlySet<string> = new Set(['INSERT', 'MODIFY', 'REMOVE']);
/**
 * ApproximateCreationDateTime in microseconds is above 1e14 for every date after 1973; in milliseconds it stays
 * below 1e14 until the year 5138. The magnitude tells the precision apart.
 */
const MICROSECOND_THRESHOLD = 1e14;

/** The change a Kinesis record from a DynamoDB Kinesis streaming destination carries; malformed ones dead-letter. */
export function parseDynamoDbChange<T = Record<string, unknown>>(
  record: Pick<DecodedRecord, 'data'>,
  options: ParseDynamoDbChangeOptions = {},
): DynamoDbChange<T> {
  let wire: unknown;
  try {
    wire = JSON.parse(record.data.toString('utf8'));
  } catch (e) {
    throw new DeadLetterError('MALFORMED_JSON', (e as Error).message);
  }
  return toDynamoDbChange<T>(checkWire(wire), options);
}

/** Unmarshals a change record already parsed from JSON. */
export function toDynamoDbChange<T = Record<string, unknown>>(
  wire: DynamoDbChangeRecordWire,
  options: ParseDynamoDbChangeOptions = {},
): DynamoDbChange<T> {
  const d = wire.dynamodb;
  const convert = (item: DynamoDbWireItem, what: string): Record<string, unknown> => {
    try {
      return toNativeItem(item, { wrapNumbers: options.wrapNumbers ?? false });
    } catch (e) {
      throw new DeadLetterError('MALFORMED_DYNAMODB_RECORD', `${what}: ${(e as Error).message}`);
    }
  };
  const t = d.ApproximateCreationDateTime;
  return {
    eventName: wire.eventName,
    eventId: wire.eventID,
    tableName: wire.tableName,
    awsRegion: wire.awsRegion,
    keys: convert(d.Keys, 'Keys'),
    newImage: d.NewImage ? (convert(d.NewImage, 'NewImage') as T) : undefined,
    oldImage: d.OldImage ? (convert(d.OldImage, 'OldImage') as T) : undefined,
    sizeBytes: d.SizeBytes,
    approximateCreationDateTime: t,
    approximateCreationTimeMillis: t === undefined ? undefined : t >= MICROSECOND_THRESHOLD ? t / 1000 : t,
    removedByTtl:
      wire.eventName === 'REMOVE' &&
      wire.userIdentity?.type === 'Service' &&
      wire.userIdentity.principalId === 'dynamodb.amazonaws.com',
  };
}

function checkWire(value: unknown): DynamoDbChangeRecordWire {
  const fail = (detail: string): never => {
    throw new DeadLetterError('MALFORMED_DYNAMODB_RECORD', detail);
  };
  if (!isObject(value)) return fail(`expected an object, got ${describe(value)}`);
  if (value.eventSource !== 'aws:dynamodb')
    return fail(`eventSource must be 'aws:dynamodb', got ${describe(value.eventSource)}`);
  if (typeof value.eventName !== 'string' || !EVENT_NAMES.has(value.eventName)) {
    return fail(`eventName must be INSERT, MODIFY or REMOVE, got ${describe(value.eventName)}`);
  }
  for (const field of ['eventID', 'tableName', 'awsRegion'] as const) {
    if (typeof value[field] !== 'string') return fail(`${field} must be a string, got ${describe(value[field])}`);
  }
  const d = value.dynamodb;
  if (!isObject(d)) return fail(`dynamodb must be an object, got ${describe(d)}`);
  if (!isObject(d.Keys)) return fail(`dynamodb.Keys must be an object, got ${describe(d.Keys)}`);
  for (const image of ['NewImage', 'OldImage'] as const) {
    if (d[image] !== undefined && !isObject(d[image])) {
      return fail(`dynamodb.${image} must be an object, got ${describe(d[image])}`);
    }
  }
  if (typeof d.SizeBytes !== 'number') return fail(`dynamodb.SizeBytes must be a number, got ${describe(d.SizeBytes)}`);
  const t = d.ApproximateCreationDateTime;
  if (t !== undefined && (typeof t !== 'number' || !Number.isFinite(t))) {
    return fail(`dynamodb.ApproximateCreationDateTime must be a number, got ${describe(t)}`);
  }
  return value as unknown as DynamoDbChangeRecordWire;
}

/**
 * The native value of a wire attribute value. Scalars and sets are converted by the SDK's `convertToNative`; maps are
 * built here with own properties, because the SDK's map conversion assigns keys, so an attribute named `__proto__`
 * would replace the result's prototype instead of becoming a property.
 */
function toNative(v: unknown, options: { wrapNumbers: boolean }): unknown {
  if (!isObject(v)) throw new Error(`expected an attribute value, got ${describe(v)}`);
  const keys = Object.keys(v);
  if (keys.length !== 1) throw new Error(`an attribute value has exactly one type key, got ${describe(keys)}`);
  const [type] = keys;
  const x = v[type];
  switch (type) {
    case 'M':
      if (!isObject(x)) throw new Error(`M must be an object, got ${describe(x)}`);
      return toNativeItem(x, options);
    case 'L':
      return asArray(x, 'L').map((e) => toNative(e, options));
    case 'B':
      return fromBase64(x);
    case 'BS':
      return convertToNative({ BS: asArray(x, 'BS').map(fromBase64) }, options);
    case 'S':
    case 'N':
      if (typeof x !== 'string') throw new Error(`${type} must be a string, got ${describe(x)}`);
      return convertToNative(type === 'S' ? { S: x } : { N: x }, options);
    case 'SS':
    case 'NS': {
      const members = asArray(x, type).map((m) => {
        if (typeof m !== 'string') throw new Error(`${type} members must be strings, got ${describe(m)}`);
        return m;
      });
      return convertToNative(type === 'SS' ? { SS: members } : { NS: members }, options);
    }
    case 'BOOL':
      if (typeof x !== 'boolean') throw new Error(`BOOL must be a boolean, got ${describe(x)}`);
      return x;
    case 'NULL':
      return null;
    default:
      throw new Error(`unknown attribute type ${describe(type)}`);
  }
}

function toNativeItem(item: Record<string, unknown>, options: { wrapNumbers: boolean }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    Object.defineProperty(out, name, {
      value: toNative(value, options),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function fromBase64(s: unknown): Uint8Array {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !BASE64.test(s)) {
    throw new Error(`binary values must be base64 strings, got ${describe(s)}`);
  }
  return new Uint8Array(Buffer.from(s, 'base64'));
}

function asArray(x: unknown, type: string): unknown[] {
  if (!Array.isArray(x)) throw new Error(`${type} must be an array, got ${describe(x)}`);
  return x;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 100 ? `${s.slice(0, 100)}...` : s;
}
