import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readAssembly, AssemblyStack } from './assembly';
import { LocalEnvironment } from './environment';
import { LocalEventSourced } from './eventsourced';
import { LiveView } from './report/live-view';
import { Recorder, RunReport, StackName } from './report/model';
import { LocalTimeSeries, TRACKED_METRIC } from './timeseries';

/** How long nothing may move before a drained run counts as settled. */
const QUIET_MS = 4000;

/** The devices whose raw metric, windows and anomalies the report draws. */
const TRACKED_DEVICES = ['device-00001', 'device-00002', 'device-00003'];

/** What `npm run local` runs; the CLI's flags map onto this one to one. */
export interface LocalRunOptions {
  readonly stacks: readonly StackName[];
  readonly durationSeconds: number;
  /** Records (time-series) or commands (event-sourced) per second. */
  readonly rate: number;
  readonly devices: number;
  readonly badRecordRate: number;
  readonly anomalyRate: number;
  readonly aggregate: boolean;
  readonly shards: number;
  readonly seed: number;
  /** The calculator's tumbling window in the local run (the template's 60 s would end no window in a short run). */
  readonly windowSeconds: number;
  readonly checkpointIntervalMs: number;
  /** How long to wait after the load for every record to be accounted for. */
  readonly drainTimeoutSeconds: number;
  readonly assemblyDir: string;
  /** Keeps the servers running after the run, until `keepUntil` resolves. */
  readonly keep: boolean;
  readonly out: NodeJS.WritableStream;
  readonly isTTY: boolean;
  /** Diagnostic lines (function logs, Flink output); default: a log file in the run's work directory. */
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** Fault injection for tests: the calculator fails every invocation holding a record this accepts. */
  readonly poison?: (eventId: string) => boolean;
  /** Fault injection for tests: the functions API answers these calls with a fault instead of the function. */
  readonly functionFault?: (call: number) => 'error' | 'timeout' | undefined;
  /** Runs while the load is produced (fault tests kill and restart parts here). */
  readonly during?: (run: { pipelines: LocalRunResult['pipelines']; environment: LocalEnvironment }) => Promise<void>;
}

export interface LocalRunResult {
  readonly report: RunReport;
  /** Every stack's records accounted for. */
  readonly conserved: boolean;
  readonly workDir: string;
  readonly environment?: LocalEnvironment;
  readonly pipelines: { timeseries?: LocalTimeSeries; eventsourced?: LocalEventSourced };
}

const STACK_NAMES: Record<StackName, string> = {
  timeseries: 'TimeSeriesAnalytics',
  eventsourced: 'EventSourcedMicroservices',
};

/** Finds the synthesized stack of an architecture in the assembly. */
export function assemblyStack(stacks: readonly AssemblyStack[], name: StackName): AssemblyStack {
  const found = stacks.find((s) => s.name === STACK_NAMES[name]);
  if (!found) {
    throw new Error(`the assembly has no ${STACK_NAMES[name]} stack (has ${stacks.map((s) => s.name).join(', ')})`);
  }
  return found;
}

/**
 * Runs the chosen architectures on local servers: creates their resources from the assembly, starts every stage,
 * plays the load for the duration, waits until every record is accounted for (or the drain timeout), and returns the
 * run's report. Everything it started is stopped before it returns, unless `keep` is set (then the caller stops the
 * returned environment and pipelines).
 */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const stacks = readAssembly(options.assemblyDir);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-run-'));
  const logFile = fs.createWriteStream(path.join(workDir, 'run.log'));
  const log = options.log ?? ((line: string) => logFile.write(`${new Date().toISOString()} ${line}\n`));
  const runPrefix = `r${Date.now().toString(36)}-`;
  const wantTimeSeries = options.stacks.includes('timeseries');
  const wantEventSourced = options.stacks.includes('eventsourced');
  const recorder = new Recorder({
    title: 'npm run local',
    stacks: options.stacks,
    devices: wantTimeSeries ? TRACKED_DEVICES.map((id) => ({ id, metric: TRACKED_METRIC, unit: '°C' })) : [],
  });
  const env = await LocalEnvironment.start({
    kinesis: true,
    dynamodb: true,
    s3: true,
    moto: true,
    influxdb: wantTimeSeries,
  });
  const pipelines: LocalRunResult['pipelines'] = {};
  const view = new LiveView({ out: options.out, isTTY: options.isTTY, source: () => recorder.snapshot() });
  let keepEnvironment = false;
  try {
    if (wantTimeSeries) {
      pipelines.timeseries = new LocalTimeSeries(
        env,
        assemblyStack(stacks, 'timeseries'),
        recorder,
        {
          devices: options.devices,
          ratePerSecond: options.rate,
          durationSeconds: options.durationSeconds,
          seed: options.seed,
          badRecordRate: options.badRecordRate,
          anomalyRate: options.anomalyRate,
          aggregate: options.aggregate,
          shards: options.shards,
          windowSeconds: options.windowSeconds,
          checkpointIntervalMs: options.checkpointIntervalMs,
          workDir: path.join(workDir, 'timeseries'),
          log,
          poison: options.poison,
        },
        runPrefix,
      );
    }
    if (wantEventSourced) {
      pipelines.eventsourced = new LocalEventSourced(
        env,
        assemblyStack(stacks, 'eventsourced'),
        recorder,
        {
          ratePerSecond: options.rate,
          durationSeconds: options.durationSeconds,
          seed: options.seed,
          badRecordRate: options.badRecordRate,
          shards: options.shards,
          checkpointIntervalMs: options.checkpointIntervalMs,
          workDir: path.join(workDir, 'eventsourced'),
          log,
          functionFault: options.functionFault,
        },
        runPrefix,
      );
    }
    const all = [pipelines.timeseries, pipelines.eventsourced].filter((p) => p !== undefined);
    for (const p of all) await p.start();
    view.start();
    await Promise.all([
      ...all.map((p) => p.produce(options.signal)),
      options.during?.({ pipelines, environment: env }),
    ]);
    // Settled means every record is accounted for and nothing moved for a few seconds: a command's effects keep
    // flowing (function to function, then egress and projections) after its own record is accounted for.
    const deadline = Date.now() + options.drainTimeoutSeconds * 1000;
    let quietSince = Date.now();
    let last = '';
    while (!options.signal?.aborted && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      const now = recorder
        .snapshot()
        .stacks.map((s) => s.stages.map((st) => `${st.in}/${st.out}/${st.deadLettered}`).join(','))
        .join(';');
      if (now !== last) {
        last = now;
        quietSince = Date.now();
      }
      if (all.every((p) => p.settled()) && Date.now() - quietSince >= QUIET_MS) break;
    }
    for (const p of all) await p.refresh();
    await pipelines.timeseries?.recordWindows(TRACKED_DEVICES);
    recorder.finish();
    view.stop();
    const report = recorder.snapshot();
    const conserved = report.stacks.every((s) => s.conservation.ok);
    keepEnvironment = options.keep;
    return { report, conserved, workDir, environment: options.keep ? env : undefined, pipelines };
  } finally {
    view.stop();
    if (!keepEnvironment) {
      await Promise.allSettled([pipelines.timeseries?.stop(), pipelines.eventsourced?.stop()]);
      await env.stop();
    }
    logFile.end();
  }
}
