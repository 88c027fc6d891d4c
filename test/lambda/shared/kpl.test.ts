import { createHash } from 'crypto';
import * as kinesisAgg from 'aws-kinesis-agg';
import fc from 'fast-check';
import {
  aggregate,
  AggregateEncoder,
  AggregateInput,
  AggregationFormatError,
  deaggregate,
  isAggregated,
  KPL_FRAMING_BYTES,
  KPL_MAGIC,
  UserRecord,
} from '../../../lambda/shared/kpl';

// The reference's aggregator class is exported by its index but missing from its type declarations.
const { RecordAggregator } = kinesisAgg as unknown as {
  RecordAggregator: new () => {
    addUserRecord(r: { partitionKey: string; explicitHashKey?: string; data: Buffer }): void;
    build(): { partitionKey: string; data: Buffer };
  };
};

describe('KPL aggregation', () => {
  const records = [
    { partitionKey: 'a', data: Buffer.from('{"n":1}') },
    { partitionKey: 'b', data: Buffer.from('{"n":2}'), explicitHashKey: '12345' },
    { partitionKey: 'a', data: Buffer.alloc(300, 7) },
  ];

  test('round trip keeps order, keys and bytes', () => {
    const blob = aggregate(records);
    expect(isAggregated(blob)).toBe(true);
    expect(deaggregate(blob)).toEqual([
      { partitionKey: 'a', explicitHashKey: undefined, data: records[0].data },
      { partitionKey: 'b', explicitHashKey: '12345', data: records[1].data },
      { partitionKey: 'a', explicitHashKey: undefined, data: records[2].data },
    ]);
  });

  test('partition keys are stored once', () => {
    const blob = aggregate([
      { partitionKey: 'same-key', data: Buffer.from('x') },
      { partitionKey: 'same-key', data: Buffer.from('y') },
    ]);
    expect(blob.toString('latin1').split('same-key')).toHaveLength(2);
  });

  test('a plain record is not aggregated', () => {
    expect(isAggregated(Buffer.from('{"plain":true}'))).toBe(false);
    expect(isAggregated(Buffer.concat([KPL_MAGIC, Buffer.from('short')]))).toBe(false);
  });

  test('a wrong checksum is rejected', () => {
    const blob = aggregate(records);
    blob[blob.length - 1] ^= 0xff;
    expect(() => deaggregate(blob)).toThrow(AggregationFormatError);
    expect(() => deaggregate(blob)).toThrow(/wrong MD5/);
  });

  test('a truncated body with a matching checksum is rejected', () => {
    const body = aggregate(records).subarray(4, -16).subarray(0, 10);
    const blob = Buffer.concat([KPL_MAGIC, body, createHash('md5').update(body).digest()]);
    expect(() => deaggregate(blob)).toThrow(AggregationFormatError);
  });

  test('matches the reference layout of the KPL protobuf', () => {
    // field 1 (partition key table) "k", field 3 record {1: 0, 3: "v"}
    const body = Buffer.from([0x0a, 0x01, 0x6b, 0x1a, 0x05, 0x08, 0x00, 0x1a, 0x01, 0x76]);
    const blob = Buffer.concat([KPL_MAGIC, body, createHash('md5').update(body).digest()]);
    expect(aggregate([{ partitionKey: 'k', data: Buffer.from('v') }])).toEqual(blob);
    expect(deaggregate(blob)).toEqual([{ partitionKey: 'k', explicitHashKey: undefined, data: Buffer.from('v') }]);
  });
});

/** What a string becomes after a UTF-8 round trip (lone surrogates turn into U+FFFD). */
const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('utf8');
const bytesOf = (d: Uint8Array | string) => (typeof d === 'string' ? Buffer.from(d, 'utf8') : Buffer.from(d));

const partitionKey = fc.oneof(
  fc.constantFrom('device-000001', 'device-000002', 'device-000003'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
);
const hashKey = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map(String);
const input = (ehk: fc.Arbitrary<string | undefined>): fc.Arbitrary<AggregateInput> =>
  fc.record({
    partitionKey,
    explicitHashKey: ehk,
    data: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 100 })),
  });
const someHashKeys = fc.option(hashKey, { nil: undefined });

describe('KPL aggregation properties', () => {
  test('round trip: every record comes back, in order, with its keys and bytes', () => {
    fc.assert(
      fc.property(fc.array(input(someHashKeys), { minLength: 1, maxLength: 60 }), (records) => {
        const out = deaggregate(aggregate(records));
        expect(out).toEqual(
          records.map((r) => ({
            partitionKey: utf8(r.partitionKey),
            explicitHashKey: r.explicitHashKey,
            data: bytesOf(r.data),
          })),
        );
      }),
    );
  });

  test('the encoder takes records while the body fits its budget, and its chunks conserve every record', () => {
    fc.assert(
      fc.property(
        fc.array(input(someHashKeys), { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 1, max: 4000 }),
        (records, budget) => {
          const encoder = new AggregateEncoder();
          const order = records.map((_, i) => records.length - 1 - i);
          const back: UserRecord[] = [];
          for (let k = 0; k < order.length;) {
            const n = encoder.plan(records, order, k, order.length, budget);
            expect(n).toBeGreaterThanOrEqual(1);
            const blob = encoder.encode(records, order, k, n);
            expect(blob.length).toBe(encoder.plannedBodyBytes + KPL_FRAMING_BYTES);
            if (n > 1) expect(encoder.plannedBodyBytes).toBeLessThanOrEqual(budget);
            back.push(...deaggregate(blob));
            k += n;
          }
          expect(back.map((r) => r.data)).toEqual(order.map((i) => bytesOf(records[i].data)));
          expect(back.map((r) => r.partitionKey)).toEqual(order.map((i) => utf8(records[i].partitionKey)));
        },
      ),
    );
  });

  test('arbitrary bytes behind the magic and a valid checksum never throw anything but AggregationFormatError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (body) => {
        const blob = Buffer.concat([KPL_MAGIC, body, createHash('md5').update(body).digest()]);
        try {
          for (const r of deaggregate(blob)) expect(Buffer.isBuffer(r.data)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(AggregationFormatError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('a record re-encoded in a different field order and with tags decodes the same', () => {
    // Records before the tables, a tag on the record, data before the index: all legal protobuf.
    const body = Buffer.from([
      0x1a, 0x0b, 0x1a, 0x01, 0x76, 0x22, 0x04, 0x0a, 0x02, 0x74, 0x67, 0x08, 0x00, 0x0a, 0x01, 0x6b,
    ]);
    const blob = Buffer.concat([KPL_MAGIC, body, createHash('md5').update(body).digest()]);
    expect(deaggregate(blob)).toEqual([{ partitionKey: 'k', explicitHashKey: undefined, data: Buffer.from('v') }]);
  });
});

describe('KPL aggregation against aws-kinesis-agg (the reference npm implementation)', () => {
  const theirDecode = (blob: Buffer): kinesisAgg.UserRecord[] => {
    let out: kinesisAgg.UserRecord[] = [];
    kinesisAgg.deaggregateSync(
      {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'outer',
        sequenceNumber: '7',
        data: blob.toString('base64'),
      } as never,
      true,
      (err, users) => {
        if (err) throw err;
        out = users!;
      },
    );
    return out;
  };
  const theirEncode = (records: AggregateInput[]): Buffer => {
    const agg = new RecordAggregator();
    for (const r of records) {
      agg.addUserRecord({ partitionKey: r.partitionKey, explicitHashKey: r.explicitHashKey, data: bytesOf(r.data) });
    }
    return agg.build().data;
  };
  // Where the reference is correct: its encoder measures keys in UTF-16 units and builds its key tables with
  // Object.keys, which moves integer-like keys ("0", "42") first and so points records at the wrong key (see below).
  const asciiInput = (ehk: fc.Arbitrary<string | undefined>) =>
    fc.record({
      partitionKey: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.:-]{0,39}$/),
      explicitHashKey: ehk,
      data: fc.uint8Array({ minLength: 1, maxLength: 300 }),
    });
  // Hash keys of 2^32 and more: smaller ones are array indices, which Object.keys reorders too.
  const bigHashKey = fc.bigInt({ min: 1n << 32n, max: (1n << 128n) - 1n }).map(String);
  const allOrNone = fc.oneof(
    fc.array(asciiInput(fc.constant(undefined)), { minLength: 1, maxLength: 40 }),
    fc.array(asciiInput(bigHashKey), { minLength: 1, maxLength: 40 }),
  );

  test('they read what we write (records all with or all without explicit hash keys)', () => {
    fc.assert(
      fc.property(allOrNone, (records) => {
        const theirs = theirDecode(aggregate(records));
        // Their decoder is right wherever each record has a hash key or none has.
        expect(theirs.map((u) => [u.partitionKey, u.explicitPartitionKey, Buffer.from(u.data, 'base64')])).toEqual(
          records.map((r) => [r.partitionKey, r.explicitHashKey, bytesOf(r.data)]),
        );
        expect(theirs.map((u) => u.subSequenceNumber)).toEqual(records.map((_, i) => i));
      }),
    );
  });

  test('we read what they write, byte for byte the same aggregate', () => {
    fc.assert(
      fc.property(allOrNone, (records) => {
        const blob = theirEncode(records);
        expect(deaggregate(blob)).toEqual(
          records.map((r) => ({
            partitionKey: r.partitionKey,
            explicitHashKey: r.explicitHashKey,
            data: bytesOf(r.data),
          })),
        );
        expect(aggregate(records)).toEqual(blob);
      }),
    );
  });

  test('mixed explicit hash keys: the reference gives records without one the first table entry; we do not', () => {
    const records = [
      { partitionKey: 'a', data: Buffer.from('1') },
      { partitionKey: 'b', explicitHashKey: '12345', data: Buffer.from('2') },
    ];
    const blob = aggregate(records);
    expect(deaggregate(blob).map((r) => r.explicitHashKey)).toEqual([undefined, '12345']);
    expect(theirDecode(blob).map((u) => u.explicitPartitionKey)).toEqual(['12345', '12345']);
  });

  test('integer-like partition keys: the reference encoder swaps them in its table; ours keeps each record its key', () => {
    const records = [
      { partitionKey: 'device-a', data: Buffer.from('1') },
      { partitionKey: '42', data: Buffer.from('2') },
    ];
    expect(theirDecode(theirEncode(records)).map((u) => u.partitionKey)).toEqual(['42', 'device-a']);
    expect(deaggregate(aggregate(records)).map((r) => r.partitionKey)).toEqual(['device-a', '42']);
    expect(theirDecode(aggregate(records)).map((u) => u.partitionKey)).toEqual(['device-a', '42']);
  });

  test('small explicit hash keys: the reference encoder reorders them the same way', () => {
    const records = [
      { partitionKey: 'a', explicitHashKey: '7', data: Buffer.from('1') },
      { partitionKey: 'b', explicitHashKey: '3', data: Buffer.from('2') },
    ];
    expect(theirDecode(theirEncode(records)).map((u) => u.explicitPartitionKey)).toEqual(['3', '7']);
    expect(deaggregate(aggregate(records)).map((r) => r.explicitHashKey)).toEqual(['7', '3']);
  });
});
