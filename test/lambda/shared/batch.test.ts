import { aggregate } from '../../../lambda/shared/kpl';
import { DeadLetterEntry, DeadLetterSink } from '../../../lambda/shared/dead-letter';
import { DeadLetterError } from '../../../lambda/shared/errors';
import { processKinesisBatch } from '../../../lambda/shared/batch';
import { DecodedRecord } from '../../../lambda/shared/records';
import { kinesisEvent, kinesisRecord } from '../../support/kinesis-events';

/** Collects dead letters in memory; `failNext` makes the next send fail like an unreachable queue. */
class CollectingSink implements DeadLetterSink {
  readonly entries: DeadLetterEntry[] = [];
  failNext = 0;
  async send(entries: readonly DeadLetterEntry[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('queue unreachable');
    }
    this.entries.push(...entries);
  }
}

const rec = (shard: string, seq: string, body: string) =>
  kinesisRecord(body, { shardId: `shardId-00000000000${shard}`, sequenceNumber: seq });

function expectBalanced(r: { received: number; processed: number; deadLettered: number; failed: number }) {
  expect(r.processed + r.deadLettered + r.failed).toBe(r.received);
}

describe('processKinesisBatch', () => {
  test('all good records are processed in order', async () => {
    const sink = new CollectingSink();
    const seen: string[] = [];
    const event = kinesisEvent([rec('0', '1', 'a'), rec('0', '2', 'b'), rec('1', '1', 'c')]);
    const r = await processKinesisBatch(event, (x) => void seen.push(x.data.toString()), {
      stage: 't',
      deadLetters: sink,
    });
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(r).toMatchObject({
      received: 3,
      processed: 3,
      deadLettered: 0,
      failed: 0,
      response: { batchItemFailures: [] },
    });
  });

  test('a bad record is dead-lettered with its reason and the batch goes on', async () => {
    const sink = new CollectingSink();
    const event = kinesisEvent([rec('0', '1', 'ok'), rec('0', '2', 'bad'), rec('0', '3', 'ok')]);
    const r = await processKinesisBatch(
      event,
      (x) => {
        if (x.data.toString() === 'bad') throw new DeadLetterError('SCHEMA', 'field x missing');
      },
      { stage: 'unit', deadLetters: sink },
    );
    expect(r).toMatchObject({ received: 3, processed: 2, deadLettered: 1, failed: 0 });
    expect(r.response.batchItemFailures).toEqual([]);
    expect(sink.entries).toEqual([
      expect.objectContaining({
        reason: 'SCHEMA',
        detail: 'field x missing',
        stage: 'unit',
        payload: 'bad',
        sequenceNumber: '2',
        shardId: 'shardId-000000000000',
        partitionKey: 'pk',
      }),
    ]);
  });

  test('a transient failure reports that record and every later record of its shard only', async () => {
    const sink = new CollectingSink();
    const processed: string[] = [];
    const event = kinesisEvent([
      rec('0', '1', 'a1'),
      rec('1', '1', 'b1'),
      rec('0', '2', 'a2-boom'),
      rec('1', '2', 'b2'),
      rec('0', '3', 'a3'),
      rec('0', '4', 'a4'),
    ]);
    const r = await processKinesisBatch(
      event,
      (x: DecodedRecord) => {
        if (x.data.toString().endsWith('boom')) throw new Error('timeout talking to the database');
        processed.push(x.data.toString());
      },
      { stage: 't', deadLetters: sink },
    );
    // a3 and a4 come after the failure on shard 0 and must not run before the retry.
    expect(processed.sort()).toEqual(['a1', 'b1', 'b2']);
    expect(r.response.batchItemFailures).toEqual([
      { itemIdentifier: '2' },
      { itemIdentifier: '3' },
      { itemIdentifier: '4' },
    ]);
    expect(r).toMatchObject({ received: 6, processed: 3, failed: 3, deadLettered: 0 });
    expect(sink.entries).toHaveLength(0);
  });

  test('if the dead-letter sink fails the record is retried, not lost', async () => {
    const sink = new CollectingSink();
    sink.failNext = 1;
    const event = kinesisEvent([rec('0', '1', 'bad'), rec('0', '2', 'ok')]);
    const r = await processKinesisBatch(
      event,
      (x) => {
        if (x.data.toString() === 'bad') throw new DeadLetterError('SCHEMA', 'nope');
      },
      { stage: 't', deadLetters: sink },
    );
    expect(r).toMatchObject({ received: 2, processed: 0, deadLettered: 0, failed: 2 });
    expect(r.response.batchItemFailures).toEqual([{ itemIdentifier: '1' }, { itemIdentifier: '2' }]);
    expectBalanced(r);
  });

  test('KPL aggregates are processed record by record and counted as user records', async () => {
    const sink = new CollectingSink();
    const blob = aggregate([
      { partitionKey: 'p1', data: Buffer.from('good') },
      { partitionKey: 'p2', data: Buffer.from('bad') },
      { partitionKey: 'p3', data: Buffer.from('good') },
    ]);
    const r = await processKinesisBatch(
      kinesisEvent([kinesisRecord(blob, { sequenceNumber: '77' }), rec('0', '78', 'good')]),
      (x) => {
        if (x.data.toString() === 'bad') throw new DeadLetterError('SCHEMA', 'bad one');
      },
      { stage: 't', deadLetters: sink },
    );
    expect(r).toMatchObject({ received: 4, processed: 3, deadLettered: 1, failed: 0 });
    expect(sink.entries[0]).toMatchObject({ partitionKey: 'p2', sequenceNumber: '77', subSequenceNumber: 1 });
  });

  test('a transient failure inside an aggregate retries the whole aggregate', async () => {
    const sink = new CollectingSink();
    const blob = aggregate([
      { partitionKey: 'p1', data: Buffer.from('good') },
      { partitionKey: 'p2', data: Buffer.from('boom') },
      { partitionKey: 'p3', data: Buffer.from('good') },
    ]);
    const r = await processKinesisBatch(
      kinesisEvent([kinesisRecord(blob, { sequenceNumber: '5' }), rec('0', '6', 'good')]),
      (x) => {
        if (x.data.toString() === 'boom') throw new Error('transient');
      },
      { stage: 't', deadLetters: sink },
    );
    expect(r.response.batchItemFailures).toEqual([{ itemIdentifier: '5' }, { itemIdentifier: '6' }]);
    expect(r).toMatchObject({ received: 4, processed: 1, failed: 3 });
  });

  test('an undecodable aggregate is dead-lettered as one record', async () => {
    const sink = new CollectingSink();
    const blob = aggregate([{ partitionKey: 'p1', data: Buffer.from('x') }]);
    blob[blob.length - 1] ^= 1;
    const r = await processKinesisBatch(kinesisEvent([kinesisRecord(blob)]), () => undefined, {
      stage: 't',
      deadLetters: sink,
    });
    expect(r).toMatchObject({ received: 1, deadLettered: 1, processed: 0, failed: 0 });
    expect(sink.entries[0].reason).toBe('MALFORMED_AGGREGATE');
    expect(sink.entries[0].payload).toBe(blob.toString('base64'));
  });

  test('an aggregate that holds no user record is dead-lettered, not dropped uncounted', async () => {
    const sink = new CollectingSink();
    const empty = aggregate([]);
    const r = await processKinesisBatch(
      kinesisEvent([rec('0', '1', 'a'), kinesisRecord(empty, { sequenceNumber: '2' })]),
      () => undefined,
      {
        stage: 't',
        deadLetters: sink,
      },
    );
    expect(r).toMatchObject({ received: 2, processed: 1, deadLettered: 1, failed: 0 });
    expect(sink.entries.map((e) => [e.reason, e.sequenceNumber, e.payload])).toEqual([
      ['MALFORMED_AGGREGATE', '2', empty.toString('base64')],
    ]);
  });

  test('counts balance on a large mixed batch', async () => {
    const sink = new CollectingSink();
    const records = Array.from({ length: 300 }, (_, i) =>
      rec(String(i % 3), String(i + 1), i % 7 === 0 ? 'bad' : 'ok'),
    );
    const r = await processKinesisBatch(
      kinesisEvent(records),
      (x) => {
        if (x.data.toString() === 'bad') throw new DeadLetterError('SCHEMA', 'bad');
      },
      { stage: 't', deadLetters: sink },
    );
    expect(r.received).toBe(300);
    expect(r.deadLettered).toBe(43);
    expect(r.processed).toBe(257);
    expect(sink.entries).toHaveLength(43);
    expectBalanced(r);
  });

  test('regression (issue 8, class 5): a bad record of an aggregate is dead-lettered once when a later one fails transiently', async () => {
    const sink = new CollectingSink();
    let attempts = 0;
    const handler = (r: DecodedRecord) => {
      const body = r.data.toString();
      if (body === 'bad') throw new DeadLetterError('SCHEMA', 'bad');
      if (body === 'flaky' && attempts++ === 0) throw new Error('throttled');
    };
    const agg = aggregate(['bad', 'flaky'].map((b) => ({ partitionKey: 'k', data: Buffer.from(b) })));
    const event = kinesisEvent([kinesisRecord(agg, { sequenceNumber: '7' })]);
    const first = await processKinesisBatch(event, handler, { stage: 't', deadLetters: sink });
    // The aggregate is retried whole: its letter waits for the retry instead of being sent twice.
    expect(first).toMatchObject({ received: 2, processed: 0, deadLettered: 0, failed: 2 });
    expect(first.response.batchItemFailures).toEqual([{ itemIdentifier: '7' }]);
    const second = await processKinesisBatch(event, handler, { stage: 't', deadLetters: sink });
    expect(second).toMatchObject({ received: 2, processed: 1, deadLettered: 1, failed: 0 });
    expect(sink.entries.map((e) => [e.payload, e.subSequenceNumber])).toEqual([['bad', 0]]);
  });

  test('regression (issue 8, class 12): an out-of-order event is processed in sequence order', async () => {
    const sink = new CollectingSink();
    const seen: string[] = [];
    const event = kinesisEvent([rec('0', '30', 'c'), rec('0', '9', 'a'), rec('0', '10', 'b')]);
    const r = await processKinesisBatch(event, (x) => void seen.push(x.data.toString()), {
      stage: 't',
      deadLetters: sink,
    });
    expect(seen).toEqual(['a', 'b', 'c']);
    expectBalanced(r);
  });
});
