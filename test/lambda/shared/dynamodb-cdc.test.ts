import { marshall, NumberValue } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import * as fc from 'fast-check';
import { kinesisHandler } from '../../../lambda/shared/batch';
import { DeadLetterEntry, DeadLetterSink } from '../../../lambda/shared/dead-letter';
import {
  DynamoDbChange,
  DynamoDbChangeRecordWire,
  DynamoDbWireAttributeValue,
  DynamoDbWireItem,
  parseDynamoDbChange,
} from '../../../lambda/shared/dynamodb-cdc';
import { DeadLetterError } from '../../../lambda/shared/errors';
import { kinesisEvent, kinesisRecord } from '../../support/kinesis-events';
import { propertyParameters } from '../../support/property';

/** The SDK's AttributeValue as DynamoDB writes it to Kinesis in JSON: binaries base64-encoded. */
function toWire(v: AttributeValue): DynamoDbWireAttributeValue {
  if (v.B !== undefined) return { B: Buffer.from(v.B).toString('base64') };
  if (v.BS !== undefined) return { BS: v.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (v.M !== undefined) return { M: toWireItem(v.M) };
  if (v.L !== undefined) return { L: v.L.map(toWire) };
  return v as DynamoDbWireAttributeValue;
}

function toWireItem(item: Record<string, AttributeValue>): DynamoDbWireItem {
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, toWire(v)]));
}

function changeRecord(overrides: Partial<DynamoDbChangeRecordWire> = {}): DynamoDbChangeRecordWire {
  return {
    awsRegion: 'eu-west-1',
    eventID: 'a1b2c3d4-0000-4000-8000-000000000001',
    eventName: 'MODIFY',
    userIdentity: null,
    recordFormat: 'application/json',
    tableName: 'Orders',
    dynamodb: {
      ApproximateCreationDateTime: 1764403200123,
      Keys: { orderId: { S: 'o-1' } },
      NewImage: { orderId: { S: 'o-1' }, total: { N: '12.5' } },
      OldImage: { orderId: { S: 'o-1' }, total: { N: '10' } },
      SizeBytes: 42,
    },
    eventSource: 'aws:dynamodb',
    ...overrides,
  };
}

const asData = (value: unknown) => ({ data: Buffer.from(JSON.stringify(value), 'utf8') });

// Values DynamoDB stores and JS gives back unchanged: safe numbers (no -0, which DynamoDB stores as 0), strings,
// booleans, null, bytes, non-empty sets, and lists and maps of them.
const safeNumber = fc.oneof(
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  fc.double({ min: -1e15, max: 1e15, noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
);
const scalar = fc.oneof(
  safeNumber,
  fc.string({ unit: 'binary' }),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 32 }),
  fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 4 }).map((a) => new Set(a)),
  fc.uniqueArray(safeNumber, { minLength: 1, maxLength: 4 }).map((a) => new Set(a)),
);
const { value: attributeValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie('value'), { maxKeys: 4 }),
  ),
}));
const item = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), attributeValue, { maxKeys: 6 });

// The SDK's marshall tells maps by their constructor, so an item with an attribute named `constructor` needs this.
const MARSHALL = { convertClassInstanceToMap: true };

/** Binary sets come back as Sets of Uint8Array whose identity differs; compare their contents. */
function comparable(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Array.from(value) };
  if (value instanceof Set) return { set: [...value].map(comparable) };
  if (Array.isArray(value)) return value.map(comparable);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, comparable(v)]));
  }
  return value;
}

describe('parseDynamoDbChange properties', () => {
  test('the images and keys DynamoDB writes come back as the items the SDK marshalled', () => {
    fc.assert(
      fc.property(
        item,
        item,
        fc.string({ minLength: 1 }),
        fc.constantFrom('INSERT', 'MODIFY', 'REMOVE'),
        (newImage, oldImage, id, eventName) => {
          const keys = { id };
          const wire = changeRecord({
            eventName: eventName as DynamoDbChangeRecordWire['eventName'],
            dynamodb: {
              Keys: toWireItem(marshall(keys)),
              NewImage: toWireItem(marshall(newImage, MARSHALL)),
              OldImage: toWireItem(marshall(oldImage, MARSHALL)),
              SizeBytes: 1,
            },
          });
          const change = parseDynamoDbChange(asData(wire));
          expect(change.eventName).toBe(eventName);
          expect(change.keys).toEqual(keys);
          expect(comparable(change.newImage)).toEqual(comparable(newImage));
          expect(comparable(change.oldImage)).toEqual(comparable(oldImage));
        },
      ),
      propertyParameters(200),
    );
  });

  test('with wrapNumbers every number comes back as its exact decimal string', () => {
    const decimal = fc
      .tuple(fc.bigInt({ min: -(10n ** 38n), max: 10n ** 38n }), fc.nat({ max: 30 }))
      .map(([digits, scale]) => {
        const s = (digits < 0n ? -digits : digits).toString().padStart(scale + 1, '0');
        const text = scale === 0 ? s : `${s.slice(0, s.length - scale)}.${s.slice(s.length - scale)}`;
        return digits < 0n ? `-${text}` : text;
      });
    fc.assert(
      fc.property(decimal, (n) => {
        const wire = changeRecord({ dynamodb: { Keys: { n: { N: n } }, NewImage: { n: { N: n } }, SizeBytes: 1 } });
        const change = parseDynamoDbChange(asData(wire), { wrapNumbers: true });
        expect((change.keys.n as NumberValue).toString()).toBe(n);
        expect(((change.newImage as Record<string, unknown>).n as NumberValue).toString()).toBe(n);
      }),
      propertyParameters(200),
    );
  });

  test('any JSON that is not a change record dead-letters, never throws anything else', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parseDynamoDbChange(asData(value));
        } catch (e) {
          expect(e).toBeInstanceOf(DeadLetterError);
          expect((e as DeadLetterError).reason).toBe('MALFORMED_DYNAMODB_RECORD');
        }
      }),
      propertyParameters(300),
    );
  });
});

describe('parseDynamoDbChange', () => {
  test('unmarshals a MODIFY with both images and the record metadata', () => {
    const change = parseDynamoDbChange(asData(changeRecord()));
    expect(change).toEqual<DynamoDbChange>({
      eventName: 'MODIFY',
      eventId: 'a1b2c3d4-0000-4000-8000-000000000001',
      tableName: 'Orders',
      awsRegion: 'eu-west-1',
      keys: { orderId: 'o-1' },
      newImage: { orderId: 'o-1', total: 12.5 },
      oldImage: { orderId: 'o-1', total: 10 },
      sizeBytes: 42,
      approximateCreationDateTime: 1764403200123,
      approximateCreationTimeMillis: 1764403200123,
      removedByTtl: false,
    });
  });

  test('a microsecond ApproximateCreationDateTime is converted to milliseconds', () => {
    const wire = changeRecord({
      dynamodb: { ...changeRecord().dynamodb, ApproximateCreationDateTime: 1764403200123456 },
    });
    const change = parseDynamoDbChange(asData(wire));
    expect(change.approximateCreationDateTime).toBe(1764403200123456);
    expect(change.approximateCreationTimeMillis).toBeCloseTo(1764403200123.456, 3);
  });

  test('a REMOVE by time to live is flagged; one by a client is not', () => {
    const ttl = changeRecord({
      eventName: 'REMOVE',
      userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
      dynamodb: { Keys: { orderId: { S: 'o-1' } }, OldImage: { orderId: { S: 'o-1' } }, SizeBytes: 9 },
    });
    const removed = parseDynamoDbChange(asData(ttl));
    expect(removed.removedByTtl).toBe(true);
    expect(removed.newImage).toBeUndefined();
    expect(parseDynamoDbChange(asData({ ...ttl, userIdentity: null })).removedByTtl).toBe(false);
  });

  test('attributes named __proto__ and constructor are properties, not the prototype (the SDK map conversion loses them)', () => {
    const attributes = JSON.parse('{"__proto__":{"S":"p"},"constructor":{"M":{"__proto__":{"N":"1"}}}}');
    const wire = changeRecord({ dynamodb: { Keys: { id: { S: 'x' } }, NewImage: attributes, SizeBytes: 3 } });
    const image = parseDynamoDbChange(asData(wire)).newImage as Record<string, unknown>;
    expect(Object.getPrototypeOf(image)).toBe(Object.prototype);
    expect(Object.keys(image)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(image, '__proto__')?.value).toBe('p');
    const nested = Object.getOwnPropertyDescriptor(image, 'constructor')?.value as object;
    expect(Object.getOwnPropertyDescriptor(nested, '__proto__')?.value).toBe(1);
  });

  test('binary attributes arrive base64-encoded and come back as bytes', () => {
    const wire = changeRecord({
      dynamodb: { Keys: { k: { B: 'AQID' } }, NewImage: { bs: { BS: ['AQ==', 'Ag=='] } }, SizeBytes: 3 },
    });
    const change = parseDynamoDbChange(asData(wire));
    expect(Array.from(change.keys.k as Uint8Array)).toEqual([1, 2, 3]);
    expect([...(change.newImage as Record<string, Set<Uint8Array>>).bs].map((b) => Array.from(b))).toEqual([[1], [2]]);
  });

  test.each<[string, unknown, RegExp]>([
    [
      'another event source',
      { ...changeRecord(), eventSource: 'aws:kinesis' },
      /eventSource must be 'aws:dynamodb', got "aws:kinesis"/,
    ],
    [
      'an unknown event name',
      { ...changeRecord(), eventName: 'UPSERT' },
      /eventName must be INSERT, MODIFY or REMOVE, got "UPSERT"/,
    ],
    [
      'missing keys',
      { ...changeRecord(), dynamodb: { SizeBytes: 1 } },
      /dynamodb.Keys must be an object, got undefined/,
    ],
    [
      'binary that is not base64',
      { ...changeRecord(), dynamodb: { Keys: { k: { B: 'not base64!' } }, SizeBytes: 1 } },
      /Keys: binary values must be base64 strings, got "not base64!"/,
    ],
    [
      'an attribute value with two types',
      { ...changeRecord(), dynamodb: { Keys: { k: { S: 'a', N: '1' } }, SizeBytes: 1 } },
      /exactly one type key, got \["S","N"\]/,
    ],
    [
      'a number no JS type holds',
      { ...changeRecord(), dynamodb: { Keys: { k: { N: '1e+300' } }, SizeBytes: 1 } },
      /1e\+300 can't be converted to BigInt/,
    ],
  ])('dead-letters %s with the received value', (_name, value, message) => {
    expect(() => parseDynamoDbChange(asData(value))).toThrow(message);
    expect(() => parseDynamoDbChange(asData(value))).toThrow(DeadLetterError);
  });

  test('a payload that is not JSON dead-letters as MALFORMED_JSON', () => {
    expect(() => parseDynamoDbChange({ data: Buffer.from('{"eventName":') })).toThrow(
      expect.objectContaining({ reason: 'MALFORMED_JSON' }),
    );
  });
});

describe('a kinesisHandler consuming DynamoDB changes', () => {
  class MemorySink implements DeadLetterSink {
    public readonly entries: DeadLetterEntry[] = [];
    async send(entries: readonly DeadLetterEntry[]): Promise<void> {
      this.entries.push(...entries);
    }
  }

  test('applies inserts and removes in shard order and dead-letters a record that is not a change', async () => {
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const sink = new MemorySink();
    const orders = new Map<string, unknown>();
    const handler = kinesisHandler(
      'orders-cdc',
      (record) => {
        const change = parseDynamoDbChange<{ orderId: string; total: number }>(record);
        const id = change.keys.orderId as string;
        if (change.eventName === 'REMOVE') orders.delete(id);
        else orders.set(id, change.newImage);
      },
      sink,
    );
    const insert = (id: string, total: number) =>
      changeRecord({
        eventName: 'INSERT',
        dynamodb: {
          Keys: { orderId: { S: id } },
          NewImage: { orderId: { S: id }, total: { N: String(total) } },
          SizeBytes: 20,
        },
      });
    const remove = changeRecord({
      eventName: 'REMOVE',
      dynamodb: { Keys: { orderId: { S: 'o-1' } }, OldImage: { orderId: { S: 'o-1' } }, SizeBytes: 10 },
    });
    const response = await handler(
      kinesisEvent([
        kinesisRecord(JSON.stringify(insert('o-1', 5)), { sequenceNumber: '1' }),
        kinesisRecord(JSON.stringify(insert('o-2', 7)), { sequenceNumber: '2' }),
        kinesisRecord(JSON.stringify(remove), { sequenceNumber: '3' }),
        kinesisRecord('{"orderId":"o-3"}', { sequenceNumber: '4' }),
      ]),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect([...orders.entries()]).toEqual([['o-2', { orderId: 'o-2', total: 7 }]]);
    expect(sink.entries.map((e) => [e.reason, e.sequenceNumber])).toEqual([['MALFORMED_DYNAMODB_RECORD', '4']]);
  });
});
