import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as flink from '@aws-cdk/aws-kinesisanalytics-flink-alpha';
import { App, CfnParameter, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sns from 'aws-cdk-lib/aws-sns';
import { applyNagChecks } from '../../../bin/nag';
import {
  FlinkApplicationStart,
  FlinkCode,
  FlinkInitialPosition,
  FlinkStreamProcessor,
  FlinkStreamProcessorProps,
} from '../../../lib/processing';
import { StreamStore } from '../../../lib/storage';

process.env.JSII_DEPRECATED = 'quiet';

let tmp: string;
let jar: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flink-processor-'));
  jar = path.join(tmp, 'app.jar');
  // An empty zip archive is a valid jar for asset staging.
  fs.writeFileSync(jar, Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Fixture {
  app: App;
  stack: Stack;
  source: StreamStore;
  sink: StreamStore;
  deadLetter: StreamStore;
}

function fixture(): Fixture {
  const app = new App();
  const stack = new Stack(app, 'TestStack');
  return {
    app,
    stack,
    source: new StreamStore(stack, 'Source', { createAlarms: false }),
    sink: new StreamStore(stack, 'Sink', { createAlarms: false }),
    deadLetter: new StreamStore(stack, 'DeadLetter', { createAlarms: false }),
  };
}

function processor(f: Fixture, props: Partial<FlinkStreamProcessorProps> = {}): FlinkStreamProcessor {
  return new FlinkStreamProcessor(f.stack, 'Enrichment', {
    code: FlinkCode.fromJar(jar),
    sourceStream: f.source.stream,
    sinkStream: f.sink.stream,
    deadLetterStream: f.deadLetter.stream,
    ...props,
  });
}

function propertyGroups(template: Template): Record<string, Record<string, unknown>> {
  const apps = template.findResources('AWS::KinesisAnalyticsV2::Application');
  const [app] = Object.values(apps);
  const groups = app.Properties.ApplicationConfiguration.EnvironmentProperties?.PropertyGroups ?? [];
  return Object.fromEntries(
    groups.map((g: { PropertyGroupId: string; PropertyMap: Record<string, unknown> }) => [
      g.PropertyGroupId,
      g.PropertyMap,
    ]),
  );
}

function statements(template: Template, roleLogicalIdPrefix = 'EnrichmentServiceRole'): Array<Record<string, unknown>> {
  const policies = template.findResources('AWS::IAM::Policy');
  const policy = Object.entries(policies).find(([id]) => id.startsWith(roleLogicalIdPrefix));
  if (!policy) throw new Error(`no policy for ${roleLogicalIdPrefix}`);
  return policy[1].Properties.PolicyDocument.Statement;
}

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

describe('FlinkStreamProcessor defaults', () => {
  test('runs on the FLINK-2_2 runtime', () => {
    const f = fixture();
    processor(f);
    Template.fromStack(f.stack).hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      RuntimeEnvironment: 'FLINK-2_2',
    });
  });

  test('checkpoints every 60 s, keeps snapshots, autoscales from parallelism 1, logs at INFO', () => {
    const f = fixture();
    processor(f);
    Template.fromStack(f.stack).hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      ApplicationConfiguration: Match.objectLike({
        ApplicationSnapshotConfiguration: { SnapshotsEnabled: true },
        FlinkApplicationConfiguration: {
          CheckpointConfiguration: {
            ConfigurationType: 'CUSTOM',
            CheckpointingEnabled: true,
            CheckpointInterval: 60000,
            MinPauseBetweenCheckpoints: 5000,
          },
          MonitoringConfiguration: { ConfigurationType: 'CUSTOM', LogLevel: 'INFO', MetricsLevel: 'APPLICATION' },
          ParallelismConfiguration: {
            ConfigurationType: 'CUSTOM',
            AutoScalingEnabled: true,
            Parallelism: 1,
            ParallelismPerKPU: 1,
          },
        },
      }),
    });
  });

  test('logs to a log group encrypted with a rotating customer-managed key', () => {
    const f = fixture();
    const p = processor(f);
    const template = Template.fromStack(f.stack);
    const keyId = f.stack.getLogicalId(p.node.findChild('LogKey').node.defaultChild as kms.CfnKey);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      RetentionInDays: 30,
    });
    template.resourceCountIs('AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption', 1);
  });

  test('lets CloudWatch Logs use the log key, which log groups with a customer-managed key require', () => {
    const f = fixture();
    const p = processor(f);
    const key = p.node.findChild('LogKey').node.defaultChild as kms.CfnKey;
    const statements = f.stack.resolve(key.keyPolicy).Statement as Array<Record<string, unknown>>;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: f.stack.resolve(`logs.${f.stack.region}.amazonaws.com`) },
        Action: expect.arrayContaining(['kms:Encrypt*', 'kms:Decrypt*', 'kms:GenerateDataKey*']),
        Condition: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': f.stack.resolve(
              `arn:${f.stack.partition}:logs:${f.stack.region}:${f.stack.account}:log-group:*`,
            ),
          },
        },
      }),
    );
  });

  test('uploads the jar as an asset and points the application at it', () => {
    const f = fixture();
    processor(f);
    Template.fromStack(f.stack).hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      ApplicationConfiguration: Match.objectLike({
        ApplicationCodeConfiguration: {
          CodeContentType: 'ZIPFILE',
          CodeContent: {
            S3ContentLocation: { BucketARN: Match.anyValue(), FileKey: Match.stringLikeRegexp('\\.jar$') },
          },
        },
      }),
    });
  });
});

describe('FlinkStreamProcessor options', () => {
  test('runtime can be overridden', () => {
    const f = fixture();
    processor(f, { runtime: flink.Runtime.FLINK_1_20 });
    Template.fromStack(f.stack).hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      RuntimeEnvironment: 'FLINK-1_20',
    });
  });

  test('parallelism, autoscaling, checkpoint interval and log level follow the props', () => {
    const f = fixture();
    processor(f, {
      parallelism: 4,
      parallelismPerKpu: 2,
      autoScalingEnabled: false,
      checkpointInterval: Duration.seconds(30),
      minPauseBetweenCheckpoints: Duration.seconds(10),
      snapshotsEnabled: false,
      logLevel: flink.LogLevel.WARN,
    });
    Template.fromStack(f.stack).hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      ApplicationConfiguration: Match.objectLike({
        ApplicationSnapshotConfiguration: { SnapshotsEnabled: false },
        FlinkApplicationConfiguration: {
          CheckpointConfiguration: Match.objectLike({ CheckpointInterval: 30000, MinPauseBetweenCheckpoints: 10000 }),
          MonitoringConfiguration: Match.objectLike({ LogLevel: 'WARN' }),
          ParallelismConfiguration: Match.objectLike({
            AutoScalingEnabled: false,
            Parallelism: 4,
            ParallelismPerKPU: 2,
          }),
        },
      }),
    });
  });

  test('checkpointing can be switched off, which drops the checkpoint alarms', () => {
    const f = fixture();
    const p = processor(f, { checkpointingEnabled: false });
    const template = Template.fromStack(f.stack);
    template.hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      ApplicationConfiguration: Match.objectLike({
        FlinkApplicationConfiguration: Match.objectLike({
          CheckpointConfiguration: { ConfigurationType: 'CUSTOM', CheckpointingEnabled: false },
        }),
      }),
    });
    expect(p.alarms.map((a) => a.node.id).sort()).toEqual(['DowntimeAlarm', 'RestartsAlarm', 'SourceLagAlarm']);
  });

  test('a prebuilt jar in S3 is used as it is', () => {
    const f = fixture();
    const bucket = s3.Bucket.fromBucketName(f.stack, 'Artifacts', 'ci-artifacts');
    processor(f, { code: FlinkCode.fromBucket(bucket, 'flink/enrichment-1.2.3.jar') });
    const template = Template.fromStack(f.stack);
    template.hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      ApplicationConfiguration: Match.objectLike({
        ApplicationCodeConfiguration: {
          CodeContentType: 'ZIPFILE',
          CodeContent: {
            S3ContentLocation: {
              BucketARN: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::ci-artifacts']] },
              FileKey: 'flink/enrichment-1.2.3.jar',
            },
          },
        },
      }),
    });
  });

  test('an object version of the S3 jar is deployed, and the role may read the jar bucket', () => {
    const f = fixture();
    const bucket = s3.Bucket.fromBucketName(f.stack, 'Artifacts', 'ci-artifacts');
    processor(f, { code: FlinkCode.fromBucket(bucket, 'flink/enrichment.jar', 'v3') });
    const template = Template.fromStack(f.stack);
    template.hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      ApplicationConfiguration: Match.objectLike({
        ApplicationCodeConfiguration: Match.objectLike({
          CodeContent: {
            S3ContentLocation: Match.objectLike({ FileKey: 'flink/enrichment.jar', ObjectVersion: 'v3' }),
          },
        }),
      }),
    });
    const read = statements(template).find((st) => JSON.stringify(st.Action).includes('s3:GetObject*'));
    expect(JSON.stringify(read?.Resource)).toContain(':s3:::ci-artifacts/*');
  });

  test('runs in the given VPC subnets with the given security groups', () => {
    const f = fixture();
    const vpc = new ec2.Vpc(f.stack, 'Vpc', {
      natGateways: 0,
      maxAzs: 2,
      subnetConfiguration: [{ name: 'app', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    const sg = new ec2.SecurityGroup(f.stack, 'AppSg', { vpc });
    processor(f, { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, securityGroups: [sg] });
    const subnets = vpc.isolatedSubnets.map((s) => ({
      Ref: f.stack.getLogicalId(s.node.defaultChild as ec2.CfnSubnet),
    }));
    Template.fromStack(f.stack).hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      ApplicationConfiguration: Match.objectLike({
        VpcConfigurations: [
          { SecurityGroupIds: [{ 'Fn::GetAtt': [logicalId(f.stack, sg), 'GroupId'] }], SubnetIds: subnets },
        ],
      }),
    });
  });
});

describe('FlinkStreamProcessor property groups', () => {
  test('KinesisSource, KinesisSink and DeadLetterSink carry the stream ARNs and regions', () => {
    const f = fixture();
    processor(f);
    const groups = propertyGroups(Template.fromStack(f.stack));
    expect(groups.KinesisSource).toEqual({
      'stream.arn': { 'Fn::GetAtt': [logicalId(f.stack, f.source.stream), 'Arn'] },
      'aws.region': { Ref: 'AWS::Region' },
      'initial.position': 'TRIM_HORIZON',
      'reader.type': 'POLLING',
    });
    expect(groups.KinesisSink).toEqual({
      'stream.arn': { 'Fn::GetAtt': [logicalId(f.stack, f.sink.stream), 'Arn'] },
      'aws.region': { Ref: 'AWS::Region' },
    });
    expect(groups.DeadLetterSink).toEqual({
      'stream.arn': { 'Fn::GetAtt': [logicalId(f.stack, f.deadLetter.stream), 'Arn'] },
      'aws.region': { Ref: 'AWS::Region' },
    });
  });

  test('an imported stream brings its own region', () => {
    const f = fixture();
    const remote = kinesis.Stream.fromStreamArn(
      f.stack,
      'Remote',
      'arn:aws:kinesis:eu-central-1:111122223333:stream/raw',
    );
    processor(f, { sourceStream: remote });
    expect(propertyGroups(Template.fromStack(f.stack)).KinesisSource).toMatchObject({
      'stream.arn': 'arn:aws:kinesis:eu-central-1:111122223333:stream/raw',
      'aws.region': 'eu-central-1',
    });
  });

  test('AT_TIMESTAMP adds initial.timestamp in epoch milliseconds', () => {
    const f = fixture();
    processor(f, {
      initialPosition: FlinkInitialPosition.AT_TIMESTAMP,
      initialTimestamp: new Date('2026-11-29T08:00:00Z'),
    });
    expect(propertyGroups(Template.fromStack(f.stack)).KinesisSource).toMatchObject({
      'initial.position': 'AT_TIMESTAMP',
      'initial.timestamp': String(Date.parse('2026-11-29T08:00:00Z')),
    });
  });

  test('additional groups and groups added later are passed through', () => {
    const f = fixture();
    const p = processor(f, {
      additionalPropertyGroups: { Processing: { 'dedupe.ttl.minutes': '60', 'max.future.skew.seconds': '300' } },
    });
    p.addPropertyGroup('Enrichment', { 'reference.s3.uri': 's3://ref/reference/devices.jsonl' });
    const groups = propertyGroups(Template.fromStack(f.stack));
    expect(Object.keys(groups)).toEqual(['KinesisSource', 'KinesisSink', 'DeadLetterSink', 'Processing', 'Enrichment']);
    expect(groups.Processing).toEqual({ 'dedupe.ttl.minutes': '60', 'max.future.skew.seconds': '300' });
    expect(groups.Enrichment).toEqual({ 'reference.s3.uri': 's3://ref/reference/devices.jsonl' });
    expect(p.runtimePropertyGroups.Processing).toEqual(groups.Processing);
  });

  test('without streams or groups the application has no environment properties', () => {
    const f = fixture();
    new FlinkStreamProcessor(f.stack, 'Bare', { code: FlinkCode.fromJar(jar) });
    const [app] = Object.values(Template.fromStack(f.stack).findResources('AWS::KinesisAnalyticsV2::Application'));
    expect(app.Properties.ApplicationConfiguration.EnvironmentProperties).toBeUndefined();
  });
});

describe('FlinkStreamProcessor grants', () => {
  test('reads the source, writes the sinks, each with only its own key', () => {
    const f = fixture();
    processor(f);
    const stmts = statements(Template.fromStack(f.stack));
    const arn = (s: StreamStore) => ({ 'Fn::GetAtt': [logicalId(f.stack, s.stream), 'Arn'] });
    const key = (s: StreamStore) => ({
      'Fn::GetAtt': [f.stack.getLogicalId(s.encryptionKey!.node.defaultChild as kms.CfnKey), 'Arn'],
    });
    const kinesisOrKms = stmts.filter((s) => JSON.stringify(s.Action).match(/kinesis:|kms:/));
    expect(kinesisOrKms).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'kinesis:DescribeStreamSummary',
          'kinesis:ListShards',
          'kinesis:GetShardIterator',
          'kinesis:GetRecords',
        ],
        Resource: arn(f.source),
      },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: key(f.source) },
      {
        Effect: 'Allow',
        Action: ['kinesis:DescribeStreamSummary', 'kinesis:ListShards', 'kinesis:PutRecord', 'kinesis:PutRecords'],
        Resource: arn(f.sink),
      },
      { Effect: 'Allow', Action: 'kms:GenerateDataKey', Resource: key(f.sink) },
      {
        Effect: 'Allow',
        Action: ['kinesis:DescribeStreamSummary', 'kinesis:ListShards', 'kinesis:PutRecord', 'kinesis:PutRecords'],
        Resource: arn(f.deadLetter),
      },
      { Effect: 'Allow', Action: 'kms:GenerateDataKey', Resource: key(f.deadLetter) },
    ]);
  });

  test('an enhanced fan-out consumer sets reader.type EFO and is granted on its own ARN', () => {
    const f = fixture();
    const consumer = f.source.addConsumer('enrichment');
    processor(f, { sourceConsumer: consumer });
    const template = Template.fromStack(f.stack);
    const consumerArn = { 'Fn::GetAtt': [logicalId(f.stack, consumer), 'ConsumerARN'] };
    expect(propertyGroups(template).KinesisSource).toMatchObject({
      'reader.type': 'EFO',
      'efo.consumer.arn': consumerArn,
    });
    expect(statements(template)).toContainEqual({
      Effect: 'Allow',
      Action: ['kinesis:SubscribeToShard', 'kinesis:DescribeStreamConsumer'],
      Resource: consumerArn,
    });
  });

  test('grantReadS3 on a key grants GetObject on exactly that object and Decrypt on the bucket key', () => {
    const f = fixture();
    const p = processor(f);
    const bucketKey = new kms.Key(f.stack, 'BucketKey', { enableKeyRotation: true });
    const bucket = new s3.Bucket(f.stack, 'Reference', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: bucketKey,
    });
    p.grantReadS3(bucket, 'reference/devices.jsonl');
    const stmts = statements(Template.fromStack(f.stack));
    expect(stmts).toContainEqual({
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: {
        'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(f.stack, bucket), 'Arn'] }, '/reference/devices.jsonl']],
      },
    });
    expect(stmts).toContainEqual({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: { 'Fn::GetAtt': [logicalId(f.stack, bucketKey), 'Arn'] },
    });
  });

  test('grantWriteS3 grants PutObject under the prefix only', () => {
    const f = fixture();
    const p = processor(f);
    const bucket = new s3.Bucket(f.stack, 'Export');
    p.grantWriteS3(bucket, 'state-export/');
    expect(statements(Template.fromStack(f.stack))).toContainEqual({
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(f.stack, bucket), 'Arn'] }, '/state-export/*']] },
    });
  });
});

describe('FlinkStreamProcessor alarms', () => {
  test('five alarms, each on the application or its source stream', () => {
    const f = fixture();
    const p = processor(f);
    const template = Template.fromStack(f.stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 5);
    const appDimension = [{ Name: 'Application', Value: { Ref: logicalId(f.stack, p.application) } }];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'DIFF(restarts)', ReturnData: true }),
        Match.objectLike({
          Id: 'restarts',
          MetricStat: Match.objectLike({
            Metric: { Namespace: 'AWS/KinesisAnalytics', MetricName: 'numRestarts', Dimensions: appDimension },
          }),
        }),
      ]),
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ MetricName: 'numberOfFailedCheckpoints', Dimensions: appDimension }),
          }),
        }),
      ]),
    });
    // Flink 2.2 deprecates downtime: the alarm adds the time spent restarting and failing instead.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(restarting, 0) + FILL(failing, 0)' }),
        ...['restartingTime', 'failingTime'].map((MetricName) =>
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({ Namespace: 'AWS/KinesisAnalytics', MetricName, Dimensions: appDimension }),
              Stat: 'Maximum',
            }),
          }),
        ),
      ]),
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('"downtime"');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/KinesisAnalytics',
      MetricName: 'lastCheckpointDuration',
      Dimensions: appDimension,
      Threshold: 60000,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Kinesis',
      MetricName: 'GetRecords.IteratorAgeMilliseconds',
      Dimensions: [{ Name: 'StreamName', Value: { Ref: logicalId(f.stack, f.source.stream) } }],
      Threshold: 300000,
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('fullRestarts');
  });

  test('a Flink 1.x runtime keeps the downtime alarm: it publishes no restartingTime', () => {
    const f = fixture();
    processor(f, { runtime: flink.Runtime.FLINK_1_20 });
    Template.fromStack(f.stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/KinesisAnalytics',
      MetricName: 'downtime',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  test('thresholds follow the props and alarms notify the topic', () => {
    const f = fixture();
    const topic = new sns.Topic(f.stack, 'Alarms', { enforceSSL: true });
    processor(f, {
      restartsThreshold: 3,
      checkpointDurationThreshold: Duration.seconds(20),
      sourceLagThreshold: Duration.minutes(1),
      alarmTopic: topic,
    });
    const template = Template.fromStack(f.stack);
    const topicRef = [{ Ref: logicalId(f.stack, topic) }];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'lastCheckpointDuration',
      Threshold: 20000,
      AlarmActions: topicRef,
      OKActions: topicRef,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'GetRecords.IteratorAgeMilliseconds',
      Threshold: 60000,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'DIFF(restarts)' })]),
      Threshold: 3,
    });
  });

  test('createAlarms false creates none', () => {
    const f = fixture();
    const p = processor(f, { createAlarms: false });
    Template.fromStack(f.stack).resourceCountIs('AWS::CloudWatch::Alarm', 0);
    expect(p.alarms).toHaveLength(0);
  });

  test('metric methods use the official names and the Application dimension', () => {
    const f = fixture();
    const p = processor(f);
    const names = [
      p.metricNumRestarts(),
      p.metricNumberOfFailedCheckpoints(),
      p.metricLastCheckpointDuration(),
      p.metricLastCheckpointSize(),
      p.metricDowntime(),
      p.metricRestartingTime(),
      p.metricFailingTime(),
      p.metricCancellingTime(),
      p.metricKpus(),
      p.metricCpuUtilization(),
      p.metricHeapMemoryUtilization(),
    ].map((m) => [m.metricName, m.namespace, Object.keys(m.dimensions ?? {})]);
    expect(names).toEqual([
      ['numRestarts', 'AWS/KinesisAnalytics', ['Application']],
      ['numberOfFailedCheckpoints', 'AWS/KinesisAnalytics', ['Application']],
      ['lastCheckpointDuration', 'AWS/KinesisAnalytics', ['Application']],
      ['lastCheckpointSize', 'AWS/KinesisAnalytics', ['Application']],
      ['downtime', 'AWS/KinesisAnalytics', ['Application']],
      ['restartingTime', 'AWS/KinesisAnalytics', ['Application']],
      ['failingTime', 'AWS/KinesisAnalytics', ['Application']],
      ['cancellingTime', 'AWS/KinesisAnalytics', ['Application']],
      ['KPUs', 'AWS/KinesisAnalytics', ['Application']],
      ['cpuUtilization', 'AWS/KinesisAnalytics', ['Application']],
      ['heapMemoryUtilization', 'AWS/KinesisAnalytics', ['Application']],
    ]);
    expect(p.metricSourceLag().metricName).toBe('GetRecords.IteratorAgeMilliseconds');
  });
});

describe('FlinkStreamProcessor Maven modules', () => {
  let apps: string;
  beforeEach(() => {
    apps = fs.mkdtempSync(path.join(tmp, 'apps-'));
  });

  function writeModule(name: string, pom: string): void {
    fs.mkdirSync(path.join(apps, name, 'src', 'main', 'resources'), { recursive: true });
    fs.writeFileSync(path.join(apps, name, 'src', 'main', 'resources', 'app.txt'), 'app');
    fs.writeFileSync(path.join(apps, name, 'pom.xml'), pom);
    fs.writeFileSync(path.join(apps, 'pom.xml'), '<project>parent</project>');
  }

  test('an existing target/<module>.jar is uploaded as it is, without building', () => {
    writeModule('enrichment', '<project>this pom would not build</project>');
    fs.mkdirSync(path.join(apps, 'enrichment', 'target'));
    fs.copyFileSync(jar, path.join(apps, 'enrichment', 'target', 'enrichment.jar'));
    const f = fixture();
    new FlinkStreamProcessor(f.stack, 'App', {
      code: FlinkCode.fromMavenModule('enrichment', { flinkAppsDirectory: apps }),
    });
    const template = Template.fromStack(f.stack);
    template.resourceCountIs('AWS::KinesisAnalyticsV2::Application', 1);
    // The jar is staged as the asset App/Code: the application reads it from the assets bucket.
    expect(f.stack.node.findChild('App').node.tryFindChild('Code')).toBeInstanceOf(s3assets.Asset);
    template.hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      ApplicationConfiguration: Match.objectLike({
        ApplicationCodeConfiguration: {
          CodeContentType: 'ZIPFILE',
          CodeContent: {
            S3ContentLocation: {
              BucketARN: Match.anyValue(),
              FileKey: Match.stringLikeRegexp('^[0-9a-f]{64}\\.jar$'),
            },
          },
        },
      }),
    });
  });

  test('a missing jar fails synth with the command that builds it, and nothing is built', () => {
    writeModule('tiny', '<project>a pom Maven would build</project>');
    const jarOf = path.join(apps, 'tiny', 'target', 'tiny.jar');
    const command = `mvn -f ${path.join(apps, 'pom.xml')} -pl tiny -am package -DskipTests`;
    expect(() => FlinkCode.fromMavenModule('tiny', { flinkAppsDirectory: apps })).toThrow(
      `Flink module 'tiny' has no jar at ${jarOf}: build it with \`${command}\` (or \`npm run main\` in this repository), then synthesize again`,
    );
    expect(fs.existsSync(path.join(apps, 'tiny', 'target'))).toBe(false);
  });

  test('a missing jar is never built: a Maven on the PATH is not run', () => {
    writeModule('enrichment', '<project/>');
    const bin = fs.mkdtempSync(path.join(tmp, 'bin-'));
    const ran = path.join(bin, 'ran');
    fs.writeFileSync(path.join(bin, 'mvn'), `#!/bin/sh\ntouch '${ran}'\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'docker'), `#!/bin/sh\ntouch '${ran}'\n`, { mode: 0o755 });
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}${path.delimiter}${savedPath}`;
    try {
      const f = fixture();
      expect(
        () =>
          new FlinkStreamProcessor(f.stack, 'App', {
            code: FlinkCode.fromMavenModule('enrichment', { flinkAppsDirectory: apps }),
          }),
      ).toThrow(
        /Flink module 'enrichment' has no jar at .*enrichment\.jar: build it with `mvn -f .*pom\.xml -pl enrichment -am package -DskipTests`/,
      );
    } finally {
      process.env.PATH = savedPath;
    }
    expect(fs.existsSync(ran)).toBe(false);
  });

  test('the repository modules resolve from the package flink-apps folder by default', () => {
    const repoJar = path.join(__dirname, '../../../flink-apps/timeseries-enrichment/target/timeseries-enrichment.jar');
    if (fs.existsSync(repoJar)) {
      expect(() => FlinkCode.fromMavenModule('timeseries-enrichment')).not.toThrow();
    } else {
      expect(() => FlinkCode.fromMavenModule('timeseries-enrichment')).toThrow(
        /Flink module 'timeseries-enrichment' has no jar at .*flink-apps\/timeseries-enrichment\/target\/timeseries-enrichment\.jar/,
      );
    }
  });

  test('fromPackage names the applications it knows', () => {
    expect(() => FlinkCode.fromPackage('enrichment')).toThrow(
      "FlinkCode.fromPackage needs one of 'timeseries-enrichment', 'stateful-functions', got 'enrichment'",
    );
  });

  test('fromPackage in a checkout is the module build (the published package ships the jar: pack-test.sh)', () => {
    const repoJar = path.join(__dirname, '../../../flink-apps/stateful-functions/target/stateful-functions.jar');
    if (fs.existsSync(repoJar)) {
      const f = fixture();
      new FlinkStreamProcessor(f.stack, 'App', { code: FlinkCode.fromPackage('stateful-functions') });
      const asset = f.stack.node.findChild('App').node.findChild('Code') as s3assets.Asset;
      expect(asset.assetPath).toBeDefined();
      expect(fs.statSync(path.join(f.app.outdir, asset.assetPath)).size).toBe(fs.statSync(repoJar).size);
    } else {
      expect(() => FlinkCode.fromPackage('stateful-functions')).toThrow(
        /Flink application 'stateful-functions' has no jar at .*stateful-functions\.jar: build it with `npm run main`/,
      );
    }
  });

  test('a module without pom.xml is reported', () => {
    expect(() => FlinkCode.fromMavenModule('missing', { flinkAppsDirectory: apps })).toThrow(
      /Flink module 'missing' has no pom.xml in .*missing/,
    );
  });
});

describe('FlinkStreamProcessor validation', () => {
  test('a code bucket with an empty key is rejected, a token key is accepted', () => {
    const f = fixture();
    const bucket = s3.Bucket.fromBucketName(f.stack, 'B', 'ci-artifacts');
    expect(() => FlinkCode.fromBucket(bucket, '')).toThrow(/FlinkCode.fromBucket needs an object key, got ''/);
    const key = new CfnParameter(f.stack, 'JarKey').valueAsString;
    processor(f, { code: FlinkCode.fromBucket(bucket, key) });
    Template.fromStack(f.stack).hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      ApplicationConfiguration: Match.objectLike({
        ApplicationCodeConfiguration: Match.objectLike({
          CodeContent: { S3ContentLocation: Match.objectLike({ FileKey: { Ref: 'JarKey' } }) },
        }),
      }),
    });
  });

  test('a jar path that does not exist is rejected with the path', () => {
    expect(() => FlinkCode.fromJar('/nowhere/app.jar')).toThrow(
      /FlinkCode.fromJar needs an existing jar file, got \/nowhere\/app.jar/,
    );
  });

  test('AT_TIMESTAMP needs initialTimestamp', () => {
    const f = fixture();
    expect(() => processor(f, { initialPosition: FlinkInitialPosition.AT_TIMESTAMP })).toThrow(
      /initialTimestamp goes with initialPosition AT_TIMESTAMP, got initialPosition AT_TIMESTAMP without initialTimestamp/,
    );
  });

  test('a consumer of another stream is rejected', () => {
    const f = fixture();
    const consumer = f.sink.addConsumer('other');
    expect(() => processor(f, { sourceConsumer: consumer })).toThrow(/sourceConsumer belongs to stream/);
  });

  test('source props without a source stream are rejected', () => {
    const f = fixture();
    expect(
      () =>
        new FlinkStreamProcessor(f.stack, 'P', {
          code: FlinkCode.fromJar(jar),
          initialPosition: FlinkInitialPosition.LATEST,
        }),
    ).toThrow(/initialPosition need sourceStream/);
  });

  test('generated groups cannot be redefined', () => {
    const f = fixture();
    expect(() => processor(f, { additionalPropertyGroups: { KinesisSink: { 'stream.arn': 'x' } } })).toThrow(
      /additionalPropertyGroups cannot define 'KinesisSink'/,
    );
    const p = processor(fixture());
    expect(() => p.addPropertyGroup('KinesisSource', {})).toThrow(/'KinesisSource' is already defined \(generated/);
    p.addPropertyGroup('Processing', {});
    expect(() => p.addPropertyGroup('Processing', {})).toThrow(/'Processing' is already defined$/);
    expect(() => p.addPropertyGroup('bad name', {})).toThrow(/got 'bad name'/);
  });

  test.each([
    [{ parallelism: 0 }, /parallelism must be an integer between 1 and 10000, got 0/],
    [{ parallelismPerKpu: 9 }, /parallelismPerKpu must be an integer between 1 and 8, got 9/],
    [
      { checkpointInterval: Duration.millis(500) },
      /checkpointInterval must be between 1 second and 1 day, got 500 millis/,
    ],
    [{ checkpointingEnabled: false, checkpointInterval: Duration.seconds(10) }, /need checkpointing/],
    [{ restartsThreshold: -1 }, /RestartsAlarm threshold must be zero or more, got -1/],
  ])('%p is rejected', (props, message) => {
    const f = fixture();
    expect(() => processor(f, props)).toThrow(message);
  });

  test('metricSourceLag without a source stream is rejected', () => {
    const f = fixture();
    const p = new FlinkStreamProcessor(f.stack, 'P', { code: FlinkCode.fromJar(jar) });
    expect(() => p.metricSourceLag()).toThrow(/metricSourceLag needs sourceStream/);
  });
});

describe('FlinkStreamProcessor cdk-nag', () => {
  test('a fully wired application in a VPC passes AwsSolutions checks', () => {
    const f = fixture();
    applyNagChecks(f.app);
    const vpc = new ec2.Vpc(f.stack, 'Vpc', {
      natGateways: 0,
      maxAzs: 2,
      subnetConfiguration: [{ name: 'app', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    const consumer = f.source.addConsumer('enrichment');
    const p = processor(f, {
      sourceConsumer: consumer,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    });
    const bucket = new s3.Bucket(f.stack, 'Data', {
      enforceSSL: true,
      serverAccessLogsPrefix: 'access/',
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    });
    p.grantReadS3(bucket, 'reference/devices.jsonl');
    p.grantReadS3(bucket, 'reference/');
    p.grantWriteS3(bucket, 'state-export/');
    // The VPC is a test fixture; its flow-log finding is not the processor's.
    Validations.of(vpc).acknowledge({ id: 'AwsSolutions::AwsSolutions-VPC7', reason: 'test fixture VPC' });
    expect(() => f.app.synth()).not.toThrow();
  });

  test('the default application with a prebuilt S3 jar passes AwsSolutions checks', () => {
    const f = fixture();
    applyNagChecks(f.app);
    processor(f, { code: FlinkCode.fromBucket(s3.Bucket.fromBucketName(f.stack, 'Ci', 'ci-artifacts'), 'a.jar') });
    expect(() => f.app.synth()).not.toThrow();
  });

  test('an unacknowledged wildcard still fails synth (the check is live)', () => {
    const f = fixture();
    applyNagChecks(f.app);
    const p = processor(f);
    p.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:Get*'], resources: ['arn:aws:s3:::x/*'] }));
    expect(() => f.app.synth()).toThrow(/AwsSolutions-IAM5/);
  });
});

describe('FlinkStreamProcessor application encryption', () => {
  test('no encryption configuration by default (the AWS-owned key)', () => {
    const f = fixture();
    processor(f);
    Template.fromStack(f.stack).hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      ApplicationConfiguration: Match.objectLike({ ApplicationEncryptionConfiguration: Match.absent() }),
    });
  });

  test('a customer-managed key encrypts the application and lets both Managed Flink principals use it', () => {
    const f = fixture();
    const key = new kms.Key(f.stack, 'AppKey', { enableKeyRotation: true });
    processor(f, { applicationEncryptionKey: key });
    const t = Template.fromStack(f.stack);
    t.hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      ApplicationConfiguration: Match.objectLike({
        ApplicationEncryptionConfiguration: {
          KeyType: 'CUSTOMER_MANAGED_KEY',
          KeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('AppKey'), 'Arn'] },
        },
      }),
    });
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowManagedFlinkApplicationEncryption',
            Principal: {
              Service: ['kinesisanalytics.amazonaws.com', 'infrastructure.kinesisanalytics.amazonaws.com'],
            },
            Action: ['kms:DescribeKey', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:CreateGrant'],
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
  });
});

describe('FlinkStreamProcessor startOnDeploy', () => {
  function starterProperties(t: Template): Record<string, unknown> {
    const [resource] = Object.values(t.findResources('Custom::FlinkApplicationStart'));
    return resource.Properties;
  }

  test('no start resource by default', () => {
    const f = fixture();
    const p = processor(f);
    expect(p.starter).toBeUndefined();
    Template.fromStack(f.stack).resourceCountIs('Custom::FlinkApplicationStart', 0);
  });

  test('fromLatestSnapshot: a custom resource after the application, with the restore settings', () => {
    const f = fixture();
    const p = processor(f, { startOnDeploy: FlinkApplicationStart.fromLatestSnapshot() });
    const t = Template.fromStack(f.stack);
    const [appId] = Object.keys(t.findResources('AWS::KinesisAnalyticsV2::Application'));
    t.hasResource('Custom::FlinkApplicationStart', {
      DependsOn: Match.arrayWith([appId]),
      Properties: Match.objectLike({
        ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('EnrichmentStartFunction'), 'Arn'] },
        ApplicationName: { Ref: appId },
        RestoreType: 'RESTORE_FROM_LATEST_SNAPSHOT',
        AllowNonRestoredState: 'false',
        SnapshotName: Match.absent(),
      }),
    });
    expect(p.starter?.resource).toBeDefined();
    t.hasResourceProperties('AWS::Lambda::Function', { Timeout: 900, Runtime: 'nodejs24.x' });
  });

  test('fromSnapshot and withoutSnapshot carry their restore type', () => {
    const f = fixture();
    processor(f, { startOnDeploy: FlinkApplicationStart.fromSnapshot('before-2-0', { allowNonRestoredState: true }) });
    expect(starterProperties(Template.fromStack(f.stack))).toMatchObject({
      RestoreType: 'RESTORE_FROM_CUSTOM_SNAPSHOT',
      SnapshotName: 'before-2-0',
      AllowNonRestoredState: 'true',
    });
    const g = fixture();
    processor(g, { startOnDeploy: FlinkApplicationStart.withoutSnapshot() });
    expect(starterProperties(Template.fromStack(g.stack))).toMatchObject({ RestoreType: 'SKIP_RESTORE_FROM_SNAPSHOT' });
  });

  test('the revision changes with the runtime properties, so a changed application is started again', () => {
    const revision = (extra: Record<string, string>) => {
      const f = fixture();
      processor(f, {
        startOnDeploy: FlinkApplicationStart.fromLatestSnapshot(),
        additionalPropertyGroups: { Processing: extra },
      });
      return JSON.stringify(starterProperties(Template.fromStack(f.stack)).Revision);
    };
    expect(revision({ 'dedupe.ttl.minutes': '60' })).toEqual(revision({ 'dedupe.ttl.minutes': '60' }));
    expect(revision({ 'dedupe.ttl.minutes': '60' })).not.toEqual(revision({ 'dedupe.ttl.minutes': '30' }));
  });

  test('the starter may describe, list snapshots of and start this application only', () => {
    const f = fixture();
    processor(f, { startOnDeploy: FlinkApplicationStart.fromLatestSnapshot() });
    const t = Template.fromStack(f.stack);
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('EnrichmentStartServiceRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: [
              'kinesisanalytics:DescribeApplication',
              'kinesisanalytics:ListApplicationSnapshots',
              'kinesisanalytics:StartApplication',
            ],
            Resource: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
          }),
        ]),
      },
    });
  });

  test('with a customer-managed key the starter may use it through Managed Flink only', () => {
    const f = fixture();
    const key = new kms.Key(f.stack, 'AppKey', { enableKeyRotation: true });
    processor(f, { applicationEncryptionKey: key, startOnDeploy: FlinkApplicationStart.withoutSnapshot() });
    Template.fromStack(f.stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('EnrichmentStartServiceRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['kms:DescribeKey', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:CreateGrant'],
            Condition: {
              StringEquals: {
                'kms:ViaService': {
                  'Fn::Join': ['', ['kinesisanalytics.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]],
                },
              },
            },
          }),
        ]),
      },
    });
  });

  test('passes cdk-nag AwsSolutions with the starter and a customer-managed key', () => {
    const f = fixture();
    applyNagChecks(f.app);
    const key = new kms.Key(f.stack, 'AppKey', { enableKeyRotation: true });
    processor(f, { applicationEncryptionKey: key, startOnDeploy: FlinkApplicationStart.fromLatestSnapshot() });
    expect(() => f.app.synth()).not.toThrow();
  });

  test.each(['has space', '', 'a'.repeat(257)])('snapshot name %j is rejected', (name) => {
    expect(() => FlinkApplicationStart.fromSnapshot(name)).toThrow(
      `FlinkApplicationStart.fromSnapshot needs a snapshot name of 1-256 [a-zA-Z0-9_.-], got '${name}'`,
    );
  });

  test('a snapshot name token is accepted', () => {
    const f = fixture();
    const name = new CfnParameter(f.stack, 'Snapshot').valueAsString;
    processor(f, { startOnDeploy: FlinkApplicationStart.fromSnapshot(name) });
    expect(starterProperties(Template.fromStack(f.stack)).SnapshotName).toEqual({ Ref: 'Snapshot' });
  });
});
