import * as kinesisAgg from 'aws-kinesis-agg';
import fc from 'fast-check';
import { aggregate, deaggregate } from '../../../lambda/shared/kpl';
import { DeadLetterError } from '../../../lambda/shared/errors';
import { decodeRecord, parseJson, payloadForDeadLetter, shardIdOf } from '../../../lambda/shared/records';
import { kinesisRecord } from '../../support/kinesis-events';

describe('decodeRecord', () => {
  test('plain record', () => {
    const [r] = decodeRecord(
      kinesisRecord('{"a":1}', { shardId: 'shardId-000000000007', sequenceNumber: '42', partitionKey: 'dev-1' }),
    );
    expect(r).toEqual({
      data: Buffer.from('{"a":1}'),
      partitionKey: 'dev-1',
      sequenceNumber: '42',
      subSequenceNumber: 0,
      shardId: 'shardId-000000000007',
      approximateArrivalTimestamp: 1764403200123,
    });
  });

  test('KPL-aggregated record yields its user records with sub-sequence numbers', () => {
    const blob = aggregate([
      { partitionKey: 'x', data: Buffer.from('1') },
      { partitionKey: 'y', data: Buffer.from('2') },
    ]);
    const out = decodeRecord(kinesisRecord(blob, { sequenceNumber: '9' }));
    expect(out.map((r) => [r.partitionKey, r.data.toString(), r.sequenceNumber, r.subSequenceNumber])).toEqual([
      ['x', '1', '9', 0],
      ['y', '2', '9', 1],
    ]);
  });

  test('corrupt aggregate becomes a dead letter', () => {
    const blob = aggregate([{ partitionKey: 'x', data: Buffer.from('1') }]);
    blob[blob.length - 2] ^= 1;
    expect(() => decodeRecord(kinesisRecord(blob))).toThrow(DeadLetterError);
  });

  test('shard id comes from the event id', () => {
    expect(shardIdOf(kinesisRecord('x', { shardId: 'shardId-000000000003' }))).toBe('shardId-000000000003');
  });
});

describe('decodeRecord properties', () => {
  const user = fc.record({
    partitionKey: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
    explicitHashKey: fc.option(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map(String), { nil: undefined }),
    data: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  });

  test("an aggregate decodes to its user records, numbered in order, with the Kinesis record's metadata", () => {
    fc.assert(
      fc.property(fc.array(user, { minLength: 1, maxLength: 50 }), fc.bigInt({ min: 0n }), (users, seq) => {
        const blob = aggregate(users);
        const out = decodeRecord(kinesisRecord(blob, { shardId: 'shardId-000000000004', sequenceNumber: String(seq) }));
        expect(out.map((r) => [r.partitionKey, r.data])).toEqual(
          deaggregate(blob).map((u) => [u.partitionKey, u.data]),
        );
        expect(out.map((r) => r.subSequenceNumber)).toEqual(users.map((_, i) => i));
        for (const r of out) {
          expect(r.sequenceNumber).toBe(String(seq));
          expect(r.shardId).toBe('shardId-000000000004');
          expect(r.approximateArrivalTimestamp).toBe(1764403200123);
        }
      }),
    );
  });

  test('agrees with aws-kinesis-agg de-aggregation (records without explicit hash keys, where it is correct)', () => {
    const key = fc.string({ unit: 'binary', minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(
        fc.array(fc.record({ partitionKey: key, data: fc.uint8Array({ maxLength: 300 }) }), {
          minLength: 1,
          maxLength: 50,
        }),
        (users) => {
          const record = kinesisRecord(aggregate(users), { sequenceNumber: '77' });
          let theirs: kinesisAgg.UserRecord[] = [];
          kinesisAgg.deaggregateSync(record.kinesis, true, (err, out) => {
            if (err) throw err;
            theirs = out!;
          });
          expect(
            decodeRecord(record).map((r) => [r.partitionKey, r.data, r.sequenceNumber, r.subSequenceNumber]),
          ).toEqual(
            theirs.map((u) => [u.partitionKey, Buffer.from(u.data, 'base64'), u.sequenceNumber, u.subSequenceNumber]),
          );
        },
      ),
    );
  });

  test("a user record's data is a view of the decoded payload (no copy per record)", () => {
    const blob = aggregate([
      { partitionKey: 'a', data: Buffer.from('first') },
      { partitionKey: 'b', data: Buffer.from('second') },
    ]);
    const [a, b] = decodeRecord(kinesisRecord(blob));
    expect(a.data.buffer).toBe(b.data.buffer);
    expect([a.data.toString(), b.data.toString()]).toEqual(['first', 'second']);
  });
});

describe('parseJson and payloadForDeadLetter', () => {
  test('bad JSON is a MALFORMED_JSON dead letter', () => {
    try {
      parseJson({ data: Buffer.from('{nope') });
      throw new Error('expected a throw');
    } catch (e) {
      expect(e).toBeInstanceOf(DeadLetterError);
      expect((e as DeadLetterError).reason).toBe('MALFORMED_JSON');
    }
  });

  test('UTF-8 payloads stay text, binary becomes base64', () => {
    expect(payloadForDeadLetter(Buffer.from('héllo'))).toBe('héllo');
    expect(payloadForDeadLetter(Buffer.from([0xff, 0xfe, 0x00]))).toBe('//4A');
  });
});
