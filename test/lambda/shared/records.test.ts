import { aggregate } from '../../../lambda/shared/kpl';
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
