import type { ProducerRecord, SendResult } from '../../lambda/shared/producer';
import { Clock, orderByPartitionKey, publishInOrder, RecordSink, SourceRecord, TokenBucket } from '../../bin/replay';

/** A clock that only moves when the code under test sleeps: rate limiting is checked without waiting. */
class ManualClock implements Clock {
  time = 0;
  readonly sleeps: number[] = [];
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
  }
}

/** Records what was sent per call; fails records whose data is listed in `failing`. */
class RecordingSink implements RecordSink {
  readonly calls: string[][] = [];
  constructor(private readonly failing: Set<string> = new Set()) {}
  async send(records: readonly ProducerRecord[]): Promise<SendResult> {
    this.calls.push(records.map((r) => String(r.data)));
    const failed = records
      .filter((r) => this.failing.has(String(r.data)))
      .map((record) => ({ record, errorCode: 'ProvisionedThroughputExceededException', errorMessage: 'slow down' }));
    return { sent: records.length - failed.length, failed };
  }
}

const rec = (key: string, label: string, rank: number, position: bigint): SourceRecord => ({
  partitionKey: key,
  data: label as unknown as Uint8Array,
  rank,
  position,
});

describe('TokenBucket', () => {
  test('lets a full bucket through, then waits for tokens at the configured rate', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(100, 50, clock);
    await bucket.take(50);
    expect(clock.sleeps).toEqual([]);
    await bucket.take(20);
    expect(clock.time).toBe(200);
    await bucket.take(50);
    expect(clock.time).toBe(700);
  });

  test('refuses to take more than its capacity at once', async () => {
    await expect(new TokenBucket(10, 10, new ManualClock()).take(11)).rejects.toThrow(
      /can take 1..10 tokens at once, asked for 11/,
    );
  });
});

describe('orderByPartitionKey', () => {
  test('sorts each key by shard generation, then by sequence number as a big integer', () => {
    const groups = orderByPartitionKey([
      rec('a', 'a3', 1, 5n),
      rec('b', 'b1', 0, 1n),
      rec('a', 'a2', 0, 49600000000000000000000000000000000000000000000000000010n),
      rec('a', 'a1', 0, 49600000000000000000000000000000000000000000000000000009n),
    ]);
    expect([...groups.entries()].map(([k, v]) => [k, v.map((r) => String(r.data))])).toEqual([
      ['a', ['a1', 'a2', 'a3']],
      ['b', ['b1']],
    ]);
  });
});

describe('publishInOrder', () => {
  test('sends at most one record per key per call, so retries cannot reorder a key', async () => {
    const sink = new RecordingSink();
    const groups = orderByPartitionKey([
      rec('a', 'a1', 0, 1n),
      rec('a', 'a2', 0, 2n),
      rec('a', 'a3', 0, 3n),
      rec('b', 'b1', 0, 1n),
    ]);
    const result = await publishInOrder(groups, sink, new TokenBucket(1000, 500, new ManualClock()));
    expect(sink.calls).toEqual([['a1', 'b1'], ['a2'], ['a3']]);
    expect(result).toEqual({ written: 4, failed: 0, failures: [] });
  });

  test('a record that fails for good stops its key; other keys go on; every record is counted', async () => {
    const sink = new RecordingSink(new Set(['a2']));
    const groups = orderByPartitionKey([
      rec('a', 'a1', 0, 1n),
      rec('a', 'a2', 0, 2n),
      rec('a', 'a3', 0, 3n),
      rec('a', 'a4', 0, 4n),
      rec('b', 'b1', 0, 1n),
      rec('b', 'b2', 0, 2n),
    ]);
    const result = await publishInOrder(groups, sink, new TokenBucket(1000, 500, new ManualClock()));
    expect(sink.calls.flat()).not.toContain('a3');
    expect(result.written).toBe(3);
    expect(result.failed).toBe(3);
    expect(result.failures).toEqual([
      {
        partitionKey: 'a',
        records: 3,
        reason:
          'ProvisionedThroughputExceededException: slow down (and the 2 later record(s) of this key were not written)',
      },
    ]);
  });

  test('batches are bounded by the bucket capacity and paced by its rate', async () => {
    const clock = new ManualClock();
    const sink = new RecordingSink();
    const records = Array.from({ length: 10 }, (_, i) => rec(`k${i}`, `r${i}`, 0, 0n));
    await publishInOrder(orderByPartitionKey(records), sink, new TokenBucket(4, 4, clock));
    expect(sink.calls.map((c) => c.length)).toEqual([4, 4, 2]);
    // 4 at once, then 4 more after 1 s, then 2 more after 0.5 s.
    expect(clock.time).toBe(1500);
  });
});
