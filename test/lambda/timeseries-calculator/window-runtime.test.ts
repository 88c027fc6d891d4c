import { DeadLetterEntry, DeadLetterSink } from '../../../lambda/shared/dead-letter';
import { DeadLetterError } from '../../../lambda/shared/errors';
import { aggregate } from '../../../lambda/shared/kpl';
import { DecodedRecord } from '../../../lambda/shared/records';
import { processKinesisWindow, WindowInfo, WindowProcessor, WindowRetryError } from '../../../lambda/shared/window';
import { kinesisRecord, SHARD, windowEvent } from './events';

/** Collects dead letters in memory; can be switched to refuse them. */
class MemorySink implements DeadLetterSink {
  entries: DeadLetterEntry[] = [];
  refuse = false;
  async send(entries: readonly DeadLetterEntry[]): Promise<void> {
    if (this.refuse) throw new Error('sink down');
    this.entries.push(...entries);
  }
}

interface Sum {
  total: number;
  values: number[];
}

/** Sums JSON numbers; "fail" is a transient error, anything not a number is a dead letter. */
function summer(opts: { failOn?: number; prepareFails?: boolean } = {}) {
  const finished: Array<{ state: Sum; window: WindowInfo }> = [];
  const processor: WindowProcessor<Sum> = {
    initialState: () => ({ total: 0, values: [] }),
    fromJson: (json) => json as Sum,
    toJson: (s) => s,
    async prepare() {
      if (opts.prepareFails) throw new Error('lookup table unavailable');
    },
    apply(state, r: DecodedRecord) {
      const text = r.data.toString('utf8');
      const v = Number(text);
      if (opts.failOn !== undefined && v === opts.failOn) throw new Error(`transient failure on ${v}`);
      if (!Number.isFinite(v) || text.trim() === '') throw new DeadLetterError('SCHEMA', `not a number: '${text}'`);
      state.total += v;
      state.values.push(v);
    },
    async finish(state, window) {
      finished.push({ state: JSON.parse(JSON.stringify(state)), window });
    },
  };
  return { processor, finished };
}

const batchOf = (from: number, values: string[]) => values.map((v, i) => kinesisRecord(from + i, v));

describe('processKinesisWindow', () => {
  test('carries state across invocations and emits it on the final invoke', async () => {
    const sink = new MemorySink();
    const { processor, finished } = summer();
    const r1 = await processKinesisWindow(windowEvent(batchOf(1, ['1', '2', 'x']), undefined), processor, {
      stage: 't',
      deadLetters: sink,
    });
    expect(r1).toMatchObject({ received: 3, processed: 2, deadLettered: 1, failed: 0, skipped: 0 });
    expect(r1.response.batchItemFailures).toEqual([]);
    const r2 = await processKinesisWindow(windowEvent(batchOf(4, ['3']), r1.response.state), processor, {
      stage: 't',
      deadLetters: sink,
    });
    const r3 = await processKinesisWindow(windowEvent([], r2.response.state, { final: true }), processor, {
      stage: 't',
      deadLetters: sink,
    });
    expect(r3.received).toBe(0);
    expect(finished).toEqual([
      {
        state: { total: 6, values: [1, 2, 3] },
        window: expect.objectContaining({
          start: Date.UTC(2026, 10, 29, 8),
          end: Date.UTC(2026, 10, 29, 8, 1),
          isFinal: true,
          shardId: 'shardId-000000000000',
        }),
      },
    ]);
    expect(sink.entries).toEqual([
      expect.objectContaining({
        reason: 'SCHEMA',
        detail: "not a number: 'x'",
        stage: 't',
        payload: 'x',
        subSequenceNumber: 0,
      }),
    ]);
  });

  test('a transient failure stops the shard; the redelivered batch is not applied twice', async () => {
    const sink = new MemorySink();
    const failing = summer({ failOn: 3 });
    const records = batchOf(1, ['1', 'bad', '3', '4']);
    const r1 = await processKinesisWindow(windowEvent(records, undefined), failing.processor, {
      stage: 't',
      deadLetters: sink,
    });
    expect(r1).toMatchObject({ received: 4, processed: 1, deadLettered: 1, failed: 2, skipped: 0 });
    // The failing record and every later one of the shard; Lambda checkpoints at the lowest.
    expect(r1.response.batchItemFailures).toEqual(
      records.slice(2).map((r) => ({ itemIdentifier: r.kinesis.sequenceNumber })),
    );
    expect(r1.response.state.user).toEqual({ total: 1, values: [1] });

    // Lambda redelivers (here the whole batch, which is the worst case) with the state it got back.
    const healthy = summer();
    const r2 = await processKinesisWindow(windowEvent(records, r1.response.state), healthy.processor, {
      stage: 't',
      deadLetters: sink,
    });
    expect(r2).toMatchObject({ received: 4, processed: 2, deadLettered: 0, failed: 0, skipped: 2 });
    expect(r2.response.state.user).toEqual({ total: 8, values: [1, 3, 4] });
    expect(sink.entries).toHaveLength(1);
    expect(r2.received).toBe(r2.processed + r2.deadLettered + r2.failed + r2.skipped);
  });

  test('records inside a KPL aggregate are tracked by sub-sequence number', async () => {
    const sink = new MemorySink();
    const agg = aggregate(['10', '20', '30', '40'].map((d) => ({ partitionKey: 'k', data: Buffer.from(d) })));
    const records = [kinesisRecord(1, agg)];
    const r1 = await processKinesisWindow(windowEvent(records, undefined), summer({ failOn: 30 }).processor, {
      stage: 't',
      deadLetters: sink,
    });
    expect(r1).toMatchObject({ received: 4, processed: 2, failed: 2 });
    expect(r1.response.batchItemFailures).toEqual([{ itemIdentifier: records[0].kinesis.sequenceNumber }]);
    const r2 = await processKinesisWindow(windowEvent(records, r1.response.state), summer().processor, {
      stage: 't',
      deadLetters: sink,
    });
    expect(r2).toMatchObject({ received: 4, processed: 2, skipped: 2 });
    expect(r2.response.state.user).toEqual({ total: 100, values: [10, 20, 30, 40] });
  });

  test('an aggregate that holds no user record is dead-lettered once, and skipped when redelivered', async () => {
    const { processor } = summer();
    const sink = new MemorySink();
    const empty = aggregate([]);
    const records = [kinesisRecord(1, '1'), kinesisRecord(2, empty)];
    const r1 = await processKinesisWindow(windowEvent(records, undefined), processor, {
      stage: 't',
      deadLetters: sink,
    });
    expect(r1).toMatchObject({ received: 2, processed: 1, deadLettered: 1, failed: 0, skipped: 0 });
    expect(sink.entries.map((e) => e.reason)).toEqual(['MALFORMED_AGGREGATE']);
    expect(sink.entries[0].sequenceNumber).toBe(records[1].kinesis.sequenceNumber);
    const r2 = await processKinesisWindow(windowEvent(records, r1.response.state), processor, {
      stage: 't',
      deadLetters: sink,
    });
    expect(r2).toMatchObject({ received: 2, processed: 0, deadLettered: 0, skipped: 2 });
    expect(sink.entries).toHaveLength(1);
  });

  test('a failing prepare fails the whole batch and leaves the state as it was', async () => {
    const sink = new MemorySink();
    const records = batchOf(1, ['1', '2']);
    const r = await processKinesisWindow(windowEvent(records, undefined), summer({ prepareFails: true }).processor, {
      stage: 't',
      deadLetters: sink,
    });
    expect(r).toMatchObject({ received: 2, processed: 0, failed: 2 });
    expect(r.response.batchItemFailures).toEqual(records.map((x) => ({ itemIdentifier: x.kinesis.sequenceNumber })));
    expect(r.response.state.user).toEqual({ total: 0, values: [] });
  });

  test('a dead-letter sink failure turns the record into a retry, never a loss', async () => {
    const sink = new MemorySink();
    sink.refuse = true;
    const records = batchOf(1, ['1', 'bad', '2']);
    const r = await processKinesisWindow(windowEvent(records, undefined), summer().processor, {
      stage: 't',
      deadLetters: sink,
    });
    expect(r).toMatchObject({ received: 3, processed: 1, deadLettered: 0, failed: 2 });
    expect(r.response.batchItemFailures).toEqual(
      records.slice(1).map((x) => ({ itemIdentifier: x.kinesis.sequenceNumber })),
    );
  });

  test('a failure on the final invoke throws so Lambda retries it, and finish is not called', async () => {
    const sink = new MemorySink();
    const s = summer({ failOn: 2 });
    await expect(
      processKinesisWindow(windowEvent(batchOf(1, ['1', '2']), undefined, { final: true }), s.processor, {
        stage: 't',
        deadLetters: sink,
      }),
    ).rejects.toThrow(WindowRetryError);
    expect(s.finished).toEqual([]);
  });

  test('an event without a window is refused with what was received', async () => {
    const event = { ...windowEvent([], undefined), window: undefined } as never;
    await expect(
      processKinesisWindow(event, summer().processor, { stage: 't', deadLetters: new MemorySink() }),
    ).rejects.toThrow(/not a tumbling-window event: window is undefined/);
  });

  test('regression (issue 8, class 5): a sequence number that is not decimal neither throws nor dead-letters twice', async () => {
    const sink = new MemorySink();
    const { processor } = summer();
    const odd = { ...kinesisRecord(1, 'x'), eventID: `${SHARD}:not-a-number` };
    odd.kinesis = { ...odd.kinesis, sequenceNumber: 'not-a-number' };
    const r1 = await processKinesisWindow(windowEvent([kinesisRecord(2, '5'), odd], undefined), processor, {
      stage: 't',
      deadLetters: sink,
    });
    expect(r1).toMatchObject({ received: 2, processed: 1, deadLettered: 1, failed: 0, skipped: 0 });
    // Redelivered: both are recognised as applied.
    const r2 = await processKinesisWindow(windowEvent([kinesisRecord(2, '5'), odd], r1.response.state), processor, {
      stage: 't',
      deadLetters: sink,
    });
    expect(r2).toMatchObject({ received: 2, skipped: 2 });
    expect(sink.entries).toHaveLength(1);
  });

  test('regression (issue 8, class 12): an out-of-order batch is applied in full, not counted as redelivered', async () => {
    const sink = new MemorySink();
    const { processor, finished } = summer();
    const records = [kinesisRecord(3, '3'), kinesisRecord(1, '1'), kinesisRecord(2, '2')];
    const r = await processKinesisWindow(windowEvent(records, undefined, { final: true }), processor, {
      stage: 't',
      deadLetters: sink,
    });
    expect(r).toMatchObject({ received: 3, processed: 3, skipped: 0 });
    expect(finished[0].state.values).toEqual([1, 2, 3]);
  });

  test('regression (issue 8, class 5): on a final invoke retried after a failure, a bad record is dead-lettered once', async () => {
    const sink = new MemorySink();
    const { processor, finished } = summer({ failOn: 7 });
    const event = windowEvent([kinesisRecord(1, 'x'), kinesisRecord(2, '7')], undefined, { final: true });
    await expect(processKinesisWindow(event, processor, { stage: 't', deadLetters: sink })).rejects.toThrow(
      WindowRetryError,
    );
    // Nothing was sent: Lambda retries the final invoke from the previous state, which recreates the letter.
    expect(sink.entries).toHaveLength(0);
    const ok = summer();
    const r = await processKinesisWindow(event, ok.processor, { stage: 't', deadLetters: sink });
    expect(r).toMatchObject({ received: 2, processed: 1, deadLettered: 1 });
    expect(sink.entries.map((e) => e.payload)).toEqual(['x']);
    expect(ok.finished).toHaveLength(1);
    expect(finished).toHaveLength(0);
  });
  test('regression (issue 8, class 10): the part id is stable across final-invoke retries and distinct across the parts of a window ended early', async () => {
    const { processor, finished } = summer();
    const opts = { stage: 't', deadLetters: new MemorySink() };
    const seq = (n: number) => kinesisRecord(n, '1').kinesis.sequenceNumber;
    // Part 1: records 1..3 over two invocations, then its final invoke (ended early) and a retry of it.
    const a1 = await processKinesisWindow(windowEvent(batchOf(1, ['1', '2']), undefined), processor, opts);
    const a2 = await processKinesisWindow(windowEvent(batchOf(3, ['3']), a1.response.state), processor, opts);
    const end1 = { ...windowEvent([], a2.response.state, { final: true }), isWindowTerminatedEarly: true };
    await processKinesisWindow(end1, processor, opts);
    await processKinesisWindow(end1, processor, opts);
    // Part 2: a fresh state from record 4 on.
    const b1 = await processKinesisWindow(windowEvent(batchOf(4, ['4']), undefined), processor, opts);
    await processKinesisWindow(windowEvent([], b1.response.state, { final: true }), processor, opts);
    expect(finished.map((f) => [f.window.partId, f.window.terminatedEarly])).toEqual([
      [`${SHARD}@${seq(1)}:0`, true],
      [`${SHARD}@${seq(1)}:0`, true],
      [`${SHARD}@${seq(4)}:0`, false],
    ]);
    // A state written before the part id existed (no `first`): its current mark stands in, as stable.
    const { first: _first, ...legacy } = b1.response.state as Record<string, unknown>;
    await processKinesisWindow(windowEvent([], legacy, { final: true }), processor, opts);
    expect(finished[3].window.partId).toBe(`${SHARD}@${seq(4)}:0`);
  });
});
