import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { gzipSync } from 'node:zlib';
import { main } from '../../bin/replay/main';
import { createProjectionHandler, documentClient, ReadModelProjector } from '../../lambda/projection';
import { LOCAL_AWS, LocalServer, startDynalite, startKinesisLocal, startS3rver } from '../support/local-servers';
import { createReadModelTable, deleteReadModelTable, MemoryDeadLetters, scanAll } from '../lambda/projection/support';
import {
  asLambdaEvents,
  createStream,
  EgressRecord,
  exampleEgress,
  readAll,
  ReadRecord,
  sequencesByKey,
} from './event-sourcing-support';

const TABLE = 'read-model';

describe('event-sourced read model: rebuild by replay', () => {
  let kinesis: LocalServer;
  let dynalite: LocalServer;
  let s3rver: LocalServer;
  let kinesisClient: KinesisClient;
  let ddb: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  let s3: S3Client;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    [kinesis, dynalite, s3rver] = await Promise.all([startKinesisLocal(), startDynalite(), startS3rver()]);
    kinesisClient = new KinesisClient({
      ...LOCAL_AWS,
      endpoint: kinesis.endpoint,
      requestHandler: new NodeHttpHandler(),
    });
    ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynalite.endpoint });
    doc = documentClient(ddb);
    s3 = new S3Client({
      region: LOCAL_AWS.region,
      endpoint: s3rver.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
  });

  afterAll(async () => {
    process.env = savedEnv;
    kinesisClient?.destroy();
    ddb?.destroy();
    s3?.destroy();
    await Promise.all([kinesis?.stop(), dynalite?.stop(), s3rver?.stop()]);
  });

  /** Runs the projection handler over records as the event source mapping would, with its own counters. */
  async function project(records: readonly ReadRecord[]) {
    const projector = new ReadModelProjector(doc, TABLE);
    const deadLetters = new MemoryDeadLetters();
    const handler = createProjectionHandler(projector, deadLetters);
    for (const event of asLambdaEvents(records)) {
      expect((await handler(event)).batchItemFailures).toEqual([]);
    }
    return { stats: projector.stats, deadLetters: deadLetters.entries };
  }

  async function putInOrder(stream: string, records: readonly EgressRecord[]) {
    const out = await kinesisClient.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: records.map((r) => ({ PartitionKey: r.partitionKey, Data: Buffer.from(JSON.stringify(r.event)) })),
      }),
    );
    expect(out.FailedRecordCount ?? 0).toBe(0);
  }

  /** The CLI with the local servers' credentials; returns the exit code and what it printed. */
  async function replay(args: string[], progressIntervalMs?: number) {
    const archive = args.some((a) => a.endsWith('archive'));
    process.env.AWS_ACCESS_KEY_ID = archive ? 'S3RVER' : LOCAL_AWS.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = archive ? 'S3RVER' : LOCAL_AWS.credentials.secretAccessKey;
    const out: string[] = [];
    const err: string[] = [];
    const code = await main([...args, '--region', LOCAL_AWS.region], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      deps: progressIntervalMs === undefined ? undefined : { progressIntervalMs },
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  test('a projection wiped and rebuilt from a replay of the egress stream is identical', async () => {
    // GIVEN egress of real function runs on a 2-shard stream, including one record the runtime wrote twice
    const from = new Date(Date.now() - 2000);
    await createStream(kinesisClient, 'egress', 2);
    await createStream(kinesisClient, 'egress-replay', 3);
    const egress = exampleEgress(Date.parse('2026-11-29T08:00:00Z'));
    const duplicate = egress.find((e) => e.event.aggregateId === 'o-1' && e.event.sequence === 2)!;
    await putInOrder('egress', [...egress, duplicate]);

    // AND the projection built from the stream
    await createReadModelTable(ddb, TABLE);
    const source = await readAll(kinesisClient, 'egress');
    expect(source).toHaveLength(egress.length + 1);
    const first = await project(source);
    expect(first.deadLetters).toEqual([]);
    expect(first.stats).toEqual({ applied: egress.length, skipped: 1 });
    const snapshot = await scanAll(doc, TABLE);
    expect(snapshot.map((i) => `${i.pk}/${i.sk}`)).toEqual([
      'inventory/sku-1',
      'inventory/sku-2',
      'inventory/sku-3',
      'order/o-1',
      'order/o-2',
      'order/o-3',
      'order/o-4',
      'order/o-5',
    ]);
    expect(snapshot.find((i) => i.sk === 'o-2')?.view).toMatchObject({
      status: 'cancelled',
      cancelReason: 'stock rejected for sku-3: insufficient stock: requested 2, available 1',
    });
    expect(snapshot.find((i) => i.sk === 'sku-1')?.view).toMatchObject({ available: 5, reserved: 3 });

    // WHEN the table is wiped and the stream replayed into a fresh stream
    await deleteReadModelTable(ddb, TABLE);
    await createReadModelTable(ddb, TABLE);
    expect(await scanAll(doc, TABLE)).toEqual([]);
    const run = await replay([
      '--from',
      from.toISOString(),
      '--source',
      'stream',
      '--source-stream',
      // By ARN, as users usually copy it from the console; the target by name.
      `arn:aws:kinesis:${LOCAL_AWS.region}:${LOCAL_AWS.credentials.accessKeyId}:stream/egress`,
      '--target',
      'egress-replay',
      '--endpoint',
      kinesis.endpoint,
    ]);
    expect(run.err).not.toMatch(/unreadable|failed:/);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(
      new RegExp(
        `replay complete: read ${source.length} records of 8 partition keys, written ${source.length}, failed 0`,
      ),
    );

    // THEN every aggregate keeps its order and the rebuilt projection equals the snapshot
    const replayed = await readAll(kinesisClient, 'egress-replay');
    expect(sequencesByKey(replayed)).toEqual(sequencesByKey(source));
    const rebuilt = await project(replayed);
    expect(rebuilt.stats).toEqual(first.stats);
    expect(rebuilt.deadLetters).toEqual([]);
    expect(await scanAll(doc, TABLE)).toEqual(snapshot);
  });

  test('replay from the Firehose archive keeps the range, the bytes and each aggregate order', async () => {
    // GIVEN ND-JSON objects in hour partitions (one gzip-compressed), with a record after --to
    await s3.send(new CreateBucketCommand({ Bucket: 'event-archive' }));
    const egress = exampleEgress(Date.parse('2026-11-29T08:30:00Z'));
    const lines = egress.map((e) => JSON.stringify(e.event));
    const half = Math.floor(lines.length / 2);
    const late = JSON.stringify({
      ...egress[0].event,
      sequence: 99,
      eventId: 'inventory/sku-1/99',
      occurredAt: Date.parse('2026-11-29T10:30:00Z'),
    });
    const objects: Array<[string, Buffer]> = [
      [
        'events/year=2026/month=11/day=29/hour=08/egress-archive-1-2026-11-29-08-45-00-a',
        Buffer.from(lines.slice(0, half).join('\n') + '\n'),
      ],
      [
        'events/year=2026/month=11/day=29/hour=09/egress-archive-1-2026-11-29-09-01-00-b.gz',
        gzipSync(lines.slice(half).join('\n')),
      ],
      ['events/year=2026/month=11/day=29/hour=10/egress-archive-1-2026-11-29-10-31-00-c', Buffer.from(late + '\n')],
    ];
    for (const [Key, Body] of objects) await s3.send(new PutObjectCommand({ Bucket: 'event-archive', Key, Body }));
    await createStream(kinesisClient, 'archive-replay', 2);

    // WHEN replaying 08:00 .. 09:59
    const run = await replay(
      [
        '--from=2026-11-29T08:00:00Z',
        '--to=2026-11-29T09:59:59Z',
        '--source=archive',
        '--archive-bucket=event-archive',
        '--archive-prefix=events',
        '--target=archive-replay',
        `--endpoint=${kinesis.endpoint}`,
        `--s3-endpoint=${s3rver.endpoint}`,
        '--rate=50',
      ],
      0,
    );

    // THEN exactly the in-range records are written, byte for byte, in each aggregate's order
    expect(run.code).toBe(0);
    expect(run.out).toMatch(
      new RegExp(`read ${lines.length} records of 8 partition keys, written ${lines.length}, failed 0, unreadable 0`),
    );
    // Progress on every step when the interval is 0: reads per object, then writes with rate and ETA.
    expect(run.err).toMatch(/read \d+ records \(events\/year=2026\/month=11\/day=29\/hour=09\/.*\.gz\)/);
    expect(run.err).toMatch(new RegExp(`written ${lines.length}/${lines.length}, failed 0, \\d+ records/s, ETA 0.0s`));
    const replayed = await readAll(kinesisClient, 'archive-replay');
    expect(replayed.map((r) => r.data.toString('utf8')).sort()).toEqual([...lines].sort());
    const expected: Record<string, number[]> = {};
    for (const e of egress) (expected[e.partitionKey] ??= []).push(e.event.sequence);
    expect(sequencesByKey(replayed)).toEqual(expected);
  });

  test('unreadable archive lines are reported and fail the run while the good records are still written', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: 'event-archive',
        Key: 'broken/year=2026/month=11/day=29/hour=08/part-1',
        Body: [
          JSON.stringify({ aggregateId: 'o-9', occurredAt: '2026-11-29T08:10:00Z', type: 'PlaceOrder', payload: {} }),
          '{not json',
          JSON.stringify({ type: 'OrderPlaced', occurredAt: Date.parse('2026-11-29T08:11:00Z') }),
        ].join('\n'),
      }),
    );
    await createStream(kinesisClient, 'broken-replay', 1);
    const run = await replay([
      '--from=2026-11-29T08:00:00Z',
      '--to=2026-11-29T09:00:00Z',
      '--source=archive',
      '--archive-bucket=event-archive',
      '--archive-prefix=broken/',
      '--target=broken-replay',
      `--endpoint=${kinesis.endpoint}`,
      `--s3-endpoint=${s3rver.endpoint}`,
    ]);
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/replay INCOMPLETE: read 1 records of 1 partition keys, written 1, failed 0, unreadable 2/);
    expect(run.err).toMatch(
      /unreadable record s3:\/\/event-archive\/broken\/year=2026\/month=11\/day=29\/hour=08\/part-1:2: not JSON/,
    );
    expect(run.err).toMatch(/part-1:3: aggregateId must be a string of 1..256 chars, got undefined/);
    expect((await readAll(kinesisClient, 'broken-replay')).map((r) => r.partitionKey)).toEqual(['o-9']);
  });

  test('a truncated gzip object is reported by name, the other objects are still replayed, and the run fails', async () => {
    // Regression: the old replay aborted the whole read with `unexpected end of file`, naming no object.
    const hour = 'truncated/year=2026/month=11/day=29/hour=08/';
    const record = (id: string) => JSON.stringify({ aggregateId: id, occurredAt: '2026-11-29T08:10:00Z', type: 'X' });
    const whole = gzipSync(record('o-1') + '\n' + record('o-2') + '\n');
    const objects: Array<[string, Buffer]> = [
      [`${hour}part-1.gz`, whole.subarray(0, whole.length - 5)],
      [`${hour}part-2.gz`, gzipSync(record('o-3') + '\n')],
      [`${hour}part-3`, Buffer.from(record('o-4') + '\n')],
    ];
    for (const [Key, Body] of objects) await s3.send(new PutObjectCommand({ Bucket: 'event-archive', Key, Body }));
    await createStream(kinesisClient, 'truncated-replay', 1);
    const run = await replay([
      '--from=2026-11-29T08:00:00Z',
      '--to=2026-11-29T09:00:00Z',
      '--source=archive',
      '--archive-bucket=event-archive',
      '--archive-prefix=truncated/',
      '--target=truncated-replay',
      `--endpoint=${kinesis.endpoint}`,
      `--s3-endpoint=${s3rver.endpoint}`,
    ]);
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/replay INCOMPLETE: read 2 records of 2 partition keys, written 2, failed 0, unreadable 1/);
    const named = `unreadable object s3://event-archive/${hour}part-1.gz: not a readable gzip object: unexpected end of file`;
    expect(run.out).toContain(named);
    expect(run.err).toContain(named);
    expect((await readAll(kinesisClient, 'truncated-replay')).map((r) => r.partitionKey).sort()).toEqual([
      'o-3',
      'o-4',
    ]);
  });

  test('archive bytes are replayed exactly; a line that is not UTF-8 is unreadable with its location', async () => {
    // Regression: the old replay decoded lines as UTF-8 with replacement and wrote EF BF BD for invalid bytes.
    const exact = Buffer.from(
      ' {"aggregateId":"o-ü","occurredAt":"2026-11-29T08:10:00Z","payload":{"text":"😀\\n\\ud800é"}}\r',
      'utf8',
    );
    const invalid = Buffer.concat([
      Buffer.from('{"aggregateId":"o-2","occurredAt":"2026-11-29T08:10:00Z","payload":"'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}'),
    ]);
    await s3.send(
      new PutObjectCommand({
        Bucket: 'event-archive',
        Key: 'bytes/year=2026/month=11/day=29/hour=08/part-1',
        Body: Buffer.concat([exact, Buffer.from('\n'), invalid, Buffer.from('\n')]),
      }),
    );
    await createStream(kinesisClient, 'bytes-replay', 1);
    const run = await replay([
      '--from=2026-11-29T08:00:00Z',
      '--to=2026-11-29T09:00:00Z',
      '--source=archive',
      '--archive-bucket=event-archive',
      '--archive-prefix=bytes/',
      '--target=bytes-replay',
      `--endpoint=${kinesis.endpoint}`,
      `--s3-endpoint=${s3rver.endpoint}`,
    ]);
    expect(run.code).toBe(1);
    expect(run.err).toContain(
      'unreadable record s3://event-archive/bytes/year=2026/month=11/day=29/hour=08/part-1:2: not UTF-8',
    );
    const written = await readAll(kinesisClient, 'bytes-replay');
    expect(written.map((r) => r.partitionKey)).toEqual(['o-ü']);
    expect(written[0].data.toString('hex')).toBe(exact.toString('hex'));
  });

  test('a missing target stream fails the run with exit code 1 and the service error', async () => {
    const run = await replay([
      '--from=2026-11-29T08:00:00Z',
      '--to=2026-11-29T09:00:00Z',
      '--source=archive',
      '--archive-bucket=event-archive',
      '--archive-prefix=events/',
      '--target=no-such-stream',
      `--endpoint=${kinesis.endpoint}`,
      `--s3-endpoint=${s3rver.endpoint}`,
    ]);
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/replay INCOMPLETE: .* written 0, failed \d+/);
    expect(run.out).toMatch(/ResourceNotFoundException/);
  });
});
