import {
  KinesisClient,
  PutRecordsCommand,
  SplitShardCommand,
  DescribeStreamSummaryCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import * as fc from 'fast-check';
import {
  EventSourceMappingProperties,
  InvocationRecord,
  KinesisEventSourceMapping,
  KinesisTumblingWindowEvent,
} from '../../../bin/local/event-source-mapping';
import { propertyParameters } from '../../support/property';
import { createLocalStream, LOCAL_AWS, LocalServer, startKinesisLocal } from '../../support/local-servers';

interface Ev {
  Records: Array<{ kinesis: { sequenceNumber: string; partitionKey: string; data: string }; eventID: string }>;
}

let kinesis: LocalServer;
let client: KinesisClient;
let streamCount = 0;
const running: KinesisEventSourceMapping[] = [];

beforeAll(async () => {
  kinesis = await startKinesisLocal();
  client = new KinesisClient({
    ...LOCAL_AWS,
    endpoint: kinesis.endpoint,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 3000, requestTimeout: 10000 }),
  });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.stop()));
});

afterAll(async () => {
  client?.destroy();
  await kinesis?.stop();
});

async function stream(shards = 1): Promise<{ name: string; arn: string }> {
  const name = `esm-${process.pid}-${++streamCount}`;
  return { name, arn: await createLocalStream(client, name, shards) };
}

/** Puts records in one PutRecords call; returns their sequence numbers and shards. */
async function putDetailed(
  name: string,
  records: Array<{ key: string; data: string }>,
): Promise<Array<{ seq: string; shard: string }>> {
  const res = await client.send(
    new PutRecordsCommand({
      StreamName: name,
      Records: records.map((r) => ({ PartitionKey: r.key, Data: Buffer.from(r.data) })),
    }),
  );
  expect(res.FailedRecordCount ?? 0).toBe(0);
  return res.Records!.map((r) => ({ seq: r.SequenceNumber!, shard: r.ShardId! }));
}

async function put(name: string, records: Array<{ key: string; data: string }>): Promise<string[]> {
  return (await putDetailed(name, records)).map((r) => r.seq);
}

function mapping(
  name: string,
  properties: EventSourceMappingProperties,
  invoke: (event: unknown) => Promise<unknown>,
  extra: Partial<ConstructorParameters<typeof KinesisEventSourceMapping>[0]> = {},
): KinesisEventSourceMapping {
  const m = new KinesisEventSourceMapping({
    properties: { StartingPosition: 'TRIM_HORIZON', ...properties },
    streamName: name,
    client,
    invoke,
    pollIntervalMs: 50,
    shardDiscoveryIntervalMs: 200,
    retryBaseDelayMs: 10,
    ...extra,
  });
  running.push(m);
  return m;
}

async function until(cond: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const dataOf = (e: Ev) => e.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString());
const recs = (prefix: string, n: number, key = 'k') =>
  Array.from({ length: n }, (_, i) => ({ key: typeof key === 'string' ? key : key, data: `${prefix}${i}` }));

describe('KinesisEventSourceMapping', () => {
  test('sends the documented Kinesis event shape, records in sequence order', async () => {
    const { name, arn } = await stream();
    const seqs = await put(name, recs('r', 3));
    const events: unknown[] = [];
    const m = mapping(name, { BatchSize: 10 }, async (e) => void events.push(e), {
      eventSourceArn: arn,
      region: 'us-east-1',
    });
    await m.start();
    await until(() => events.flatMap((e) => (e as Ev).Records).length === 3, '3 records');
    const first = (events[0] as Ev).Records[0] as unknown as Record<string, unknown>;
    expect(first).toEqual({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'k',
        sequenceNumber: seqs[0],
        data: Buffer.from('r0').toString('base64'),
        approximateArrivalTimestamp: expect.any(Number),
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${seqs[0]}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: expect.stringMatching(/^arn:aws:iam::/),
      awsRegion: 'us-east-1',
      eventSourceARN: arn,
    });
    const ts = (first.kinesis as { approximateArrivalTimestamp: number }).approximateArrivalTimestamp;
    expect(Math.abs(ts * 1000 - Date.now())).toBeLessThan(60000); // seconds, not milliseconds
    expect(events.flatMap((e) => (e as Ev).Records.map((r) => r.kinesis.sequenceNumber))).toEqual(seqs);
    expect(m.metrics()).toMatchObject({ recordsRead: 3, recordsDelivered: 3 });
    expect(m.metrics().shards[0]).toMatchObject({ shardId: 'shardId-000000000000', checkpoint: seqs[2] });
  });

  test('batches at most BatchSize records, and waits MaximumBatchingWindowInSeconds to fill a batch', async () => {
    const { name } = await stream();
    await put(name, recs('a', 5));
    const sizes: number[] = [];
    const m = mapping(name, { BatchSize: 2 }, async (e) => void sizes.push((e as Ev).Records.length));
    await m.start();
    await until(() => sizes.reduce((a, b) => a + b, 0) === 5, '5 records');
    expect(sizes).toEqual([2, 2, 1]);

    const s2 = await stream();
    const got: Array<{ n: number; at: number }> = [];
    const m2 = mapping(s2.name, { BatchSize: 100, MaximumBatchingWindowInSeconds: 1 }, async (e) => {
      got.push({ n: (e as Ev).Records.length, at: Date.now() });
    });
    await m2.start();
    const t0 = Date.now();
    await put(s2.name, recs('b', 2));
    await new Promise((r) => setTimeout(r, 300));
    await put(s2.name, recs('c', 2));
    await until(() => got.length > 0, 'a batch');
    expect(got[0].n).toBe(4); // both puts gathered into one batch within the window
    expect(got[0].at - t0).toBeGreaterThanOrEqual(900);
  });

  test('polls every shard; each batch holds records of one shard, in order', async () => {
    const { name } = await stream(2);
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    await put(
      name,
      keys.flatMap((k) => [0, 1, 2].map((i) => ({ key: k, data: `${k}${i}` }))),
    );
    const events: Ev[] = [];
    const m = mapping(name, { BatchSize: 4 }, async (e) => void events.push(e as Ev));
    await m.start();
    await until(() => events.flatMap((e) => e.Records).length === 18, '18 records');
    const byShard = new Map<string, string[]>();
    for (const e of events) {
      const shards = new Set(e.Records.map((r) => r.eventID.split(':')[0]));
      expect(shards.size).toBe(1);
      const sh = [...shards][0];
      byShard.set(sh, [...(byShard.get(sh) ?? []), ...e.Records.map((r) => r.kinesis.sequenceNumber)]);
    }
    expect(byShard.size).toBe(2);
    for (const seqs of byShard.values()) {
      expect(seqs).toEqual([...seqs].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1)));
    }
    expect(m.metrics().shards).toHaveLength(2);
  });

  test('LATEST skips records put before start; AT_TIMESTAMP starts at the timestamp', async () => {
    const { name } = await stream();
    await put(name, recs('old', 2));
    const seen: string[] = [];
    const m = mapping(name, { StartingPosition: 'LATEST' }, async (e) => void seen.push(...dataOf(e as Ev)));
    await m.start();
    await new Promise((r) => setTimeout(r, 100));
    await put(name, recs('new', 2));
    await until(() => seen.length >= 2, 'new records');
    expect(seen).toEqual(['new0', 'new1']);

    const s2 = await stream();
    await put(s2.name, recs('before', 1));
    await new Promise((r) => setTimeout(r, 1100));
    const at = Date.now() / 1000;
    await put(s2.name, recs('after', 1));
    const seen2: string[] = [];
    const m2 = mapping(
      s2.name,
      { StartingPosition: 'AT_TIMESTAMP', StartingPositionTimestamp: at },
      async (e) => void seen2.push(...dataOf(e as Ev)),
    );
    await m2.start();
    await until(() => seen2.length >= 1, 'record after timestamp');
    expect(seen2).toEqual(['after0']);
  });

  test('ReportBatchItemFailures: retries from the lowest failed sequence number, earlier records are checkpointed', async () => {
    const { name } = await stream();
    const seqs = await put(name, recs('r', 5));
    const calls: string[][] = [];
    const m = mapping(name, { BatchSize: 5, FunctionResponseTypes: ['ReportBatchItemFailures'] }, async (e) => {
      const ev = e as Ev;
      calls.push(dataOf(ev));
      if (calls.length === 1) {
        return { batchItemFailures: [{ itemIdentifier: seqs[3] }, { itemIdentifier: seqs[2] }] };
      }
      return { batchItemFailures: [] };
    });
    await m.start();
    await until(() => calls.length === 2, 'retry');
    expect(calls).toEqual([
      ['r0', 'r1', 'r2', 'r3', 'r4'],
      ['r2', 'r3', 'r4'],
    ]);
    expect(m.metrics()).toMatchObject({ recordsDelivered: 5, errors: 1, retries: 1 });
  });

  test('ReportBatchItemFailures: an empty, null or unknown itemIdentifier fails the whole batch', async () => {
    const { name } = await stream();
    await put(name, recs('r', 3));
    const calls: string[][] = [];
    const bad = [{ itemIdentifier: '' }, { itemIdentifier: null }, { wrongKey: 'x' }];
    const m = mapping(name, { BatchSize: 3, FunctionResponseTypes: ['ReportBatchItemFailures'] }, async (e) => {
      calls.push(dataOf(e as Ev));
      return calls.length <= bad.length ? { batchItemFailures: [bad[calls.length - 1]] } : {};
    });
    await m.start();
    await until(() => calls.length === 4, '4 calls');
    for (const c of calls) expect(c).toEqual(['r0', 'r1', 'r2']);
  });

  test('without ReportBatchItemFailures, a batchItemFailures response is ignored (success)', async () => {
    const { name } = await stream();
    const seqs = await put(name, recs('r', 2));
    const calls: string[][] = [];
    const m = mapping(name, { BatchSize: 2 }, async (e) => {
      calls.push(dataOf(e as Ev));
      return { batchItemFailures: [{ itemIdentifier: seqs[0] }] };
    });
    await m.start();
    await until(() => m.metrics().recordsDelivered === 2, 'delivery');
    expect(calls).toEqual([['r0', 'r1']]);
  });

  test('a throwing function is retried MaximumRetryAttempts times, then the documented invocation record goes on-failure and the shard moves on', async () => {
    const { name, arn } = await stream();
    const seqs = await put(name, [...recs('bad', 2), ...recs('good', 1)]);
    const sent: InvocationRecord[] = [];
    const seen: string[][] = [];
    let resolved: unknown;
    const m = mapping(
      name,
      {
        BatchSize: 2,
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['Dlq', 'Arn'] } } },
      },
      async (e) => {
        const d = dataOf(e as Ev);
        seen.push(d);
        if (d.some((x) => x.startsWith('bad'))) throw new Error('boom');
      },
      {
        eventSourceArn: arn,
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
        resolveOnFailure: (dest) => {
          resolved = dest;
          return async (r) => void sent.push(r);
        },
      },
    );
    await m.start();
    await until(() => seen.some((d) => d.includes('good0')), 'next batch');
    expect(resolved).toEqual({ 'Fn::GetAtt': ['Dlq', 'Arn'] });
    expect(seen.filter((d) => d[0] === 'bad0')).toHaveLength(3); // 1 + 2 retries
    expect(sent).toHaveLength(1);
    expect(sent[0]).toEqual({
      requestContext: {
        requestId: expect.any(String),
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: seqs[0],
        endSequenceNumber: seqs[1],
        approximateArrivalOfFirstRecord: expect.stringMatching(/Z$/),
        approximateArrivalOfLastRecord: expect.stringMatching(/Z$/),
        batchSize: 2,
        streamArn: arn,
      },
    });
    expect(m.metrics()).toMatchObject({ errors: 3, retries: 2, recordsSentToOnFailure: 2, recordsDelivered: 1 });
  });

  test('BisectBatchOnFunctionError splits a failing batch, isolating the bad record; splitting does not consume retries', async () => {
    const { name } = await stream();
    const seqs = await put(name, recs('r', 4));
    const sent: InvocationRecord[] = [];
    const delivered: string[] = [];
    const m = mapping(
      name,
      {
        BatchSize: 4,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 0,
        DestinationConfig: { OnFailure: { Destination: 'arn:aws:sqs:us-east-1:000000000000:dlq' } },
      },
      async (e) => {
        const d = dataOf(e as Ev);
        if (d.includes('r2')) throw new Error('poison');
        delivered.push(...d);
      },
      { resolveOnFailure: () => async (r) => void sent.push(r) },
    );
    await m.start();
    await until(() => sent.length === 1 && delivered.length === 3, 'isolation');
    // [r0..r3] fails -> [r0,r1] ok, [r2,r3] fails -> [r2] fails (size 1, no retries left) -> on-failure, [r3] ok
    expect(delivered).toEqual(['r0', 'r1', 'r3']);
    expect(sent[0].KinesisBatchInfo).toMatchObject({
      startSequenceNumber: seqs[2],
      endSequenceNumber: seqs[2],
      batchSize: 1,
    });
    expect(m.metrics()).toMatchObject({ bisections: 2, retries: 0, recordsSentToOnFailure: 1 });
  });

  test('MaximumRecordAgeInSeconds bounds infinite retries: old records go on-failure with RecordAgeExceeded', async () => {
    const { name } = await stream();
    await put(name, recs('r', 2));
    const sent: InvocationRecord[] = [];
    let calls = 0;
    const m = mapping(
      name,
      {
        BatchSize: 10,
        MaximumRetryAttempts: -1,
        MaximumRecordAgeInSeconds: 1,
        DestinationConfig: { OnFailure: { Destination: 'arn:aws:sns:us-east-1:000000000000:t' } },
      },
      async () => {
        calls++;
        throw new Error('always');
      },
      { resolveOnFailure: () => async (r) => void sent.push(r) },
    );
    await m.start();
    await until(() => sent.length === 1, 'record age');
    expect(calls).toBeGreaterThan(1);
    expect(sent[0].requestContext.condition).toBe('RecordAgeExceeded');
    expect(sent[0].KinesisBatchInfo.batchSize).toBe(2);
    expect(m.metrics().shards[0].lagMs).toBe(0);
  });

  test('tumbling windows: windows aligned to epoch multiples, state carried per shard, final invoke at window end', async () => {
    const { name, arn } = await stream();
    const events: KinesisTumblingWindowEvent[] = [];
    const m = mapping(
      name,
      { BatchSize: 2, TumblingWindowInSeconds: 1 },
      async (e) => {
        const ev = e as KinesisTumblingWindowEvent;
        events.push(JSON.parse(JSON.stringify(ev)));
        const count = Number(ev.state.count ?? 0) + ev.Records.length;
        return { state: { count }, batchItemFailures: [] };
      },
      { eventSourceArn: arn },
    );
    await m.start();
    await put(name, recs('w', 5));
    await until(() => events.some((e) => e.isFinalInvokeForWindow), 'final invoke', 10000);
    const windowStart = Date.parse(events[0].window.start);
    expect(windowStart % 1000).toBe(0);
    expect(Date.parse(events[0].window.end) - windowStart).toBe(1000);
    expect(events[0]).toMatchObject({
      shardId: 'shardId-000000000000',
      eventSourceARN: arn,
      isWindowTerminatedEarly: false,
    });
    const finals = events.filter((e) => e.isFinalInvokeForWindow);
    const total = finals.reduce((a, f) => a + Number(f.state.count), 0);
    // The five records may straddle two windows; each window's final invoke carries its state and no records.
    await until(() => m.metrics().recordsDelivered === 5 && m.metrics().shards[0].bufferedRecords === 0, 'all');
    await until(
      () => events.filter((e) => e.isFinalInvokeForWindow).reduce((a, f) => a + Number(f.state.count), 0) === 5,
      'all finals',
    );
    expect(total).toBeGreaterThan(0);
    for (const f of events.filter((e) => e.isFinalInvokeForWindow)) expect(f.Records).toEqual([]);
    // State restarts with each window
    const firstOfWindow = new Map<string, KinesisTumblingWindowEvent>();
    for (const e of events) if (!firstOfWindow.has(e.window.start)) firstOfWindow.set(e.window.start, e);
    for (const e of firstOfWindow.values()) expect(e.state).toEqual({});
  });

  test('tumbling windows: a response without state is a failed invocation and is retried with the previous state', async () => {
    const { name } = await stream();
    await put(name, recs('w', 1));
    const states: unknown[] = [];
    const m = mapping(name, { BatchSize: 10, TumblingWindowInSeconds: 1 }, async (e) => {
      const ev = e as KinesisTumblingWindowEvent;
      states.push({ ...ev.state, final: ev.isFinalInvokeForWindow });
      if (states.length === 1) return { batchItemFailures: [] }; // no state: failure
      return { state: { n: 1 } };
    });
    await m.start();
    await until(() => m.metrics().windowsFinalized === 1, 'window');
    expect(states.slice(0, 3)).toEqual([{ final: false }, { final: false }, { n: 1, final: true }]);
  });

  test('ParallelizationFactor runs concurrent batches per shard, keeping per-partition-key order', async () => {
    const { name } = await stream();
    const keys = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'];
    const input = [0, 1, 2].flatMap((i) => keys.map((k) => ({ key: k, data: `${k}:${i}` })));
    await put(name, input);
    let inflight = 0;
    let maxInflight = 0;
    const order = new Map<string, number[]>();
    const m = mapping(name, { BatchSize: 2, ParallelizationFactor: 3 }, async (e) => {
      inflight++;
      maxInflight = Math.max(maxInflight, inflight);
      await new Promise((r) => setTimeout(r, 100));
      for (const d of dataOf(e as Ev)) {
        const [k, i] = d.split(':');
        order.set(k, [...(order.get(k) ?? []), Number(i)]);
      }
      inflight--;
    });
    await m.start();
    await until(() => m.metrics().recordsDelivered === input.length, 'all records');
    expect(maxInflight).toBeGreaterThan(1);
    for (const k of keys) expect(order.get(k)).toEqual([0, 1, 2]);
    expect(m.metrics().shards[0].checkpoint).toBeDefined();
  });

  test('follows resharding: child shards start after their parent is finished', async () => {
    const { name } = await stream(1);
    await put(name, recs('p', 3, 'x'));
    const log: Array<{ shard: string; data: string }> = [];
    const m = mapping(name, { BatchSize: 10 }, async (e) => {
      await new Promise((r) => setTimeout(r, 50));
      for (const r of (e as Ev).Records) {
        log.push({ shard: r.eventID.split(':')[0], data: Buffer.from(r.kinesis.data, 'base64').toString() });
      }
    });
    await client.send(
      new SplitShardCommand({
        StreamName: name,
        ShardToSplit: 'shardId-000000000000',
        NewStartingHashKey: '170141183460469231731687303715884105728',
      }),
    );
    for (;;) {
      const s = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
      if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await put(
      name,
      ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => ({ key: k, data: `c-${k}` })),
    );
    await m.start();
    await until(() => log.length === 9, '9 records');
    const firstChild = log.findIndex((l) => l.shard !== 'shardId-000000000000');
    expect(log.slice(0, firstChild).map((l) => l.data)).toEqual(['p0', 'p1', 'p2']);
    expect(m.metrics().shards.find((s) => s.shardId === 'shardId-000000000000')!.status).toBe('finished');
    expect(new Set(log.slice(firstChild).map((l) => l.shard)).size).toBeGreaterThanOrEqual(1);
  });

  test('stop() lets the in-flight invocation finish, then resolves with no timers left', async () => {
    const { name } = await stream();
    await put(name, recs('r', 4));
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    let started = 0;
    let finished = 0;
    const m = mapping(name, { BatchSize: 1 }, async () => {
      started++;
      await new Promise((r) => setTimeout(r, 300));
      finished++;
    });
    await m.start();
    await until(() => started === 1, 'first invocation');
    await m.stop();
    expect(finished).toBe(1);
    expect(started).toBe(1);
    expect(m.metrics().shards[0].checkpoint).toBeDefined();
    const timersAfter = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(timersAfter).toBeLessThanOrEqual(timersBefore);
  });

  test('property: every record is delivered (first successful deliveries in order per shard) or sent on-failure', async () => {
    type Action = 'throw' | 'ok' | { fail: number };
    const action = fc.oneof(
      fc.constant<Action>('throw'),
      fc.constant<Action>('ok'),
      fc.integer({ min: 0, max: 9 }).map<Action>((fail) => ({ fail })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 10 }),
        fc.array(action, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 2 }),
        fc.boolean(),
        async (keys, actions, batchSize, retries, bisect) => {
          const { name } = await stream(2);
          const putResult = await putDetailed(
            name,
            keys.map((k, i) => ({ key: k, data: `${i}` })),
          );
          const seqs = putResult.map((r) => r.seq);
          const shardOf = new Map(putResult.map((r) => [r.seq, r.shard]));
          const all = new Set(seqs);
          const delivered = new Map<string, string[]>(); // shard -> first successful deliveries
          const deliveredSet = new Set<string>();
          const failed = new Set<string>();
          let call = 0;
          const m = mapping(
            name,
            {
              BatchSize: batchSize,
              MaximumRetryAttempts: retries,
              BisectBatchOnFunctionError: bisect,
              FunctionResponseTypes: ['ReportBatchItemFailures'],
              DestinationConfig: { OnFailure: { Destination: 'dlq' } },
            },
            async (e) => {
              const rs = (e as Ev).Records;
              const a = actions[call++ % actions.length];
              if (a === 'throw') throw new Error('x');
              const okCount = a === 'ok' ? rs.length : Math.min(a.fail, rs.length);
              for (const r of rs.slice(0, okCount)) {
                const seq = r.kinesis.sequenceNumber;
                const shard = r.eventID.split(':')[0];
                if (!deliveredSet.has(seq)) {
                  deliveredSet.add(seq);
                  delivered.set(shard, [...(delivered.get(shard) ?? []), seq]);
                }
              }
              if (okCount < rs.length)
                return { batchItemFailures: [{ itemIdentifier: rs[okCount].kinesis.sequenceNumber }] };
              return {};
            },
            {
              resolveOnFailure: () => async (rec) => {
                for (const s of seqs) {
                  const b = BigInt(s);
                  const info = rec.KinesisBatchInfo;
                  if (b >= BigInt(info.startSequenceNumber) && b <= BigInt(info.endSequenceNumber)) {
                    // Sequence numbers of different shards interleave: only this shard's records are in the batch.
                    if (shardOf.get(s) === info.shardId) failed.add(s);
                  }
                }
              },
            },
          );
          await m.start();
          try {
            await until(() => [...all].every((s) => deliveredSet.has(s) || failed.has(s)), 'every record accounted');
            await until(() => m.metrics().shards.every((s) => s.bufferedRecords === 0), 'drained');
          } finally {
            await m.stop();
          }
          for (const s of all) expect(deliveredSet.has(s) || failed.has(s)).toBe(true);
          for (const s of failed) expect(deliveredSet.has(s)).toBe(false);
          for (const list of delivered.values()) {
            expect(list).toEqual([...list].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1)));
          }
          expect(m.metrics().recordsRead).toBe(seqs.length);
        },
      ),
      propertyParameters(8),
    );
  });
});
