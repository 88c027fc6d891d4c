import { App, CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { applyNagChecks } from '../../../bin/nag';
import { ShardCalculator, StreamStore, StreamStoreEncryption, StreamStoreProps } from '../../../lib/storage';

function synth(props: StreamStoreProps = {}): { stack: Stack; store: StreamStore; template: Template } {
  const stack = new Stack(new App(), 'S');
  const store = new StreamStore(stack, 'Store', props);
  return { stack, store, template: Template.fromStack(stack) };
}

describe('StreamStore defaults', () => {
  const { template } = synth();

  test('on-demand stream with 24 h retention', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      RetentionPeriodHours: 24,
      ShardCount: Match.absent(),
    });
  });

  test('encrypted with a customer-managed key that rotates', () => {
    const key = template.findResources('AWS::KMS::Key');
    expect(Object.values(key)).toHaveLength(1);
    expect(Object.values(key)[0].Properties.EnableKeyRotation).toBe(true);
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: { 'Fn::GetAtt': [Object.keys(key)[0], 'Arn'] } },
    });
  });

  test('stream and key are retained on stack deletion', () => {
    template.hasResource('AWS::Kinesis::Stream', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
  });

  test('four alarms, each carrying the stream dimension', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    const names = alarms.map((a) => a.Properties.MetricName).sort();
    expect(names).toEqual([
      'GetRecords.IteratorAgeMilliseconds',
      'PutRecords.FailedRecords',
      'ReadProvisionedThroughputExceeded',
      'WriteProvisionedThroughputExceeded',
    ]);
    for (const a of alarms) {
      expect(a.Properties.Dimensions).toEqual([
        { Name: 'StreamName', Value: { Ref: expect.stringMatching(/^Store/) } },
      ]);
      expect(a.Properties.Namespace).toBe('AWS/Kinesis');
    }
  });

  test('iterator age alarm uses Maximum and 5 minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'GetRecords.IteratorAgeMilliseconds',
      Statistic: 'Maximum',
      Threshold: 300000,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  test('throughput and failed-record alarms use Sum with threshold 1', () => {
    for (const name of [
      'WriteProvisionedThroughputExceeded',
      'ReadProvisionedThroughputExceeded',
      'PutRecords.FailedRecords',
    ]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: name, Statistic: 'Sum', Threshold: 1 });
    }
  });

  test('no resource policy and no consumer unless asked', () => {
    template.resourceCountIs('AWS::Kinesis::ResourcePolicy', 0);
    template.resourceCountIs('AWS::Kinesis::StreamConsumer', 0);
  });

  test('passes cdk-nag AwsSolutions', () => {
    const app = new App();
    const stack = new Stack(app, 'Nag');
    new StreamStore(stack, 'Store', { enhancedFanOutConsumerNames: ['a'] });
    applyNagChecks(app);
    expect(() => app.synth()).not.toThrow();
  });
});

describe('StreamStore options', () => {
  test('provisioned mode with a shard count', () => {
    synth({ streamMode: kinesis.StreamMode.PROVISIONED, shardCount: 4 }).template.hasResourceProperties(
      'AWS::Kinesis::Stream',
      { StreamModeDetails: { StreamMode: 'PROVISIONED' }, ShardCount: 4 },
    );
  });

  test('provisioned mode defaults to one shard', () => {
    synth({ streamMode: kinesis.StreamMode.PROVISIONED }).template.hasResourceProperties('AWS::Kinesis::Stream', {
      ShardCount: 1,
    });
  });

  test('accepts a ShardCalculator plan', () => {
    const plan = ShardCalculator.calculate({ recordsPerSecond: 5000, averageRecordBytes: 600, loadPredictable: true });
    expect(plan.capacityMode).toBe(kinesis.StreamMode.PROVISIONED);
    synth({ shardPlan: plan }).template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      ShardCount: plan.shardCount,
    });
  });

  test('an on-demand plan creates an on-demand stream', () => {
    const plan = ShardCalculator.calculate({ recordsPerSecond: 10, averageRecordBytes: 200 });
    expect(plan.capacityMode).toBe(kinesis.StreamMode.ON_DEMAND);
    synth({ shardPlan: plan }).template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      ShardCount: Match.absent(),
    });
  });

  test('retention up to 8760 hours', () => {
    synth({ retentionPeriod: Duration.days(365) }).template.hasResourceProperties('AWS::Kinesis::Stream', {
      RetentionPeriodHours: 8760,
    });
  });

  test('AWS-managed key option', () => {
    const { template } = synth({ encryption: StreamStoreEncryption.AWS_MANAGED_KEY });
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
    });
    template.resourceCountIs('AWS::KMS::Key', 0);
  });

  test('a given key is used instead of a new one', () => {
    const stack = new Stack(new App(), 'S');
    const key = new kms.Key(stack, 'Mine');
    const store = new StreamStore(stack, 'Store', { encryptionKey: key });
    expect(store.encryptionKey).toBe(key);
    Template.fromStack(stack).resourceCountIs('AWS::KMS::Key', 1);
  });

  test('maximum record size via the L1 property', () => {
    synth({ maxRecordSizeKiB: 10240 }).template.hasResourceProperties('AWS::Kinesis::Stream', {
      MaxRecordSizeInKiB: 10240,
    });
  });

  test('shard-level metrics turn on enhanced monitoring', () => {
    synth({
      shardLevelMetrics: [
        kinesis.ShardLevelMetrics.INCOMING_BYTES,
        kinesis.ShardLevelMetrics.ITERATOR_AGE_MILLISECONDS,
      ],
    }).template.hasResourceProperties('AWS::Kinesis::Stream', {
      DesiredShardLevelMetrics: ['IncomingBytes', 'IteratorAgeMilliseconds'],
    });
  });

  test('no shard-level metrics by default', () => {
    synth().template.hasResourceProperties('AWS::Kinesis::Stream', {
      DesiredShardLevelMetrics: Match.absent(),
      WarmThroughputMiBps: Match.absent(),
    });
  });

  test('warm throughput for an on-demand stream', () => {
    synth({ warmThroughputMiBps: 200 }).template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      WarmThroughputMiBps: 200,
    });
  });

  test('warm throughput as a token', () => {
    const stack = new Stack(new App(), 'S');
    const mibps = new CfnParameter(stack, 'Warm', { type: 'Number' }).valueAsNumber;
    new StreamStore(stack, 'Store', { warmThroughputMiBps: mibps });
    Template.fromStack(stack).hasResourceProperties('AWS::Kinesis::Stream', {
      WarmThroughputMiBps: { Ref: 'Warm' },
    });
  });

  test('removal policy applies to stream and key', () => {
    const { template } = synth({ removalPolicy: RemovalPolicy.DESTROY });
    template.hasResource('AWS::Kinesis::Stream', { DeletionPolicy: 'Delete' });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
  });

  test('stream name', () => {
    synth({ streamName: 'telemetry' }).template.hasResourceProperties('AWS::Kinesis::Stream', { Name: 'telemetry' });
  });

  test('resource policy statements', () => {
    const { template } = synth({
      resourcePolicyStatements: [
        new iam.PolicyStatement({
          actions: ['kinesis:DescribeStreamSummary'],
          principals: [new iam.AccountPrincipal('111122223333')],
        }),
      ],
    });
    template.hasResourceProperties('AWS::Kinesis::ResourcePolicy', {
      ResourcePolicy: {
        Statement: [Match.objectLike({ Action: 'kinesis:DescribeStreamSummary' })],
      },
    });
  });

  test('enhanced fan-out consumers from props and addConsumer', () => {
    const stack = new Stack(new App(), 'S');
    const store = new StreamStore(stack, 'Store', { enhancedFanOutConsumerNames: ['flink'] });
    const consumer = store.addConsumer('lambda');
    expect(store.consumers).toHaveLength(2);
    expect(consumer.stream).toBe(store.stream);
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Kinesis::StreamConsumer', { ConsumerName: 'flink' });
    t.resourceCountIs('AWS::Kinesis::StreamConsumer', 2);
    t.hasResourceProperties('AWS::Kinesis::StreamConsumer', { ConsumerName: 'lambda' });
  });

  test('alarm thresholds can be set', () => {
    const { template } = synth({
      iteratorAgeThreshold: Duration.seconds(30),
      writeThrottleThreshold: 5,
      readThrottleThreshold: 6,
      putRecordsFailedThreshold: 7,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'GetRecords.IteratorAgeMilliseconds',
      Threshold: 30000,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'WriteProvisionedThroughputExceeded',
      Threshold: 5,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ReadProvisionedThroughputExceeded',
      Threshold: 6,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'PutRecords.FailedRecords', Threshold: 7 });
  });

  test('alarms can be switched off', () => {
    const { store, template } = synth({ createAlarms: false });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    expect(store.alarms).toHaveLength(0);
  });

  test('alarm topic receives alarm and OK notifications', () => {
    const stack = new Stack(new App(), 'S');
    const topic = new sns.Topic(stack, 'T');
    new StreamStore(stack, 'Store', { alarmTopic: topic });
    const alarms = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(4);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^T/) }]);
      expect(a.Properties.OKActions).toEqual([{ Ref: expect.stringMatching(/^T/) }]);
    }
  });
});

describe('StreamStore adopting an existing stream', () => {
  const arn = 'arn:aws:kinesis:eu-west-1:111122223333:stream/existing';

  test('creates no stream and scopes alarms to the imported stream', () => {
    const stack = new Stack(new App(), 'S');
    const store = new StreamStore(stack, 'Store', { existingStream: kinesis.Stream.fromStreamArn(stack, 'E', arn) });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::Kinesis::Stream', 0);
    t.resourceCountIs('AWS::KMS::Key', 0);
    expect(store.streamArn).toBe(arn);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'GetRecords.IteratorAgeMilliseconds',
      Dimensions: [{ Name: 'StreamName', Value: 'existing' }],
    });
  });

  test('resource policy statements are attached to the imported stream', () => {
    const stack = new Stack(new App(), 'S');
    new StreamStore(stack, 'Store', {
      existingStream: kinesis.Stream.fromStreamArn(stack, 'E', arn),
      resourcePolicyStatements: [
        new iam.PolicyStatement({
          actions: ['kinesis:DescribeStreamSummary'],
          principals: [new iam.AccountPrincipal('111122223333')],
        }),
      ],
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Kinesis::ResourcePolicy', {
      ResourceArn: arn,
      ResourcePolicy: { Statement: [Match.objectLike({ Action: 'kinesis:DescribeStreamSummary', Resource: arn })] },
    });
  });

  test('grants on the imported stream', () => {
    const stack = new Stack(new App(), 'S');
    const store = new StreamStore(stack, 'Store', { existingStream: kinesis.Stream.fromStreamArn(stack, 'E', arn) });
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    store.grantWrite(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(['kinesis:PutRecord', 'kinesis:PutRecords']), Resource: arn }),
        ]),
      },
    });
  });
});

describe('StreamStore grants and metrics', () => {
  test('grantRead covers the stream and its key', () => {
    const stack = new Stack(new App(), 'S');
    const store = new StreamStore(stack, 'Store');
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    store.grantRead(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(['kinesis:GetRecords', 'kinesis:GetShardIterator']) }),
          Match.objectLike({ Action: 'kms:Decrypt' }),
        ]),
      },
    });
  });

  test('metric methods carry the stream dimension and documented statistics', () => {
    const stack = new Stack(new App(), 'S');
    const store = new StreamStore(stack, 'Store');
    const m = store.metricGetRecordsIteratorAgeMilliseconds();
    expect(m.statistic).toBe('Maximum');
    expect(stack.resolve(m.dimensions)).toEqual({ StreamName: { Ref: expect.stringMatching(/^Store/) } });
    expect(store.metricIncomingRecords().statistic).toBe('Sum');
    expect(store.metricPutRecordsFailedRecords().metricName).toBe('PutRecords.FailedRecords');
  });

  test('metricShard carries the stream and shard dimensions', () => {
    const stack = new Stack(new App(), 'S');
    const store = new StreamStore(stack, 'Store', { shardLevelMetrics: [kinesis.ShardLevelMetrics.INCOMING_BYTES] });
    const m = store.metricShard('IncomingBytes', 'shardId-000000000003');
    expect(m.namespace).toBe('AWS/Kinesis');
    expect(m.statistic).toBe('Sum');
    expect(stack.resolve(m.dimensions)).toEqual({
      StreamName: { Ref: expect.stringMatching(/^Store/) },
      ShardId: 'shardId-000000000003',
    });
  });

  test('metricShard refuses a metric that is not shard-level, and a malformed shard id', () => {
    const store = new StreamStore(new Stack(new App(), 'S'), 'Store');
    expect(() => store.metricShard('PutRecords.Bytes', 'shardId-000000000000')).toThrow(
      /metricShard needs one of IncomingBytes, .*, got 'PutRecords.Bytes'/,
    );
    expect(() => store.metricShard('IncomingBytes', 'shard-3')).toThrow(
      "metricShard needs a shard id such as shardId-000000000000, got 'shard-3'",
    );
  });
});

describe('StreamStore validation', () => {
  const existing = () => {
    const stack = new Stack(new App(), 'S');
    return { stack, stream: kinesis.Stream.fromStreamArn(stack, 'E', 'arn:aws:kinesis:eu-west-1:1:stream/x') };
  };

  test.each([
    [Duration.hours(23), /retentionPeriod must be between 1 day and 365 days, got 23 hours/],
    [Duration.hours(8761), /retentionPeriod must be between 1 day and 365 days, got 365 days 1 hour/],
  ])('retention %s is rejected', (retentionPeriod, message) => {
    expect(() => synth({ retentionPeriod })).toThrow(message);
  });

  test.each([0, -1, 1.5])('shard count %s is rejected', (shardCount) => {
    expect(() => synth({ streamMode: kinesis.StreamMode.PROVISIONED, shardCount })).toThrow(
      new RegExp(`shardCount must be an integer between 1 and 100000, got ${shardCount}`),
    );
  });

  test('shard count in on-demand mode is rejected', () => {
    expect(() => synth({ shardCount: 2 })).toThrow(/shardCount cannot be set in ON_DEMAND mode, got 2/);
  });

  test('existing stream with stream props is rejected', () => {
    const { stack, stream } = existing();
    expect(
      () =>
        new StreamStore(stack, 'Store', { existingStream: stream, retentionPeriod: Duration.days(2), shardCount: 2 }),
    ).toThrow(/existingStream cannot be combined with shardCount, retentionPeriod/);
  });

  test('existing stream with shard-level metrics or warm throughput is rejected', () => {
    const { stack, stream } = existing();
    expect(
      () =>
        new StreamStore(stack, 'Store', {
          existingStream: stream,
          shardLevelMetrics: [kinesis.ShardLevelMetrics.ALL],
          warmThroughputMiBps: 10,
        }),
    ).toThrow(/existingStream cannot be combined with shardLevelMetrics, warmThroughputMiBps/);
  });

  test('plan with explicit mode is rejected', () => {
    const plan = ShardCalculator.calculate({ recordsPerSecond: 10, averageRecordBytes: 100 });
    expect(() => synth({ shardPlan: plan, streamMode: kinesis.StreamMode.PROVISIONED })).toThrow(
      /shardPlan cannot be combined with streamMode or shardCount/,
    );
  });

  // UpdateMaxRecordSize accepts 1024 to 10240 KiB: 1023 passed synth and failed at deploy time before.
  test.each([0, 1023, 10241])('max record size %s KiB is rejected', (maxRecordSizeKiB) => {
    expect(() => synth({ maxRecordSizeKiB })).toThrow(
      new RegExp(`maxRecordSizeKiB must be an integer between 1024 and 10240, got ${maxRecordSizeKiB}`),
    );
  });

  test.each([0, 10241, 1.5])('warm throughput %s MiB/s is rejected', (warmThroughputMiBps) => {
    expect(() => synth({ warmThroughputMiBps })).toThrow(
      `warmThroughputMiBps must be an integer between 1 and 10240, got ${warmThroughputMiBps}`,
    );
  });

  test('warm throughput on a provisioned stream is rejected', () => {
    expect(() => synth({ streamMode: kinesis.StreamMode.PROVISIONED, warmThroughputMiBps: 10 })).toThrow(
      'warmThroughputMiBps needs an ON_DEMAND stream, got PROVISIONED mode',
    );
  });

  test.each(['raw events', 'a'.repeat(129), ''])('stream name %j is rejected', (streamName) => {
    expect(() => synth({ streamName })).toThrow(
      `streamName must be 1-128 characters of letters, digits, '_', '.' and '-', got '${streamName}'`,
    );
  });

  test('a retention token is validated at deploy time, not compared', () => {
    const stack = new Stack(new App(), 'S');
    const hours = new CfnParameter(stack, 'Hours', { type: 'Number' }).valueAsNumber;
    new StreamStore(stack, 'Store', { retentionPeriod: Duration.hours(hours) });
    Template.fromStack(stack).hasResourceProperties('AWS::Kinesis::Stream', {
      RetentionPeriodHours: { Ref: 'Hours' },
    });
  });

  test('a plan above the default shard quota warns at synth', () => {
    // 600 MB/s of writes needs about 700 shards, more than the default quota of 500.
    const plan = ShardCalculator.calculate({
      recordsPerSecond: 300_000,
      averageRecordBytes: 2000,
      loadPredictable: true,
    });
    expect(plan.shardCount).toBeGreaterThan(500);
    const { stack } = synth({ shardPlan: { ...plan, capacityMode: kinesis.StreamMode.PROVISIONED } });
    Annotations.fromStack(stack).hasWarning(
      '/S/Store',
      Match.stringLikeRegexp(`^${plan.shardCount} shards exceed the default account quota of 500 shards`),
    );
  });

  test('a plan within the quota does not warn', () => {
    const plan = ShardCalculator.calculate({ recordsPerSecond: 1000, averageRecordBytes: 1000, loadPredictable: true });
    const { stack } = synth({ shardPlan: { ...plan, capacityMode: kinesis.StreamMode.PROVISIONED } });
    Annotations.fromStack(stack).hasNoWarning('/S/Store', Match.anyValue());
  });

  test('a key with AWS-managed encryption is rejected', () => {
    const stack = new Stack(new App(), 'S');
    expect(
      () =>
        new StreamStore(stack, 'Store', {
          encryption: StreamStoreEncryption.AWS_MANAGED_KEY,
          encryptionKey: new kms.Key(stack, 'K'),
        }),
    ).toThrow(/encryptionKey requires encryption CUSTOMER_MANAGED_KEY, got AWS_MANAGED_KEY/);
  });

  test('negative alarm threshold is rejected', () => {
    expect(() => synth({ writeThrottleThreshold: -1 })).toThrow(/writeThrottleThreshold must be zero or more, got -1/);
  });

  test('more than 20 consumers are rejected', () => {
    const store = new StreamStore(new Stack(new App(), 'S'), 'Store');
    for (let i = 0; i < 20; i++) store.addConsumer(`c${i}`);
    expect(() => store.addConsumer('c20')).toThrow(/at most 20 enhanced fan-out consumers, got a 21st: c20/);
  });

  test('bad consumer name is rejected', () => {
    const store = new StreamStore(new Stack(new App(), 'S'), 'Store');
    expect(() => store.addConsumer('bad name')).toThrow(/consumer name must be 1-128 characters of .*got 'bad name'/);
  });
});
