import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { AssemblyStack, LocalNames, LocalResolver, readAssembly, resourcesOfType } from '../../../bin/local/assembly';
import {
  applyPropertyOverride,
  latestCheckpointIn,
  LocalFlinkApplication,
  localEndpointOverrides,
  templateCheckpointInterval,
} from '../../../bin/local/flink-runner';
import { provisionStack, ProvisionedStack } from '../../../bin/local/provision';
import { FlinkCode } from '../../../lib/processing';
import { referenceData, TimeSeriesAnalyticsStack } from '../../../lib/stacks';
import { LOCAL_AWS, LocalServer, startKinesisLocal, startS3rver } from '../../support/local-servers';

// The real enrichment jar Maven builds (npm test runs Maven before jest), run as a local Flink job against
// kinesis-local and s3rver: records in, enriched and dead-lettered records out, a kill, a restore from the latest
// checkpoint, and no loss and no duplicates beyond the at-least-once Kinesis sink's replay after the restore.
const ROOT = path.resolve(__dirname, '..', '..', '..');
const JAR = path.join(ROOT, 'flink-apps', 'timeseries-enrichment', 'target', 'timeseries-enrichment.jar');
const CDK_CONTEXT = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
const DEVICES = 10;

let outdir: string;
let stack: AssemblyStack;
let kinesisServer: LocalServer;
let s3Server: LocalServer;
let kinesis: KinesisClient;
let s3: S3Client;
let provisioned: ProvisionedStack;
let resolver: LocalResolver;
let appLogicalId: string;
let flink: LocalFlinkApplication | undefined;

beforeAll(async () => {
  if (!fs.existsSync(JAR)) {
    throw new Error(`${JAR} missing: run mvn -B -q -f flink-apps/pom.xml -DskipTests install`);
  }
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'flink-runner-'));
  const app = new App({ outdir, context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  new TimeSeriesAnalyticsStack(app, 'TimeSeriesAnalytics', {
    env: { account: '000000000000', region: 'us-east-1' },
    flinkCode: FlinkCode.fromJar(JAR),
  });
  app.synth();
  [stack] = readAssembly(outdir).filter((s) => s.name === 'TimeSeriesAnalytics');
  [[appLogicalId]] = resourcesOfType(stack, 'AWS::KinesisAnalyticsV2::Application');

  [kinesisServer, s3Server] = await Promise.all([startKinesisLocal(), startS3rver()]);
  kinesis = new KinesisClient({
    ...LOCAL_AWS,
    endpoint: kinesisServer.endpoint,
    requestHandler: new NodeHttpHandler(),
  });
  s3 = new S3Client({ ...LOCAL_AWS, endpoint: s3Server.endpoint, forcePathStyle: true });
  const names = new LocalNames(stack, `fr${Date.now().toString(36)}-`);
  resolver = new LocalResolver(names);
  provisioned = await provisionStack(stack, names, resolver, { kinesis, s3 }, { onDemandShards: 1 });
}, 120000);

afterAll(async () => {
  await flink?.stop();
  kinesis?.destroy();
  s3?.destroy();
  await Promise.all([kinesisServer?.stop(), s3Server?.stop()]);
  if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
});

/** A valid telemetry record (the contract in docs/guarantees.md), timestamped now so it is inside the window. */
function telemetry(eventId: string, device: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      eventId,
      deviceId: `device-${String(device).padStart(5, '0')}`,
      timestamp: Date.now() - 1000,
      metrics: { temperature: 20 + device / 10, humidity: 40 },
      attributes: { fw: '1.2.0' },
    }),
  );
}

async function put(stream: string, records: Array<{ data: Buffer; key: string }>): Promise<void> {
  const out = await kinesis.send(
    new PutRecordsCommand({
      StreamName: stream,
      Records: records.map((r) => ({ Data: r.data, PartitionKey: r.key })),
    }),
  );
  expect(out.FailedRecordCount ?? 0).toBe(0);
}

/** Reads a stream from TRIM_HORIZON on, every shard, keeping its iterators between calls. */
class StreamReader {
  public readonly records: Array<Record<string, unknown>> = [];
  private iterators?: string[];

  constructor(private readonly stream: string) {}

  public async poll(): Promise<void> {
    if (!this.iterators) {
      const shards = await kinesis.send(new ListShardsCommand({ StreamName: this.stream }));
      this.iterators = await Promise.all(
        (shards.Shards ?? []).map(
          async (s) =>
            (
              await kinesis.send(
                new GetShardIteratorCommand({
                  StreamName: this.stream,
                  ShardId: s.ShardId!,
                  ShardIteratorType: 'TRIM_HORIZON',
                }),
              )
            ).ShardIterator!,
        ),
      );
    }
    this.iterators = await Promise.all(
      this.iterators.map(async (iterator) => {
        const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        for (const r of out.Records ?? []) {
          this.records.push(JSON.parse(Buffer.from(r.Data!).toString('utf8')) as Record<string, unknown>);
        }
        return out.NextShardIterator!;
      }),
    );
  }

  /** Polls until `done` holds for the records read so far. */
  public async until(done: (records: Array<Record<string, unknown>>) => boolean, what: string, timeoutMs = 60000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.poll();
      if (done(this.records)) return;
      if (Date.now() > deadline) {
        throw new Error(
          `${what}: not within ${timeoutMs} ms (${this.records.length} records read)\n${flink?.recentOutput()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const streamOf = (prefix: string) => {
  const s = provisioned.streams.find((x) => x.logicalId.startsWith(prefix));
  if (!s) throw new Error(`no stream ${prefix}`);
  return s.name;
};
const ids = (records: Array<Record<string, unknown>>) => records.map((r) => String(r.eventId));
const count = (list: string[], id: string) => list.filter((x) => x === id).length;

test('property groups: resolved from the template, local endpoints added', () => {
  const app = stack.template.Resources[appLogicalId];
  expect(templateCheckpointInterval(app.Properties!)).toBe(60000);
  const groups = applyPropertyOverride(
    [
      { PropertyGroupId: 'KinesisSource', PropertyMap: { 'stream.arn': 'arn:x', 'aws.endpoint': 'old' } },
      { PropertyGroupId: 'Enrichment', PropertyMap: { 'reference.s3.uri': 's3://b/k' } },
      { PropertyGroupId: 'Processing', PropertyMap: { 'dedupe.ttl.minutes': '60' } },
    ],
    localEndpointOverrides({ kinesis: 'http://127.0.0.1:1', s3: 'http://127.0.0.1:2' }),
  );
  expect(groups).toEqual([
    { PropertyGroupId: 'KinesisSource', PropertyMap: { 'stream.arn': 'arn:x', 'aws.endpoint': 'http://127.0.0.1:1' } },
    {
      PropertyGroupId: 'Enrichment',
      PropertyMap: { 'reference.s3.uri': 's3://b/k', 's3.endpoint': 'http://127.0.0.1:2', 's3.path.style': 'true' },
    },
    { PropertyGroupId: 'Processing', PropertyMap: { 'dedupe.ttl.minutes': '60' } },
  ]);
});

test('the enrichment job runs locally, survives a kill and restores from its latest checkpoint', async () => {
  const started = Date.now();
  flink = new LocalFlinkApplication({
    stack,
    logicalId: appLogicalId,
    resolver,
    overrideProperties: localEndpointOverrides({ kinesis: kinesisServer.endpoint, s3: s3Server.endpoint }),
    checkpointIntervalMs: 2000,
  });
  const groups = Object.fromEntries(flink.propertyGroups.map((g) => [g.PropertyGroupId, g.PropertyMap]));
  expect(groups.KinesisSource['stream.arn']).toBe(provisioned.streams.find((s) => s.logicalId.startsWith('Raw'))!.arn);
  expect(groups.KinesisSink['aws.endpoint']).toBe(kinesisServer.endpoint);
  expect(groups.Enrichment['s3.path.style']).toBe('true');
  expect(flink.jar.startsWith(outdir)).toBe(true);

  // The reference data the deployment would copy into its bucket, at the key the Enrichment group names.
  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(groups.Enrichment['reference.s3.uri'])!;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: referenceData(DEVICES, 'us-east-1') }));

  const raw = streamOf('Raw');
  const enriched = new StreamReader(streamOf('Enriched'));
  const deadLetters = new StreamReader(streamOf('DeadLetter'));

  await flink.start();
  const startedJob = Date.now();

  // Batch 1: valid records of known devices and one unknown device, and one malformed record.
  const batch1 = Array.from({ length: 20 }, (_, i) => `b1-${i}`);
  await put(raw, [
    ...batch1.map((id, i) => ({ data: telemetry(id, i === 19 ? 99999 : i % DEVICES), key: id })),
    { data: Buffer.from('{"eventId":"bad-1",'), key: 'bad-1' },
  ]);
  await enriched.until((r) => batch1.every((id) => ids(r).includes(id)), 'batch 1 enriched', 90000);
  const firstOutput = Date.now();
  await deadLetters.until((r) => r.length >= 1, 'the malformed record dead-lettered');
  const known = enriched.records.find((r) => r.eventId === 'b1-3')!;
  expect(known).toMatchObject({ deviceId: 'device-00003', enriched: true, metadata: { region: 'us-east-1' } });
  expect((known.metadata as Record<string, string>).site).toBeDefined();
  expect(enriched.records.find((r) => r.eventId === 'b1-19')).toMatchObject({ enriched: false, metadata: {} });
  expect(deadLetters.records[0]).toMatchObject({ reason: 'MALFORMED_JSON', payload: '{"eventId":"bad-1",' });

  // A checkpoint triggered after batch 1 was out, so its source positions and dedupe state cover batch 1.
  const atOutput = flink.metrics().lastCheckpoint?.id ?? 0;
  const covering = await flink.waitForCheckpoint(atOutput + 1, 30000);

  // Batch 2 goes out after that checkpoint; the kill may come before or after the next one.
  const batch2 = Array.from({ length: 10 }, (_, i) => `b2-${i}`);
  await put(
    raw,
    batch2.map((id, i) => ({ data: telemetry(id, i % DEVICES), key: id })),
  );
  await enriched.until((r) => batch2.every((id) => ids(r).includes(id)), 'batch 2 enriched');
  const beforeKill = flink.metrics();
  expect(beforeKill.running).toBe(true);
  await flink.kill();
  expect(flink.metrics()).toMatchObject({ state: 'killed', running: false, pid: undefined });

  const restoredFrom = await flink.restartFromLatestCheckpoint();
  // The newest on disk: the last one reported, or one the job finished just before the kill.
  expect(restoredFrom).toBe(latestCheckpointIn(flink.checkpointDir));
  const chk = (p: string) => Number(/chk-(\d+)$/.exec(p)![1]);
  expect(chk(restoredFrom!)).toBeGreaterThanOrEqual(chk(flink.completedCheckpoints().at(-1)!.path));
  expect(Number(/chk-(\d+)$/.exec(restoredFrom!)![1])).toBeGreaterThanOrEqual(covering.id);

  // Batch 3: new records, plus a batch 1 event id sent again, which the restored dedupe state must drop.
  const batch3 = Array.from({ length: 10 }, (_, i) => `b3-${i}`);
  await put(raw, [
    ...batch3.map((id, i) => ({ data: telemetry(id, i % DEVICES), key: id })),
    { data: telemetry('b1-0', 0), key: 'b1-0' },
  ]);
  await enriched.until((r) => batch3.every((id) => ids(r).includes(id)), 'batch 3 enriched after the restore');
  const afterRestore = await flink.waitForCheckpoint(undefined, 30000);
  // Whatever the restored job still had to emit is out once a checkpoint after batch 3 is complete and read.
  await enriched.poll();
  await deadLetters.poll();

  const out = ids(enriched.records);
  // Nothing lost: every valid event id is on the enriched stream.
  for (const id of [...batch1, ...batch2, ...batch3]) expect(count(out, id)).toBeGreaterThanOrEqual(1);
  // Exactly once up to the checkpoint restored from: batch 1 (and its resent id) once, its dead letter once.
  for (const id of batch1) expect(count(out, id)).toBe(1);
  expect(deadLetters.records.filter((r) => r.reason === 'MALFORMED_JSON')).toHaveLength(1);
  // After it, the Kinesis sink is at least once: batch 2 may be emitted again by the replay, at most once more.
  const replayed = batch2.filter((id) => count(out, id) === 2);
  for (const id of batch2) expect(count(out, id)).toBeLessThanOrEqual(2);
  // Batch 3 came after the restore: once each; nothing else is on the stream.
  for (const id of batch3) expect(count(out, id)).toBe(1);
  expect(out.every((id) => /^b[123]-\d+$/.test(id))).toBe(true);
  expect(out).toHaveLength(batch1.length + batch2.length + replayed.length + batch3.length);

  const metrics = flink.metrics();
  expect(metrics).toMatchObject({ state: 'running', running: true, failed: false, runs: 2, jobRestarts: 0 });
  expect(metrics.checkpointsCompleted).toBeGreaterThanOrEqual(3);
  // The job keeps checkpointing while the streams are read back: the last one is this run's, at or after afterRestore.
  expect(metrics.lastCheckpoint).toMatchObject({ run: afterRestore.run });
  expect(metrics.lastCheckpoint!.id).toBeGreaterThanOrEqual(afterRestore.id);
  expect(metrics.lastCheckpointDurationMs).toBeGreaterThanOrEqual(0);
  const pid = metrics.pid!;

  await flink.stop();
  expect(flink.metrics()).toMatchObject({ state: 'stopped', running: false, pid: undefined });
  expect(() => process.kill(pid, 0)).toThrow();
  flink = undefined;

  console.log(
    `flink-runner: job submitted ${startedJob - started} ms after start, batch 1 out after ${firstOutput - startedJob} ms; ` +
      `${metrics.checkpointsCompleted} checkpoints (last ${metrics.lastCheckpointDurationMs} ms), ` +
      `restored from ${path.basename(restoredFrom!)} (covering ${covering.id}), ` +
      `${replayed.length} of ${batch2.length} batch 2 records replayed; total ${Date.now() - started} ms`,
  );
}, 240000);
