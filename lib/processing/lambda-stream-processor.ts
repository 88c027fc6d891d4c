import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { describeDuration, requireResolved, validateDuration, validateInteger, validateRange } from '../internal';
import { AlarmSpec, createAlarm, validateThreshold } from '../internal/alarms';
import { acknowledgeWildcardResource } from '../internal/nag';
import { createObservedFunction, serviceNameOf } from '../internal/observed-function';

/** Where oversized dead letters go in `deadLetterPayloadBucket`; the handler runtime's S3PayloadStore default. */
const DEAD_LETTER_PAYLOAD_PREFIX = 'dead-letters/';

/** The `EventCount` metrics a Kinesis event source mapping publishes when its metrics are on. */
const EVENT_COUNT_METRICS = [
  'PolledEventCount',
  'FilteredOutEventCount',
  'InvokedEventCount',
  'FailedInvokeEventCount',
  'DroppedEventCount',
  'OnFailureDestinationDeliveredEventCount',
];

/** Where the event source mapping sends batches that exhausted their retries or aged out. */
export enum OnFailureDestinationType {
  /** The construct's encrypted SQS dead-letter queue (also receives records the handler dead-letters). */
  SQS = 'SQS',
  /** An encrypted S3 bucket (created unless `onFailureBucket` is given); metadata and payloads are kept. */
  S3 = 'S3',
}

/** One event filter pattern, as JSON (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html). */
export interface StreamEventFilter {
  /** The filter pattern, e.g. `{ data: { type: ['alarm'] } }`. */
  readonly pattern: { [key: string]: unknown };
}

export interface LambdaStreamProcessorProps {
  /** The stream to read. */
  readonly stream: kinesis.IStream;
  /** Read through this enhanced fan-out consumer (e.g. from `StreamStore.addConsumer`). @default - shared throughput polling */
  readonly consumer?: kinesis.IStreamConsumer;
  /** Path of the handler's TypeScript entry file. */
  readonly entry: string;
  /** @default 'handler' */
  readonly handler?: string;
  /** @default - the construct path */
  readonly description?: string;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default Duration.minutes(1) */
  readonly timeout?: Duration;
  /** @default - none besides the dead-letter settings */
  readonly environment?: { [key: string]: string };
  /** @default - unreserved */
  readonly reservedConcurrentExecutions?: number;
  /** Run the function in this VPC (e.g. to reach a private database). @default - not in a VPC */
  readonly vpc?: ec2.IVpc;
  /** Subnets of `vpc` for the function. @default - the VPC's private subnets, or isolated ones when it has none */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Security groups of the function in `vpc`. @default - a new security group allowing all outbound traffic */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Records per batch, 1 to 10000. @default 100 */
  readonly batchSize?: number;
  /** Wait up to this long to fill a batch, 0 to 300 s. @default Duration.seconds(1) */
  readonly maxBatchingWindow?: Duration;
  /** Concurrent batches per shard, 1 to 10 (ordering then holds per partition key, not per shard). @default 1 */
  readonly parallelizationFactor?: number;
  /** @default lambda.StartingPosition.TRIM_HORIZON - nothing already in the stream is skipped on first deploy */
  readonly startingPosition?: lambda.StartingPosition;
  /** Retries of a failing batch, 0 to 10000. @default 3 */
  readonly retryAttempts?: number;
  /** Records older than this go to the on-failure destination, 60 s to 7 days. @default Duration.hours(6) */
  readonly maxRecordAge?: Duration;
  /** Split a failing batch in two and retry each half. @default true */
  readonly bisectBatchOnError?: boolean;
  /** Tumbling window for stateful aggregation across invocations, up to 15 minutes. @default - no window */
  readonly tumblingWindow?: Duration;
  /** Only records matching one of these patterns invoke the function. @default - every record */
  readonly filters?: StreamEventFilter[];
  /** @default OnFailureDestinationType.SQS */
  readonly onFailure?: OnFailureDestinationType;
  /** Bucket for `OnFailureDestinationType.S3`. @default - a new encrypted bucket */
  readonly onFailureBucket?: s3.IBucket;
  /**
   * Keeps dead letters too large for the queue (256 KiB) in full, as objects under `dead-letters/`; the queued entry,
   * cut to fit, points at its object (`payloadRef`).
   * @default - an oversized dead letter is cut to fit the queue (`truncated: true`) and its rest is not kept
   */
  readonly deadLetterPayloadBucket?: s3.IBucket;
  /** Key for the dead-letter queue. @default - a new KMS key with rotation */
  readonly deadLetterQueueKey?: kms.IKey;
  /** How long dead letters are kept, 60 s to 14 days. @default Duration.days(14) */
  readonly deadLetterRetention?: Duration;
  /**
   * Publish the event source mapping's `EventCount` metrics (`PolledEventCount`, `FilteredOutEventCount`,
   * `InvokedEventCount`, `FailedInvokeEventCount`, `DroppedEventCount`, `OnFailureDestinationDeliveredEventCount`;
   * `MetricsConfig`), billed as CloudWatch metrics, and alarm on dropped records. They show what Lambda's function
   * metrics cannot: records that aged out or ran out of retries, and failures the handler reported per item.
   * @default false
   */
  readonly eventSourceMappingMetrics?: boolean;
  /** With `eventSourceMappingMetrics`, alarm when records dropped in 5 minutes reach this count. @default 1 */
  readonly droppedEventsThreshold?: number;
  /** Create the default alarms. @default true */
  readonly createAlarms?: boolean;
  /** Alarm on function errors in 5 minutes at or above this. @default 1 */
  readonly errorsThreshold?: number;
  /** Alarm on throttles in 5 minutes at or above this. @default 1 */
  readonly throttlesThreshold?: number;
  /** Alarm when the mapping's iterator age (Maximum) reaches this. @default Duration.minutes(5) */
  readonly iteratorAgeThreshold?: Duration;
  /** Alarm when this many messages wait in the dead-letter queue. @default 1 */
  readonly deadLetterQueueDepthThreshold?: number;
  /** Topic notified when an alarm fires or recovers. @default - no action */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * Lambda stream processing: a `NodejsFunction` (nodejs24.x, arm64, local esbuild) fed by a Kinesis event source
 * mapping with safe defaults, a dead-letter queue for records the handler rejects, an on-failure destination for
 * batches that run out of retries, and alarms scoped to the function and queue.
 */
export class LambdaStreamProcessor extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.IRole;
  public readonly eventSourceMapping: lambda.IEventSourceMapping;
  /** Records the handler dead-letters (with reason) and, with SQS on-failure, batches that ran out of retries. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The S3 on-failure bucket, when S3 is the on-failure destination. */
  public readonly onFailureBucket?: s3.IBucket;
  /** The bucket that keeps oversized dead letters in full, when one was given. */
  public readonly deadLetterPayloadBucket?: s3.IBucket;
  public readonly logGroup: logs.LogGroup;
  public readonly alarms: cloudwatch.Alarm[] = [];

  private readonly eventSourceMappingMetrics: boolean;

  constructor(scope: Construct, id: string, props: LambdaStreamProcessorProps) {
    super(scope, id);
    validateInteger('batchSize', props.batchSize, 1, 10000);
    validateInteger('parallelizationFactor', props.parallelizationFactor, 1, 10);
    validateInteger('retryAttempts', props.retryAttempts, 0, 10000);
    validateDuration('maxBatchingWindow', props.maxBatchingWindow, Duration.seconds(0), Duration.seconds(300));
    // aws-cdk-lib compares maxRecordAge at synth time (EventSourceMapping), so it cannot be a deploy-time value.
    requireResolved('maxRecordAge', props.maxRecordAge, 'the event source mapping checks it at synth time');
    validateDuration('maxRecordAge', props.maxRecordAge, Duration.seconds(60), Duration.days(7));
    validateDuration('deadLetterRetention', props.deadLetterRetention, Duration.seconds(60), Duration.days(14));
    validateDuration('tumblingWindow', props.tumblingWindow, Duration.seconds(1), Duration.seconds(900));
    validateRange('memorySize', props.memorySize, 128, 10240, 'MB');
    validateThreshold('errorsThreshold', props.errorsThreshold);
    validateThreshold('throttlesThreshold', props.throttlesThreshold);
    validateThreshold('deadLetterQueueDepthThreshold', props.deadLetterQueueDepthThreshold);
    validateThreshold('droppedEventsThreshold', props.droppedEventsThreshold);
    if (props.droppedEventsThreshold !== undefined && !props.eventSourceMappingMetrics) {
      throw new Error(
        `droppedEventsThreshold needs eventSourceMappingMetrics: true, got ${props.eventSourceMappingMetrics ?? 'false (default)'}`,
      );
    }
    this.eventSourceMappingMetrics = props.eventSourceMappingMetrics ?? false;
    if (props.consumer) {
      const resolve = (arn: string) => JSON.stringify(Stack.of(this).resolve(arn));
      const [consumerStream, stream] = [resolve(props.consumer.stream.streamArn), resolve(props.stream.streamArn)];
      if (consumerStream !== stream) {
        throw new Error(`consumer belongs to ${consumerStream}, not to the processed stream ${stream}`);
      }
    }
    if (props.onFailureBucket && props.onFailure !== OnFailureDestinationType.S3) {
      throw new Error(`onFailureBucket requires onFailure S3, got ${props.onFailure ?? 'SQS (default)'}`);
    }

    const queueKey =
      props.deadLetterQueueKey ??
      new kms.Key(this, 'DeadLetterKey', {
        description: `Encrypts the dead-letter queue of ${this.node.path}`,
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: queueKey,
      enforceSSL: true,
      retentionPeriod: props.deadLetterRetention ?? Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason:
        'This queue is the terminal dead-letter destination of the stream processor; its depth is alarmed unless createAlarms is false.',
    });

    if ((props.vpcSubnets || props.securityGroups) && !props.vpc) {
      throw new Error('vpcSubnets and securityGroups require vpc, got no vpc');
    }
    const created = createObservedFunction(
      this,
      { logGroup: 'LogGroup', role: 'ServiceRole', function: 'Function' },
      {
        entry: props.entry,
        handler: props.handler,
        description: props.description ?? `Kinesis stream processor ${this.node.path}`,
        roleDescription: `Execution role of ${this.node.path}`,
        serviceName: serviceNameOf(this, id),
        memorySize: props.memorySize ?? 512,
        timeout: props.timeout ?? Duration.minutes(1),
        reservedConcurrentExecutions: props.reservedConcurrentExecutions,
        logRetention: props.logRetention,
        vpc: props.vpc,
        vpcSubnets: props.vpcSubnets,
        securityGroups: props.securityGroups,
        environment: {
          DEAD_LETTER_QUEUE_URL: this.deadLetterQueue.queueUrl,
          ...(props.deadLetterPayloadBucket
            ? { DEAD_LETTER_PAYLOAD_BUCKET: props.deadLetterPayloadBucket.bucketName }
            : {}),
          ...props.environment,
        },
      },
    );
    this.function = created.function;
    this.logGroup = created.logGroup;
    const role = created.role;
    this.role = role;
    // Least privilege for a producer to a KMS-encrypted queue (grantSendMessages adds kms:ReEncrypt* and more).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [queueKey.keyArn] }),
    );

    if (props.deadLetterPayloadBucket) {
      this.deadLetterPayloadBucket = props.deadLetterPayloadBucket;
      const objects = props.deadLetterPayloadBucket.arnForObjects(`${DEAD_LETTER_PAYLOAD_PREFIX}*`);
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [objects] }));
      const key = props.deadLetterPayloadBucket.encryptionKey;
      if (key) {
        role.addToPrincipalPolicy(
          new iam.PolicyStatement({ actions: ['kms:GenerateDataKey'], resources: [key.keyArn] }),
        );
      }
      acknowledgeWildcardResource(
        role,
        `${props.deadLetterPayloadBucket.bucketArn}/${DEAD_LETTER_PAYLOAD_PREFIX}*`,
        'Writes oversized dead letters as objects under their own prefix; object keys are derived from the record position and cannot be listed in advance.',
      );
    }

    let onFailure: lambda.IEventSourceDlq;
    if (props.onFailure === OnFailureDestinationType.S3) {
      this.onFailureBucket =
        props.onFailureBucket ??
        new s3.Bucket(this, 'OnFailureBucket', {
          encryption: s3.BucketEncryption.S3_MANAGED,
          enforceSSL: true,
          blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
          versioned: true,
          removalPolicy: RemovalPolicy.RETAIN,
          lifecycleRules: [{ expiration: Duration.days(90), noncurrentVersionExpiration: Duration.days(30) }],
        });
      Validations.of(this.onFailureBucket).acknowledge({
        id: 'AwsSolutions::AwsSolutions-S1',
        reason:
          'Holds only failed-batch records written by Lambda; object-level audit belongs to CloudTrail data events.',
      });
      onFailure = new S3FailureDestination(this.onFailureBucket);
    } else {
      onFailure = new sources.SqsDlq(this.deadLetterQueue);
      for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*']) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions::AwsSolutions-IAM5[Action::${action}]`,
          reason: `aws-cdk-lib's SqsDlq on-failure destination grants ${action} on this queue's own key only, to send failed batch metadata.`,
        });
      }
    }

    const common: sources.StreamEventSourceProps = {
      startingPosition: props.startingPosition ?? lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 100,
      maxBatchingWindow: props.maxBatchingWindow ?? Duration.seconds(1),
      parallelizationFactor: props.parallelizationFactor ?? 1,
      retryAttempts: props.retryAttempts ?? 3,
      maxRecordAge: props.maxRecordAge ?? Duration.hours(6),
      bisectBatchOnError: props.bisectBatchOnError ?? true,
      reportBatchItemFailures: true,
      tumblingWindow: props.tumblingWindow,
      onFailure,
      filters: props.filters?.map((f) => ({ pattern: JSON.stringify(f.pattern) })),
      // Kinesis mappings publish the EventCount group only (ErrorCount and KafkaMetrics are for Kafka sources).
      metricsConfig: this.eventSourceMappingMetrics ? { metrics: [lambda.MetricType.EVENT_COUNT] } : undefined,
    };
    const eventSource = props.consumer
      ? new sources.KinesisConsumerEventSource(props.consumer, common)
      : new sources.KinesisEventSource(props.stream, common);
    this.function.addEventSource(eventSource);
    this.eventSourceMapping = eventSourceMappingOf(this.function);

    if (props.createAlarms ?? true) {
      const add = (alarmId: string, spec: AlarmSpec) =>
        this.alarms.push(createAlarm(this, alarmId, spec, props.alarmTopic));
      add('ErrorsAlarm', {
        metric: this.metricErrors(),
        threshold: props.errorsThreshold ?? 1,
        alarmDescription: `${this.node.path} function errors`,
      });
      add('ThrottlesAlarm', {
        metric: this.metricThrottles(),
        threshold: props.throttlesThreshold ?? 1,
        alarmDescription: `${this.node.path} function throttles`,
      });
      const iteratorAge = props.iteratorAgeThreshold ?? Duration.minutes(5);
      add('IteratorAgeAlarm', {
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        metric: this.metricIteratorAge({ period: Duration.minutes(1) }),
        threshold: iteratorAge.toMilliseconds(),
        alarmDescription: `${this.node.path} falls behind the stream by more than ${describeDuration(iteratorAge)}`,
      });
      add('DeadLetterQueueDepthAlarm', {
        metric: this.metricDeadLetterQueueDepth(),
        threshold: props.deadLetterQueueDepthThreshold ?? 1,
        alarmDescription: `${this.node.path} has dead-lettered records waiting`,
      });
      if (this.eventSourceMappingMetrics) {
        add('DroppedEventsAlarm', {
          metric: this.metricEventSourceMapping('DroppedEventCount'),
          threshold: props.droppedEventsThreshold ?? 1,
          alarmDescription: `${this.node.path}'s event source mapping dropped records (record age or retries exhausted)`,
        });
      }
    }
  }

  /**
   * An `EventCount` metric of the event source mapping (dimension `EventSourceMappingUUID`), e.g.
   * `DroppedEventCount`. Needs `eventSourceMappingMetrics: true`, without which the mapping publishes none.
   * @default statistic Sum over 5 minutes
   */
  public metricEventSourceMapping(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (!this.eventSourceMappingMetrics) {
      throw new Error(`metricEventSourceMapping('${metricName}') needs eventSourceMappingMetrics: true`);
    }
    if (!EVENT_COUNT_METRICS.includes(metricName)) {
      throw new Error(
        `metricEventSourceMapping needs one of ${EVENT_COUNT_METRICS.join(', ')} (Kinesis mappings), got '${metricName}'`,
      );
    }
    return new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName,
      dimensionsMap: { EventSourceMappingUUID: this.eventSourceMapping.eventSourceMappingId },
      statistic: 'Sum',
      ...props,
    });
  }

  /** Lambda Errors. @default statistic Sum over 5 minutes */
  public metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricErrors({ statistic: 'Sum', ...props });
  }

  /** Lambda Throttles. @default statistic Sum over 5 minutes */
  public metricThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricThrottles({ statistic: 'Sum', ...props });
  }

  /** Lambda IteratorAge of the stream mapping, milliseconds. @default statistic Maximum over 5 minutes */
  public metricIteratorAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metric('IteratorAge', { statistic: 'Maximum', ...props });
  }

  /** SQS ApproximateNumberOfMessagesVisible of the dead-letter queue. @default statistic Maximum over 5 minutes */
  public metricDeadLetterQueueDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', ...props });
  }

  /** Lets `grantee` read the dead-letter queue (e.g. a redrive tool). */
  public grantConsumeDeadLetters(grantee: iam.IGrantable): iam.Grant {
    return this.deadLetterQueue.grantConsumeMessages(grantee);
  }
}

/**
 * S3 on-failure destination with only what Lambda needs (s3:PutObject and s3:ListBucket); aws-cdk-lib's
 * S3OnFailureDestination grants read/write/delete on the whole bucket.
 */
class S3FailureDestination implements lambda.IEventSourceDlq {
  constructor(private readonly bucket: s3.IBucket) {}

  bind(_target: lambda.IEventSourceMapping, targetHandler: lambda.IFunction): lambda.DlqDestinationConfig {
    targetHandler.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
    );
    targetHandler.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [this.bucket.arnForObjects('*')] }),
    );
    this.bucket.encryptionKey?.grantEncrypt(targetHandler);
    if (targetHandler.role) {
      acknowledgeWildcardResource(
        targetHandler.role,
        `${this.bucket.bucketArn}/*`,
        "Lambda names failure objects itself, so PutObject needs the bucket's object wildcard.",
      );
    }
    return { destination: this.bucket.bucketArn };
  }
}

function eventSourceMappingOf(fn: lambda.Function): lambda.IEventSourceMapping {
  const mapping = fn.node.children.find((c) => c instanceof lambda.EventSourceMapping);
  if (!mapping) throw new Error(`no event source mapping was created on ${fn.node.path}`);
  return mapping as lambda.EventSourceMapping;
}
