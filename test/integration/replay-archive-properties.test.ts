import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import * as fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { runReplay } from '../../bin/replay';
import { propertyParameters } from '../support/property';
import { createLocalStream, LOCAL_AWS, LocalServer, startKinesisLocal, startS3rver } from '../support/local-servers';

/**
 * Property: whatever the archive holds (records with arbitrary string payloads, lines of arbitrary bytes that are
 * not UTF-8, blank lines, gzip and plain objects, truncated gzip objects), a replay into kinesis-local writes exactly
 * the valid records, byte for byte and in each partition key's archive order, and reports every bad line by
 * `s3://bucket/key:line` and every truncated object by `s3://bucket/key`.
 */
const BUCKET = 'prop-archive';
const TARGET = 'prop-replay';
const HOUR = 'year=2026/month=11/day=29/hour=08/';
const AT = Date.parse('2026-11-29T08:30:00Z');

type Line =
  | { readonly kind: 'record'; readonly key: string; readonly bytes: Buffer }
  | { readonly kind: 'bad'; readonly bytes: Buffer }
  | { readonly kind: 'blank'; readonly bytes: Buffer };

const noNewline = (bytes: Uint8Array) => Buffer.from(bytes.filter((b) => b !== 0x0a));

const recordLine: fc.Arbitrary<Line> = fc
  .record({
    key: fc.constantFrom('k-1', 'k-2', 'constructor', '__proto__', 'k-ü😀'),
    // Any string: raw astral characters, lone surrogates (JSON.stringify escapes them), "\n" (escaped in JSON).
    text: fc.string({ unit: 'binary', maxLength: 40 }),
    value: fc.jsonValue({ maxDepth: 3 }),
    offset: fc.integer({ min: 0, max: 59 * 60_000 }),
    // Bytes around the object that JSON allows: they are part of the record and must be replayed too.
    before: fc.constantFrom('', ' ', '\t'),
    after: fc.constantFrom('', ' ', '\r'),
  })
  .map(({ key, text, value, offset, before, after }) => ({
    kind: 'record' as const,
    key,
    bytes: Buffer.from(
      before + JSON.stringify({ aggregateId: key, occurredAt: AT + offset, payload: { text, value } }) + after,
      'utf8',
    ),
  }));

const badLine: fc.Arbitrary<Line> = fc.oneof(
  // Arbitrary bytes behind an 0xFF, which never occurs in UTF-8.
  fc
    .uint8Array({ maxLength: 40 })
    .map((b) => ({ kind: 'bad' as const, bytes: Buffer.concat([Buffer.from([0xff]), noNewline(b)]) })),
  // A valid record but for one invalid sequence inside a string (lone continuation, overlong, CESU-8 surrogate).
  fc.constantFrom([0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xc3, 0x28]).map((seq) => ({
    kind: 'bad' as const,
    bytes: Buffer.concat([
      Buffer.from(`{"aggregateId":"k-1","occurredAt":${AT},"payload":"`),
      Buffer.from(seq),
      Buffer.from('"}'),
    ]),
  })),
  // Arbitrary UTF-8 text that is not a record.
  fc.string({ maxLength: 30 }).map((s) => ({ kind: 'bad' as const, bytes: Buffer.from(`#${s.replace(/\n/g, '')}`) })),
);

const blankLine: fc.Arbitrary<Line> = fc
  .constantFrom('', ' ', '\r')
  .map((s) => ({ kind: 'blank' as const, bytes: Buffer.from(s) }));

const archiveObject = fc.record({
  lines: fc.array(
    fc.oneof(
      { weight: 6, arbitrary: recordLine },
      { weight: 2, arbitrary: badLine },
      { weight: 1, arbitrary: blankLine },
    ),
    {
      maxLength: 8,
    },
  ),
  encoding: fc.constantFrom('plain', 'gzip', 'truncated'),
  finalNewline: fc.boolean(),
  cut: fc.double({ min: 0, max: 1, noNaN: true }),
});

describe('replay from an archive (property, s3rver + kinesis-local)', () => {
  let kinesis: LocalServer;
  let s3rver: LocalServer;
  let kinesisClient: KinesisClient;
  let s3: S3Client;
  let shardId: string;
  let lastSequence: string | undefined;
  let run = 0;

  beforeAll(async () => {
    [kinesis, s3rver] = await Promise.all([startKinesisLocal(), startS3rver()]);
    kinesisClient = new KinesisClient({
      ...LOCAL_AWS,
      endpoint: kinesis.endpoint,
      requestHandler: new NodeHttpHandler(),
    });
    s3 = new S3Client({
      region: LOCAL_AWS.region,
      endpoint: s3rver.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await createLocalStream(kinesisClient, TARGET, 1);
    shardId = ((await kinesisClient.send(new ListShardsCommand({ StreamName: TARGET }))).Shards ?? [])[0].ShardId!;
  }, 60_000);

  afterAll(async () => {
    kinesisClient?.destroy();
    s3?.destroy();
    await Promise.all([kinesis?.stop(), s3rver?.stop()]);
  });

  /** Records written to the target since the previous call, in shard order. */
  async function newRecords(): Promise<Array<{ key: string; data: Buffer }>> {
    let iterator = (
      await kinesisClient.send(
        new GetShardIteratorCommand({
          StreamName: TARGET,
          ShardId: shardId,
          ...(lastSequence
            ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: lastSequence }
            : { ShardIteratorType: 'TRIM_HORIZON' }),
        }),
      )
    ).ShardIterator;
    const out: Array<{ key: string; data: Buffer }> = [];
    while (iterator) {
      const res = await kinesisClient.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      for (const r of res.Records ?? []) {
        out.push({ key: r.PartitionKey!, data: Buffer.from(r.Data ?? new Uint8Array()) });
        lastSequence = r.SequenceNumber;
      }
      if ((res.Records ?? []).length === 0) break;
      iterator = res.NextShardIterator;
    }
    return out;
  }

  test('valid records replay byte-exact in per-key order; every bad line and truncated object is named', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(archiveObject, { minLength: 1, maxLength: 4 }), async (objects) => {
        run += 1;
        const prefix = `run-${run}/`;
        const expected = new Map<string, string[]>();
        const expectedProblems: string[] = [];
        for (const [i, o] of objects.entries()) {
          const key = `${prefix}${HOUR}part-${String(i).padStart(2, '0')}${o.encoding === 'plain' ? '' : '.gz'}`;
          const text = Buffer.concat(o.lines.flatMap((l, n) => (n === 0 ? [l.bytes] : [Buffer.from('\n'), l.bytes])));
          const plain = o.finalNewline ? Buffer.concat([text, Buffer.from('\n')]) : text;
          let body: Buffer = plain;
          if (o.encoding !== 'plain') body = gzipSync(plain);
          if (o.encoding === 'truncated') body = body.subarray(0, 2 + Math.floor(o.cut * (body.length - 3)));
          await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
          if (o.encoding === 'truncated') {
            expectedProblems.push(`s3://${BUCKET}/${key}`);
            continue;
          }
          o.lines.forEach((l, n) => {
            if (l.kind === 'bad') expectedProblems.push(`s3://${BUCKET}/${key}:${n + 1}`);
            if (l.kind === 'record') {
              const list = expected.get(l.key) ?? [];
              list.push(l.bytes.toString('hex'));
              expected.set(l.key, list);
            }
          });
        }

        const summary = await runReplay(
          {
            from: new Date(AT),
            to: new Date(AT + 3600_000),
            source: 'archive',
            target: TARGET,
            archiveBucket: BUCKET,
            archivePrefix: prefix,
            rate: 10_000,
          },
          { kinesis: kinesisClient, s3 },
        );

        const actual = new Map<string, string[]>();
        for (const r of await newRecords()) actual.set(r.key, [...(actual.get(r.key) ?? []), r.data.toString('hex')]);
        expect(actual).toEqual(expected);
        expect(summary.problems.map((p) => p.where)).toEqual(expectedProblems);
        expect(summary.unreadable).toBe(expectedProblems.length);
        for (const p of summary.problems) {
          if (p.kind === 'object') expect(p.reason).toMatch(/^not a readable gzip object: /);
          else expect(p.reason).toMatch(/^(not UTF-8|not JSON|not a JSON object|aggregateId|occurredAt)/);
        }
        expect(summary.failed).toBe(0);
      }),
      propertyParameters(50),
    );
  }, 120_000);
});
