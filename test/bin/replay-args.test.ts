import { main } from '../../bin/replay/main';
import { archivePartitions, parseReplayArgs, shardGenerations } from '../../bin/replay';

const now = new Date('2026-11-29T12:00:00Z');
const base = [
  '--from',
  '2026-11-29T08:00:00Z',
  '--source',
  'stream',
  '--source-stream',
  'egress',
  '--target',
  'egress-replay',
];

describe('parseReplayArgs', () => {
  test('reads a stream replay with defaults', () => {
    expect(parseReplayArgs(base, now)).toEqual({
      from: new Date('2026-11-29T08:00:00Z'),
      to: now,
      source: 'stream',
      target: 'egress-replay',
      sourceStream: 'egress',
      archiveBucket: undefined,
      archivePrefix: '',
      endpoint: undefined,
      s3Endpoint: undefined,
      rate: 1000,
      region: undefined,
    });
  });

  test('reads an archive replay with --opt=value forms, ARNs and endpoints', () => {
    const o = parseReplayArgs(
      [
        '--from=2026-11-29T08:00:00Z',
        '--to=2026-11-29T09:30:00.500Z',
        '--source=archive',
        '--archive-bucket=event-archive',
        '--archive-prefix=events',
        '--target=arn:aws:kinesis:eu-west-1:123456789012:stream/replay',
        '--endpoint=http://127.0.0.1:4567',
        '--s3-endpoint=http://127.0.0.1:4568',
        '--rate=250.5',
        '--region=eu-west-1',
      ],
      now,
    );
    expect(o).toMatchObject({
      to: new Date('2026-11-29T09:30:00.500Z'),
      source: 'archive',
      archiveBucket: 'event-archive',
      archivePrefix: 'events/',
      target: 'arn:aws:kinesis:eu-west-1:123456789012:stream/replay',
      endpoint: 'http://127.0.0.1:4567',
      s3Endpoint: 'http://127.0.0.1:4568',
      rate: 250.5,
      region: 'eu-west-1',
    });
  });

  test.each([
    [['--source', 'stream'], /--from is required/],
    [[...base.slice(2), '--from', 'yesterday'], /--from must be an ISO-8601 timestamp such as .*, got "yesterday"/],
    [
      [...base, '--to', '2026-11-29T07:00:00Z'],
      /--to \(2026-11-29T07:00:00.000Z\) must be after --from \(2026-11-29T08:00:00.000Z\)/,
    ],
    [
      ['--from', '2026-11-29T08:00:00Z', '--source', 'kafka', '--target', 't'],
      /--source must be "stream" or "archive", got "kafka"/,
    ],
    [['--from', '2026-11-29T08:00:00Z', '--source', 'stream', '--target', 't'], /--source-stream is required/],
    [[...base.slice(0, 6), '--target', 'bad name!'], /--target must be a Kinesis stream name or ARN, got "bad name!"/],
    [
      [...base.slice(0, 6), '--target', 'arn:aws:kinesis:eu-west-1:123456789012:stream/egress'],
      /--target must differ from --source-stream \(both are "egress"\)/,
    ],
    [[...base, '--archive-bucket', 'b'], /--archive-bucket applies to --source archive/],
    [['--from', '2026-11-29T08:00:00Z', '--source', 'archive', '--target', 't'], /--archive-bucket is required/],
    [
      ['--from', '2026-11-29T08:00:00Z', '--source', 'archive', '--target', 't', '--archive-bucket', 'Bad_Bucket'],
      /--archive-bucket must be an S3 bucket name, got "Bad_Bucket"/,
    ],
    [[...base, '--rate', '0'], /--rate must be a number of records per second in \(0, 1000000\], got "0"/],
    [[...base, '--rate', 'fast'], /got "fast"/],
    [[...base, '--endpoint', 'localhost:4567'], /--endpoint must be an http\(s\) URL, got "localhost:4567"/],
    [[...base, '--region', 'Europe'], /--region must be an AWS region such as eu-west-1, got "Europe"/],
    [[...base, '--speed', '3'], /unknown option --speed/],
    [[...base, '--rate'], /--rate needs a value/],
    [[...base, '--target', 'other'], /--target given twice \("egress-replay" and "other"\)/],
    [['from', 'x'], /unexpected argument "from"/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseReplayArgs(argv, now)).toThrow(message);
  });
});

describe('main', () => {
  test('exits 2 with the reason and the usage for invalid arguments', async () => {
    const err: string[] = [];
    const code = await main([...base, '--rate', '-5'], { out: () => undefined, err: (l) => err.push(l) });
    expect(code).toBe(2);
    expect(err[0]).toBe('replay: --rate must be a number of records per second in (0, 1000000], got "-5"');
    expect(err[1]).toMatch(/^Usage: npm run replay/);
  });

  test('prints the usage for --help and exits 0', async () => {
    const out: string[] = [];
    expect(await main(['--help'], { out: (l) => out.push(l), err: () => undefined })).toBe(0);
    expect(out.join('\n')).toMatch(/--source archive/);
  });
});

describe('archivePartitions', () => {
  test('covers every hour of the range plus one for Firehose buffering, in UTC', () => {
    expect(archivePartitions('events/', new Date('2026-12-31T22:30:00Z'), new Date('2026-12-31T23:10:00Z'))).toEqual([
      'events/year=2026/month=12/day=31/hour=22/',
      'events/year=2026/month=12/day=31/hour=23/',
      'events/year=2027/month=01/day=01/hour=00/',
    ]);
  });
});

describe('shardGenerations', () => {
  test('puts parents before children after splits and merges; unknown parents count as roots', () => {
    const g = shardGenerations([
      { ShardId: 'a' },
      { ShardId: 'b', ParentShardId: 'a' },
      { ShardId: 'c', ParentShardId: 'a' },
      { ShardId: 'd', ParentShardId: 'b', AdjacentParentShardId: 'c' },
      { ShardId: 'e', ParentShardId: 'trimmed-long-ago' },
    ]);
    expect(Object.fromEntries(g)).toEqual({ a: 0, b: 1, c: 1, d: 2, e: 0 });
  });
});
