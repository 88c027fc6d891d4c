import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import type { KinesisStreamStateResponse, KinesisStreamTumblingWindowEvent } from 'aws-lambda';
import { kinesisClient } from '../shared/clients';
import { DeadLetterEntry, DeadLetterSink } from '../shared/dead-letter';
import { isDeadLetterError } from '../shared/errors';
import { createObservability, MetricUnit, Observability } from '../shared/observability';
import { DecodedRecord } from '../shared/records';
import { EnrichedTelemetryRecord, parseEnrichedTelemetry } from '../shared/telemetry';
import { kinesisWindowHandler, WindowInfo, WindowProcessor } from '../shared/window';
import {
  AggregationOptions,
  Anomaly,
  applyRecord,
  carryEventIds,
  DEFAULT_AGGREGATION_OPTIONS,
  emptyWindowState,
  MetricSummary,
  percentileField,
  seedBaseline,
  stateFromJson,
  summarize,
  WindowState,
  WindowStateJson,
} from './aggregate';
import { fitAggregate, mergePart, MergeOutcome, WindowAggregate, WindowPart } from './merge';
import {
  aggregateItemBytes,
  AnomalyPublisher,
  DevicePart,
  latestStateItem,
  latestStateItemBytes,
  LatestStateItem,
  LatestStateStore,
  MAX_ITEM_BYTES,
} from './sinks';
import { inheritedEventIds, LineageUnavailable, ShardLineage } from './shard-lineage';
import { decodeState, encodeStateWithin, isEncodedState } from './state-codec';
import {
  AggregatePoint,
  InfluxCredentials,
  InfluxV1Writer,
  InfluxV2Writer,
  TimeSeriesWriter,
  TimestreamWriter,
} from './time-series-writer';

export const STAGE = 'timeseries-calculator';
/** Lambda ends a window early when the state exceeds 1 MB; stay below with room for the runtime's envelope. */
export const DEFAULT_MAX_STATE_BYTES = 900 * 1024;

/** Where the window's result goes. Each sink is optional so deployments (and tests) can leave one out. */
export interface CalculatorSinks {
  readonly timeSeries?: TimeSeriesWriter;
  readonly latestState?: LatestStateStore;
  readonly anomalies?: AnomalyPublisher;
  /**
   * Where a shard's parents are looked up, for a new shard (after a reshard) to start from their remembered event ids.
   * Without it (or without `latestState`), a shard starts from its own ids only.
   */
  readonly shardLineage?: ShardLineage;
}

export interface CalculatorOptions {
  readonly aggregation?: Partial<AggregationOptions>;
  readonly maxStateBytes?: number;
  /** Clock for `updatedAt`. @default Date.now */
  readonly now?: () => number;
}

/**
 * The window processor: validates enriched records (bad ones are dead-lettered with the reason), aggregates them,
 * seeds per-device baselines from the latest-state table the first time a device shows up in a window, and on the
 * final invoke writes aggregates, latest state and anomaly events. When Lambda ends a window early, each part
 * merges its result into the window's aggregate stored beside the latest state (see merge.ts) and writes points and
 * latest state from the merge, so the window's result is all its parts, merged once each. Every write is idempotent
 * for a retried final invoke: the aggregate records the part ids merged, time-series points are stamped with
 * windowEnd, latest-state puts are conditional on windowEnd, anomaly events carry the eventId that caused them for
 * consumers to de-duplicate.
 */
export function createCalculatorProcessor(
  sinks: CalculatorSinks,
  options: CalculatorOptions = {},
): WindowProcessor<WindowState> {
  const agg: AggregationOptions = { ...DEFAULT_AGGREGATION_OPTIONS, ...options.aggregation };
  const maxStateBytes = options.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES;
  const now = options.now ?? Date.now;
  const field = percentileField(agg.percentile);
  // Parsed once in `prepare`, reused in `apply`: the runtime applies a subsequence of prepare's records, in their
  // order, so a cursor finds each one without hashing, and each result is let go of once applied (a WeakMap kept the
  // whole batch alive until the next batch, and its ephemerons cost the garbage collector a quarter of the time).
  let pending: readonly DecodedRecord[] = [];
  let results: (EnrichedTelemetryRecord | Error | undefined)[] = [];
  let cursor = 0;
  const parseNow = (r: DecodedRecord): EnrichedTelemetryRecord | Error => {
    try {
      return parseEnrichedTelemetry(r.data);
    } catch (e) {
      if (!isDeadLetterError(e)) throw e;
      return e;
    }
  };
  const parse = (r: DecodedRecord): EnrichedTelemetryRecord | Error => {
    for (let i = cursor; i < pending.length; i++) {
      if (pending[i] !== r) continue;
      const v = results[i];
      results[i] = undefined;
      cursor = i + 1;
      if (v !== undefined) return v;
      break;
    }
    return parseNow(r);
  };

  return {
    initialState: (w: WindowInfo) => emptyWindowState(w.start, w.end),
    fromJson: (json: unknown, w: WindowInfo) => {
      // The compact string (state-codec.ts), or the JSON object a deployment before it wrote (a window in flight).
      const state = isEncodedState(json) ? decodeState(json) : stateFromJson(json as WindowStateJson);
      // A state from another window would mix windows: start clean instead.
      return state.windowStart === w.start && state.windowEnd === w.end ? state : emptyWindowState(w.start, w.end);
    },
    // One encoding per invoke (two only when the state had to shrink to fit).
    toJson: (state: WindowState) => {
      // The invoke is over: let go of its records.
      pending = [];
      results = [];
      cursor = 0;
      return encodeStateWithin(state, maxStateBytes, agg.baselineAlpha).text;
    },
    async prepare(state, records, w) {
      // A window's first records: carry the shard's duplicate memory over from its previous window.
      if (state.eventIds.length === 0 && sinks.latestState) {
        const store = sinks.latestState;
        let ids: readonly string[] = await store.loadRecentEventIds(w.shardId);
        // Nothing of its own: a new shard, whose parents' last windows hold the ids a producer retry may repeat here.
        if (ids.length === 0 && sinks.shardLineage) {
          ids = await inheritedEventIds(
            sinks.shardLineage,
            (shardId) => store.loadRecentEventIds(shardId),
            w.eventSourceArn,
            w.shardId,
            agg.maxRememberedEventIds,
          );
        }
        carryEventIds(state, ids, agg.maxRememberedEventIds);
      }
      const newDevices = new Set<string>();
      pending = records;
      results = new Array<EnrichedTelemetryRecord | Error | undefined>(records.length);
      cursor = 0;
      for (let i = 0; i < records.length; i++) {
        const v = parseNow(records[i]);
        results[i] = v;
        if (v instanceof Error) continue;
        if (!state.devices.get(v.deviceId)?.baselineLoaded) newDevices.add(v.deviceId);
      }
      if (newDevices.size === 0) return;
      const ids = [...newDevices];
      const loaded = sinks.latestState ? await sinks.latestState.loadBaselines(ids) : new Map();
      for (const id of ids) seedBaseline(state, id, loaded.get(id));
    },
    apply(state, record) {
      const v = parse(record);
      if (v instanceof Error) throw v;
      applyRecord(state, v, agg);
    },
    async finish(state, w) {
      const anomaliesByDevice = new Map<string, Anomaly[]>();
      for (const a of state.anomalies) {
        const list = anomaliesByDevice.get(a.deviceId);
        if (list) list.push(a);
        else anomaliesByDevice.set(a.deviceId, [a]);
      }
      const updatedAt = now();
      // A state with metrics has applied records, so the runtime gave it a part id; the fallback is never merged twice
      // either, as it is the same for every retry.
      const partId = w.partId ?? `${w.shardId}@-`;
      const parts: DevicePart<WindowPart>[] = [];
      for (const [deviceId, dev] of state.devices) {
        if (dev.metrics.size === 0) continue;
        parts.push({
          deviceId,
          part: {
            windowStart: w.start,
            windowEnd: w.end,
            partId,
            ...(dev.site ? { site: dev.site } : {}),
            metrics: dev.metrics,
            anomalies: anomaliesByDevice.get(deviceId) ?? [],
            baseline: dev.baseline,
            updatedAt,
          },
        });
      }
      const itemOf = (deviceId: string, a: WindowAggregate): LatestStateItem => {
        const summaries = new Map<string, MetricSummary>();
        for (const [metric, s] of a.metrics) summaries.set(metric, summarize(s, agg.percentile));
        // All from the aggregate, so a retried final invoke writes the same item again.
        return latestStateItem(
          deviceId,
          w.start,
          w.end,
          summaries,
          field,
          [...a.anomalies],
          new Map(a.baseline),
          a.updatedAt,
          a.site,
        );
      };
      // Merge with the parts already finished for this window (when Lambda ended it early), keeping both items under
      // their size budget; without a latest-state table there is nowhere to merge, and each part is written alone.
      const merged = new Map<string, WindowAggregate>();
      const mergeOne = (deviceId: string, stored: WindowAggregate | undefined, part: WindowPart): MergeOutcome => {
        const out = mergePart(stored, part, agg.maxAnomaliesPerWindow);
        const measure = (a: WindowAggregate) =>
          Math.max(aggregateItemBytes(deviceId, a), latestStateItemBytes(itemOf(deviceId, a)));
        return { kind: out.kind, aggregate: fitAggregate(out.aggregate, measure, MAX_ITEM_BYTES) };
      };
      if (sinks.latestState && parts.length > 0) {
        const outcomes = await sinks.latestState.mergeAll(parts, mergeOne);
        for (const p of parts) merged.set(p.deviceId, outcomes.get(p.deviceId)!.aggregate);
      } else {
        for (const p of parts) merged.set(p.deviceId, mergeOne(p.deviceId, undefined, p.part).aggregate);
      }
      const points: AggregatePoint[] = [];
      const items: LatestStateItem[] = [];
      for (const [deviceId, a] of merged) {
        const item = itemOf(deviceId, a);
        items.push(item);
        for (const [metric, s] of a.metrics) {
          const summary = summarize(s, agg.percentile);
          points.push({ deviceId, metric, site: a.site, windowStart: w.start, windowEnd: w.end, summary });
        }
      }
      // Points the database can never store are dead-lettered with its reason instead of failing the final invoke
      // for good; the rest of the window's result is written as usual.
      const unstorable: DeadLetterEntry[] = [];
      if (sinks.timeSeries && points.length > 0) {
        const result = await sinks.timeSeries.write(points);
        for (const r of result.rejected) {
          unstorable.push({
            reason: r.reason,
            detail: r.detail,
            stage: STAGE,
            payload: JSON.stringify(r.point),
            at: updatedAt,
            partitionKey: r.point.deviceId,
            shardId: w.shardId,
          });
        }
      }
      if (sinks.latestState && items.length > 0) await sinks.latestState.putAll(items);
      if (sinks.latestState && state.eventIds.length > 0) {
        await sinks.latestState.putRecentEventIds(w.shardId, w.end, state.eventIds);
      }
      if (sinks.anomalies && state.anomalies.length > 0) await sinks.anomalies.publish(state.anomalies);
      return unstorable;
    },
  };
}

/** Reads the aggregation settings from the environment, failing with the value received when one is invalid. */
export function aggregationOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): AggregationOptions {
  const threshold = numberEnv(env, 'ANOMALY_Z_THRESHOLD', DEFAULT_AGGREGATION_OPTIONS.anomalyZThreshold);
  if (!(threshold > 0))
    throw new Error(`ANOMALY_Z_THRESHOLD must be a positive number, got '${env.ANOMALY_Z_THRESHOLD}'`);
  const percentile = numberEnv(env, 'PERCENTILE', DEFAULT_AGGREGATION_OPTIONS.percentile);
  if (!(percentile > 0 && percentile <= 100)) {
    throw new Error(`PERCENTILE must be a number in (0, 100], got '${env.PERCENTILE}'`);
  }
  return { ...DEFAULT_AGGREGATION_OPTIONS, anomalyZThreshold: threshold, percentile };
}

function numberEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new Error(`${name} must be a number, got '${raw}'`);
  return v;
}

/** Credentials from a Secrets Manager secret holding {"username","password"}, fetched once per container. */
export function secretCredentials(client: SecretsManagerClient, secretArn: string): () => Promise<InfluxCredentials> {
  let cached: Promise<InfluxCredentials> | undefined;
  return () => {
    cached ??= client
      .send(new GetSecretValueCommand({ SecretId: secretArn }))
      .then((out) => {
        const json = JSON.parse(out.SecretString ?? '{}') as Partial<InfluxCredentials>;
        if (typeof json.username !== 'string' || typeof json.password !== 'string') {
          throw new Error(`secret ${secretArn} must hold JSON {"username": "...", "password": "..."}`);
        }
        return { username: json.username, password: json.password };
      })
      .catch((e) => {
        cached = undefined;
        throw e;
      });
    return cached;
  };
}

/** The time-series writer selected by TIME_SERIES_BACKEND (influxdb | timestream | none). */
export function timeSeriesWriterFromEnv(env: NodeJS.ProcessEnv, percentile: number): TimeSeriesWriter | undefined {
  const backend = (env.TIME_SERIES_BACKEND ?? 'none').toLowerCase();
  const field = percentileField(percentile);
  if (backend === 'none') return undefined;
  if (backend === 'influxdb') {
    const url = required(env, 'INFLUX_URL');
    const bucket = required(env, 'INFLUX_BUCKET');
    const credentials = env.INFLUX_SECRET_ARN
      ? secretCredentials(new SecretsManagerClient({}), env.INFLUX_SECRET_ARN)
      : undefined;
    const api = (env.INFLUX_API ?? 'v2').toLowerCase();
    if (api === 'v1') return new InfluxV1Writer({ url, database: bucket, percentileField: field, credentials });
    if (api !== 'v2') throw new Error(`INFLUX_API must be v2 or v1, got '${env.INFLUX_API}'`);
    if (!credentials)
      throw new Error('INFLUX_SECRET_ARN is required with INFLUX_API=v2 (sign-in needs a username and password)');
    return new InfluxV2Writer({ url, org: required(env, 'INFLUX_ORG'), bucket, percentileField: field, credentials });
  }
  if (backend === 'timestream') {
    return new TimestreamWriter({
      client: new TimestreamWriteClient({}),
      database: required(env, 'TIMESTREAM_DATABASE'),
      table: required(env, 'TIMESTREAM_TABLE'),
      percentileField: field,
    });
  }
  throw new Error(`TIME_SERIES_BACKEND must be influxdb, timestream or none, got '${env.TIME_SERIES_BACKEND}'`);
}

export function sinksFromEnv(env: NodeJS.ProcessEnv = process.env, percentile = 95): CalculatorSinks {
  return {
    timeSeries: timeSeriesWriterFromEnv(env, percentile),
    latestState: env.LATEST_STATE_TABLE
      ? new LatestStateStore(new DynamoDBClient({}), env.LATEST_STATE_TABLE)
      : undefined,
    anomalies: env.EVENT_BUS_NAME
      ? new AnomalyPublisher({ client: new EventBridgeClient({}), eventBusName: env.EVENT_BUS_NAME })
      : undefined,
    shardLineage: env.LATEST_STATE_TABLE
      ? new ShardLineage({ client: kinesisClient(), onUnavailable: reportLineageUnavailable() })
      : undefined,
  };
}

/**
 * A warning and the `ShardLineageUnavailable` metric (published at once) when a shard's parents cannot be known for
 * good: the shard goes on without their ids, so a producer retry across the reshard may be counted twice.
 */
export function reportLineageUnavailable(
  obs: Observability = createObservability(STAGE),
): (info: LineageUnavailable) => void {
  return (info) => {
    obs.logger.warn('parent shards unknown: the shard starts without their remembered event ids', { ...info });
    obs.metrics.singleMetric().addMetric('ShardLineageUnavailable', MetricUnit.Count, 1);
  };
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v) throw new Error(`${name} is required for TIME_SERIES_BACKEND=${env.TIME_SERIES_BACKEND}`);
  return v;
}

/** Builds the Lambda handler from the environment (or from explicit sinks in tests). */
export function createHandler(
  env: NodeJS.ProcessEnv = process.env,
  sinks?: CalculatorSinks,
  deadLetters?: DeadLetterSink,
): (event: KinesisStreamTumblingWindowEvent) => Promise<KinesisStreamStateResponse> {
  const aggregation = aggregationOptionsFromEnv(env);
  const processor = createCalculatorProcessor(sinks ?? sinksFromEnv(env, aggregation.percentile), { aggregation });
  return kinesisWindowHandler(STAGE, processor, deadLetters);
}

let instance: ReturnType<typeof createHandler> | undefined;

/** Lambda entry point; configuration is read on the first invocation so importing this module needs no environment. */
export const handler = (event: KinesisStreamTumblingWindowEvent): Promise<KinesisStreamStateResponse> => {
  instance ??= createHandler();
  return instance(event);
};
