import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListShardsCommand,
  MergeShardsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { KinesisStreamRecord, KinesisStreamStateResponse, KinesisStreamTumblingWindowEvent } from 'aws-lambda';
import { DeadLetterEntry } from '../../../lambda/shared/dead-letter';
import { kinesisWindowHandler } from '../../../lambda/shared/window';
import { createCalculatorProcessor, reportLineageUnavailable, STAGE } from '../../../lambda/timeseries-calculator';
import {
  interleaveNewest,
  LineageUnavailable,
  ShardLineage,
  streamArnOf,
} from '../../../lambda/timeseries-calculator/shard-lineage';
import { LatestStateStore, RECENT_EVENT_IDS_KEY_PREFIX } from '../../../lambda/timeseries-calculator/sinks';
import { decodeState } from '../../../lambda/timeseries-calculator/state-codec';
import {
  createLocalStream,
  freePort,
  LOCAL_AWS,
  LocalServer,
  startDynalite,
  startKinesisLocal,
} from '../../support/local-servers';
import { enriched, kinesisRecord, windowEvent } from './events';

const W1 = Date.UTC(2026, 10, 29, 8, 1, 0);
const WINDOW_0 = { start: '2026-11-29T08:00:00Z', end: '2026-11-29T08:01:00Z' };
const WINDOW_1 = { start: '2026-11-29T08:01:00Z', end: '2026-11-29T08:02:00Z' };
const shard = (n: number) => `shardId-${String(n).padStart(12, '0')}`;

describe('time-series calculator: the duplicate memory across a reshard (kinesis-local, dynalite)', () => {
  let kinesisServer: LocalServer;
  let dynalite: LocalServer;
  let kinesis: KinesisClient;
  let ddb: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  /** The ListShards requests `kinesis` sent, in order. */
  const listed: Record<string, unknown>[] = [];

  beforeAll(async () => {
    [kinesisServer, dynalite] = await Promise.all([startKinesisLocal(), startDynalite()]);
    kinesis = new KinesisClient({
      ...LOCAL_AWS,
      endpoint: kinesisServer.endpoint,
      requestHandler: new NodeHttpHandler(),
    });
    kinesis.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ListShardsCommand') listed.push({ ...(args.input as Record<string, unknown>) });
        return next(args);
      },
      { step: 'initialize' },
    );
    ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynalite.endpoint });
    doc = DynamoDBDocumentClient.from(ddb);
  }, 60_000);
  afterAll(async () => {
    kinesis?.destroy();
    ddb?.destroy();
    await Promise.all([kinesisServer?.stop(), dynalite?.stop()]);
  });

  async function table(name: string): Promise<LatestStateStore> {
    await ddb.send(
      new CreateTableCommand({
        TableName: name,
        KeySchema: [{ AttributeName: 'deviceId', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'deviceId', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    while ((await ddb.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus !== 'ACTIVE') {
      await new Promise((r) => setTimeout(r, 50));
    }
    return new LatestStateStore(ddb, name);
  }

  async function active(streamArn: string): Promise<void> {
    for (;;) {
      const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamARN: streamArn }));
      if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Splits the shard at the middle of its hash key range; Kinesis names the children with the next free ids. */
  async function split(streamArn: string, shardId: string): Promise<void> {
    const s = (await kinesis.send(new ListShardsCommand({ StreamARN: streamArn }))).Shards!.find(
      (x) => x.ShardId === shardId,
    )!;
    const mid = (BigInt(s.HashKeyRange!.StartingHashKey!) + BigInt(s.HashKeyRange!.EndingHashKey!)) / 2n;
    await kinesis.send(
      new SplitShardCommand({ StreamARN: streamArn, ShardToSplit: shardId, NewStartingHashKey: String(mid) }),
    );
    await active(streamArn);
  }

  function calculator(
    store: LatestStateStore,
    lineage: ShardLineage | undefined,
    maxRememberedEventIds = 2000,
  ): (event: KinesisStreamTumblingWindowEvent) => Promise<KinesisStreamStateResponse> {
    const deadLetters: DeadLetterEntry[] = [];
    const processor = createCalculatorProcessor(
      { latestState: store, shardLineage: lineage },
      { aggregation: { maxRememberedEventIds } },
    );
    return kinesisWindowHandler(STAGE, processor, { send: async (e) => void deadLetters.push(...e) });
  }

  /** A window event of `shardId` on `streamArn`, with records of device d1 carrying the given event ids. */
  function event(
    streamArn: string,
    shardId: string,
    firstSeq: number,
    eventIds: readonly string[],
    window: { start: string; end: string },
    state?: Record<string, unknown>,
    final = false,
  ): KinesisStreamTumblingWindowEvent {
    const records: KinesisStreamRecord[] = eventIds.map((id, i) => ({
      ...kinesisRecord(firstSeq + i, JSON.stringify(enriched(id, 'd1', { temperature: i + 1 })), 'd1', shardId),
      eventSourceARN: streamArn,
    }));
    // Lambda's window events carry the shard and the stream beside the records; aws-lambda's type lacks them.
    const base = windowEvent(records, state, { ...window, final });
    return { ...base, shardId, eventSourceARN: streamArn } as KinesisStreamTumblingWindowEvent;
  }

  /** One window of a shard: one batch, then the final invoke. Returns the state after the batch. */
  async function runWindow(
    handler: (event: KinesisStreamTumblingWindowEvent) => Promise<KinesisStreamStateResponse>,
    streamArn: string,
    shardId: string,
    firstSeq: number,
    eventIds: readonly string[],
    window: { start: string; end: string },
  ): Promise<KinesisStreamStateResponse> {
    const r = await handler(event(streamArn, shardId, firstSeq, eventIds, window));
    expect(r.batchItemFailures).toEqual([]);
    await handler(event(streamArn, shardId, 0, [], window, r.state, true));
    return r;
  }

  const remembered = async (tableName: string, shardId: string): Promise<string[]> => {
    const item = (
      await doc.send(new GetCommand({ TableName: tableName, Key: { deviceId: RECENT_EVENT_IDS_KEY_PREFIX + shardId } }))
    ).Item;
    return item ? (JSON.parse(item.eventIds as string) as string[]) : [];
  };

  test("split: a producer retry landing in either child of a record from the parent's last window is counted once", async () => {
    const streamArn = await createLocalStream(kinesis, 'split', 1);
    const store = await table('latest-split');
    const handler = calculator(store, new ShardLineage({ client: kinesis }));
    await runWindow(handler, streamArn, shard(0), 1, ['e1', 'e2', 'e3'], WINDOW_0);
    await split(streamArn, shard(0));

    // The retried e3 and e2 land in the two children (their partition keys' halves of the range), with new records.
    const left = await runWindow(handler, streamArn, shard(1), 100, ['e3', 'e4'], WINDOW_1);
    expect(decodeState(left.state!.user as string)).toMatchObject({ applied: 1, duplicates: 1 });
    const right = await runWindow(handler, streamArn, shard(2), 200, ['e5', 'e2'], WINDOW_1);
    expect(decodeState(right.state!.user as string)).toMatchObject({ applied: 1, duplicates: 1 });

    // Counted once in the window's result: e4 in shard 1's part, e5 in shard 2's.
    const latest = (await doc.send(new GetCommand({ TableName: 'latest-split', Key: { deviceId: 'd1' } }))).Item!;
    expect({ windowEnd: latest.windowEnd, count: latest.metrics.temperature.count }).toEqual({
      windowEnd: W1 + 60_000,
      count: 2,
    });
    // Each child now remembers the parent's ids with its own, so its next windows need no lineage.
    expect(await remembered('latest-split', shard(1))).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(await remembered('latest-split', shard(2))).toEqual(['e1', 'e2', 'e3', 'e5']);
  });

  test("merge: the child starts from both parents' ids, at most maxRememberedEventIds, the newest of each", async () => {
    const streamArn = await createLocalStream(kinesis, 'merge', 2);
    const store = await table('latest-merge');
    const handler = calculator(store, new ShardLineage({ client: kinesis }), 4);
    await split(streamArn, shard(0)); // shards 2 and 3, children of 0
    listed.length = 0;
    await runWindow(handler, streamArn, shard(1), 1, ['b1', 'b2', 'b3'], WINDOW_0);
    await runWindow(handler, streamArn, shard(3), 100, ['a1', 'a2', 'a3'], WINDOW_0);
    await kinesis.send(
      new MergeShardsCommand({ StreamARN: streamArn, ShardToMerge: shard(3), AdjacentShardToMerge: shard(1) }),
    );
    await active(streamArn);

    // Shard 4 (parents 3 and 1) keeps a3, b3, a2, b2: a1, the oldest of its parent, is past the bound.
    const child = await runWindow(handler, streamArn, shard(4), 200, ['a3', 'b3', 'b2', 'a1', 'c1'], WINDOW_1);
    expect(decodeState(child.state!.user as string)).toMatchObject({ applied: 2, duplicates: 3 });
    // The child's memory: what it kept of both parents, then its own ids (the parents' order decides the order).
    expect((await remembered('latest-merge', shard(4))).sort()).toEqual(['a1', 'a3', 'b3', 'c1']);
    // One listing when the first new shard (1, then 3: listed already) needed parents; one call for the shards after
    // the newest one known when the merge's child showed up; none for the child's own memory after.
    expect(listed).toEqual([
      { StreamARN: streamArn, MaxResults: 10000 },
      { StreamARN: streamArn, MaxResults: 10000, ShardFilter: { Type: 'AFTER_SHARD_ID', ShardId: shard(3) } },
    ]);
    await runWindow(handler, streamArn, shard(4), 300, ['c2'], {
      start: '2026-11-29T08:02:00Z',
      end: '2026-11-29T08:03:00Z',
    });
    expect(listed).toHaveLength(2);
  });

  test("a transient ListShards error fails the batch for retry; nothing is applied without the parents' ids", async () => {
    const streamArn = await createLocalStream(kinesis, 'transient', 1);
    const store = await table('latest-transient');
    await split(streamArn, shard(0));
    await store.putRecentEventIds(shard(0), W1, ['e1', 'e2']);
    // Nothing listens on the port: connections are refused, as in a network outage.
    const down = new KinesisClient({
      ...LOCAL_AWS,
      endpoint: `http://127.0.0.1:${await freePort()}`,
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
    const unavailable: LineageUnavailable[] = [];
    const failing = calculator(store, new ShardLineage({ client: down, onUnavailable: (i) => unavailable.push(i) }));
    const batch = event(streamArn, shard(1), 1, ['e2', 'e3'], WINDOW_1);
    const failed = await failing(batch);
    expect(failed.batchItemFailures!.map((f) => f.itemIdentifier)).toEqual(
      batch.Records.map((r) => r.kinesis.sequenceNumber),
    );
    expect(decodeState(failed.state!.user as string)).toMatchObject({ applied: 0, duplicates: 0 });
    expect(unavailable).toEqual([]);
    down.destroy();

    // Lambda retries the batch; with ListShards answering, the copy of e2 is recognised.
    const retried = await calculator(store, new ShardLineage({ client: kinesis }))(batch);
    expect(retried.batchItemFailures).toEqual([]);
    expect(decodeState(retried.state!.user as string)).toMatchObject({ applied: 1, duplicates: 1 });
  });

  test('a stream ListShards can never list: reported, and the shard goes on with its own ids', async () => {
    const store = await table('latest-missing');
    const missing = 'arn:aws:kinesis:us-east-1:000000000000:stream/never-created';
    const unavailable: LineageUnavailable[] = [];
    const handler = calculator(store, new ShardLineage({ client: kinesis, onUnavailable: (i) => unavailable.push(i) }));
    const r = await handler(event(missing, shard(1), 1, ['e1', 'e1', 'e2'], WINDOW_1));
    expect(r.batchItemFailures).toEqual([]);
    expect(decodeState(r.state!.user as string)).toMatchObject({ applied: 2, duplicates: 1 });
    expect(unavailable).toEqual([
      {
        streamArn: missing,
        shardId: shard(1),
        reason: expect.stringMatching(/^ListShards failed: ResourceNotFoundException/),
      },
    ]);
  });
});

describe('shard lineage helpers', () => {
  test('an enhanced fan-out consumer ARN names its stream', () => {
    const stream = 'arn:aws:kinesis:eu-west-1:123456789012:stream/enriched';
    expect(streamArnOf(`${stream}/consumer/calculator:1764403200`)).toBe(stream);
    expect(streamArnOf(stream)).toBe(stream);
  });

  test('parents are taken newest id first in turn, without repeats, at most max, returned oldest first', () => {
    expect(
      interleaveNewest(
        [
          ['a1', 'a2', 'a3'],
          ['b1', 'b2'],
        ],
        4,
      ),
    ).toEqual(['b1', 'a2', 'b2', 'a3']);
    expect(
      interleaveNewest(
        [
          ['x', 'a1'],
          ['x', 'b1'],
        ],
        10,
      ),
    ).toEqual(['x', 'b1', 'a1']);
    expect(interleaveNewest([['a1'], []], 10)).toEqual(['a1']);
    expect(interleaveNewest([['a1', 'a2']], 0)).toEqual([]);
  });

  test('an unknown lineage is logged as a warning and published as the ShardLineageUnavailable metric at once', () => {
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    };
    // Warnings go to stderr, metrics (EMF) to stdout.
    const spies = [process.stdout, process.stderr].map((s) => jest.spyOn(s, 'write').mockImplementation(capture));
    try {
      reportLineageUnavailable()({ shardId: shard(7), reason: 'ListShards failed: AccessDeniedException: no' });
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const json = lines
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json).toEqual([
      expect.objectContaining({ level: 'WARN', shardId: shard(7), reason: expect.stringMatching(/AccessDenied/) }),
      expect.objectContaining({ ShardLineageUnavailable: 1 }),
    ]);
  });
});
