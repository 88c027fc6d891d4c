/**
 * Types of the local Kinesis event source mapping: the `Properties` of an `AWS::Lambda::EventSourceMapping` as a
 * synthesized template holds them, the event Lambda sends, the responses it reads and the invocation record it
 * sends to an on-failure destination. See docs/local-event-source-mapping.md.
 */

/** `AWS::Lambda::EventSourceMapping` properties the poller reads (others, such as FunctionName, are ignored). */
export interface EventSourceMappingProperties {
  readonly BatchSize?: number;
  readonly MaximumBatchingWindowInSeconds?: number;
  readonly StartingPosition?: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP' | string;
  /** Unix time in seconds, for AT_TIMESTAMP. */
  readonly StartingPositionTimestamp?: number;
  readonly ParallelizationFactor?: number;
  readonly TumblingWindowInSeconds?: number;
  readonly FunctionResponseTypes?: readonly string[];
  readonly BisectBatchOnFunctionError?: boolean;
  /** -1 (the default) is infinite. */
  readonly MaximumRetryAttempts?: number;
  /** -1 (the default) is infinite. */
  readonly MaximumRecordAgeInSeconds?: number;
  /** `Destination` is an ARN, or a CloudFormation token (`Fn::GetAtt`) the caller's resolver understands. */
  readonly DestinationConfig?: { readonly OnFailure?: { readonly Destination?: unknown } };
  readonly Enabled?: boolean;
  readonly [other: string]: unknown;
}

export interface KinesisEventRecord {
  readonly kinesis: {
    readonly kinesisSchemaVersion: '1.0';
    readonly partitionKey: string;
    readonly sequenceNumber: string;
    /** Base64. */
    readonly data: string;
    /** Epoch seconds, with milliseconds as the fraction. */
    readonly approximateArrivalTimestamp: number;
  };
  readonly eventSource: 'aws:kinesis';
  readonly eventVersion: '1.0';
  readonly eventID: string;
  readonly eventName: 'aws:kinesis:record';
  readonly invokeIdentityArn: string;
  readonly awsRegion: string;
  readonly eventSourceARN: string;
}

export interface KinesisEvent {
  readonly Records: KinesisEventRecord[];
}

/** The extra fields of an event when TumblingWindowInSeconds > 0. */
export interface KinesisTumblingWindowEvent extends KinesisEvent {
  readonly window: { readonly start: string; readonly end: string };
  readonly state: Record<string, unknown>;
  readonly shardId: string;
  readonly eventSourceARN: string;
  readonly isFinalInvokeForWindow: boolean;
  readonly isWindowTerminatedEarly: boolean;
}

/** Why records went to the on-failure destination (`requestContext.condition`). */
export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** The JSON document Lambda sends to an on-failure destination for discarded Kinesis records. */
export interface InvocationRecord {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: FailureCondition;
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError?: string;
  };
  readonly version: '1.0';
  readonly timestamp: string;
  readonly KinesisBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
}

/** Delivers an invocation record to the local stand-in of the destination (moto SQS/SNS, s3rver, ...). */
export type OnFailureSender = (record: InvocationRecord) => Promise<void>;

export interface ShardMetrics {
  readonly shardId: string;
  readonly status: 'waiting-for-parent' | 'running' | 'finished';
  /** Highest sequence number below which every record read is processed (delivered or sent on-failure). */
  readonly checkpoint?: string;
  /** `MillisBehindLatest` of the last GetRecords (what the IteratorAge metric reports). */
  readonly iteratorAgeMs: number;
  /** Age of the oldest record read but not yet processed, 0 when there is none. */
  readonly lagMs: number;
  readonly bufferedRecords: number;
}

export interface PollerMetrics {
  readonly recordsRead: number;
  /** Records of invocations that succeeded (partial successes count the records before the first failure). */
  readonly recordsDelivered: number;
  /** Function invocations, retries and final window invokes included. */
  readonly invocations: number;
  /** Distinct batches formed from the stream (a batch's retries and halves are not new batches). */
  readonly batchesInvoked: number;
  /** Invocations that threw, returned an invalid response or reported item failures. */
  readonly errors: number;
  readonly retries: number;
  readonly bisections: number;
  readonly recordsSentToOnFailure: number;
  /** Records discarded with no on-failure destination configured. */
  readonly recordsDiscarded: number;
  readonly onFailureDeliveryErrors: number;
  readonly windowsFinalized: number;
  readonly shards: readonly ShardMetrics[];
}
