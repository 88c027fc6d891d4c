import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { IotCoreIngestion, IotCoreIngestionProps, IotErrorDestination } from '../../../lib/ingestion';
import { stackWithStream, synthWithNag } from './helpers';

function build(props: Partial<IotCoreIngestionProps> = {}): { stack: Stack; iot: IotCoreIngestion; t: Template } {
  const { stack, store } = stackWithStream();
  const iot = new IotCoreIngestion(stack, 'Iot', { stream: store.stream, ...props });
  return { stack, iot, t: Template.fromStack(stack) };
}

function rolePolicyStatements(t: Template): Array<{ Action: unknown; Resource: unknown }> {
  const policies = t.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^IotRole') }] },
  });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('IotCoreIngestion defaults', () => {
  test('the rule selects telemetry/+ and writes to the stream partitioned by the second topic level', () => {
    const { t } = build();
    t.hasResourceProperties('AWS::IoT::TopicRule', {
      TopicRulePayload: Match.objectLike({
        Sql: "SELECT * FROM 'telemetry/+'",
        AwsIotSqlVersion: '2016-03-23',
        RuleDisabled: false,
        Actions: [
          {
            Kinesis: {
              StreamName: { Ref: Match.stringLikeRegexp('^Store') },
              PartitionKey: '${topic(2)}',
              RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IotRole'), 'Arn'] },
            },
          },
        ],
      }),
    });
  });

  test('failed messages go to an S3 bucket under rejected/, one object per message', () => {
    const { t, iot } = build();
    expect(iot.errorBucket).toBeDefined();
    expect(iot.errorLogGroup).toBeUndefined();
    t.hasResourceProperties('AWS::IoT::TopicRule', {
      TopicRulePayload: Match.objectLike({
        ErrorAction: {
          S3: {
            BucketName: { Ref: Match.stringLikeRegexp('^IotErrorBucket') },
            Key: 'rejected/${parse_time("yyyy/MM/dd/HH", timestamp(), "UTC")}/${newuuid()}.json',
            RoleArn: Match.anyValue(),
          },
        },
      }),
    });
  });

  test('the error bucket is KMS-encrypted with a rotated key, TLS-only and blocks public access', () => {
    const { t } = build();
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IotErrorBucketKey'), 'Arn'] },
            },
          },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    t.hasResourceProperties('AWS::KMS::Key', {
      Description: Match.stringLikeRegexp('IoT rule'),
      EnableKeyRotation: true,
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('the role may only put records to the stream, put objects under the prefix and use the two keys', () => {
    const { t } = build();
    const statements = rolePolicyStatements(t);
    expect(statements.map((s) => s.Action)).toEqual([
      'kinesis:PutRecord',
      'kms:GenerateDataKey',
      's3:PutObject',
      'kms:GenerateDataKey',
    ]);
    expect(JSON.stringify(statements[2].Resource)).toContain('/rejected/*');
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'iot.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
          }),
        ],
      },
    });
  });

  test('alarms on AWS/IoT Failure with the rule name dimension', () => {
    const { t, iot } = build();
    expect(iot.alarms).toHaveLength(1);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/IoT',
      MetricName: 'Failure',
      Dimensions: [{ Name: 'RuleName', Value: { Ref: Match.stringLikeRegexp('^Iot[0-9A-F]') } }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });
});

describe('IotCoreIngestion options', () => {
  test('sql, partition key, rule name and description are configurable', () => {
    const { t } = build({
      sql: "SELECT *, topic(3) AS deviceId FROM 'plant/+/+'",
      partitionKey: '${deviceId}',
      ruleName: 'plant_telemetry',
      description: 'plant sensors',
      sqlVersion: 'beta',
    });
    t.hasResourceProperties('AWS::IoT::TopicRule', {
      RuleName: 'plant_telemetry',
      TopicRulePayload: Match.objectLike({
        Sql: "SELECT *, topic(3) AS deviceId FROM 'plant/+/+'",
        AwsIotSqlVersion: 'beta',
        Description: 'plant sensors',
        Actions: [{ Kinesis: Match.objectLike({ PartitionKey: '${deviceId}' }) }],
      }),
    });
  });

  test('LOG_GROUP keeps failed messages in an encrypted log group the role may write to', () => {
    const { t, iot } = build({
      errorDestination: IotErrorDestination.LOG_GROUP,
      errorLogRetention: logs.RetentionDays.THREE_MONTHS,
    });
    expect(iot.errorBucket).toBeUndefined();
    t.resourceCountIs('AWS::S3::Bucket', 0);
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90, KmsKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::IoT::TopicRule', {
      TopicRulePayload: Match.objectLike({
        ErrorAction: {
          CloudwatchLogs: {
            LogGroupName: { Ref: Match.stringLikeRegexp('^IotErrorLogGroup') },
            RoleArn: Match.anyValue(),
            BatchMode: false,
          },
        },
      }),
    });
    expect(rolePolicyStatements(t).map((s) => s.Action)).toEqual([
      'kinesis:PutRecord',
      'kms:GenerateDataKey',
      ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
    ]);
  });

  test('an existing error bucket and prefix are used instead of a new bucket', () => {
    const { stack, store } = stackWithStream();
    const bucket = s3.Bucket.fromBucketName(stack, 'Existing', 'my-dead-letters');
    new IotCoreIngestion(stack, 'Iot', { stream: store.stream, errorBucket: bucket, errorPrefix: 'iot/' });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::S3::Bucket', 0);
    t.hasResourceProperties('AWS::IoT::TopicRule', {
      TopicRulePayload: Match.objectLike({
        ErrorAction: { S3: Match.objectLike({ BucketName: 'my-dead-letters', Key: Match.stringLikeRegexp('^iot/') }) },
      }),
    });
    expect(JSON.stringify(rolePolicyStatements(t)[2].Resource)).toContain('my-dead-letters/iot/*');
  });

  test('the created error bucket can log server access to a given bucket', () => {
    const { stack, store } = stackWithStream();
    const logsBucket = new s3.Bucket(stack, 'AccessLogs');
    new IotCoreIngestion(stack, 'Iot', { stream: store.stream, errorBucketAccessLogsBucket: logsBucket });
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: {
        DestinationBucketName: { Ref: Match.stringLikeRegexp('^AccessLogs') },
        LogFilePrefix: 'iot-errors/',
      },
    });
  });

  test('the alarm can be switched off, tuned and sent to a topic', () => {
    expect(build({ createAlarms: false }).iot.alarms).toEqual([]);
    const { stack, store } = stackWithStream();
    const topic = new sns.Topic(stack, 'Topic');
    new IotCoreIngestion(stack, 'Iot', { stream: store.stream, failureThreshold: 10, alarmTopic: topic });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Failure',
      Threshold: 10,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
    });
  });

  test('metrics carry the rule name and sum over 5 minutes', () => {
    const { stack, iot } = build();
    const metric = iot.metricTopicMatch();
    expect(metric.namespace).toBe('AWS/IoT');
    expect(metric.metricName).toBe('TopicMatch');
    expect(metric.statistic).toBe('Sum');
    expect(metric.period.toSeconds()).toBe(300);
    expect(stack.resolve(metric.dimensions?.RuleName)).toEqual({ Ref: expect.stringMatching(/^Iot[0-9A-F]/) });
  });
});

describe('IotCoreIngestion validation', () => {
  const cases: Array<[string, Partial<IotCoreIngestionProps>, RegExp]> = [
    ['rule name', { ruleName: 'my-rule' }, /ruleName must be 1-128 characters of .*got 'my-rule'/],
    ['sql', { sql: "DELETE FROM 'x'" }, /sql must be a SELECT .*got 'DELETE FROM 'x''/],
    ['partition key', { partitionKey: '  ' }, /partitionKey must not be empty, got '  '/],
    ['threshold', { failureThreshold: -1 }, /failureThreshold must be zero or more, got -1/],
    ['prefix', { errorPrefix: 'bad prefix' }, /errorPrefix may contain only .*got 'bad prefix'/],
    [
      'S3 options with LOG_GROUP',
      { errorDestination: IotErrorDestination.LOG_GROUP, errorPrefix: 'x/' },
      /errorPrefix require errorDestination S3, got LOG_GROUP/,
    ],
    [
      'log retention with S3',
      { errorLogRetention: logs.RetentionDays.ONE_DAY },
      /errorLogRetention requires errorDestination LOG_GROUP, got S3/,
    ],
  ];
  test.each(cases)('rejects %s with the received value', (_name, props, message) => {
    const { stack, store } = stackWithStream();
    expect(() => new IotCoreIngestion(stack, 'Iot', { stream: store.stream, ...props })).toThrow(message);
  });

  test('rejects an access logs bucket combined with an existing error bucket', () => {
    const { stack, store } = stackWithStream();
    const bucket = s3.Bucket.fromBucketName(stack, 'Existing', 'my-dead-letters');
    const logsBucket = s3.Bucket.fromBucketName(stack, 'Logs', 'my-logs');
    expect(
      () =>
        new IotCoreIngestion(stack, 'Iot', {
          stream: store.stream,
          errorBucket: bucket,
          errorBucketAccessLogsBucket: logsBucket,
        }),
    ).toThrow(/errorBucketAccessLogsBucket configures a new bucket/);
  });
});

describe('IotCoreIngestion cdk-nag', () => {
  test('defaults pass the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag((stack, store) => new IotCoreIngestion(stack, 'Iot', { stream: store.stream })),
    ).not.toThrow();
  });

  test('the log group error destination passes the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag(
        (stack, store) =>
          new IotCoreIngestion(stack, 'Iot', { stream: store.stream, errorDestination: IotErrorDestination.LOG_GROUP }),
      ),
    ).not.toThrow();
  });
});
