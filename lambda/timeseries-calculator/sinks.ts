import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchGetCommandOutput,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient, PutEventsCommand, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { Anomaly, Baseline, MetricSummary } from './aggregate';
import { aggregateFromJson, aggregateToJson, MergeOutcome, WindowAggregate, WindowAggregateJson } from './merge';

/**
 * Latest state per device, one item per device (partition key `deviceId`):
 * {deviceId, windowStart, windowEnd, metrics: {<name>: {count,min,max,mean,stddev,p95}}, anomalies: [...], updatedAt,
 *  baseline: {<name>: {mean, variance, samples}}}. `baseline` carries the anomaly baseline to the next window.
 */
export interface LatestStateItem {
  readonly deviceId: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly metrics: Record<string, Record<string, number>>;
  readonly anomalies: Anomaly[];
  readonly updatedAt: number;
  readonly baseline: Record<string, Baseline>;
  readonly site?: string;
}

export function latestStateItem(
  deviceId: string,
  windowStart: number,
  windowEnd: number,
  metrics: Map<string, MetricSummary>,
  percentileField: string,
  anomalies: Anomaly[],
  baseline: Map<string, Baseline>,
  updatedAt: number,
  site?: string,
): LatestStateItem {
  // No prototype, so a metric named like an Object.prototype member (`constructor`, `toString`) is a plain key.
  const m: Record<string, Record<string, number>> = Object.create(null);
  for (const [name, s] of metrics) {
    m[name] = {
      count: s.count,
      min: storable(s.min),
      max: storable(s.max),
      mean: storable(s.mean),
      stddev: storable(s.stddev),
      [percentileField]: storable(s.percentile),
    };
  }
  const b: Record<string, Baseline> = Object.create(null);
  for (const [name, x] of baseline)
    b[name] = { mean: storable(x.mean), variance: storable(x.variance), samples: x.samples };
  const stored = anomalies.map((a) => ({
    ...a,
    value: storable(a.value),
    zScore: storable(a.zScore),
    baselineMean: storable(a.baselineMean),
    baselineStdDev: storable(a.baselineStdDev),
  }));
  return {
    deviceId,
    windowStart,
    windowEnd,
    metrics: m,
    anomalies: stored,
    updatedAt,
    baseline: b,
    ...(site ? { site } : {}),
  };
}

/**
 * DynamoDB numbers have magnitudes from 1e-130 to 1e126 (38 digits): a smaller non-zero one is refused, so it is
 * stored as 0, the nearest value DynamoDB holds. The telemetry contract bounds values (|v| <= 1e60), so every
 * aggregate of them, variances included, stays below the upper limit.
 */
export function storable(x: number): number {
  return Math.abs(x) < 1e-130 ? 0 : x;
}

const BATCH_GET = 100;
const PUT_CONCURRENCY = 16;

/**
 * The window aggregate of device `d` is kept in the same table under key `d#window` (device ids cannot hold `#`, see
 * the telemetry contract, so it never meets a device's item): `GET /items/{deviceId}` reads what it read before.
 * {deviceId: "<id>#window", windowStart, windowEnd, version, aggregate: "<WindowAggregateJson>"}.
 */
export const AGGREGATE_KEY_SUFFIX = '#window';

/**
 * Per shard, the event ids its last window remembered (`carryEventIds`), under key `#recent-event-ids#<shardId>`
 * (`#` cannot start a device id): {deviceId, shardId, windowEnd, eventIds: "<JSON array, oldest first>"}.
 */
export const RECENT_EVENT_IDS_KEY_PREFIX = '#recent-event-ids#';

/** Items are kept under this size (DynamoDB refuses items over 400 KB), by `fitAggregate`. */
export const MAX_ITEM_BYTES = 350 * 1024;

/** Attempts at a conditional put of one aggregate before the final invoke is failed for Lambda to retry. */
export const MAX_MERGE_ATTEMPTS = 5;

export interface StoredAggregate {
  readonly version: number;
  readonly aggregate: WindowAggregate;
}

/** What `mergeAll` merges for one device. */
export interface DevicePart<P> {
  readonly deviceId: string;
  readonly part: P;
}

export function aggregateItem(deviceId: string, a: WindowAggregate, version: number): Record<string, unknown> {
  return {
    deviceId: deviceId + AGGREGATE_KEY_SUFFIX,
    windowStart: a.windowStart,
    windowEnd: a.windowEnd,
    version,
    aggregate: JSON.stringify(aggregateToJson(deviceId, a)),
  };
}

/**
 * Size of an item as DynamoDB counts it (attribute names and values in UTF-8; a number 1 byte per 2 significant
 * digits plus 1; 3 bytes per list or map plus 1 per element), rounded up.
 */
export function dynamoItemBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') {
    const digits = String(Math.abs(value)).replace(/e.*$/, '').replace('.', '').replace(/^0+/, '');
    return Math.ceil(Math.max(1, digits.length) / 2) + 1;
  }
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + dynamoItemBytes(v), 0);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as object);
  let n = 3;
  for (const [k, v] of entries) {
    if (v === undefined) continue;
    n += 1 + Buffer.byteLength(String(k), 'utf8') + dynamoItemBytes(v);
  }
  return n;
}

/** The latest-state item as written, for `dynamoItemBytes`. */
export function latestStateItemBytes(item: LatestStateItem): number {
  return dynamoItemBytes(dynamoItem(item)) - 3;
}

/** The aggregate item as written, for `dynamoItemBytes` (a top-level item has no map overhead). */
export function aggregateItemBytes(deviceId: string, a: WindowAggregate): number {
  return dynamoItemBytes(aggregateItem(deviceId, a, Number.MAX_SAFE_INTEGER)) - 3;
}

export class LatestStateStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBDocumentClient | DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc =
      client instanceof DynamoDBDocumentClient
        ? client
        : DynamoDBDocumentClient.from(client, {
            // Every number here is a double (the contract's domain): those beyond 2^53 are written as the double
            // they are, and read back as one, instead of failing the write (a stalled shard) or the read (BigInt).
            marshallOptions: { removeUndefinedValues: true, allowImpreciseNumbers: true },
            unmarshallOptions: { wrapNumbers: (n: string) => Number(n) },
          });
  }

  /** Baselines stored for the given devices (absent devices are missing from the map). */
  async loadBaselines(deviceIds: readonly string[]): Promise<Map<string, Record<string, Baseline>>> {
    const out = new Map<string, Record<string, Baseline>>();
    for (let i = 0; i < deviceIds.length; i += BATCH_GET) {
      let keys: Record<string, unknown>[] | undefined = deviceIds
        .slice(i, i + BATCH_GET)
        .map((deviceId) => ({ deviceId }));
      for (let attempt = 0; keys && keys.length > 0; attempt++) {
        if (attempt >= 5) throw new Error(`DynamoDB left ${keys.length} baseline reads unprocessed after 5 attempts`);
        if (attempt > 0) await sleep(Math.random() * 50 * 2 ** attempt);
        const res: BatchGetCommandOutput = await this.doc.send(
          new BatchGetCommand({
            RequestItems: {
              // Consistent, so the next window (or the next part of this one) continues the baseline just written.
              [this.tableName]: { Keys: keys, ProjectionExpression: 'deviceId, baseline', ConsistentRead: true },
            },
          }),
        );
        for (const item of res.Responses?.[this.tableName] ?? []) {
          out.set(item.deviceId as string, (item.baseline ?? {}) as Record<string, Baseline>);
        }
        keys = res.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return out;
  }

  /** The window aggregates stored for the given devices (absent ones are missing from the map); one consistent BatchGet per 100. */
  async loadAggregates(deviceIds: readonly string[]): Promise<Map<string, StoredAggregate>> {
    const out = new Map<string, StoredAggregate>();
    for (let i = 0; i < deviceIds.length; i += BATCH_GET) {
      let keys: Record<string, unknown>[] | undefined = deviceIds
        .slice(i, i + BATCH_GET)
        .map((deviceId) => ({ deviceId: deviceId + AGGREGATE_KEY_SUFFIX }));
      for (let attempt = 0; keys && keys.length > 0; attempt++) {
        if (attempt >= 5) throw new Error(`DynamoDB left ${keys.length} aggregate reads unprocessed after 5 attempts`);
        if (attempt > 0) await sleep(Math.random() * 50 * 2 ** attempt);
        const res: BatchGetCommandOutput = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of res.Responses?.[this.tableName] ?? []) {
          const key = item.deviceId as string;
          const json = JSON.parse(item.aggregate as string) as WindowAggregateJson;
          out.set(key.slice(0, key.length - AGGREGATE_KEY_SUFFIX.length), {
            version: item.version as number,
            aggregate: aggregateFromJson(item.windowStart as number, item.windowEnd as number, json),
          });
        }
        keys = res.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return out;
  }

  /**
   * Merges each device's part into its stored aggregate with optimistic concurrency: the put is conditional on the
   * version read, so two parts finishing at once (two shards, say) cannot lose each other's merge; on a conflict the
   * aggregate is read again and merged again, at most `MAX_MERGE_ATTEMPTS` times, then this throws (Lambda retries the
   * final invoke, and parts already merged are recognised by their id). Reads all devices with one BatchGet per 100.
   * Returns, per device, the aggregate to write the window's result from.
   */
  async mergeAll<P>(
    parts: readonly DevicePart<P>[],
    merge: (deviceId: string, stored: WindowAggregate | undefined, part: P) => MergeOutcome,
  ): Promise<Map<string, MergeOutcome>> {
    const stored = await this.loadAggregates(parts.map((p) => p.deviceId));
    const out = new Map<string, MergeOutcome>();
    let next = 0;
    const worker = async () => {
      while (next < parts.length) {
        const { deviceId, part } = parts[next++];
        let current = stored.get(deviceId);
        for (let attempt = 1; ; attempt++) {
          const outcome = merge(deviceId, current?.aggregate, part);
          if (outcome.kind === 'already-merged' || outcome.kind === 'newer-stored') {
            out.set(deviceId, outcome);
            break;
          }
          const version = (current?.version ?? 0) + 1;
          try {
            await this.doc.send(
              new PutCommand({
                TableName: this.tableName,
                Item: aggregateItem(deviceId, outcome.aggregate, version),
                ...(current
                  ? {
                      ConditionExpression: 'version = :read',
                      ExpressionAttributeValues: { ':read': current.version },
                    }
                  : { ConditionExpression: 'attribute_not_exists(deviceId)' }),
              }),
            );
            out.set(deviceId, outcome);
            break;
          } catch (e) {
            if (!isConditionalCheckFailed(e)) throw e;
            if (attempt >= MAX_MERGE_ATTEMPTS) {
              throw new Error(
                `window aggregate of ${deviceId} changed under ${MAX_MERGE_ATTEMPTS} merge attempts; retrying the final invoke`,
              );
            }
            await sleep(Math.random() * 20 * 2 ** attempt);
            current = (await this.loadAggregates([deviceId])).get(deviceId);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PUT_CONCURRENCY, parts.length) }, worker));
    return out;
  }

  /** The event ids the shard's latest finished window remembered, oldest first (empty when none is stored). */
  async loadRecentEventIds(shardId: string): Promise<string[]> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { deviceId: RECENT_EVENT_IDS_KEY_PREFIX + shardId },
        // Consistent: the previous window's final invoke wrote it just before this window began.
        ConsistentRead: true,
      }),
    );
    const raw = res.Item?.eventIds;
    return typeof raw === 'string' ? (JSON.parse(raw) as string[]) : [];
  }

  /**
   * Stores the event ids a window of the shard remembered (the newest first kept when they exceed the item budget),
   * unless a later window of the shard already stored its own. Idempotent, for a retried final invoke.
   */
  async putRecentEventIds(shardId: string, windowEnd: number, eventIds: readonly string[]): Promise<void> {
    let from = 0;
    let bytes = 2;
    for (let i = eventIds.length - 1; i >= 0; i--) {
      bytes += Buffer.byteLength(JSON.stringify(eventIds[i]), 'utf8') + 1;
      if (bytes > MAX_ITEM_BYTES) {
        from = i + 1;
        break;
      }
    }
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            deviceId: RECENT_EVENT_IDS_KEY_PREFIX + shardId,
            shardId,
            windowEnd,
            eventIds: JSON.stringify(eventIds.slice(from)),
          },
          ConditionExpression: 'attribute_not_exists(deviceId) OR windowEnd <= :windowEnd',
          ExpressionAttributeValues: { ':windowEnd': windowEnd },
        }),
      );
    } catch (e) {
      if (!isConditionalCheckFailed(e)) throw e;
    }
  }

  /**
   * Puts each item unless the stored one belongs to a later window, so a late retry never moves a device back in
   * time. Returns how many items were written and how many were skipped as older.
   */
  async putAll(items: readonly LatestStateItem[]): Promise<{ written: number; skippedOlder: number }> {
    let written = 0;
    let skippedOlder = 0;
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const item = items[next++];
        try {
          await this.doc.send(
            new PutCommand({
              TableName: this.tableName,
              Item: dynamoItem(item),
              ConditionExpression: 'attribute_not_exists(deviceId) OR windowEnd <= :windowEnd',
              ExpressionAttributeValues: { ':windowEnd': item.windowEnd },
            }),
          );
          written += 1;
        } catch (e) {
          if (isConditionalCheckFailed(e)) {
            skippedOlder += 1;
          } else throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PUT_CONCURRENCY, items.length) }, worker));
    return { written, skippedOlder };
  }
}

/**
 * The item as the DynamoDB marshaller must see it: metric-keyed maps as `Map`s. The marshaller tells objects apart by
 * `value.constructor.name`, so a plain object holding a metric named `constructor` is refused ("Unsupported type");
 * a Map is recognised by its class and its keys are written as they are.
 */
function dynamoItem(item: LatestStateItem): Record<string, unknown> {
  return { ...item, metrics: new Map(Object.entries(item.metrics)), baseline: new Map(Object.entries(item.baseline)) };
}

export const ANOMALY_SOURCE = 'cdk-streaming-patterns.timeseries';
export const ANOMALY_DETAIL_TYPE = 'TelemetryAnomaly';
const PUT_EVENTS_BATCH = 10;

export interface AnomalyPublisherOptions {
  readonly client: EventBridgeClient;
  /** Bus name or ARN. @default the account's default bus */
  readonly eventBusName?: string;
  /** Attempts per entry. @default 5 */
  readonly maxAttempts?: number;
  /** @default 100 */
  readonly baseDelayMs?: number;
}

/** Publishes anomalies as EventBridge events, 10 per PutEvents call, retrying only the entries that failed. */
export class AnomalyPublisher {
  constructor(private readonly options: AnomalyPublisherOptions) {}

  async publish(anomalies: readonly Anomaly[]): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    const baseDelay = this.options.baseDelayMs ?? 100;
    for (let i = 0; i < anomalies.length; i += PUT_EVENTS_BATCH) {
      let pending: PutEventsRequestEntry[] = anomalies.slice(i, i + PUT_EVENTS_BATCH).map((a) => ({
        Source: ANOMALY_SOURCE,
        DetailType: ANOMALY_DETAIL_TYPE,
        Detail: JSON.stringify(a),
        EventBusName: this.options.eventBusName,
        Resources: [],
      }));
      for (let attempt = 1; pending.length > 0; attempt++) {
        const out = await this.options.client.send(new PutEventsCommand({ Entries: pending }));
        const failed = pending
          .map((entry, j) => ({ entry, result: out.Entries?.[j] }))
          .filter((x) => !x.result || x.result.ErrorCode);
        if (failed.length === 0) break;
        if (attempt >= maxAttempts) {
          const why = failed.map((f) => `${f.result?.ErrorCode}: ${f.result?.ErrorMessage}`).join('; ');
          throw new Error(
            `EventBridge refused ${failed.length} anomaly event(s) after ${maxAttempts} attempts: ${why}`,
          );
        }
        pending = failed.map((f) => f.entry);
        await sleep(Math.random() * baseDelay * 2 ** (attempt - 1));
      }
    }
  }
}

function isConditionalCheckFailed(e: unknown): boolean {
  return e instanceof ConditionalCheckFailedException || (e as Error).name === 'ConditionalCheckFailedException';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
