import { ShardCalculator } from 'cdk-streaming-patterns';

const plan = ShardCalculator.calculate({ recordsPerSecond: 1000, averageRecordBytes: 512 });
console.log(ShardCalculator.formatPlan(plan));
// plan.capacityMode, plan.shardCount, plan.bindingLimit, plan.reason, plan.warnings ...
