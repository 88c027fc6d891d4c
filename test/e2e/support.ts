import * as fs from 'fs';
import * as path from 'path';
import { PassThrough } from 'stream';
import { App } from 'aws-cdk-lib';
import { LocalRunOptions } from '../../bin/local/run';
import { applyNagChecks } from '../../bin/nag';
import { FlinkCode } from '../../lib/processing';
import { EventSourcedMicroservicesStack, TimeSeriesAnalyticsStack } from '../../lib/stacks';

const ROOT = path.resolve(__dirname, '..', '..');
const CDK_CONTEXT = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;

/**
 * Synthesizes the app's two stacks as `cdk synth` does (cdk.json context, cdk-nag, bundled Lambdas, the Flink jars
 * Maven built) into `outdir`: the end-to-end tests run what would be deployed.
 */
export function synthesizeApp(outdir: string): string {
  const app = new App({ outdir, context: CDK_CONTEXT });
  new TimeSeriesAnalyticsStack(app, 'TimeSeriesAnalytics', {
    env: { region: 'us-east-1' },
    flinkCode: FlinkCode.fromMavenModule('timeseries-enrichment'),
  });
  new EventSourcedMicroservicesStack(app, 'EventSourcedMicroservices', {
    env: { region: 'us-east-1' },
    statefulFunctionsCode: FlinkCode.fromMavenModule('stateful-functions'),
  });
  applyNagChecks(app);
  app.synth();
  return outdir;
}

/** Options of a short local run: small rates, a short window, frequent checkpoints; output kept for the test. */
export function shortRun(
  assemblyDir: string,
  overrides: Partial<LocalRunOptions> = {},
): LocalRunOptions & {
  output: () => string;
} {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return {
    stacks: ['timeseries'],
    durationSeconds: 15,
    rate: 20,
    devices: 10,
    badRecordRate: 0.02,
    anomalyRate: 0.02,
    aggregate: false,
    shards: 2,
    seed: 7,
    windowSeconds: 5,
    checkpointIntervalMs: 2000,
    drainTimeoutSeconds: 150,
    assemblyDir,
    keep: true,
    out,
    isTTY: false,
    output: () => text,
    ...overrides,
  };
}
