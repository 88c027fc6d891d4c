/**
 * `cdk synth` rows: the app's synth as shipped against the old way (aws-cdk-lib's built-in template validation, each
 * function bundled by its own `npx esbuild`, the app run by ts-node), and an app of 10 pipelines against one.
 *
 * Each side is a child process tree (the CDK CLI, the app, esbuild); its CPU time is the user + sys time bash's `times`
 * reports for the children it waited for, so it includes every process the synth started.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BenchMode, BenchRow, Measurement, interleave, summarize } from '../harness';

const ROOT = path.resolve(__dirname, '..', '..');
const CONTEXT_PREFIX = 'cdk-streaming-patterns';
/** What bin/app.ts ran with before: `npx ts-node --transpile-only`, the validation on, `NodejsFunction` bundling. */
const OLD_WAY = {
  app: 'npx ts-node --transpile-only bin/app.ts',
  context: { [`${CONTEXT_PREFIX}:builtinValidation`]: 'true', [`${CONTEXT_PREFIX}:sharedBundling`]: 'false' },
};
const PIPELINES_APP = 'node bin/run-ts.js bench/apps/pipelines.ts';
const JARS = [
  'flink-apps/timeseries-enrichment/target/timeseries-enrichment.jar',
  'flink-apps/stateful-functions/target/stateful-functions.jar',
];

interface Synth {
  /** `--app`, or cdk.json's app when absent. */
  readonly app?: string;
  readonly context?: Record<string, string>;
}

interface Usage {
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
}

/** One `cdk synth --quiet` into a fresh output folder (as `npm run synth` does it), or, in smoke mode, the app alone. */
function synthesize(synth: Synth, mode: BenchMode): Usage {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  try {
    const context = { ...synth.context, ...(mode === 'smoke' ? smokeContext(out) : {}) };
    // Smoke leaves the built-in validation off: it alone costs ~6 s CPU (the WASM engine's compile and rules).
    if (mode === 'smoke') delete context[`${CONTEXT_PREFIX}:builtinValidation`];
    const env: NodeJS.ProcessEnv = { ...process.env, JSII_DEPRECATED: 'quiet', CDK_DISABLE_CLI_TELEMETRY: 'true' };
    let command: string[];
    if (mode === 'full') {
      command = ['npx', 'cdk', 'synth', '--quiet', '-o', path.join(out, 'cdk.out')];
      if (synth.app) command.push('--app', synth.app);
      for (const [key, value] of Object.entries(context)) command.push('-c', `${key}=${value}`);
    } else {
      // Smoke: the app without the CLI and without bundling (the CLI refuses `aws:` context keys), in a few seconds.
      const cdkJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'));
      env.CDK_OUTDIR = path.join(out, 'cdk.out');
      env.CDK_CONTEXT_JSON = JSON.stringify({ ...cdkJson.context, ...context, 'aws:cdk:bundling-stacks': [] });
      command = (synth.app ?? cdkJson.app).split(' ');
    }
    const log = path.join(out, 'synth.log');
    const started = process.hrtime.bigint();
    const result = spawnSync('bash', ['-c', '"$@" >"$SYNTH_LOG" 2>&1; rc=$?; times; exit $rc', 'bash', ...command], {
      cwd: ROOT,
      env: { ...env, SYNTH_LOG: log },
      encoding: 'utf8',
    });
    const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) {
      const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(-30).join('\n') : '';
      throw new Error(`${command.join(' ')} failed (${result.status ?? result.signal}):\n${tail}${result.stderr}`);
    }
    return { cpuSeconds: childCpuSeconds(result.stdout), wallSeconds };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** The children's line of bash's `times` ("0m13.977s 0m1.473s", user then sys), in seconds. */
function childCpuSeconds(timesOutput: string): number {
  const lines = timesOutput.trim().split('\n');
  const parts = lines[lines.length - 1].trim().split(/\s+/);
  const seconds = (v: string): number => {
    const m = /^(\d+)m([\d.]+)s$/.exec(v);
    if (!m) throw new Error(`unexpected output of times: ${timesOutput}`);
    return Number(m[1]) * 60 + Number(m[2]);
  };
  return seconds(parts[0]) + seconds(parts[1]);
}

/** Empty jars in place of the Maven builds, so the smoke run needs no Maven (an empty zip is a valid jar to stage). */
function smokeContext(dir: string): Record<string, string> {
  const jar = path.join(dir, 'empty.jar');
  fs.writeFileSync(jar, Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]));
  return { 'timeseries:flinkCode': jar, 'eventsourced:statefulFunctionsCode': jar };
}

function requireJars(mode: BenchMode): void {
  if (mode === 'smoke') return;
  const missing = JARS.filter((jar) => !fs.existsSync(path.join(ROOT, jar)));
  if (missing.length > 0) {
    throw new Error(
      `synth needs the Flink jars (${missing.join(', ')}): mvn -B -q -f flink-apps/pom.xml -DskipTests install`,
    );
  }
}

/** Interleaved rounds of two synths: CPU and wall seconds per round. */
async function compare(
  subject: Synth,
  baseline: Synth,
  mode: BenchMode,
): Promise<{ subject: Usage[]; baseline: Usage[] }> {
  const runs = { subject: [] as Usage[], baseline: [] as Usage[] };
  // No warm-up: a baseline synth takes ~15 s CPU, and the alternating order shares out any cold-cache round.
  await interleave(
    () => runs.subject.push(synthesize(subject, mode)),
    () => runs.baseline.push(synthesize(baseline, mode)),
    { rounds: mode === 'full' ? 5 : 1, warmup: 0 },
  );
  return runs;
}

const seconds = (values: number[]): string => {
  const s = summarize(values);
  return `${s.median.toFixed(1)} s (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
};

const synthRow: BenchRow = {
  id: 'synth',
  figure: '`cdk synth` of the app',
  baseline:
    'the same synth the old way: aws-cdk-lib built-in validation, one `npx esbuild` per function, ts-node ' +
    `(\`--app "${OLD_WAY.app}" -c ${CONTEXT_PREFIX}:builtinValidation=true -c ${CONTEXT_PREFIX}:sharedBundling=false\`)`,
  target: { op: '<=', value: 0.5 },
  async measure(mode: BenchMode): Promise<Measurement[]> {
    requireJars(mode);
    const runs = await compare({}, OLD_WAY, mode);
    const cpu = { subject: runs.subject.map((r) => r.cpuSeconds), baseline: runs.baseline.map((r) => r.cpuSeconds) };
    const wall = { subject: runs.subject.map((r) => r.wallSeconds), baseline: runs.baseline.map((r) => r.wallSeconds) };
    const notes = [
      `CPU: shipped ${seconds(cpu.subject)}, old way ${seconds(cpu.baseline)}`,
      `wall: shipped ${seconds(wall.subject)}, old way ${seconds(wall.baseline)}`,
      ...(mode === 'smoke'
        ? ['smoke: the app without the CLI and without bundling, Flink jars replaced by empty ones']
        : []),
    ];
    return [
      { variant: 'CPU (user+sys of the process tree)', unit: 's', ...cpu, ratio: 'cost', notes },
      { variant: 'wall', unit: 's', ...wall, ratio: 'cost' },
    ];
  },
};

const synthScaleRow: BenchRow = {
  id: 'synth-scale',
  figure: 'synth, 10 pipelines vs 1',
  baseline: '1 pipeline: the same app (bench/apps/pipelines.ts) with one `TimeSeriesAnalyticsStack`',
  target: { op: '<=', value: 1.5 },
  async measure(mode: BenchMode): Promise<Measurement[]> {
    requireJars(mode);
    const many = mode === 'full' ? 10 : 2;
    const runs = await compare(
      { app: PIPELINES_APP, context: { 'bench:pipelines': String(many) } },
      { app: PIPELINES_APP, context: { 'bench:pipelines': '1' } },
      mode,
    );
    const cpu = { subject: runs.subject.map((r) => r.cpuSeconds), baseline: runs.baseline.map((r) => r.cpuSeconds) };
    const perPipeline = summarize(cpu.subject).median - summarize(cpu.baseline).median;
    return [
      {
        variant: `CPU, ${many} pipelines vs 1`,
        unit: 's',
        ...cpu,
        ratio: 'cost',
        notes: [
          `CPU: ${many} pipelines ${seconds(cpu.subject)}, 1 pipeline ${seconds(cpu.baseline)}`,
          `each further pipeline adds ${(perPipeline / (many - 1)).toFixed(2)} s CPU`,
          `wall: ${many} pipelines ${seconds(runs.subject.map((r) => r.wallSeconds))}, 1 pipeline ${seconds(
            runs.baseline.map((r) => r.wallSeconds),
          )}`,
        ],
      },
    ];
  },
};

export const rows: BenchRow[] = [synthRow, synthScaleRow];
