import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  waitUntilStreamExists,
} from '@aws-sdk/client-kinesis';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { DeadLetterEntry, KinesisDeadLetterSink, SqsDeadLetterSink } from '../../../lambda/shared/dead-letter';
import { LOCAL_AWS, LocalServer, startKinesisLocal, startMotoServer } from '../../support/local-servers';

const entry = (i: number, payload = `{"n":${i}}`): DeadLetterEntry => ({
  reason: 'SCHEMA',
  detail: `record ${i} is bad`,
  stage: 'test',
  payload,
  at: 1764403200000 + i,
  partitionKey: `pk-${i}`,
  sequenceNumber: String(i),
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
    expect(big.payload.length).toBe(200 * 1024);
    expect(bodies.find((b) => b.sequenceNumber === '3')).toEqual(entry(3));
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
    await kinesis.send(new CreateStreamCommand({ StreamName: 'dlq', ShardCount: 1 }));
    await waitUntilStreamExists({ client: kinesis, maxWaitTime: 30 }, { StreamName: 'dlq' });
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

  test('fails loudly when the stream does not exist', async () => {
    const arn = `arn:aws:kinesis:us-east-1:000000000000:stream/missing`;
    await expect(new KinesisDeadLetterSink(kinesis, arn).send([entry(1)])).rejects.toThrow();
  });
});
