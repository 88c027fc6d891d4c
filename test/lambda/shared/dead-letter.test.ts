import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as fc from 'fast-check';
import {
  DeadLetterEntry,
  deadLetterPartitionKey,
  fitEntry,
  KinesisDeadLetterSink,
  MAX_SQS_MESSAGE_BYTES,
  payloadKey,
  S3PayloadStore,
  SqsDeadLetterSink,
  sqsBody,
} from '../../../lambda/shared/dead-letter';
import { propertyParameters } from '../../support/property';
import {
  createLocalStream,
  LOCAL_AWS,
  LocalServer,
  startKinesisLocal,
  startMotoServer,
  startS3rver,
} from '../../support/local-servers';

const entry = (i: number, payload = `{"n":${i}}`): DeadLetterEntry => ({
  reason: 'SCHEMA',
  detail: `record ${i} is bad`,
  stage: 'test',
  payload,
  at: 1764403200000 + i,
  partitionKey: `pk-${i}`,
  sequenceNumber: String(i),
});

describe('fitEntry: a dead letter always fits its destination', () => {
  const bytes = (e: unknown) => Buffer.byteLength(JSON.stringify(e), 'utf8');

  test('regression (issue 8, class 4): an entry too large even without its payload is cut, not refused', () => {
    const huge = { ...entry(1), detail: 'field repeated '.repeat(30000), partitionKey: 'k'.repeat(300000) };
    const fitted = fitEntry(huge, MAX_SQS_MESSAGE_BYTES);
    expect(bytes(fitted)).toBeLessThanOrEqual(MAX_SQS_MESSAGE_BYTES);
    expect(fitted).toMatchObject({ truncated: true, reason: 'SCHEMA', sequenceNumber: '1' });
    expect(huge.detail.startsWith(fitted.detail)).toBe(true);
    expect(huge.partitionKey.startsWith(fitted.partitionKey!)).toBe(true);
  });

  test('property: any entry fits any limit of 4 KiB or more; what is kept is a prefix of what was given', () => {
    const field = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 50 }),
      fc.string({ unit: 'binary', minLength: 3000, maxLength: 6000 }),
      fc.nat({ max: 400000 }).map((n) => '\u20ac"\\'.repeat(n / 4)),
    );
    fc.assert(
      fc.property(
        fc.record({ reason: field, detail: field, stage: field, payload: field, partitionKey: field }),
        fc.integer({ min: 4096, max: 1024 * 1024 }),
        (fields, max) => {
          const e: DeadLetterEntry = {
            ...fields,
            at: 1764403200000,
            sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
          };
          const fitted = fitEntry(e, max);
          expect(bytes(fitted)).toBeLessThanOrEqual(max);
          for (const k of ['reason', 'detail', 'stage', 'payload', 'partitionKey'] as const) {
            expect(e[k]!.startsWith(fitted[k]!)).toBe(true);
          }
          expect(fitted.truncated === true).toBe(bytes(e) > max);
          const body = sqsBody(e, max);
          expect(Buffer.byteLength(body, 'utf8')).toBeLessThanOrEqual(max);
        },
      ),
      propertyParameters(60),
    );
  });

  test('SQS bodies carry U+FFFE and U+FFFF as escapes (SQS refuses them raw) and stay within the limit', () => {
    const payload = '\uffff\ufffe'.repeat(100 * 1024);
    const body = sqsBody(entry(1, payload), MAX_SQS_MESSAGE_BYTES);
    expect(body).not.toMatch(/[\ufffe\uffff]/);
    expect(Buffer.byteLength(body, 'utf8')).toBeLessThanOrEqual(MAX_SQS_MESSAGE_BYTES);
    const parsed = JSON.parse(body) as DeadLetterEntry;
    expect(payload.startsWith(parsed.payload)).toBe(true);
    expect(parsed.truncated).toBe(true);
  });

  test("Kinesis partition keys: the record's own up to 256 characters, else a digest, else the reason", () => {
    expect(deadLetterPartitionKey(entry(1))).toBe('pk-1');
    const astral = '\u{1f600}'.repeat(256);
    expect(deadLetterPartitionKey({ ...entry(1), partitionKey: astral })).toBe(astral);
    expect(deadLetterPartitionKey({ ...entry(1), partitionKey: 'k'.repeat(257) })).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(deadLetterPartitionKey({ ...entry(1), partitionKey: '' })).toBe('SCHEMA');
  });
});

describe('SqsDeadLetterSink against moto', () => {
  let moto: LocalServer;
  let sqs: SQSClient;
  let queueUrl: string;

  beforeAll(async () => {
    moto = await startMotoServer();
    sqs = new SQSClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'dlq' }))).QueueUrl!;
  });
  afterAll(async () => {
    sqs?.destroy();
    await moto?.stop();
  });

  test('stores every entry, in batches of ten, and truncates oversized payloads', async () => {
    const sink = new SqsDeadLetterSink(sqs, queueUrl);
    const entries = Array.from({ length: 23 }, (_, i) => entry(i));
    entries.push(entry(23, 'x'.repeat(300 * 1024)));
    await sink.send(entries);
    const bodies: DeadLetterEntry[] = [];
    for (let i = 0; i < 20 && bodies.length < 24; i++) {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
      bodies.push(...(out.Messages ?? []).map((m) => JSON.parse(m.Body!)));
    }
    expect(bodies).toHaveLength(24);
    expect(bodies.map((b) => b.sequenceNumber).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 24 }, (_, i) => String(i)),
    );
    const big = bodies.find((b) => b.sequenceNumber === '23')!;
    expect(big.truncated).toBe(true);
    expect('x'.repeat(300 * 1024).startsWith(big.payload)).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(big), 'utf8')).toBeLessThanOrEqual(MAX_SQS_MESSAGE_BYTES);
    expect(bodies.find((b) => b.sequenceNumber === '3')).toEqual(entry(3));
  });

  test('fits a payload of multi-byte characters into the SQS message size by bytes, not characters', async () => {
    // moto does not enforce SQS size limits, so the stored bodies are measured here. Each batch must also stay
    // within the limit in total, which SQS enforces for SendMessageBatch.
    const sent: number[] = [];
    const recording = new (class extends SQSClient {
      override send(command: never): never {
        const c = command as SendMessageBatchCommand;
        sent.push(c.input.Entries!.reduce((n, e) => n + Buffer.byteLength(e.MessageBody!, 'utf8'), 0));
        return super.send(command) as never;
      }
    })({ ...LOCAL_AWS, endpoint: moto.endpoint });
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: 'dlq-bytes' }))).QueueUrl!;
    const euros = '€'.repeat(200 * 1024); // 600 KiB of UTF-8 in 200 Ki characters
    await new SqsDeadLetterSink(recording, url).send([entry(1, euros), entry(2, euros), entry(3)]);
    recording.destroy();
    const bodies: string[] = [];
    for (let i = 0; i < 20 && bodies.length < 3; i++) {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
      bodies.push(...(out.Messages ?? []).map((m) => m.Body!));
    }
    expect(bodies).toHaveLength(3);
    for (const body of bodies) expect(Buffer.byteLength(body, 'utf8')).toBeLessThanOrEqual(MAX_SQS_MESSAGE_BYTES);
    const parsed = bodies.map((b) => JSON.parse(b) as DeadLetterEntry);
    const first = parsed.find((b) => b.sequenceNumber === '1')!;
    expect(first.truncated).toBe(true);
    expect(euros.startsWith(first.payload)).toBe(true);
    expect(first.payload.length).toBeGreaterThan(80 * 1024);
    expect(parsed.find((b) => b.sequenceNumber === '3')).toEqual(entry(3));
    expect(sent.length).toBeGreaterThanOrEqual(2);
    for (const total of sent) expect(total).toBeLessThanOrEqual(MAX_SQS_MESSAGE_BYTES);
  });

  test('fails loudly when the queue does not exist', async () => {
    const sink = new SqsDeadLetterSink(sqs, `${moto.endpoint}/123456789012/missing`);
    await expect(sink.send([entry(1)])).rejects.toThrow();
  });
});

describe('KinesisDeadLetterSink against kinesis-local', () => {
  let server: LocalServer;
  let kinesis: KinesisClient;

  beforeAll(async () => {
    server = await startKinesisLocal();
    kinesis = new KinesisClient({ ...LOCAL_AWS, endpoint: server.endpoint, requestHandler: new NodeHttpHandler() });
    await createLocalStream(kinesis, 'dlq', 1);
  });
  afterAll(async () => {
    kinesis?.destroy();
    await server?.stop();
  });

  test('writes every entry as JSON', async () => {
    const arn = `arn:aws:kinesis:us-east-1:000000000000:stream/dlq`;
    await new KinesisDeadLetterSink(kinesis, arn).send([entry(1), entry(2), entry(3)]);
    const shards = await kinesis.send(new ListShardsCommand({ StreamName: 'dlq' }));
    const it = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: 'dlq',
        ShardId: shards.Shards![0].ShardId!,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator! }));
    expect(out.Records!.map((r) => JSON.parse(Buffer.from(r.Data!).toString()))).toEqual([
      entry(1),
      entry(2),
      entry(3),
    ]);
  });

  test('fits an entry whose payload exceeds the 1 MiB record limit instead of failing forever', async () => {
    // A 1 MiB record that is not UTF-8 becomes ~1.33 MiB of base64 in the entry: Kinesis refuses it as is.
    await createLocalStream(kinesis, 'dlq-big', 1);
    const payload = Buffer.alloc(1000 * 1024, 0xff).toString('base64');
    const arn = `arn:aws:kinesis:us-east-1:000000000000:stream/dlq-big`;
    await new KinesisDeadLetterSink(kinesis, arn).send([entry(1, payload), entry(2)]);
    const records = await readAll('dlq-big');
    expect(records).toHaveLength(2);
    const [big, small] = records.map((d) => JSON.parse(d.toString('utf8')) as DeadLetterEntry);
    expect(big.truncated).toBe(true);
    expect(big.reason).toBe('SCHEMA');
    expect(payload.startsWith(big.payload)).toBe(true);
    expect(big.payload.length).toBeGreaterThan(1000 * 1024);
    expect(records[0].length + Buffer.byteLength('pk-1')).toBeLessThanOrEqual(1024 * 1024);
    expect(small).toEqual(entry(2));
  });

  async function readAll(stream: string): Promise<Buffer[]> {
    const shards = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
    const it = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: stream,
        ShardId: shards.Shards![0].ShardId!,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator! }));
    return out.Records!.map((r) => Buffer.from(r.Data!));
  }

  test('regression (issue 8, class 4): a dead letter whose partition key is over 256 characters is stored', async () => {
    await createLocalStream(kinesis, 'dlq-long-key', 1);
    const arn = `arn:aws:kinesis:us-east-1:000000000000:stream/dlq-long-key`;
    const long = { ...entry(1), partitionKey: 'kpl-key-'.repeat(100) };
    await new KinesisDeadLetterSink(kinesis, arn).send([long]);
    const [stored] = await readAll('dlq-long-key');
    expect(JSON.parse(stored.toString('utf8'))).toEqual(long);
  });

  test('fails loudly when the stream does not exist', async () => {
    const arn = `arn:aws:kinesis:us-east-1:000000000000:stream/missing`;
    await expect(new KinesisDeadLetterSink(kinesis, arn).send([entry(1)])).rejects.toThrow();
  });
});

describe('dead letters too large for their sink are kept in full in S3 (s3rver, moto)', () => {
  let moto: LocalServer;
  let s3rver: LocalServer;
  let sqs: SQSClient;
  let s3: S3Client;
  beforeAll(async () => {
    [moto, s3rver] = await Promise.all([startMotoServer(), startS3rver()]);
    sqs = new SQSClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
    s3 = new S3Client({
      region: 'us-east-1',
      endpoint: s3rver.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'dead-letter-payloads' }));
  });
  afterAll(async () => {
    sqs?.destroy();
    s3?.destroy();
    await Promise.all([moto?.stop(), s3rver?.stop()]);
  });

  test('the queue gets the cut entry with a pointer; the object holds the complete entry; small ones stay inline', async () => {
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: 'dlq-spill' }))).QueueUrl!;
    const store = new S3PayloadStore('dead-letter-payloads', { client: s3 });
    const big = { ...entry(1, 'x'.repeat(400 * 1024)), shardId: 'shardId-000000000001', subSequenceNumber: 3 };
    // Sent twice, as a retry would: the same object is overwritten, not duplicated.
    await new SqsDeadLetterSink(sqs, url, { payloads: store }).send([big, entry(2)]);
    await new SqsDeadLetterSink(sqs, url, { payloads: store }).send([big]);
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    const bodies = (out.Messages ?? []).map((m) => JSON.parse(m.Body!) as DeadLetterEntry);
    const cut = bodies.find((b) => b.sequenceNumber === '1')!;
    expect(cut).toMatchObject({
      truncated: true,
      payloadRef: `s3://dead-letter-payloads/dead-letters/${payloadKey(big)}`,
    });
    expect(bodies.find((b) => b.sequenceNumber === '2')).toEqual(entry(2));
    const key = cut.payloadRef!.replace('s3://dead-letter-payloads/', '');
    const object = await s3.send(new GetObjectCommand({ Bucket: 'dead-letter-payloads', Key: key }));
    expect(JSON.parse(await object.Body!.transformToString('utf8'))).toEqual(big);
  });
});
