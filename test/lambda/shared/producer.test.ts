import * as http from 'http';
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { deaggregate, isAggregated } from '../../../lambda/shared/kpl';
import { hashKeyOf, KinesisProducer, ProducerRecord } from '../../../lambda/shared/producer';
import { createLocalStream, freePort, LOCAL_AWS, LocalServer, startKinesisLocal } from '../../support/local-servers';
import { ConnectionGate } from '../../../bin/local/connection-gate';

function client(endpoint: string): KinesisClient {
  return new KinesisClient({ ...LOCAL_AWS, endpoint, requestHandler: new NodeHttpHandler(), maxAttempts: 1 });
}

const createStream = createLocalStream;

/** Every user record on the stream, de-aggregated, with the shard it landed on. */
async function readAll(
  kinesis: KinesisClient,
  streamArn: string,
): Promise<Array<{ pk: string; data: string; shard: string; aggregated: boolean }>> {
  const out: Array<{ pk: string; data: string; shard: string; aggregated: boolean }> = [];
  const shards = await kinesis.send(new ListShardsCommand({ StreamARN: streamArn }));
  for (const shard of shards.Shards ?? []) {
    let it = (
      await kinesis.send(
        new GetShardIteratorCommand({
          StreamARN: streamArn,
          ShardId: shard.ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    for (;;) {
      const res = await kinesis.send(new GetRecordsCommand({ StreamARN: streamArn, ShardIterator: it, Limit: 10000 }));
      for (const r of res.Records ?? []) {
        const data = Buffer.from(r.Data!);
        if (isAggregated(data)) {
          for (const u of deaggregate(data)) {
            out.push({ pk: u.partitionKey, data: u.data.toString('utf8'), shard: shard.ShardId!, aggregated: true });
          }
        } else out.push({ pk: r.PartitionKey!, data: data.toString('utf8'), shard: shard.ShardId!, aggregated: false });
      }
      if (!res.Records?.length || !res.NextShardIterator) break;
      it = res.NextShardIterator;
    }
  }
  return out;
}

function records(n: number, prefix: string, keys = 50): ProducerRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    partitionKey: `device-${i % keys}`,
    data: JSON.stringify({ id: `${prefix}-${i}`, v: i }),
  }));
}

describe('KinesisProducer against kinesis-local', () => {
  let server: LocalServer;
  let kinesis: KinesisClient;

  beforeAll(async () => {
    server = await startKinesisLocal();
    kinesis = client(server.endpoint);
  });
  afterAll(async () => {
    kinesis?.destroy();
    await server?.stop();
  });

  test('plain records: all 1200 sent, each readable exactly once', async () => {
    const arn = await createStream(kinesis, 'plain', 2);
    const input = records(1200, 'plain');
    const result = await new KinesisProducer({ client: kinesis, streamArn: arn }).send(input);
    expect(result).toEqual({ sent: 1200, failed: [] });
    const read = await readAll(kinesis, arn);
    expect(read.map((r) => JSON.parse(r.data).id).sort()).toEqual(
      input.map((r) => JSON.parse(r.data as string).id).sort(),
    );
    expect(read.every((r) => !r.aggregated)).toBe(true);
  });

  test('aggregated records: far fewer Kinesis records, each user record readable once on its own shard', async () => {
    const arn = await createStream(kinesis, 'aggregated', 4);
    const input = records(3000, 'agg', 200);
    const result = await new KinesisProducer({ client: kinesis, streamName: 'aggregated', aggregate: true }).send(
      input,
    );
    expect(result).toEqual({ sent: 3000, failed: [] });
    const read = await readAll(kinesis, arn);
    expect(read).toHaveLength(3000);
    expect(new Set(read.map((r) => JSON.parse(r.data).id)).size).toBe(3000);
    expect(read.filter((r) => r.aggregated).length).toBeGreaterThan(2900);
    // Each record is on the shard its partition key hashes to, as without aggregation.
    const shards = (await kinesis.send(new ListShardsCommand({ StreamARN: arn }))).Shards!;
    for (const r of read) {
      const h = hashKeyOf({ partitionKey: r.pk });
      const owner = shards.find(
        (s) => h >= BigInt(s.HashKeyRange!.StartingHashKey!) && h <= BigInt(s.HashKeyRange!.EndingHashKey!),
      );
      expect(r.shard).toBe(owner!.ShardId);
    }
    // Per-key order holds.
    const byKey = new Map<string, number[]>();
    for (const r of read) byKey.set(r.pk, [...(byKey.get(r.pk) ?? []), JSON.parse(r.data).v]);
    for (const seq of byKey.values()) expect(seq).toEqual([...seq].sort((a, b) => a - b));
  });

  test('after a reshard the shard map is reloaded, so aggregates go back to one shard per key range', async () => {
    const arn = await createStream(kinesis, 'resharded', 1);
    const producer = new KinesisProducer({ client: kinesis, streamName: 'resharded', aggregate: true });
    expect(await producer.send(records(100, 'before', 20))).toEqual({ sent: 100, failed: [] });
    const [only] = (await kinesis.send(new ListShardsCommand({ StreamARN: arn }))).Shards!;
    await kinesis.send(
      new SplitShardCommand({
        StreamName: 'resharded',
        ShardToSplit: only.ShardId!,
        NewStartingHashKey: (BigInt(2) ** BigInt(127)).toString(),
      }),
    );
    for (;;) {
      const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'resharded' }));
      if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // The first send still uses the cached single-shard map and notices the aggregate landed elsewhere.
    expect(await producer.send(records(100, 'during', 20))).toEqual({ sent: 100, failed: [] });
    expect(await producer.send(records(100, 'after', 20))).toEqual({ sent: 100, failed: [] });
    const shards = (await kinesis.send(new ListShardsCommand({ StreamARN: arn }))).Shards!;
    const open = shards.filter((sh) => !sh.SequenceNumberRange?.EndingSequenceNumber);
    expect(open).toHaveLength(2);
    const after = (await readAll(kinesis, arn)).filter((r) => JSON.parse(r.data).id.startsWith('after-'));
    expect(after).toHaveLength(100);
    for (const r of after) {
      const h = hashKeyOf({ partitionKey: r.pk });
      const owner = open.find(
        (sh) => h >= BigInt(sh.HashKeyRange!.StartingHashKey!) && h <= BigInt(sh.HashKeyRange!.EndingHashKey!),
      );
      expect(r.shard).toBe(owner!.ShardId);
    }
  });

  test('aggregates respect maxAggregateBytes', async () => {
    const arn = await createStream(kinesis, 'small-aggregates', 1);
    const input = Array.from({ length: 100 }, (_, i) => ({ partitionKey: 'k', data: Buffer.alloc(1000, i) }));
    const result = await new KinesisProducer({
      client: kinesis,
      streamArn: arn,
      aggregate: true,
      maxAggregateBytes: 10_000,
    }).send(input);
    expect(result.sent).toBe(100);
    const it = (
      await kinesis.send(
        new GetShardIteratorCommand({
          StreamARN: arn,
          ShardId: 'shardId-000000000000',
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    const res = await kinesis.send(new GetRecordsCommand({ StreamARN: arn, ShardIterator: it }));
    const sizes = res.Records!.map((r) => r.Data!.length + r.PartitionKey!.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10_000);
    const count = (d: Buffer) => (isAggregated(d) ? deaggregate(d).length : 1);
    expect(res.Records!.reduce((n, r) => n + count(Buffer.from(r.Data!)), 0)).toBe(100);
    expect(res.Records!.length).toBeGreaterThanOrEqual(11);
  });

  test('records over the limits are returned as failed, the rest are sent', async () => {
    const arn = await createStream(kinesis, 'limits', 1);
    const input: ProducerRecord[] = [
      { partitionKey: 'ok', data: 'a' },
      { partitionKey: '', data: 'empty key' },
      { partitionKey: 'k'.repeat(257), data: 'long key' },
      { partitionKey: 'big', data: Buffer.alloc(1024 * 1024) },
      { partitionKey: 'ehk', data: 'bad hash key', explicitHashKey: '-1' },
      { partitionKey: 'ok2', data: 'b' },
    ];
    const result = await new KinesisProducer({ client: kinesis, streamArn: arn }).send(input);
    expect(result.sent).toBe(2);
    expect(result.failed.map((f) => [f.record.partitionKey.slice(0, 3), f.errorCode])).toEqual([
      ['', 'ValidationError'],
      ['kkk', 'ValidationError'],
      ['big', 'ValidationError'],
      ['ehk', 'ValidationError'],
    ]);
    expect(result.failed[2].errorMessage).toMatch(/1048579 bytes/);
    expect(result.sent + result.failed.length).toBe(input.length);
  });

  test('a stream that does not exist: every record is returned as failed with the error', async () => {
    const input = records(700, 'missing');
    const result = await new KinesisProducer({ client: kinesis, streamName: 'does-not-exist', baseDelayMs: 1 }).send(
      input,
    );
    expect(result.sent).toBe(0);
    expect(result.failed).toHaveLength(700);
    expect(new Set(result.failed.map((f) => f.errorCode))).toEqual(new Set(['ResourceNotFoundException']));
    expect(result.failed.map((f) => f.record)).toEqual(input);
  });
});

/** A tiny Kinesis JSON-protocol server that fails chosen PutRecords entries, to exercise the retry logic. */
interface FakeKinesis {
  endpoint: string;
  calls: Array<Array<{ PartitionKey: string; Data: string }>>;
  close(): Promise<void>;
}

async function fakeKinesis(
  respond: (entries: Array<{ PartitionKey: string; Data: string }>, call: number) => { status?: number; body: unknown },
): Promise<FakeKinesis> {
  const calls: FakeKinesis['calls'] = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target']);
      if (!target.endsWith('.PutRecords')) {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: 'UnknownOperationException', message: target }));
        return;
      }
      const entries = JSON.parse(body).Records as Array<{ PartitionKey: string; Data: string }>;
      calls.push(entries);
      const out = respond(entries, calls.length);
      res.writeHead(out.status ?? 200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(out.body));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise((r) => srv.close(() => r())),
  };
}

const ok = (i: number) => ({ SequenceNumber: String(1000 + i), ShardId: 'shardId-000000000000' });
const err = (code: string) => ({ ErrorCode: code, ErrorMessage: `${code} for test` });
const text = (d: string) => Buffer.from(d, 'base64').toString('utf8');

describe('KinesisProducer retries (Kinesis JSON protocol server on 127.0.0.1)', () => {
  test('retries only the throttled entries until they succeed', async () => {
    const fake = await fakeKinesis((entries, call) => ({
      body: {
        FailedRecordCount: 0,
        Records: entries.map((_, i) =>
          call === 1 && i % 3 === 0
            ? err('ProvisionedThroughputExceededException')
            : call === 2 && i === 0
              ? err('InternalFailure')
              : ok(i),
        ),
      },
    }));
    try {
      const input = records(10, 'retry');
      const result = await new KinesisProducer({ client: client(fake.endpoint), streamName: 's', baseDelayMs: 1 }).send(
        input,
      );
      expect(result).toEqual({ sent: 10, failed: [] });
      expect(fake.calls.map((c) => c.map((e) => JSON.parse(text(e.Data)).id))).toEqual([
        input.map((r) => JSON.parse(r.data as string).id),
        ['retry-0', 'retry-3', 'retry-6', 'retry-9'],
        ['retry-0'],
      ]);
    } finally {
      await fake.close();
    }
  });

  test('entries still failing after maxAttempts are returned with the last error; others count as sent', async () => {
    const fake = await fakeKinesis((entries) => ({
      body: {
        FailedRecordCount: 1,
        Records: entries.map((e, i) => (JSON.parse(text(e.Data)).v === 4 ? err('InternalFailure') : ok(i))),
      },
    }));
    try {
      const input = records(8, 'stuck');
      const result = await new KinesisProducer({
        client: client(fake.endpoint),
        streamName: 's',
        baseDelayMs: 1,
        maxAttempts: 3,
      }).send(input);
      expect(result.sent).toBe(7);
      expect(result.failed).toEqual([
        { record: input[4], errorCode: 'InternalFailure', errorMessage: 'InternalFailure for test' },
      ]);
      expect(fake.calls.map((c) => c.length)).toEqual([8, 1, 1]);
    } finally {
      await fake.close();
    }
  });

  test('a non-retryable entry error fails that entry at once', async () => {
    const fake = await fakeKinesis((entries) => ({
      body: { Records: entries.map((_, i) => (i === 1 ? err('KMSAccessDeniedException') : ok(i))) },
    }));
    try {
      const input = records(3, 'kms');
      const result = await new KinesisProducer({ client: client(fake.endpoint), streamName: 's', baseDelayMs: 1 }).send(
        input,
      );
      expect(result.sent).toBe(2);
      expect(result.failed.map((f) => [f.record, f.errorCode])).toEqual([[input[1], 'KMSAccessDeniedException']]);
      expect(fake.calls).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });

  test('a server refusing connections for a while: the calls are retried until it is back', async () => {
    const fake = await fakeKinesis((entries) => ({ body: { Records: entries.map((_, i) => ok(i)) } }));
    const port = Number(new URL(fake.endpoint).port);
    const gate = await ConnectionGate.open(await freePort(), port);
    try {
      await gate.shut();
      const sending = new KinesisProducer({
        client: client(`http://127.0.0.1:${gate.frontPort}`),
        streamName: 's',
        baseDelayMs: 100,
        maxAttempts: 8,
      }).send(records(5, 'refused'));
      await new Promise((r) => setTimeout(r, 400));
      await gate.reopen();
      expect(await sending).toEqual({ sent: 5, failed: [] });
      expect(fake.calls.map((c) => c.length)).toEqual([5]);
    } finally {
      await gate.shut();
      await fake.close();
    }
  });

  test('a throttled call is retried as a whole, then succeeds', async () => {
    const fake = await fakeKinesis((entries, call) =>
      call === 1
        ? { status: 400, body: { __type: 'ProvisionedThroughputExceededException', message: 'slow down' } }
        : { body: { Records: entries.map((_, i) => ok(i)) } },
    );
    try {
      const result = await new KinesisProducer({ client: client(fake.endpoint), streamName: 's', baseDelayMs: 1 }).send(
        records(5, 'call'),
      );
      expect(result).toEqual({ sent: 5, failed: [] });
      expect(fake.calls.map((c) => c.length)).toEqual([5, 5]);
    } finally {
      await fake.close();
    }
  });

  test('an aggregate that fails returns every user record in it as failed', async () => {
    const fake = await fakeKinesis(() => ({ status: 400, body: { __type: 'AccessDeniedException', message: 'no' } }));
    try {
      const input = records(40, 'agg-fail', 1);
      const producer = new KinesisProducer({
        client: client(fake.endpoint),
        streamName: 's',
        aggregate: true,
        baseDelayMs: 1,
      });
      const result = await producer.send(input);
      expect(result.sent).toBe(0);
      expect(result.failed.map((f) => f.record)).toEqual(input);
      expect(result.failed[0].errorCode).toBe('AccessDeniedException');
      // One aggregated Kinesis record carried all 40 (the shard map call failed, so grouping fell back to hash keys).
      expect(fake.calls).toEqual([[expect.objectContaining({ PartitionKey: 'device-0' })]]);
    } finally {
      await fake.close();
    }
  });

  test('batches stay within 500 records and 5 MiB per call', async () => {
    const fake = await fakeKinesis((entries) => ({ body: { Records: entries.map((_, i) => ok(i)) } }));
    try {
      const big = Array.from({ length: 20 }, (_, i) => ({ partitionKey: `k${i}`, data: Buffer.alloc(600 * 1024, 1) }));
      const small = records(1001, 'many');
      const producer = new KinesisProducer({ client: client(fake.endpoint), streamName: 's' });
      expect((await producer.send([...big, ...small])).sent).toBe(1021);
      for (const c of fake.calls) {
        expect(c.length).toBeLessThanOrEqual(500);
        expect(
          c.reduce((n, e) => n + Buffer.from(e.Data, 'base64').length + e.PartitionKey.length, 0),
        ).toBeLessThanOrEqual(5 * 1024 * 1024);
      }
      expect(fake.calls.reduce((n, c) => n + c.length, 0)).toBe(1021);
    } finally {
      await fake.close();
    }
  });

  test('rejects bad options with the value received', () => {
    const c = client('http://127.0.0.1:1');
    expect(() => new KinesisProducer({ client: c })).toThrow(
      /exactly one of streamArn and streamName, got streamArn=undefined/,
    );
    expect(() => new KinesisProducer({ client: c, streamName: 's', maxAttempts: 0 })).toThrow(
      /maxAttempts must be a positive integer, got 0/,
    );
    expect(() => new KinesisProducer({ client: c, streamName: 's', maxAggregateBytes: 2_000_000 })).toThrow(
      /at most 1048576, got 2000000/,
    );
  });
});
