import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { applyNagChecks } from '../../../bin/nag';
import { handlerEntry } from '../../../lib/internal';
import { LambdaStreamProcessor, LambdaStreamProcessorProps, OnFailureDestinationType } from '../../../lib/processing';
import { StreamStore } from '../../../lib/storage';

const entry = handlerEntry('json-validator');

function build(props: Partial<LambdaStreamProcessorProps> = {}, app = new App()) {
  const stack = new Stack(app, 'S');
  const store = new StreamStore(stack, 'Store');
  const processor = new LambdaStreamProcessor(stack, 'Proc', { stream: store.stream, entry, ...props });
  return { stack, store, processor };
}

function template(props: Partial<LambdaStreamProcessorProps> = {}) {
  return Template.fromStack(build(props).stack);
}

describe('LambdaStreamProcessor defaults', () => {
  const t = template();

  test('nodejs24.x on arm64 with tracing and a dead-letter queue URL', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 60,
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: Match.objectLike({ DEAD_LETTER_QUEUE_URL: { Ref: Match.stringLikeRegexp('ProcDeadLetterQueue') } }),
      },
    });
  });

  test('event source mapping with safe defaults', () => {
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 21600,
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      ParallelizationFactor: 1,
      StartingPosition: 'TRIM_HORIZON',
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('ProcDeadLetterQueue'), 'Arn'] } },
      },
      TumblingWindowInSeconds: Match.absent(),
      FilterCriteria: Match.absent(),
      MetricsConfig: Match.absent(),
    });
  });

  test('dead-letter queue is KMS-encrypted, TLS-only and keeps messages 14 days', () => {
    t.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('ProcDeadLetterKey'), 'Arn'] },
      MessageRetentionPeriod: 1209600,
    });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('role uses no managed policy and logs only to its own log group', () => {
    t.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('ProcLogGroup'), 'Arn'] },
          }),
        ]),
      },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('function may send to the queue and use its key, nothing more on SQS', () => {
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sqs:SendMessage',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('ProcDeadLetterQueue'), 'Arn'] },
          }),
          Match.objectLike({ Action: ['kms:GenerateDataKey', 'kms:Decrypt'] }),
        ]),
      },
    });
  });

  test('reads the stream and decrypts with its key', () => {
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['kinesis:GetRecords', 'kinesis:GetShardIterator']),
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('Store'), 'Arn'] },
          }),
        ]),
      },
    });
  });

  test('four alarms scoped to the function and queue', () => {
    t.resourceCountIs('AWS::CloudWatch::Alarm', 4 + 4 /* the StreamStore's own */);
    for (const name of ['Errors', 'Throttles', 'IteratorAge']) {
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: name,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('ProcFunction') } }],
      });
    }
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('ProcDeadLetterQueue'), 'QueueName'] } },
      ],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Statistic: 'Maximum',
      Threshold: 300000,
    });
  });

  test('passes cdk-nag AwsSolutions', () => {
    const app = new App();
    build({}, app);
    applyNagChecks(app);
    expect(() => app.synth()).not.toThrow();
  });

  test('passes cdk-nag with the S3 on-failure destination and an EFO consumer', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const store = new StreamStore(stack, 'Store');
    new LambdaStreamProcessor(stack, 'Proc', {
      stream: store.stream,
      consumer: store.addConsumer('c'),
      entry,
      onFailure: OnFailureDestinationType.S3,
    });
    applyNagChecks(app);
    expect(() => app.synth()).not.toThrow();
  });
});

describe('LambdaStreamProcessor log group', () => {
  test('is encrypted with a customer-managed key that CloudWatch Logs may use (CKV_AWS_158)', () => {
    const t = template();
    const keys = t.findResources('AWS::KMS::Key', {
      Properties: { Description: Match.stringLikeRegexp('Lambda logs') },
    });
    expect(Object.keys(keys)).toHaveLength(1);
    const [keyId, key] = Object.entries(keys)[0];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(JSON.stringify(key.Properties.KeyPolicy)).toContain('kms:EncryptionContext:aws:logs:arn');
    t.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    const groups = Object.values(t.findResources('AWS::Logs::LogGroup'));
    expect(groups.every((g) => g.Properties.KmsKeyId !== undefined)).toBe(true);
  });
});

describe('LambdaStreamProcessor dead-letter payload bucket', () => {
  test('oversized dead letters go to the bucket: env, PutObject under dead-letters/ only, its key, cdk-nag clean', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'S');
    const store = new StreamStore(stack, 'Store');
    const bucket = new s3.Bucket(stack, 'Payloads', {
      encryption: s3.BucketEncryption.KMS,
      enforceSSL: true,
      serverAccessLogsPrefix: 'logs/',
    });
    const proc = new LambdaStreamProcessor(stack, 'Proc', {
      stream: store.stream,
      entry,
      deadLetterPayloadBucket: bucket,
    });
    expect(proc.deadLetterPayloadBucket).toBe(bucket);
    applyNagChecks(app);
    const t = Template.fromJSON(app.synth().getStackByName('S').template);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ DEAD_LETTER_PAYLOAD_BUCKET: { Ref: Match.stringLikeRegexp('^Payloads') } }),
      },
    });
    const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>,
    );
    const put = statements.filter((st) => st.Action === 's3:PutObject');
    expect(put).toHaveLength(1);
    expect(JSON.stringify(put[0].Resource)).toMatch(/\/dead-letters\/\*/);
    expect(
      statements.some(
        (st) => st.Action === 'kms:GenerateDataKey' && JSON.stringify(st.Resource).includes('PayloadsKey'),
      ),
    ).toBe(true);
  });
});

describe('LambdaStreamProcessor options', () => {
  test('batching, parallelization, retries, age, starting position', () => {
    template({
      batchSize: 500,
      maxBatchingWindow: Duration.seconds(10),
      parallelizationFactor: 4,
      retryAttempts: 0,
      maxRecordAge: Duration.minutes(5),
      bisectBatchOnError: false,
      startingPosition: lambda.StartingPosition.LATEST,
    }).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 10,
      ParallelizationFactor: 4,
      MaximumRetryAttempts: 0,
      MaximumRecordAgeInSeconds: 300,
      BisectBatchOnFunctionError: false,
      StartingPosition: 'LATEST',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  test('tumbling window', () => {
    template({ tumblingWindow: Duration.seconds(60) }).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      TumblingWindowInSeconds: 60,
    });
  });

  test('event filters', () => {
    template({ filters: [{ pattern: { data: { type: ['alarm'] } } }] }).hasResourceProperties(
      'AWS::Lambda::EventSourceMapping',
      { FilterCriteria: { Filters: [{ Pattern: '{"data":{"type":["alarm"]}}' }] } },
    );
  });

  test('enhanced fan-out consumer from the StreamStore', () => {
    const stack = new Stack(new App(), 'S');
    const store = new StreamStore(stack, 'Store');
    const consumer = store.addConsumer('proc');
    new LambdaStreamProcessor(stack, 'Proc', { stream: store.stream, consumer, entry });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('StoreConsumerproc'), 'ConsumerARN'] },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['kinesis:SubscribeToShard']) })]),
      },
    });
  });

  test('S3 on-failure destination creates an encrypted, TLS-only bucket and grants only PutObject/ListBucket', () => {
    const t = template({ onFailure: OnFailureDestinationType.S3 });
    const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[] }[],
    );
    const s3Actions = statements.flatMap((st) => [st.Action].flat()).filter((a) => a.startsWith('s3:'));
    expect(s3Actions.sort()).toEqual(['s3:ListBucket', 's3:PutObject']);
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('ProcOnFailureBucket'), 'Arn'] } },
      },
    });
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: Match.objectLike({}),
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true }),
    });
  });

  test('an existing bucket for S3 on-failure', () => {
    const stack = new Stack(new App(), 'S');
    const store = new StreamStore(stack, 'Store');
    const bucket = s3.Bucket.fromBucketName(stack, 'B', 'my-failures');
    const p = new LambdaStreamProcessor(stack, 'Proc', {
      stream: store.stream,
      entry,
      onFailure: OnFailureDestinationType.S3,
      onFailureBucket: bucket,
    });
    expect(p.onFailureBucket).toBe(bucket);
    Template.fromStack(stack).resourceCountIs('AWS::S3::Bucket', 0);
  });

  test('function settings', () => {
    template({
      memorySize: 1024,
      timeout: Duration.minutes(5),
      reservedConcurrentExecutions: 7,
      environment: { MY_SETTING: 'b' },
    }).hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1024,
      Timeout: 300,
      ReservedConcurrentExecutions: 7,
      Environment: { Variables: Match.objectLike({ MY_SETTING: 'b' }) },
    });
  });

  test('runs in a VPC with inline network-interface permissions and passes cdk-nag', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const store = new StreamStore(stack, 'Store');
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    const sg = new ec2.SecurityGroup(stack, 'Sg', { vpc });
    new LambdaStreamProcessor(stack, 'Proc', { stream: store.stream, entry, vpc, securityGroups: [sg] });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^Sg'), 'GroupId'] }] },
    });
    t.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface']) }),
        ]),
      },
    });
    applyNagChecks(app);
    expect(() => app.synth()).not.toThrow();
  });

  test('alarm thresholds and topic', () => {
    const stack = new Stack(new App(), 'S');
    const store = new StreamStore(stack, 'Store', { createAlarms: false });
    const topic = new sns.Topic(stack, 'T');
    new LambdaStreamProcessor(stack, 'Proc', {
      stream: store.stream,
      entry,
      errorsThreshold: 3,
      throttlesThreshold: 4,
      iteratorAgeThreshold: Duration.minutes(1),
      deadLetterQueueDepthThreshold: 10,
      alarmTopic: topic,
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Threshold: 3,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^T') }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Throttles', Threshold: 4 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'IteratorAge', Threshold: 60000 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 10,
    });
  });

  test('event source mapping metrics: EventCount on the mapping and an alarm on dropped records', () => {
    const { stack, processor } = build({ eventSourceMappingMetrics: true, droppedEventsThreshold: 5 });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { MetricsConfig: { Metrics: ['EventCount'] } });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'DroppedEventCount',
      Dimensions: [
        { Name: 'EventSourceMappingUUID', Value: { Ref: Match.stringLikeRegexp('ProcFunctionKinesisEventSource') } },
      ],
      Statistic: 'Sum',
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    t.resourceCountIs('AWS::CloudWatch::Alarm', 4 + 4 + 1);
    expect(processor.metricEventSourceMapping('FailedInvokeEventCount').metricName).toBe('FailedInvokeEventCount');
  });

  test('event source mapping metric methods refuse what the mapping does not publish', () => {
    expect(() => build().processor.metricEventSourceMapping('DroppedEventCount')).toThrow(
      "metricEventSourceMapping('DroppedEventCount') needs eventSourceMappingMetrics: true",
    );
    expect(() => build({ eventSourceMappingMetrics: true }).processor.metricEventSourceMapping('KafkaLag')).toThrow(
      /needs one of PolledEventCount, .* \(Kinesis mappings\), got 'KafkaLag'/,
    );
  });

  test('alarms can be switched off', () => {
    const stack = new Stack(new App(), 'S');
    const store = new StreamStore(stack, 'Store', { createAlarms: false });
    new LambdaStreamProcessor(stack, 'Proc', { stream: store.stream, entry, createAlarms: false });
    Template.fromStack(stack).resourceCountIs('AWS::CloudWatch::Alarm', 0);
  });

  test('grantConsumeDeadLetters', () => {
    const { stack, processor } = build();
    const role = new iam.Role(stack, 'Redrive', { assumedBy: new iam.AccountRootPrincipal() });
    processor.grantConsumeDeadLetters(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Redrive') }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['sqs:ReceiveMessage']) })]),
      },
    });
  });
});

describe('LambdaStreamProcessor validation', () => {
  test.each<[Partial<LambdaStreamProcessorProps>, RegExp]>([
    [{ batchSize: 0 }, /batchSize must be an integer between 1 and 10000, got 0/],
    [{ batchSize: 10001 }, /got 10001/],
    [{ parallelizationFactor: 11 }, /parallelizationFactor must be an integer between 1 and 10, got 11/],
    [{ retryAttempts: -1 }, /retryAttempts must be an integer between 0 and 10000, got -1/],
    [
      { maxBatchingWindow: Duration.seconds(301) },
      /maxBatchingWindow must be between 0 seconds and 5 minutes, got 5 minutes 1 second/,
    ],
    [{ maxRecordAge: Duration.seconds(30) }, /maxRecordAge must be between 1 minute and 7 days, got 30 seconds/],
    [
      { tumblingWindow: Duration.minutes(16) },
      /tumblingWindow must be between 1 second and 15 minutes, got 16 minutes/,
    ],
    [{ memorySize: 64 }, /memorySize must be between 128 and 10240 MB, got 64/],
    // Lambda allows 15 minutes at most: 16 used to pass synth and fail at deploy time.
    [{ timeout: Duration.minutes(16) }, /timeout must be between 1 second and 15 minutes, got 16 minutes/],
    [
      { deadLetterRetention: Duration.days(15) },
      /deadLetterRetention must be between 1 minute and 14 days, got 15 days/,
    ],
    [{ errorsThreshold: -1 }, /errorsThreshold must be zero or more, got -1/],
    [{ deadLetterQueueDepthThreshold: -2 }, /deadLetterQueueDepthThreshold must be zero or more, got -2/],
    [
      { droppedEventsThreshold: 1 },
      /droppedEventsThreshold needs eventSourceMappingMetrics: true, got false \(default\)/,
    ],
    [{ eventSourceMappingMetrics: true, droppedEventsThreshold: -1 }, /droppedEventsThreshold must be zero or more/],
  ])('%j is rejected', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('subnets without a VPC are rejected', () => {
    expect(() => build({ vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } })).toThrow(
      /vpcSubnets and securityGroups require vpc, got no vpc/,
    );
  });

  test('onFailureBucket without S3 is rejected', () => {
    const stack = new Stack(new App(), 'S');
    const store = new StreamStore(stack, 'Store');
    expect(
      () =>
        new LambdaStreamProcessor(stack, 'P', {
          stream: store.stream,
          entry,
          onFailureBucket: s3.Bucket.fromBucketName(stack, 'B', 'my-bucket'),
        }),
    ).toThrow(/onFailureBucket requires onFailure S3, got SQS \(default\)/);
  });

  test('a consumer of another stream is rejected', () => {
    const stack = new Stack(new App(), 'S');
    const a = new StreamStore(stack, 'A', { streamName: 'a' });
    const b = new StreamStore(stack, 'B', { streamName: 'b' });
    const consumer = b.addConsumer('x');
    expect(() => new LambdaStreamProcessor(stack, 'P', { stream: a.stream, consumer, entry })).toThrow(
      /consumer belongs to/,
    );
  });
});
