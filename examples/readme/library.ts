import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { LambdaStreamProcessor, ShardCalculator, StreamStore } from 'cdk-streaming-patterns';

const app = new App();
const stack = new Stack(app, 'Orders');

// Size the stream from the expected load (or leave it on-demand, the default).
const plan = ShardCalculator.calculate({ recordsPerSecond: 2000, averageRecordBytes: 700, enhancedFanOutConsumers: 1 });
const store = new StreamStore(stack, 'Events', { shardPlan: plan });

new LambdaStreamProcessor(stack, 'Audit', {
  stream: store.stream,
  consumer: store.addConsumer('audit'), // enhanced fan-out
  entry: path.join(__dirname, 'audit-handler.ts'),
});
