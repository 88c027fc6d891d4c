#!/usr/bin/env node
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { randomInt } from 'crypto';
import { runSimulation, SimulationSummary } from '../lambda/device-fleet-simulator/run';
import { KinesisProducer } from '../lambda/shared/producer';

/**
 * Plays a device fleet into a Kinesis data stream from a workstation:
 *   npm run simulate -- --devices 1000 --rate 2000 --duration 60 --stream <name|arn> [--endpoint <url>] [--region r]
 *     [--aggregate] [--anomaly-rate 0.001] [--duplicate-rate 0.001] [--late-rate 0.001] [--malformed-rate 0.001] [--seed n]
 * Prints progress each second and a summary; exits 1 when any record was not accepted, 2 on bad arguments.
 */
export interface SimulateArgs {
  readonly devices: number;
  readonly rate: number;
  readonly duration: number;
  readonly stream: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly aggregate: boolean;
  readonly anomalyRate: number;
  readonly duplicateRate: number;
  readonly lateRate: number;
  readonly malformedRate: number;
  /** Undefined = a random seed, printed so the run can be reproduced. */
  readonly seed?: number;
}

export class UsageError extends Error {}

export const USAGE =
  'usage: simulate --stream <name|arn> [--devices 100] [--rate 100] [--duration 60] [--endpoint <url>] [--region <r>] ' +
  '[--aggregate] [--anomaly-rate 0.001] [--duplicate-rate 0.001] [--late-rate 0.001] [--malformed-rate 0.001] [--seed <n>]';

const VALUE_FLAGS = new Set([
  'devices',
  'rate',
  'duration',
  'stream',
  'endpoint',
  'region',
  'anomaly-rate',
  'duplicate-rate',
  'late-rate',
  'malformed-rate',
  'seed',
]);

export function parseArgs(argv: readonly string[]): SimulateArgs {
  const values = new Map<string, string>();
  let aggregate = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    if (name === 'aggregate') {
      if (eq > 0) throw new UsageError(`--aggregate takes no value, got '${arg}'`);
      aggregate = true;
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw new UsageError(`unknown option '--${name}'`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    if (values.has(name)) throw new UsageError(`--${name} given twice ('${values.get(name)}' and '${value}')`);
    values.set(name, value);
  }
  const stream = values.get('stream');
  if (!stream) throw new UsageError('--stream <name|arn> is required');
  const endpoint = values.get('endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(endpoint)) {
    throw new UsageError(`--endpoint must be an http(s) URL, got '${endpoint}'`);
  }
  return {
    devices: int(values, 'devices', 100, 1, 99999),
    rate: int(values, 'rate', 100, 1, 1_000_000),
    duration: int(values, 'duration', 60, 1, 86_400),
    stream,
    endpoint,
    region: values.get('region'),
    aggregate,
    anomalyRate: rate(values, 'anomaly-rate', 0.001),
    duplicateRate: rate(values, 'duplicate-rate', 0.001),
    lateRate: rate(values, 'late-rate', 0.001),
    malformedRate: rate(values, 'malformed-rate', 0.001),
    seed: values.has('seed') ? int(values, 'seed', 0, 0, 2 ** 32 - 1) : undefined,
  };
}

function int(values: Map<string, string>, name: string, fallback: number, min: number, max: number): number {
  const raw = values.get(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(v) || v < min || v > max) {
    throw new UsageError(`--${name} must be an integer in ${min}..${max}, got '${raw}'`);
  }
  return v;
}

function rate(values: Map<string, string>, name: string, fallback: number): number {
  const raw = values.get(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !(v >= 0 && v <= 1))
    throw new UsageError(`--${name} must be a number in [0, 1], got '${raw}'`);
  return v;
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = consoleIo): Promise<number> {
  let args: SimulateArgs;
  try {
    args = parseArgs(argv);
    const sum = args.anomalyRate + args.duplicateRate + args.lateRate + args.malformedRate;
    if (sum > 1) throw new UsageError(`the four rates must sum to at most 1, got ${sum}`);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}`);
      io.err(USAGE);
      return 2;
    }
    throw e;
  }
  const seed = args.seed ?? randomInt(0, 2 ** 32 - 1);
  const client = new KinesisClient({
    ...(args.endpoint ? { endpoint: args.endpoint } : {}),
    ...(args.region ? { region: args.region } : {}),
    // HTTP/1.1: PutRecords needs nothing more, and local Kinesis servers speak only HTTP/1.1.
    requestHandler: new NodeHttpHandler({ connectionTimeout: 3000, requestTimeout: 15000 }),
  });
  const producer = new KinesisProducer({
    client,
    ...(args.stream.startsWith('arn:') ? { streamArn: args.stream } : { streamName: args.stream }),
    aggregate: args.aggregate,
  });
  io.out(
    `simulating ${args.devices} devices, ${args.rate} records/s for ${args.duration} s into ${args.stream}` +
      `${args.aggregate ? ' (KPL-aggregated)' : ''}, seed ${seed}`,
  );
  let summary: SimulationSummary;
  try {
    summary = await runSimulation(producer, {
      deviceCount: args.devices,
      ratePerSecond: args.rate,
      durationSeconds: args.duration,
      anomalyRate: args.anomalyRate,
      duplicateRate: args.duplicateRate,
      lateRate: args.lateRate,
      malformedRate: args.malformedRate,
      seed,
      onProgress: (p) =>
        io.out(`[${p.second}/${args.duration}s] generated ${p.generated}, sent ${p.sent}, failed ${p.failed}`),
    });
  } finally {
    client.destroy();
  }
  const k = summary.byKind;
  io.out(
    `done: generated ${summary.generated}, sent ${summary.sent}, failed ${summary.failed} ` +
      `(normal ${k.normal}, anomaly ${k.anomaly}, duplicate ${k.duplicate}, late ${k.late}, malformed ${k.malformed})`,
  );
  for (const f of summary.failures) io.err(`failed: ${f.partitionKey}: ${f.errorCode}: ${f.errorMessage}`);
  return summary.failed > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`error: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
