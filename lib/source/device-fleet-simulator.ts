import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { createObservedFunction, serviceNameOf } from '../internal/observed-function';
import { handlerEntry, validateInteger, validateRange } from '../internal';
import { grantPutRecords } from '../internal/stream-grants';

export interface DeviceFleetSimulatorProps {
  /** The stream the simulated devices write to (partition key = deviceId). Its KMS key is granted GenerateDataKey. */
  readonly stream: kinesis.IStream;
  /** Simulated devices, `device-00000` to `device-<n-1>`, 1 to 99999. @default 100 */
  readonly deviceCount?: number;
  /** Records per second across the fleet while a run lasts, 1 to 1,000,000. @default 100 */
  readonly ratePerSecond?: number;
  /**
   * How long each scheduled run produces records, 1 s up to `scheduleRate` (runs never overlap) and at most 14
   * minutes. The function's timeout is this plus 30 s.
   * @default Duration.seconds(50)
   */
  readonly runDuration?: Duration;
  /** How often a run starts, 1 to 60 whole minutes. @default Duration.minutes(1) */
  readonly scheduleRate?: Duration;
  /** Whether the schedule is enabled; when false the function exists but only runs when invoked. @default true */
  readonly enabled?: boolean;
  /** Fraction of records that are spikes (anomalies), 0 to 1. @default 0.001 */
  readonly anomalyRate?: number;
  /** Fraction of records resent with an earlier eventId, 0 to 1. @default 0.001 */
  readonly duplicateRate?: number;
  /** Fraction of records with a timestamp up to 10 minutes in the past, 0 to 1. @default 0.001 */
  readonly lateRate?: number;
  /** Fraction of records that are broken JSON or miss required fields, 0 to 1. @default 0.001 */
  readonly malformedRate?: number;
  /** Seed of the generator (each run mixes in its scheduled minute), 0 to 4294967295. @default 42 */
  readonly seed?: number;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * A scheduled producer of realistic telemetry: an EventBridge schedule invokes a Lambda (nodejs24.x, arm64) that
 * plays a fleet of devices (per-device baselines, daily cycles, noise) and writes the shared raw telemetry records
 * to the stream with PutRecords, including configurable fractions of anomalies, duplicates, late and malformed
 * records, so a freshly deployed pipeline shows data, anomalies and dead letters at once.
 */
export class DeviceFleetSimulator extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.IRole;
  public readonly logGroup: logs.LogGroup;
  /** The schedule that starts each run. */
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: DeviceFleetSimulatorProps) {
    super(scope, id);
    const rates = {
      anomalyRate: props.anomalyRate ?? 0.001,
      duplicateRate: props.duplicateRate ?? 0.001,
      lateRate: props.lateRate ?? 0.001,
      malformedRate: props.malformedRate ?? 0.001,
    };
    const runDuration = props.runDuration ?? Duration.seconds(50);
    const scheduleRate = props.scheduleRate ?? Duration.minutes(1);
    validate(props, rates, runDuration, scheduleRate);

    const created = createObservedFunction(
      this,
      { logGroup: 'LogGroup', role: 'ServiceRole', function: 'Function' },
      {
        entry: handlerEntry('device-fleet-simulator'),
        description: `Device fleet simulator ${this.node.path}`,
        roleDescription: `Execution role of ${this.node.path}`,
        serviceName: serviceNameOf(this, id),
        memorySize: props.memorySize ?? 256,
        // 30 s more than a run; a deploy-time run duration gets the timeout of the longest run.
        timeout: Duration.seconds((runDuration.isUnresolved() ? MAX_RUN_SECONDS : runDuration.toSeconds()) + 30),
        logRetention: props.logRetention,
        environment: {
          STREAM_ARN: props.stream.streamArn,
          DEVICE_COUNT: String(props.deviceCount ?? 100),
          RATE_PER_SECOND: String(props.ratePerSecond ?? 100),
          DURATION_SECONDS: String(runDuration.toSeconds()),
          ANOMALY_RATE: String(rates.anomalyRate),
          DUPLICATE_RATE: String(rates.duplicateRate),
          LATE_RATE: String(rates.lateRate),
          MALFORMED_RATE: String(rates.malformedRate),
          SEED: String(props.seed ?? 42),
        },
      },
    );
    this.function = created.function;
    this.logGroup = created.logGroup;
    const role = created.role;
    // The producer sends with PutRecords only (no aggregation, so no ListShards).
    grantPutRecords(role, props.stream);
    this.role = role;

    this.rule = new events.Rule(this, 'Schedule', {
      description: `Starts a run of ${this.node.path}`,
      schedule: events.Schedule.rate(scheduleRate),
      enabled: props.enabled ?? true,
      // A missed run is not worth replaying: the next one starts a minute later anyway.
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0 })],
    });
  }

  /** Lambda Errors (a run with records Kinesis did not accept fails). @default statistic Sum over 5 minutes */
  public metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricErrors({ statistic: 'Sum', ...props });
  }

  /** Lambda Duration. @default statistic Maximum over 5 minutes */
  public metricDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricDuration({ statistic: 'Maximum', ...props });
  }
}

/** The longest run: 14 minutes, so that the run and its 30 s margin fit the 15-minute Lambda limit. */
const MAX_RUN_SECONDS = 840;

function validate(
  props: DeviceFleetSimulatorProps,
  rates: Record<string, number>,
  runDuration: Duration,
  scheduleRate: Duration,
): void {
  validateInteger('deviceCount', props.deviceCount, 1, 99999);
  validateInteger('ratePerSecond', props.ratePerSecond, 1, 1_000_000);
  validateInteger('seed', props.seed, 0, 2 ** 32 - 1);
  validateRange('memorySize', props.memorySize, 128, 10240, 'MB');
  for (const [name, value] of Object.entries(rates)) validateRange(name, value, 0, 1);
  const values = Object.values(rates);
  if (values.every((v) => !Token.isUnresolved(v))) {
    const sum = values.reduce((a, b) => a + b, 0);
    if (sum > 1) {
      throw new Error(
        `anomalyRate + duplicateRate + lateRate + malformedRate must be at most 1, got ${Number(sum.toFixed(6))}`,
      );
    }
  }
  const minutes = scheduleRate.isUnresolved() ? undefined : scheduleRate.toSeconds() / 60;
  if (minutes !== undefined && (!Number.isInteger(minutes) || minutes < 1 || minutes > 60)) {
    throw new Error(`scheduleRate must be 1 to 60 whole minutes, got ${scheduleRate.toHumanString()}`);
  }
  if (!runDuration.isUnresolved()) {
    const seconds = runDuration.toSeconds({ integral: false });
    const max = Math.min(minutes === undefined ? MAX_RUN_SECONDS : minutes * 60, MAX_RUN_SECONDS);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > max) {
      throw new Error(
        `runDuration must be 1 to ${max} whole seconds (at most scheduleRate and 14 minutes), got ${seconds} seconds`,
      );
    }
  }
}
