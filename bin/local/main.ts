#!/usr/bin/env node
import * as path from 'path';
import { randomInt } from 'crypto';
import { writeHtml } from './report/html';
import { StackName } from './report/model';
import { summaryTable, writeJson } from './report/summary';
import { LocalRunOptions, runLocal } from './run';

/**
 * `npm run local`: both architectures end to end on this machine, no AWS account, with the Lambda bundles and Flink
 * jars `cdk synth` wrote to cdk.out, against local servers started for the run and stopped by PID at its end (Ctrl-C
 * included). Prints a live view while it runs, a summary per stage at the end, and writes the report as JSON and as
 * a self-contained HTML page. Exits 0 when every record of every stack is accounted for, 1 when not, 2 on bad flags.
 */
export const USAGE = [
  'usage: npm run local -- [--stack timeseries|eventsourced|both] [--duration 60] [--rate 50] [--devices 50]',
  '         [--bad-rate 0.01] [--anomaly-rate 0.005] [--aggregate] [--shards 2] [--window 10] [--seed n]',
  '         [--drain-timeout 120] [--report local-report.html] [--json local-report.json] [--assembly cdk.out] [--keep]',
].join('\n');

export class UsageError extends Error {}

export interface CliOptions extends Omit<LocalRunOptions, 'out' | 'isTTY' | 'signal'> {
  readonly reportFile: string;
  readonly jsonFile: string;
}

const VALUE_FLAGS = new Set([
  'stack',
  'duration',
  'rate',
  'devices',
  'bad-rate',
  'anomaly-rate',
  'shards',
  'window',
  'seed',
  'drain-timeout',
  'report',
  'json',
  'assembly',
  'checkpoint-interval-ms',
]);
const BOOLEAN_FLAGS = new Set(['aggregate', 'keep']);

export function parseArgs(argv: readonly string[], cwd = process.cwd()): CliOptions {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    if (BOOLEAN_FLAGS.has(name)) {
      if (eq > 0) throw new UsageError(`--${name} takes no value, got '${arg}'`);
      flags.add(name);
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw new UsageError(`unknown flag --${name}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    values.set(name, value);
  }
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const raw = values.get(name);
    if (raw === undefined) return fallback;
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(v) || v < min || v > max) {
      throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${raw}'`);
    }
    return v;
  };
  const fraction = (name: string, fallback: number) => {
    const raw = values.get(name);
    if (raw === undefined) return fallback;
    const v = Number(raw);
    if (raw.trim() === '' || !(v >= 0 && v <= 0.2)) {
      throw new UsageError(`--${name} must be a number from 0 to 0.2, got '${raw}'`);
    }
    return v;
  };
  const stack = values.get('stack') ?? 'both';
  const stacks: StackName[] =
    stack === 'both'
      ? ['timeseries', 'eventsourced']
      : stack === 'timeseries' || stack === 'eventsourced'
        ? [stack]
        : [];
  if (stacks.length === 0) throw new UsageError(`--stack must be timeseries, eventsourced or both, got '${stack}'`);
  return {
    stacks,
    durationSeconds: integer('duration', 60, 1, 86_400),
    rate: integer('rate', 50, 1, 10_000),
    devices: integer('devices', 50, 1, 99_999),
    badRecordRate: fraction('bad-rate', 0.01),
    anomalyRate: fraction('anomaly-rate', 0.005),
    aggregate: flags.has('aggregate'),
    shards: integer('shards', 2, 1, 16),
    windowSeconds: integer('window', 10, 1, 900),
    seed: integer('seed', randomInt(0, 2 ** 31 - 1), 0, 2 ** 31 - 1),
    checkpointIntervalMs: integer('checkpoint-interval-ms', 5000, 500, 600_000),
    drainTimeoutSeconds: integer('drain-timeout', 120, 0, 3600),
    assemblyDir: path.resolve(cwd, values.get('assembly') ?? 'cdk.out'),
    keep: flags.has('keep'),
    reportFile: path.resolve(cwd, values.get('report') ?? 'local-report.html'),
    jsonFile: path.resolve(cwd, values.get('json') ?? 'local-report.json'),
  };
}

export interface Io {
  readonly out: NodeJS.WritableStream;
  readonly isTTY: boolean;
  err(line: string): void;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  let options: CliOptions;
  try {
    options = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}`);
      io.err(USAGE);
      return 2;
    }
    throw e;
  }
  const controller = new AbortController();
  const onSignal = () => {
    io.err('interrupted: stopping the load, then every server');
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  io.err(
    `local run: ${options.stacks.join(' + ')}, ${options.durationSeconds} s at ${options.rate}/s, seed ${options.seed}` +
      ` (replay with --seed ${options.seed})`,
  );
  try {
    const result = await runLocal({ ...options, out: io.out, isTTY: io.isTTY, signal: controller.signal });
    io.out.write(`\n${summaryTable(result.report)}\n`);
    writeJson(result.report, options.jsonFile);
    writeHtml(result.report, options.reportFile);
    io.out.write(`report: ${options.reportFile}\njson:   ${options.jsonFile}\nlog:    ${result.workDir}/run.log\n`);
    if (result.environment) {
      io.out.write('\nThe servers keep running (--keep); reach them with:\n');
      for (const line of result.environment.cliHints()) io.out.write(`  ${line}\n`);
      for (const [name, p] of Object.entries(result.pipelines)) {
        const resources = p?.resources();
        if (!resources) continue;
        io.out.write(`  ${name}: streams ${resources.streams.map((s) => s.name).join(', ')}\n`);
        io.out.write(`  ${name}: tables ${resources.tables.map((t) => t.name).join(', ')}\n`);
      }
      io.out.write('Press Ctrl-C to stop them.\n');
      await new Promise<void>((resolve) => {
        if (controller.signal.aborted) resolve();
        controller.signal.addEventListener('abort', () => resolve());
      });
      await Promise.allSettled([result.pipelines.timeseries?.stop(), result.pipelines.eventsourced?.stop()]);
      await result.environment.stop();
    }
    return result.conserved ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

if (require.main === module) {
  main(process.argv.slice(2), {
    out: process.stdout,
    isTTY: process.stdout.isTTY === true,
    err: (line) => process.stderr.write(`${line}\n`),
  }).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`local run failed: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
