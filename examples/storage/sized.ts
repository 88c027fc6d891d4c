import { App, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ShardCalculator, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'Streams');
const alarmTopic = new sns.Topic(stack, 'Alarms', { enforceSSL: true });
const producer = iam.Role.fromRoleName(stack, 'Producer', 'telemetry-producer');

const plan = ShardCalculator.calculate({ recordsPerSecond: 2000, averageRecordBytes: 600, loadPredictable: true });
const store = new StreamStore(stack, 'Telemetry', {
  shardPlan: plan,
  retentionPeriod: Duration.days(7),
  enhancedFanOutConsumerNames: ['analytics'],
  alarmTopic,
});
store.grantWrite(producer);
store.addConsumer('archiver');
