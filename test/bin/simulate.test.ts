import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { main, parseArgs } from '../../bin/simulate';
import { deaggregate, isAggregated } from '../../lambda/shared/kpl';
import { createLocalStream, LOCAL_AWS, LocalServer, startKinesisLocal } from '../support/local-servers';

describe('simulate CLI arguments', () => {
  test('parses every option', () => {
    expect(
      parseArgs([
        '--devices',
        '1000',
        '--rate=2000',
        '--duration',
        '60',
        '--stream',
        'arn:aws:kinesis:eu-west-1:1:stream/raw',
        '--endpoint',
        'http://127.0.0.1:4567',
        '--region',
        'eu-west-1',
        '--aggregate',
        '--anomaly-rate',
        '0.01',
        '--duplicate-rate',
        '0',
        '--late-rate',
        '0.2',
        '--malformed-rate',
        '0.05',
        '--seed',
        '42',
      ]),
    ).toEqual({
      devices: 1000,
      rate: 2000,
      duration: 60,
      stream: 'arn:aws:kinesis:eu-west-1:1:stream/raw',
      endpoint: 'http://127.0.0.1:4567',
      region: 'eu-west-1',
      aggregate: true,
      anomalyRate: 0.01,
      duplicateRate: 0,
      lateRate: 0.2,
      malformedRate: 0.05,
      seed: 42,
    });
  });

  test.each([
    [['--devices', '10'], /--stream <name\|arn> is required/],
    [['--stream', 's', '--devices', 'many'], /--devices must be an integer in 1..99999, got 'many'/],
    [['--stream', 's', '--rate', '0'], /--rate must be an integer in 1..1000000, got '0'/],
    [['--stream', 's', '--duration', '1.5'], /--duration must be an integer in 1..86400, got '1.5'/],
    [['--stream', 's', '--late-rate', '1.1'], /--late-rate must be a number in \[0, 1\], got '1.1'/],
    [['--stream', 's', '--endpoint', 'localhost:4567'], /--endpoint must be an http\(s\) URL, got 'localhost:4567'/],
    [['--stream', 's', '--speed', '3'], /unknown option '--speed'/],
    [['--stream'], /--stream needs a value/],
    [['--stream', 's', 'extra'], /unexpected argument 'extra'/],
    [['--stream', 's', '--stream', 't'], /--stream given twice \('s' and 't'\)/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });

  test('main prints the error with usage and exits 2 on bad arguments', async () => {
    const err: string[] = [];
    const code = await main(['--stream', 's', '--anomaly-rate', '0.6', '--late-rate', '0.6'], {
      out: () => undefined,
      err: (l) => err.push(l),
    });
    expect(code).toBe(2);
    expect(err[0]).toMatch(/the four rates must sum to at most 1, got 1.2/);
    expect(err[1]).toMatch(/^usage: simulate/);
  });
});

describe('simulate CLI against kinesis-local', () => {
  let server: LocalServer;
  let kinesis: KinesisClient;
  const saved = { ...process.env };

  beforeAll(async () => {
    server = await startKinesisLocal();
    kinesis = new KinesisClient({ ...LOCAL_AWS, endpoint: server.endpoint, requestHandler: new NodeHttpHandler() });
    process.env.AWS_ACCESS_KEY_ID = LOCAL_AWS.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = LOCAL_AWS.credentials.secretAccessKey;
    process.env.AWS_REGION = LOCAL_AWS.region;
  });
  afterAll(async () => {
    process.env = saved;
    kinesis?.destroy();
    await server?.stop();
  });

  const createStream = (name: string) => createLocalStream(kinesis, name, 2);

  async function readAll(arn: string): Promise<string[]> {
    const out: string[] = [];
    for (const shard of (await kinesis.send(new ListShardsCommand({ StreamARN: arn }))).Shards ?? []) {
      let it = (
        await kinesis.send(
          new GetShardIteratorCommand({ StreamARN: arn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
        )
      ).ShardIterator;
      for (;;) {
        const res = await kinesis.send(new GetRecordsCommand({ StreamARN: arn, ShardIterator: it }));
        for (const r of res.Records ?? []) {
          const d = Buffer.from(r.Data!);
          if (isAggregated(d)) out.push(...deaggregate(d).map((u) => u.data.toString('utf8')));
          else out.push(d.toString('utf8'));
        }
        if (!res.Records?.length || !res.NextShardIterator) break;
        it = res.NextShardIterator;
      }
    }
    return out;
  }

  test.each([[false], [true]])(
    'sends every generated record (aggregate=%s) and reads them all back',
    async (aggregate) => {
      const name = `raw-${aggregate}`;
      const arn = await createStream(name);
      const out: string[] = [];
      const code = await main(
        [
          '--devices',
          '20',
          '--rate',
          '150',
          '--duration',
          '2',
          '--stream',
          aggregate ? arn : name,
          '--endpoint',
          server.endpoint,
          '--malformed-rate',
          '0.1',
          '--duplicate-rate',
          '0.1',
          '--seed',
          '5',
          ...(aggregate ? ['--aggregate'] : []),
        ],
        { out: (l) => out.push(l), err: (l) => out.push(l) },
      );
      expect(code).toBe(0);
      expect(out).toContain('[1/2s] generated 150, sent 150, failed 0');
      expect(out[out.length - 1]).toMatch(
        /^done: generated 300, sent 300, failed 0 \(normal \d+, anomaly \d+, duplicate \d+, late \d+, malformed \d+\)$/,
      );
      const read = await readAll(arn);
      expect(read).toHaveLength(300);
      const malformed = Number(/malformed (\d+)/.exec(out[out.length - 1])![1]);
      const parseable = read.filter((t) => {
        try {
          return typeof JSON.parse(t).deviceId === 'string';
        } catch {
          return false;
        }
      });
      expect(read.length - parseable.length).toBeLessThanOrEqual(malformed);
      expect(malformed).toBeGreaterThan(0);
    },
  );

  test('exits 1 and reports the error when Kinesis refuses the records', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      ['--devices', '2', '--rate', '3', '--duration', '1', '--stream', 'no-such-stream', '--endpoint', server.endpoint],
      {
        out: (l) => out.push(l),
        err: (l) => err.push(l),
      },
    );
    expect(code).toBe(1);
    expect(out[out.length - 1]).toMatch(/^done: generated 3, sent 0, failed 3/);
    expect(err[0]).toMatch(/ResourceNotFoundException/);
  });
});
