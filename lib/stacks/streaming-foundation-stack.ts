import { Stack, StackProps } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { handlerEntry } from '../internal';
import { createAlarmTopic } from '../internal/alarms';
import { LambdaStreamProcessor } from '../processing';
import { ShardCalculator, StreamStore } from '../storage';

export interface StreamingFoundationStackProps extends StackProps {
  /** Expected records per second, used to size the stream. @default 1000 */
  readonly expectedRecordsPerSecond?: number;
  /** Expected average record size in bytes. @default 512 */
  readonly expectedRecordBytes?: number;
}

/**
 * The smallest useful pipeline built from the foundation constructs: a stream sized by `ShardCalculator`, with an
 * enhanced fan-out consumer feeding a validating Lambda that dead-letters bad records with their reason.
 */
export class StreamingFoundationStack extends Stack {
  public readonly store: StreamStore;
  public readonly processor: LambdaStreamProcessor;
  public readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: StreamingFoundationStackProps = {}) {
    super(scope, id, props);
    this.alarmTopic = createAlarmTopic(this, { keyDescription: 'Encrypts the alarm topic' });

    const plan = ShardCalculator.calculate({
      recordsPerSecond: props.expectedRecordsPerSecond ?? 1000,
      averageRecordBytes: props.expectedRecordBytes ?? 512,
      sharedThroughputConsumers: 0,
      enhancedFanOutConsumers: 1,
    });
    this.store = new StreamStore(this, 'Events', { shardPlan: plan, alarmTopic: this.alarmTopic });
    const consumer = this.store.addConsumer('json-validator');

    this.processor = new LambdaStreamProcessor(this, 'Validator', {
      stream: this.store.stream,
      consumer,
      entry: handlerEntry('json-validator'),
      environment: { REQUIRED_FIELDS: 'id,type' },
      alarmTopic: this.alarmTopic,
    });
  }
}
