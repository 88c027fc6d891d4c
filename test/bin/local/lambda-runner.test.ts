import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Fn, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { assetDirectory, LambdaInvokeError, LambdaRunner } from '../../../bin/local/lambda-runner';
import { createLocalStream, LOCAL_AWS, LocalServer, startKinesisLocal } from '../../support/local-servers';

let outdir: string;
let logicalId: string;
let kinesis: LocalServer;
const runners: LambdaRunner[] = [];

beforeAll(async () => {
  kinesis = await startKinesisLocal();
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'RunnerTest', { env: { account: '111111111111', region: 'us-east-1' } });
  const table = new dynamodb.Table(stack, 'Table', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
  });
  const fn = new nodejs.NodejsFunction(stack, 'Fn', {
    entry: path.join(__dirname, 'fixtures', 'runner-handler.ts'),
    runtime: lambda.Runtime.NODEJS_24_X,
    timeout: Duration.seconds(2),
    memorySize: 256,
    environment: { PLAIN: 'plain', TABLE: table.tableName, JOINED: Fn.join('', ['https://', table.tableName, ':1']) },
    bundling: { forceDockerBundling: false, externalModules: [], format: nodejs.OutputFormat.CJS, target: 'node20' },
  });
  logicalId = stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
  app.synth();
});

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
});

afterAll(async () => {
  await kinesis?.stop();
  if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
});

const resolveAll = (v: unknown): string | undefined => {
  const o = v as Record<string, unknown>;
  if (o.Ref) return 'local-table';
  if (o['Fn::Join']) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => (typeof p === 'string' ? p : resolveAll(p))).join(sep);
  }
  return undefined;
};

function runner(extra: Partial<ConstructorParameters<typeof LambdaRunner>[0]> = {}): LambdaRunner {
  const r = new LambdaRunner({
    assemblyDir: outdir,
    stackName: 'RunnerTest',
    logicalId,
    resolve: resolveAll,
    output: () => undefined,
    ...extra,
  });
  runners.push(r);
  return r;
}

describe('LambdaRunner', () => {
  test('finds the bundled asset through the assets manifest', () => {
    const template = JSON.parse(fs.readFileSync(path.join(outdir, 'RunnerTest.template.json'), 'utf8'));
    const key = template.Resources[logicalId].Properties.Code.S3Key as string;
    const dir = assetDirectory(outdir, 'RunnerTest', key);
    expect(path.basename(dir)).toBe(`asset.${key.replace(/\.zip$/, '')}`);
    expect(fs.existsSync(path.join(dir, 'index.js'))).toBe(true);
  });

  test('runs the handler with the template environment, intrinsics resolved, in its own process', async () => {
    const r = runner({ resolve: resolveAll, functionName: 'fn-local' });
    const env = (await r.invoke({ action: 'env' })) as Record<string, unknown>;
    expect(env).toEqual({
      PLAIN: 'plain',
      TABLE: 'local-table',
      JOINED: 'https://local-table:1',
      AWS_LAMBDA_FUNCTION_NAME: 'fn-local',
      invocations: 1,
    });
    // Warm: the same execution environment serves the next invocation.
    expect(((await r.invoke({ action: 'env' })) as { invocations: number }).invocations).toBe(2);
  });

  test('fails start() when an intrinsic has no local value', async () => {
    const r = runner({ resolve: () => undefined });
    await expect(r.start()).rejects.toThrow(/no local value for TABLE/);
  });

  test('passes a Lambda-like context', async () => {
    const r = runner({ resolve: resolveAll, functionName: 'ctx-fn' });
    const ctx = (await r.invoke({ action: 'context' })) as Record<string, unknown>;
    expect(ctx).toMatchObject({ functionName: 'ctx-fn', memoryLimitInMB: '256' });
    expect(ctx.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ctx.remaining).toBeGreaterThan(1000);
    expect(ctx.remaining).toBeLessThanOrEqual(2000);
  });

  test('returns errors as Lambda does (errorType, errorMessage, trace)', async () => {
    const r = runner({ resolve: resolveAll });
    const err = (await r.invoke({ action: 'throw' }).catch((e) => e)) as LambdaInvokeError;
    expect(err).toBeInstanceOf(LambdaInvokeError);
    expect(err.errorType).toBe('ValidationFailed');
    expect(err.errorMessage).toBe('bad input');
    expect(err.trace.length).toBeGreaterThan(0);
  });

  test('enforces the template Timeout: kills the environment, reports Sandbox.Timedout, and recovers', async () => {
    const r = runner({ resolve: resolveAll });
    const t0 = Date.now();
    const err = (await r.invoke({ action: 'sleep', ms: 10000 }).catch((e) => e)) as LambdaInvokeError;
    expect(err.errorType).toBe('Sandbox.Timedout');
    expect(err.errorMessage).toMatch(/Task timed out after 2.00 seconds/);
    expect(Date.now() - t0).toBeLessThan(5000);
    // A new environment (cold: invocation count restarts) serves the next call.
    expect(((await r.invoke({ action: 'env' })) as { invocations: number }).invocations).toBe(1);
  });

  test('the bundled SDK v3 honours AWS_ENDPOINT_URL_KINESIS (and the shared client speaks HTTP/1.1 to kinesis-local)', async () => {
    const admin = new KinesisClient({
      ...LOCAL_AWS,
      endpoint: kinesis.endpoint,
      requestHandler: new NodeHttpHandler(),
    });
    await createLocalStream(admin, 'runner-stream', 1);
    admin.destroy();
    const r = runner({
      resolve: resolveAll,
      extraEnv: {
        AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint,
        AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
      },
    });
    expect(await r.invoke({ action: 'kinesis' })).toEqual(['runner-stream']);
  });
});
