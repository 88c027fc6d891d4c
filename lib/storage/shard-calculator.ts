import { StreamMode } from 'aws-cdk-lib/aws-kinesis';
import { requireResolved } from '../internal/validation';

/** Published Kinesis Data Streams limits used by the calculator. */
export const KINESIS_LIMITS = {
  /** Write limit per shard, bytes/s (1 MiB/s). */
  shardWriteBytesPerSecond: 1024 * 1024,
  /** Write limit per shard, records/s. */
  shardWriteRecordsPerSecond: 1000,
  /** Shared-throughput read limit per shard, bytes/s (2 MiB/s), split among all polling consumers. */
  shardSharedReadBytesPerSecond: 2 * 1024 * 1024,
  /** GetRecords calls per shard per second, shared by all polling consumers. */
  shardGetRecordsPerSecond: 5,
  /** Enhanced fan-out read limit per shard per registered consumer, bytes/s (2 MiB/s). */
  shardEfoReadBytesPerSecond: 2 * 1024 * 1024,
  /** Registered enhanced fan-out consumers per stream. */
  maxEfoConsumers: 20,
  /** Largest record by default (1 MiB); streams can raise it to 10 MiB. */
  maxRecordBytes: 10 * 1024 * 1024,
  /** On-demand write capacity a new stream starts with, bytes/s (4 MiB/s). */
  onDemandInitialWriteBytesPerSecond: 4 * 1024 * 1024,
  /** On-demand write capacity a new stream starts with, records/s. */
  onDemandInitialWriteRecordsPerSecond: 4000,
  /** Default on-demand per-stream write quota, bytes/s (200 MiB/s; raisable in some Regions). */
  onDemandMaxWriteBytesPerSecond: 200 * 1024 * 1024,
  /** Default on-demand per-stream write quota, records/s. */
  onDemandMaxWriteRecordsPerSecond: 200000,
  /** Default shard quota per account in most Regions. */
  defaultShardQuota: 500,
};

/**
 * List prices in USD (us-east-1, 2025) used for the cost estimate. Override them for other Regions.
 */
export interface KinesisPrices {
  /** @default 0.015 */
  readonly shardHour?: number;
  /** Per million 25 KiB PUT payload units. @default 0.014 */
  readonly putPayloadUnitsPerMillion?: number;
  /** @default 0.04 */
  readonly onDemandStreamHour?: number;
  /** @default 0.08 */
  readonly onDemandIngestPerGb?: number;
  /** @default 0.04 */
  readonly onDemandRetrievalPerGb?: number;
  /** @default 0.015 */
  readonly efoConsumerShardHour?: number;
  /** @default 0.013 */
  readonly efoRetrievalPerGb?: number;
}

export interface ShardCalculatorProps {
  /** Average records written per second. */
  readonly recordsPerSecond: number;
  /** Average record size in bytes, including the partition key. */
  readonly averageRecordBytes: number;
  /** Peak load as a multiple of the average. @default 2 */
  readonly peakFactor?: number;
  /** Consumers that poll with GetRecords (shared throughput), e.g. Lambda mappings, Firehose. @default 1 */
  readonly sharedThroughputConsumers?: number;
  /** Consumers registered for enhanced fan-out. @default 0 */
  readonly enhancedFanOutConsumers?: number;
  /** Fraction of each binding limit kept free at peak, from 0 to 0.9. @default 0.2 */
  readonly targetHeadroom?: number;
  /**
   * Whether the load is known and steady. Unknown or spiky load gets on-demand (it scales by itself); a predictable
   * load gets the cheaper mode, which is usually provisioned.
   * @default false
   */
  readonly loadPredictable?: boolean;
  /** Prices for the monthly cost estimate. @default - us-east-1 list prices */
  readonly prices?: KinesisPrices;
}

/** One per-shard limit and what the load needs of it. */
export interface ShardLimitUsage {
  /** Name of the limit, e.g. `write-bytes`. */
  readonly limit: string;
  /** Peak demand on this limit per second (bytes or records or calls). */
  readonly demandPerSecond: number;
  /** What one shard provides per second for this limit. */
  readonly capacityPerShard: number;
  /** Shards needed for this limit alone, with the target headroom. */
  readonly shardsNeeded: number;
}

/** The calculator's recommendation. `StreamStore` accepts it as `shardPlan`. */
export interface ShardPlan {
  /** Recommended capacity mode. */
  readonly capacityMode: StreamMode;
  /** Shards for provisioned mode (also reported when on-demand is recommended, for comparison). */
  readonly shardCount: number;
  /** The limit that determines the shard count. */
  readonly bindingLimit: string;
  /** Utilization of the binding limit at peak with `shardCount` shards (0..1). */
  readonly peakUtilization: number;
  /** 1 - peakUtilization. */
  readonly headroom: number;
  /** Every limit considered. */
  readonly limits: ShardLimitUsage[];
  /** Estimated monthly cost (730 h, average load) in provisioned mode, USD. */
  readonly monthlyCostProvisionedUsd: number;
  /** Estimated monthly cost (730 h, average load) in on-demand mode, USD. */
  readonly monthlyCostOnDemandUsd: number;
  /** Why this mode was chosen. */
  readonly reason: string;
  /** Things to look at: quotas, record sizes, consumer counts. */
  readonly warnings: string[];
}

const HOURS_PER_MONTH = 730;
const GB = 1024 * 1024 * 1024;

/** Sizes a Kinesis data stream from the expected load, using the published limits. Pure and deterministic. */
export class ShardCalculator {
  public static calculate(props: ShardCalculatorProps): ShardPlan {
    const peakFactor = props.peakFactor ?? 2;
    const shared = props.sharedThroughputConsumers ?? 1;
    const efo = props.enhancedFanOutConsumers ?? 0;
    const headroomTarget = props.targetHeadroom ?? 0.2;
    const { prices: givenPrices, ...load } = props;
    for (const [name, value] of [...Object.entries(load), ...Object.entries(givenPrices ?? {})]) {
      requireResolved(name, value, 'ShardCalculator sizes the stream at synth time, before deploy-time values exist');
    }
    requirePositive('recordsPerSecond', props.recordsPerSecond);
    requirePositive('averageRecordBytes', props.averageRecordBytes);
    if (props.averageRecordBytes > KINESIS_LIMITS.maxRecordBytes) {
      throw new Error(
        `averageRecordBytes must be at most ${KINESIS_LIMITS.maxRecordBytes} (10 MiB), got ${props.averageRecordBytes}`,
      );
    }
    if (!(peakFactor >= 1) || !Number.isFinite(peakFactor)) {
      throw new Error(`peakFactor must be at least 1, got ${peakFactor}`);
    }
    requireCount('sharedThroughputConsumers', shared, 0, Number.MAX_SAFE_INTEGER);
    requireCount('enhancedFanOutConsumers', efo, 0, KINESIS_LIMITS.maxEfoConsumers);
    if (shared + efo === 0) {
      throw new Error('at least one consumer (shared or enhanced fan-out) is needed, got 0 of each');
    }
    if (!(headroomTarget >= 0 && headroomTarget <= 0.9)) {
      throw new Error(`targetHeadroom must be between 0 and 0.9, got ${headroomTarget}`);
    }

    const peakRecords = props.recordsPerSecond * peakFactor;
    const peakBytes = peakRecords * props.averageRecordBytes;
    const usable = 1 - headroomTarget;
    const usage = (limit: string, demand: number, capacity: number): ShardLimitUsage => ({
      limit,
      demandPerSecond: round(demand),
      capacityPerShard: capacity,
      shardsNeeded: Math.max(1, Math.ceil(demand / (capacity * usable) - 1e-9)),
    });

    const limits: ShardLimitUsage[] = [
      usage('write-bytes', peakBytes, KINESIS_LIMITS.shardWriteBytesPerSecond),
      usage('write-records', peakRecords, KINESIS_LIMITS.shardWriteRecordsPerSecond),
    ];
    if (shared > 0) {
      limits.push(usage('shared-read-bytes', peakBytes * shared, KINESIS_LIMITS.shardSharedReadBytesPerSecond));
    }
    if (efo > 0) {
      // Each registered consumer gets its own 2 MiB/s per shard, so the count does not multiply demand.
      limits.push(usage('efo-read-bytes', peakBytes, KINESIS_LIMITS.shardEfoReadBytesPerSecond));
    }

    const binding = limits.reduce((a, b) => (b.shardsNeeded > a.shardsNeeded ? b : a));
    const shardCount = binding.shardsNeeded;
    const peakUtilization = binding.demandPerSecond / (binding.capacityPerShard * shardCount);

    const prices = resolvePrices(props.prices);
    const avgBytes = props.recordsPerSecond * props.averageRecordBytes;
    const monthlySeconds = HOURS_PER_MONTH * 3600;
    const payloadUnitsPerRecord = Math.ceil(props.averageRecordBytes / (25 * 1024));
    const efoCost =
      efo * shardCount * HOURS_PER_MONTH * prices.efoConsumerShardHour +
      (efo * avgBytes * monthlySeconds * prices.efoRetrievalPerGb) / GB;
    const provisioned =
      shardCount * HOURS_PER_MONTH * prices.shardHour +
      ((props.recordsPerSecond * payloadUnitsPerRecord * monthlySeconds) / 1e6) * prices.putPayloadUnitsPerMillion +
      efoCost;
    // On-demand bills ingest and retrieval per GB; EFO retrieval is billed like provisioned here (approximation).
    const onDemand =
      HOURS_PER_MONTH * prices.onDemandStreamHour +
      (avgBytes * monthlySeconds * prices.onDemandIngestPerGb) / GB +
      (avgBytes * shared * monthlySeconds * prices.onDemandRetrievalPerGb) / GB +
      (efo * avgBytes * monthlySeconds * prices.efoRetrievalPerGb) / GB;

    const warnings: string[] = [];
    if (shared > KINESIS_LIMITS.shardGetRecordsPerSecond) {
      warnings.push(
        `${shared} polling consumers share 5 GetRecords calls per shard per second; use enhanced fan-out for some of them`,
      );
    }
    if (props.averageRecordBytes > 1024 * 1024) {
      warnings.push('records above 1 MiB need the stream maximum record size raised (maxRecordSizeKiB)');
    }
    if (shardCount > KINESIS_LIMITS.defaultShardQuota) {
      warnings.push(`${shardCount} shards exceed the default account quota of ${KINESIS_LIMITS.defaultShardQuota}`);
    }
    const overOnDemandQuota =
      peakBytes > KINESIS_LIMITS.onDemandMaxWriteBytesPerSecond ||
      peakRecords > KINESIS_LIMITS.onDemandMaxWriteRecordsPerSecond;
    if (
      !overOnDemandQuota &&
      (peakBytes > KINESIS_LIMITS.onDemandInitialWriteBytesPerSecond ||
        peakRecords > KINESIS_LIMITS.onDemandInitialWriteRecordsPerSecond)
    ) {
      warnings.push('on-demand starts at 4 MiB/s or 4,000 records/s and doubles within about 15 minutes; pre-warm it');
    }

    let capacityMode: StreamMode;
    let reason: string;
    if (overOnDemandQuota) {
      capacityMode = StreamMode.PROVISIONED;
      reason = 'peak exceeds the default on-demand write quota (200 MiB/s or 200,000 records/s)';
    } else if (!(props.loadPredictable ?? false)) {
      capacityMode = StreamMode.ON_DEMAND;
      reason = `load not declared predictable: on-demand scales by itself (${formatUsd(onDemand)}/month against ${formatUsd(provisioned)} provisioned)`;
    } else if (onDemand <= provisioned) {
      capacityMode = StreamMode.ON_DEMAND;
      reason = 'on-demand is estimated to cost no more than provisioned and needs no capacity management';
    } else {
      capacityMode = StreamMode.PROVISIONED;
      reason = `provisioned is estimated at ${formatUsd(provisioned)}/month against ${formatUsd(onDemand)} on-demand`;
    }

    return {
      capacityMode,
      shardCount,
      bindingLimit: binding.limit,
      peakUtilization: round(peakUtilization),
      headroom: round(1 - peakUtilization),
      limits,
      monthlyCostProvisionedUsd: round(provisioned),
      monthlyCostOnDemandUsd: round(onDemand),
      reason,
      warnings,
    };
  }

  /** Renders a plan as a plain-text table for terminals. */
  public static formatPlan(plan: ShardPlan): string {
    const rows: string[][] = [['limit', 'peak demand/s', 'per shard/s', 'shards needed']];
    for (const l of plan.limits) {
      rows.push([
        l.limit + (l.limit === plan.bindingLimit ? ' *' : ''),
        String(l.demandPerSecond),
        String(l.capacityPerShard),
        String(l.shardsNeeded),
      ]);
    }
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    const line = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ');
    const out = [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
    out.push('');
    out.push(`capacity mode      ${plan.capacityMode} (${plan.reason})`);
    out.push(`shards             ${plan.shardCount} (binding limit: ${plan.bindingLimit}, marked *)`);
    out.push(
      `peak utilization   ${(plan.peakUtilization * 100).toFixed(1)}%  headroom ${(plan.headroom * 100).toFixed(1)}%`,
    );
    out.push(
      `monthly cost       provisioned ${formatUsd(plan.monthlyCostProvisionedUsd)}, on-demand ${formatUsd(plan.monthlyCostOnDemandUsd)}`,
    );
    for (const w of plan.warnings) out.push(`warning            ${w}`);
    return out.join('\n');
  }
}

function resolvePrices(p: KinesisPrices = {}): Required<KinesisPrices> {
  return {
    shardHour: p.shardHour ?? 0.015,
    putPayloadUnitsPerMillion: p.putPayloadUnitsPerMillion ?? 0.014,
    onDemandStreamHour: p.onDemandStreamHour ?? 0.04,
    onDemandIngestPerGb: p.onDemandIngestPerGb ?? 0.08,
    onDemandRetrievalPerGb: p.onDemandRetrievalPerGb ?? 0.04,
    efoConsumerShardHour: p.efoConsumerShardHour ?? 0.015,
    efoRetrievalPerGb: p.efoRetrievalPerGb ?? 0.013,
  };
}

function requirePositive(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new Error(`${name} must be a positive number, got ${value}`);
  }
}

function requireCount(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, got ${value}`);
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function formatUsd(n: number): string {
  return `$${n.toFixed(2)}`;
}
