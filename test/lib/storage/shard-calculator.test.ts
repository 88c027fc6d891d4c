import { StreamMode } from 'aws-cdk-lib/aws-kinesis';
import { KINESIS_LIMITS, ShardCalculator } from '../../../lib/storage';

describe('ShardCalculator', () => {
  test('write records bind for small records', () => {
    // 5000 rec/s x2 peak = 10000 rec/s; 1000 rec/s per shard at 80% usable -> 13 shards.
    const plan = ShardCalculator.calculate({ recordsPerSecond: 5000, averageRecordBytes: 600 });
    expect(plan.bindingLimit).toBe('write-records');
    expect(plan.shardCount).toBe(13);
    expect(plan.peakUtilization).toBeCloseTo(10000 / 13000, 3);
    expect(plan.headroom).toBeCloseTo(1 - 10000 / 13000, 3);
  });

  test('write bytes bind for large records', () => {
    // 100 rec/s x 100 KiB x2 = 20000 KiB/s; 1024 KiB/s per shard at 80% -> ceil(24.41) = 25.
    const plan = ShardCalculator.calculate({ recordsPerSecond: 100, averageRecordBytes: 100 * 1024 });
    expect(plan.bindingLimit).toBe('write-bytes');
    expect(plan.shardCount).toBe(25);
  });

  test('shared read binds with many polling consumers', () => {
    // 1000 rec/s x 1000 B x 1 peak = 1e6 B/s written; 4 consumers read 4e6 B/s; 2 MiB/s per shard at 80% -> 3.
    const plan = ShardCalculator.calculate({
      recordsPerSecond: 1000,
      averageRecordBytes: 1000,
      peakFactor: 1,
      sharedThroughputConsumers: 4,
    });
    expect(plan.bindingLimit).toBe('shared-read-bytes');
    expect(plan.shardCount).toBe(3);
  });

  test('enhanced fan-out consumers do not multiply read demand', () => {
    const one = ShardCalculator.calculate({
      recordsPerSecond: 1000,
      averageRecordBytes: 1000,
      sharedThroughputConsumers: 0,
      enhancedFanOutConsumers: 1,
    });
    const five = ShardCalculator.calculate({
      recordsPerSecond: 1000,
      averageRecordBytes: 1000,
      sharedThroughputConsumers: 0,
      enhancedFanOutConsumers: 5,
    });
    expect(five.shardCount).toBe(one.shardCount);
    expect(five.limits.find((l) => l.limit === 'efo-read-bytes')?.capacityPerShard).toBe(
      KINESIS_LIMITS.shardEfoReadBytesPerSecond,
    );
    expect(five.monthlyCostProvisionedUsd).toBeGreaterThan(one.monthlyCostProvisionedUsd);
  });

  test('headroom target changes the shard count', () => {
    const tight = ShardCalculator.calculate({
      recordsPerSecond: 1000,
      averageRecordBytes: 100,
      peakFactor: 1,
      targetHeadroom: 0,
    });
    const loose = ShardCalculator.calculate({
      recordsPerSecond: 1000,
      averageRecordBytes: 100,
      peakFactor: 1,
      targetHeadroom: 0.5,
    });
    expect(tight.shardCount).toBe(1);
    expect(loose.shardCount).toBe(2);
  });

  test('unknown load gets on-demand, predictable load the cheaper mode', () => {
    const unknown = ShardCalculator.calculate({ recordsPerSecond: 5000, averageRecordBytes: 600 });
    expect(unknown.capacityMode).toBe(StreamMode.ON_DEMAND);
    const predictable = ShardCalculator.calculate({
      recordsPerSecond: 5000,
      averageRecordBytes: 600,
      loadPredictable: true,
    });
    expect(predictable.monthlyCostProvisionedUsd).toBeLessThan(predictable.monthlyCostOnDemandUsd);
    expect(predictable.capacityMode).toBe(StreamMode.PROVISIONED);
  });

  test('on-demand cheaper when provisioned prices are raised', () => {
    const plan = ShardCalculator.calculate({
      recordsPerSecond: 10,
      averageRecordBytes: 100,
      loadPredictable: true,
      prices: { shardHour: 1 },
    });
    expect(plan.capacityMode).toBe(StreamMode.ON_DEMAND);
  });

  test('loads above the on-demand quota get provisioned', () => {
    const plan = ShardCalculator.calculate({ recordsPerSecond: 300000, averageRecordBytes: 1000 });
    expect(plan.capacityMode).toBe(StreamMode.PROVISIONED);
    expect(plan.reason).toMatch(/on-demand write quota/);
    expect(plan.warnings.join()).toMatch(/exceed the default account quota of 500/);
  });

  test('cost estimate matches list prices', () => {
    // 1 shard: 730 h x $0.015 = $10.95; 10 rec/s x 2,628,000 s = 26.28 M payload units x $0.014 = $0.368.
    const plan = ShardCalculator.calculate({ recordsPerSecond: 10, averageRecordBytes: 100, loadPredictable: true });
    expect(plan.shardCount).toBe(1);
    expect(plan.monthlyCostProvisionedUsd).toBeCloseTo(10.95 + 0.368, 2);
  });

  test('warns about too many polling consumers and large records', () => {
    const plan = ShardCalculator.calculate({
      recordsPerSecond: 1,
      averageRecordBytes: 2 * 1024 * 1024,
      sharedThroughputConsumers: 6,
    });
    expect(plan.warnings.join('\n')).toMatch(/6 polling consumers/);
    expect(plan.warnings.join('\n')).toMatch(/maxRecordSizeKiB/);
  });

  test('formatPlan prints every limit and marks the binding one', () => {
    const text = ShardCalculator.formatPlan(
      ShardCalculator.calculate({ recordsPerSecond: 5000, averageRecordBytes: 600 }),
    );
    expect(text).toMatch(/write-records \*/);
    expect(text).toMatch(/write-bytes /);
    expect(text).toMatch(/shards\s+13/);
  });

  test.each([
    [{ recordsPerSecond: 0, averageRecordBytes: 1 }, /recordsPerSecond must be a positive number, got 0/],
    [{ recordsPerSecond: 1, averageRecordBytes: -5 }, /averageRecordBytes must be a positive number, got -5/],
    [{ recordsPerSecond: 1, averageRecordBytes: 11 * 1024 * 1024 }, /at most 10485760 \(10 MiB\), got 11534336/],
    [{ recordsPerSecond: 1, averageRecordBytes: 1, peakFactor: 0.5 }, /peakFactor must be at least 1, got 0.5/],
    [{ recordsPerSecond: 1, averageRecordBytes: 1, enhancedFanOutConsumers: 21 }, /between 0 and 20, got 21/],
    [{ recordsPerSecond: 1, averageRecordBytes: 1, sharedThroughputConsumers: 0 }, /at least one consumer/],
    [
      { recordsPerSecond: 1, averageRecordBytes: 1, targetHeadroom: 0.95 },
      /targetHeadroom must be between 0 and 0.9, got 0.95/,
    ],
  ])('rejects %j', (props, message) => {
    expect(() => ShardCalculator.calculate(props)).toThrow(message);
  });
});
