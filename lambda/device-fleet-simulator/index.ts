import type { Context } from 'aws-lambda';
import { kinesisClient } from '../shared/clients';
import { createObservability, MetricUnit } from '../shared/observability';
import { KinesisProducer } from '../shared/producer';
import { mixSeed } from './generator';
import { RecordSender, runSimulation, SimulationSummary } from './run';

/**
 * Scheduled Lambda (every minute) that plays a device fleet: RATE_PER_SECOND records per second for
 * DURATION_SECONDS, stopped early before the Lambda timeout. Environment:
 * STREAM_ARN, DEVICE_COUNT, RATE_PER_SECOND, DURATION_SECONDS, ANOMALY_RATE, DUPLICATE_RATE, LATE_RATE,
 * MALFORMED_RATE, SEED. Each run derives its seed from SEED and the scheduled minute, so runs are reproducible yet
 * do not repeat each other's event ids.
 */
export interface SimulatorConfig {
  readonly streamArn: string;
  readonly deviceCount: number;
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  readonly anomalyRate: number;
  readonly duplicateRate: number;
  readonly lateRate: number;
  readonly malformedRate: number;
  readonly seed: number;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): SimulatorConfig {
  const streamArn = env.STREAM_ARN;
  if (!streamArn) throw new Error('STREAM_ARN is required');
  return {
    streamArn,
    deviceCount: intEnv(env, 'DEVICE_COUNT', 100, 1, 99999),
    ratePerSecond: intEnv(env, 'RATE_PER_SECOND', 100, 1, 1_000_000),
    durationSeconds: intEnv(env, 'DURATION_SECONDS', 50, 1, 900),
    anomalyRate: rateEnv(env, 'ANOMALY_RATE', 0.001),
    duplicateRate: rateEnv(env, 'DUPLICATE_RATE', 0.001),
    lateRate: rateEnv(env, 'LATE_RATE', 0.001),
    malformedRate: rateEnv(env, 'MALFORMED_RATE', 0.001),
    seed: intEnv(env, 'SEED', 42, 0, 2 ** 32 - 1),
  };
}

function intEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new Error(`${name} must be an integer in ${min}..${max}, got '${raw}'`);
  return v;
}

function rateEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!(v >= 0 && v <= 1)) throw new Error(`${name} must be a number in [0, 1], got '${raw}'`);
  return v;
}

/** Leaves this much of the Lambda timeout for the last send and the response. */
const SAFETY_MARGIN_MS = 5000;

export async function simulate(
  config: SimulatorConfig,
  sender: RecordSender,
  startMs: number,
  deadlineMs?: number,
): Promise<SimulationSummary> {
  return runSimulation(sender, {
    deviceCount: config.deviceCount,
    ratePerSecond: config.ratePerSecond,
    durationSeconds: config.durationSeconds,
    anomalyRate: config.anomalyRate,
    duplicateRate: config.duplicateRate,
    lateRate: config.lateRate,
    malformedRate: config.malformedRate,
    seed: mixSeed(config.seed, Math.floor(startMs / 60000)),
    deadlineMs,
  });
}

const observability = createObservability('device-fleet-simulator');

export const handler = async (_event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>) => {
  const config = configFromEnv();
  const producer = new KinesisProducer({ client: kinesisClient(), streamArn: config.streamArn });
  const start = Date.now();
  const deadline = context ? start + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS : undefined;
  try {
    const summary = await simulate(config, producer, start, deadline);
    observability.metrics.addMetric('RecordsGenerated', MetricUnit.Count, summary.generated);
    observability.metrics.addMetric('RecordsSent', MetricUnit.Count, summary.sent);
    observability.metrics.addMetric('RecordsFailed', MetricUnit.Count, summary.failed);
    observability.logger.info('simulation done', { ...summary });
    if (summary.failed > 0) {
      // Failing the invocation makes the failures visible as Lambda errors and alarms.
      throw new Error(
        `${summary.failed} of ${summary.generated} records were not accepted by Kinesis; first: ${JSON.stringify(summary.failures[0])}`,
      );
    }
    return { generated: summary.generated, sent: summary.sent, seconds: summary.seconds, byKind: summary.byKind };
  } finally {
    observability.metrics.publishStoredMetrics();
  }
};
