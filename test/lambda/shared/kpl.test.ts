import { createHash } from 'crypto';
import { aggregate, AggregationFormatError, deaggregate, isAggregated, KPL_MAGIC } from '../../../lambda/shared/kpl';

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
