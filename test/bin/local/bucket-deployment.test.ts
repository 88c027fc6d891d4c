import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { zipSync } from 'fflate';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { AssemblyStack, LocalNames, LocalResolver, readAssembly, resourcesOfType } from '../../../bin/local/assembly';
import { applyBucketDeployments, replaceMarkers } from '../../../bin/local/bucket-deployment';
import { provisionStack } from '../../../bin/local/provision';
import { FlinkCode } from '../../../lib/processing';
import { REFERENCE_DATA_KEY, TimeSeriesAnalyticsStack, referenceData } from '../../../lib/stacks';
import { LOCAL_AWS, LocalServer, startS3rver } from '../../support/local-servers';

// The feature flags of the CLI app, so the template is the one `cdk synth` produces.
const CDK_CONTEXT = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../cdk.json'), 'utf8')).context;

describe('local BucketDeployment (s3rver)', () => {
  let s3rver: LocalServer;
  let client: S3Client;
  const dirs: string[] = [];

  beforeAll(async () => {
    s3rver = await startS3rver();
    client = new S3Client({
      ...LOCAL_AWS,
      endpoint: s3rver.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
  });

  afterAll(async () => {
    client?.destroy();
    await s3rver?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  const tmp = (prefix: string) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    dirs.push(d);
    return d;
  };

  async function text(bucket: string, key: string): Promise<string> {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return got.Body!.transformToString();
  }

  async function provision(stack: AssemblyStack, prefix: string) {
    const names = new LocalNames(stack, prefix);
    const resolver = new LocalResolver(names);
    await provisionStack(stack, names, resolver, { s3: client });
    return { names, resolver };
  }

  test('seeds the reference data of the TimeSeriesAnalytics stack into its reference bucket', async () => {
    const jar = path.join(tmp('tsa-jar-'), 'timeseries-enrichment.jar');
    // An empty zip archive is a valid jar for asset staging; the stack must not need Maven in tests.
    fs.writeFileSync(jar, Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]));
    const outdir = tmp('tsa-assembly-');
    // Bundling is not skipped: the deployment's asset is staged as `cdk synth` stages it.
    const app = new App({ outdir, context: CDK_CONTEXT });
    const tsa = new TimeSeriesAnalyticsStack(app, 'TimeSeriesAnalytics', {
      env: { region: 'eu-west-1' },
      flinkCode: FlinkCode.fromJar(jar),
    });
    app.synth();
    const stack = readAssembly(outdir).find((s) => s.name === tsa.stackName)!;
    const { names } = await provision(stack, 'tsa-');
    const bucketId = resourcesOfType(stack, 'AWS::S3::Bucket')
      .map(([id]) => id)
      .find((id) => id.startsWith('ReferenceData'))!;

    const applied = await applyBucketDeployments(stack, new LocalResolver(names), client);

    const bucket = names.nameOf(bucketId);
    expect(applied).toEqual([expect.objectContaining({ bucket, keys: [REFERENCE_DATA_KEY], pruned: [] })]);
    expect(await text(bucket, REFERENCE_DATA_KEY)).toBe(referenceData(100, 'eu-west-1'));
  });

  test('substitutes Source.data/jsonData markers with local values, under the key prefix, and prunes', async () => {
    const outdir = tmp('deploy-assembly-');
    const zip = path.join(tmp('deploy-zip-'), 'site.zip');
    fs.writeFileSync(zip, zipSync({ 'index.html': Buffer.from('<h1>local</h1>'), 'img/': {} }));
    const app = new App({ outdir });
    const s = new Stack(app, 'Site', { env: { region: 'us-east-1' } });
    const bucket = new s3.Bucket(s, 'Site');
    const stream = new kinesis.Stream(s, 'Events', { shardCount: 1 });
    new s3deploy.BucketDeployment(s, 'Deploy', {
      destinationBucket: bucket,
      destinationKeyPrefix: 'web',
      sources: [
        s3deploy.Source.data('config.txt', `bucket=${bucket.bucketName}\nstream=${stream.streamName}\n`),
        s3deploy.Source.jsonData('nested/config.json', { streamArn: stream.streamArn, quote: 'a"b' }),
        s3deploy.Source.asset(zip),
      ],
      metadata: { owner: 'local' },
      cacheControl: [s3deploy.CacheControl.noCache()],
    });
    app.synth();
    const [stack] = readAssembly(outdir);
    const { names, resolver } = await provision(stack, 'site-');
    const bucketName = names.nameOf(resourcesOfType(stack, 'AWS::S3::Bucket')[0][0]);
    const streamName = names.nameOf(resourcesOfType(stack, 'AWS::Kinesis::Stream')[0][0]);
    await client.send(new PutObjectCommand({ Bucket: bucketName, Key: 'web/stale.txt', Body: 'old' }));
    await client.send(new PutObjectCommand({ Bucket: bucketName, Key: 'other/kept.txt', Body: 'kept' }));

    const [applied] = await applyBucketDeployments(stack, resolver, client);

    expect(applied.keys).toEqual(['web/config.txt', 'web/index.html', 'web/nested/config.json']);
    expect(await text(bucketName, 'web/index.html')).toBe('<h1>local</h1>');
    expect(applied.pruned).toEqual(['web/stale.txt']);
    expect(await text(bucketName, 'web/config.txt')).toBe(`bucket=${bucketName}\nstream=${streamName}\n`);
    expect(JSON.parse(await text(bucketName, 'web/nested/config.json'))).toEqual({
      streamArn: `arn:aws:kinesis:us-east-1:000000000000:stream/${streamName}`,
      quote: 'a"b',
    });
    const head = await client.send(new HeadObjectCommand({ Bucket: bucketName, Key: 'web/nested/config.json' }));
    expect(head.Metadata).toEqual({ owner: 'local' });
    expect(head.CacheControl).toBe('no-cache');
    expect(head.ContentType).toBe('application/json');
    const left = await client.send(new ListObjectsV2Command({ Bucket: bucketName }));
    expect(left.Contents!.map((o) => o.Key).sort()).toEqual([
      'other/kept.txt',
      'web/config.txt',
      'web/index.html',
      'web/nested/config.json',
    ]);
  });

  test('marker encodings follow the handler', () => {
    const m = { '<<marker:0xbaba:0>>': 'x"y\u00e9', '<<marker:0xbaba:1>>': 42 };
    const body = Buffer.from('a=<<marker:0xbaba:0>> b=<<marker:0xbaba:1>>');
    expect(() => replaceMarkers(body, m, {})).toThrow(/must resolve to a string for LITERAL/);
    expect(replaceMarkers(body, m, { jsonEscape: 'true' }).toString()).toBe('a=x\\"y\\u00e9 b=42');
    expect(
      replaceMarkers(body, m, {
        markerEncodings: { '<<marker:0xbaba:0>>': 'JSON_VALUE', '<<marker:0xbaba:1>>': 'JSON_VALUE' },
      }).toString(),
    ).toBe('a="x\\"y\\u00e9" b=42');
  });
});
