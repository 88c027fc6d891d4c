import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KinesisClient, ListShardsCommand, PutRecordsCommand, UpdateShardCountCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { App, Stack } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import { AssemblyStack, LocalNames, LocalResolver, readAssembly, resourcesOfType } from '../../../bin/local/assembly';
import {
  LocalFirehose,
  deliveryStreamConfig,
  evaluatePrefix,
  formatTimestamp,
  loadParquet,
  parseHiveType,
} from '../../../bin/local/firehose';
import { provisionStack } from '../../../bin/local/provision';
import { ArchiveFormat, S3ArchiveDestination } from '../../../lib/destination';
import { StreamStore } from '../../../lib/storage';
import { LOCAL_AWS, LocalServer, startKinesisLocal, startS3rver } from '../../support/local-servers';

/** A JSON archive and a Parquet archive, each fed by its own two-shard stream. */
function synthesize(): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-firehose-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Archives', { env: { region: 'us-east-1' } });
  const streamProps = { streamMode: kinesis.StreamMode.PROVISIONED, shardCount: 2, createAlarms: false };
  const jsonStream = new StreamStore(stack, 'JsonRaw', streamProps);
  new S3ArchiveDestination(stack, 'Json', {
    stream: jsonStream.stream,
    format: ArchiveFormat.JSON,
    createAlarms: false,
  });
  const parquetStream = new StreamStore(stack, 'ParquetRaw', streamProps);
  new S3ArchiveDestination(stack, 'Parquet', { stream: parquetStream.stream, createAlarms: false });
  app.synth();
  return outdir;
}

const PREFIX =
  /^data\/year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/hour=(\d{2})\/(.+)-1-(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-[0-9a-f-]{36}$/;

describe('local Firehose (kinesis-local + s3rver)', () => {
  let kinesisLocal: LocalServer;
  let s3rver: LocalServer;
  let kinesisClient: KinesisClient;
  let s3: S3Client;
  let outdir: string;
  let stack: AssemblyStack;
  let run = 0;
  const firehoses: LocalFirehose[] = [];

  beforeAll(async () => {
    outdir = synthesize();
    [stack] = readAssembly(outdir);
    [kinesisLocal, s3rver] = await Promise.all([startKinesisLocal(), startS3rver()]);
    kinesisClient = new KinesisClient({
      ...LOCAL_AWS,
      endpoint: kinesisLocal.endpoint,
      requestHandler: new NodeHttpHandler(),
    });
    s3 = new S3Client({
      ...LOCAL_AWS,
      endpoint: s3rver.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
  });

  afterAll(async () => {
    await Promise.all(firehoses.map((f) => f.stop().catch(() => undefined)));
    kinesisClient?.destroy();
    s3?.destroy();
    await Promise.all([kinesisLocal?.stop(), s3rver?.stop()]);
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  /** Fresh streams and buckets (a new name prefix) and the firehose of the archive whose id starts with `id`. */
  async function setUp(id: 'Json' | 'Parquet', options: { bufferIntervalSeconds?: number; bufferSizeBytes?: number }) {
    const names = new LocalNames(stack, `r${++run}-`);
    const resolver = new LocalResolver(names);
    await provisionStack(stack, names, resolver, { kinesis: kinesisClient, s3 });
    const [logicalId, resource] = resourcesOfType(stack, 'AWS::KinesisFirehose::DeliveryStream').find(([l]) =>
      l.startsWith(id),
    )!;
    const config = deliveryStreamConfig(stack, logicalId, resource, resolver);
    const firehose = new LocalFirehose({
      stack,
      logicalId,
      resolver,
      kinesis: kinesisClient,
      s3,
      pollIntervalMs: 50,
      ...options,
    });
    expect(firehose.config).toEqual(config);
    firehoses.push(firehose);
    return { firehose, config };
  }

  async function put(streamName: string, records: string[]): Promise<void> {
    const res = await kinesisClient.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: records.map((r, i) => ({ Data: Buffer.from(r), PartitionKey: `device-${i}` })),
      }),
    );
    expect(res.FailedRecordCount ?? 0).toBe(0);
  }

  async function objects(bucket: string, prefix: string): Promise<Array<{ key: string; body: Buffer }>> {
    const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return Promise.all(
      (list.Contents ?? []).map(async (o) => {
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
        return { key: o.Key!, body: Buffer.from(await got.Body!.transformToByteArray()) };
      }),
    );
  }

  async function until(condition: () => boolean, timeoutMs = 15000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The prefix and suffix times of a key agree and lie within [from, to] (UTC, to the hour / second). */
  function expectKeyTime(key: string, streamName: string, from: number, to: number): void {
    const m = PREFIX.exec(key);
    expect(m).not.toBeNull();
    const [, y, mo, d, h, name, y2, mo2, d2, h2, mi, s] = m!;
    expect(name).toBe(streamName);
    expect([y, mo, d, h]).toEqual([y2, mo2, d2, h2]);
    const t = Date.UTC(+y2, +mo2 - 1, +d2, +h2, +mi, +s);
    expect(t).toBeGreaterThanOrEqual(Math.floor(from / 1000) * 1000 - 1000);
    expect(t).toBeLessThanOrEqual(to);
  }

  test('JSON archive: every record lands once, newline-delimited, under the evaluated prefix (interval flush)', async () => {
    const { firehose, config } = await setUp('Json', { bufferIntervalSeconds: 1 });
    expect(config.delimiter).toBe('\n');
    const input = Array.from({ length: 40 }, (_, i) => JSON.stringify({ eventId: `e${i}`, n: i }));
    const before = Date.now();
    await put(config.streamName, input);
    const after = Date.now();
    await firehose.start();
    // No flush or stop: only the 1 s interval delivers.
    await until(() => firehose.metrics().recordsDelivered === input.length);
    const written = await objects(config.bucket, 'data/');
    expect(written.length).toBe(firehose.metrics().objectsWritten);
    for (const o of written) expectKeyTime(o.key, config.name, before, after);
    const lines = written.flatMap((o) => {
      expect(o.body.toString().endsWith('\n')).toBe(true);
      return o.body.toString().split('\n').slice(0, -1);
    });
    expect(lines.sort()).toEqual([...input].sort());
    const metrics = firehose.metrics();
    expect(metrics.recordsRead).toBe(40);
    expect(Object.keys(metrics.shards)).toHaveLength(2);
    expect(Object.values(metrics.shards).reduce((n, s) => n + s.recordsRead, 0)).toBe(40);
    await firehose.stop();
  });

  test('JSON archive: buffers by size, and stop() writes the rest', async () => {
    const { firehose, config } = await setUp('Json', { bufferIntervalSeconds: 600, bufferSizeBytes: 1000 });
    // 25 records of 100 bytes: 2 objects of 10 records by size, 5 left for stop().
    const input = Array.from({ length: 25 }, (_, i) =>
      JSON.stringify({ i: String(i).padStart(2, '0'), pad: 'x'.repeat(81) }),
    );
    expect(input.every((r) => r.length === 100)).toBe(true);
    await put(config.streamName, input);
    await firehose.start();
    await until(() => firehose.metrics().recordsRead === 25);
    await until(() => firehose.metrics().objectsWritten === 2);
    expect(firehose.metrics().recordsDelivered).toBe(20);
    expect(firehose.metrics().buffered).toBe(5);
    await firehose.stop();
    const written = await objects(config.bucket, 'data/');
    const sizes = written.map((o) => o.body.toString().split('\n').length - 1).sort((a, b) => a - b);
    expect(sizes).toEqual([5, 10, 10]);
    const lines = written.flatMap((o) => o.body.toString().split('\n').slice(0, -1));
    expect(lines.sort()).toEqual([...input].sort());
  });

  test('follows resharding: parents read to their end, then the child shards; every record once', async () => {
    const { firehose, config } = await setUp('Json', { bufferIntervalSeconds: 1 });
    const first = Array.from({ length: 20 }, (_, i) => JSON.stringify({ before: i }));
    const second = Array.from({ length: 20 }, (_, i) => JSON.stringify({ after: i }));
    await put(config.streamName, first);
    await firehose.start();
    await until(() => firehose.metrics().recordsRead === 20);
    await kinesisClient.send(
      new UpdateShardCountCommand({
        StreamName: config.streamName,
        TargetShardCount: 4,
        ScalingType: 'UNIFORM_SCALING',
      }),
    );
    const deadline = Date.now() + 20000;
    for (;;) {
      const shards = await kinesisClient.send(new ListShardsCommand({ StreamName: config.streamName }));
      const open = (shards.Shards ?? []).filter((sh) => !sh.SequenceNumberRange?.EndingSequenceNumber);
      if (open.length === 4) break;
      if (Date.now() > deadline) throw new Error('resharding did not finish');
      await new Promise((r) => setTimeout(r, 200));
    }
    for (;;) {
      try {
        await put(config.streamName, second);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await until(() => firehose.metrics().recordsDelivered === 40, 20000);
    await firehose.stop();
    const shards = firehose.metrics().shards;
    const parents = Object.values(shards).filter((sh) => sh.finished);
    expect(parents.length).toBeGreaterThanOrEqual(2);
    expect(Object.keys(shards).length).toBeGreaterThanOrEqual(6);
    const lines = (await objects(config.bucket, 'data/')).flatMap((o) => o.body.toString().split('\n').slice(0, -1));
    expect(lines.sort()).toEqual([...first, ...second].sort());
  });

  test('Parquet archive: converts by the Glue columns (SNAPPY); malformed records go to the error prefix', async () => {
    const { firehose, config } = await setUp('Parquet', { bufferIntervalSeconds: 600 });
    expect(config.conversion?.columns.map((c) => c.name)).toEqual([
      'eventid',
      'deviceid',
      'ts',
      'metrics',
      'attributes',
    ]);
    const good = Array.from({ length: 20 }, (_, i) => ({
      eventId: `e${i}`,
      deviceId: `device-${i % 3}`,
      timestamp: 1_700_000_000_000 + i,
      metrics: { temperature: 20.5 + i, humidity: i },
      attributes: i % 2 ? { site: 'plant-1' } : undefined,
    }));
    const bad = [
      'not json {',
      JSON.stringify({ eventId: 'b1', deviceId: 'd', timestamp: 'yesterday', metrics: {} }),
      JSON.stringify({ eventId: 'b2', deviceId: 'd', timestamp: 1, metrics: { temperature: 'hot' } }),
    ];
    const before = Date.now();
    await put(config.streamName, [...good.map((g) => JSON.stringify(g)), ...bad]);
    await firehose.start();
    await until(() => firehose.metrics().recordsRead === 23);
    expect(firehose.metrics().objectsWritten).toBe(0);
    await firehose.stop();
    const after = Date.now();

    const data = await objects(config.bucket, 'data/');
    expect(data).toHaveLength(1);
    expectKeyTime(data[0].key, config.name, before, after);
    const { reader } = loadParquet();
    const file = data[0].body.buffer.slice(data[0].body.byteOffset, data[0].body.byteOffset + data[0].body.length);
    const meta = reader.parquetMetadata(file as ArrayBuffer);
    expect(new Set(meta.row_groups[0].columns.map((c) => c.meta_data?.codec))).toEqual(new Set(['SNAPPY']));
    const rows = await reader.parquetReadObjects({ file: file as ArrayBuffer });
    const byId = new Map(rows.map((r) => [r.eventid, r]));
    expect(rows).toHaveLength(20);
    for (const g of good) {
      expect(byId.get(g.eventId)).toEqual({
        eventid: g.eventId,
        deviceid: g.deviceId,
        ts: BigInt(g.timestamp),
        metrics: g.metrics,
        attributes: g.attributes ?? null,
      });
    }

    const errors = await objects(config.bucket, 'errors/');
    expect(errors).toHaveLength(1);
    expect(errors[0].key).toMatch(
      /^errors\/format-conversion-failed\/year=\d{4}\/month=\d{2}\/day=\d{2}\/.+-1-[\d-]+-[0-9a-f-]{36}$/,
    );
    const docs = errors[0].body
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(docs.map((d) => Buffer.from(d.rawData, 'base64').toString()).sort()).toEqual([...bad].sort());
    for (const d of docs) {
      expect(d).toMatchObject({
        attemptsMade: 1,
        ErrorCode: 'DataFormatConversion.MalformedData',
        dataCatalogTable: { tableName: expect.any(String), databaseName: expect.any(String) },
      });
      expect(typeof d.arrivalTimestamp).toBe('number');
      expect(typeof d.sequenceNumber).toBe('string');
    }
    const messages = docs.map((d) => d.ErrorMessage as string).join('\n');
    expect(messages).toMatch(/malformed JSON/);
    expect(messages).toMatch(/ts: cannot convert "yesterday" to bigint/);
    expect(messages).toMatch(/metrics.temperature: cannot convert "hot" to double/);
    expect(firehose.metrics()).toMatchObject({
      recordsRead: 23,
      recordsDelivered: 20,
      conversionFailures: 3,
      objectsWritten: 2,
    });
  });
});

describe('Firehose expressions and types', () => {
  const t = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
  test('timestamps are formatted in UTC with Java DateTimeFormatter letters', () => {
    expect(formatTimestamp('yyyy/MM/dd/HH', t)).toBe('2024/01/02/03');
    expect(formatTimestamp("yyyy-MM-dd'T'HH:mm:ss.SSS", t)).toBe('2024-01-02T03:04:05.678');
    expect(evaluatePrefix('a/!{timestamp:yyyy}/!{firehose:error-output-type}/', t, 'format-conversion-failed')).toBe(
      'a/2024/format-conversion-failed/',
    );
    expect(evaluatePrefix('!{firehose:random-string}/', t)).toMatch(/^[\w-]{11}\/$/);
    expect(() => evaluatePrefix('!{partitionKeyFromQuery:x}/', t)).toThrow(/not supported/);
  });

  test('Hive types parse, nested', () => {
    expect(parseHiveType('map<string,array<struct<a:int,b : string>>>')).toEqual({
      kind: 'map',
      key: { kind: 'primitive', name: 'string' },
      value: {
        kind: 'array',
        element: {
          kind: 'struct',
          fields: [
            { name: 'a', type: { kind: 'primitive', name: 'int' } },
            { name: 'b', type: { kind: 'primitive', name: 'string' } },
          ],
        },
      },
    });
    expect(() => parseHiveType('decimal(10,2)')).toThrow(/not supported/);
  });
});
