import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { EventBridgeDestination, EventBridgeDestinationProps } from '../../../lib/destination/eventbridge-destination';
import { stackWithStream, synthWithNag } from '../ingestion/helpers';

function build(props: EventBridgeDestinationProps = {}): { stack: Stack; dest: EventBridgeDestination; t: Template } {
  const { stack } = stackWithStream();
  const dest = new EventBridgeDestination(stack, 'Anomalies', props);
  return { stack, dest, t: Template.fromStack(stack) };
}

describe('EventBridgeDestination defaults', () => {
  test('a custom bus with an AWS-owned key and no archive', () => {
    const { t, dest } = build();
    t.resourceCountIs('AWS::Events::EventBus', 1);
    expect(JSON.stringify(t.findResources('AWS::Events::EventBus'))).not.toContain('KmsKeyIdentifier');
    t.resourceCountIs('AWS::Events::Archive', 0);
    expect(dest.archive).toBeUndefined();
  });

  test('the rule matches TelemetryAnomaly events from cdk-streaming-patterns.timeseries on the bus', () => {
    const { t } = build();
    t.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: Match.stringLikeRegexp('^Anomalies') },
      EventPattern: { source: ['cdk-streaming-patterns.timeseries'], 'detail-type': ['TelemetryAnomaly'] },
      State: 'ENABLED',
    });
  });

  test('matching events go to an encrypted log group, with retries and an encrypted dead-letter queue', () => {
    const { t, dest } = build();
    expect(dest.logGroup).toBeDefined();
    expect(dest.deadLetterQueue).toBeDefined();
    t.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        Match.objectLike({
          Arn: {
            'Fn::Join': [
              '',
              Match.arrayWith([
                ':logs:eu-west-1:123456789012:log-group:',
                { Ref: Match.stringLikeRegexp('^AnomaliesLogGroup') },
              ]),
            ],
          },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AnomaliesDeadLetterQueue'), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        }),
      ],
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30, KmsKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue(), MessageRetentionPeriod: 1209600 });
  });

  test('only this rule may write to the log group and the queue', () => {
    const { t } = build();
    const policy = Object.values(t.findResources('AWS::Logs::ResourcePolicy'));
    expect(policy).toHaveLength(1);
    const document = policy[0].Properties.PolicyDocument;
    expect(JSON.stringify(document)).toContain('events.amazonaws.com');
    expect(JSON.stringify(document)).toContain('aws:SourceArn');
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: {
              ArnEquals: {
                'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp('^AnomaliesAnomalyRule'), 'Arn'] },
              },
            },
          }),
        ]),
      },
    });
    t.resourceCountIs('AWS::Lambda::Function', 0);
  });

  test('alarms on FailedInvocations of the rule on this bus, and on dead-lettered events', () => {
    const { t, dest } = build();
    expect(dest.alarms).toHaveLength(2);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Events',
      MetricName: 'FailedInvocations',
      Statistic: 'Sum',
      Threshold: 1,
      Dimensions: Match.arrayWith([
        { Name: 'EventBusName', Value: { Ref: Match.stringLikeRegexp('^Anomalies') } },
        { Name: 'RuleName', Value: { Ref: Match.stringLikeRegexp('^AnomaliesAnomalyRule') } },
      ]),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
    });
  });

  test('grantPutEvents allows events:PutEvents on this bus', () => {
    const { stack } = stackWithStream();
    const dest = new EventBridgeDestination(stack, 'Anomalies');
    const publisher = new iam.Role(stack, 'Publisher', { assumedBy: new iam.AccountRootPrincipal() });
    dest.grantPutEvents(publisher);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Publisher') }],
      PolicyDocument: {
        Statement: [
          {
            Action: 'events:PutEvents',
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Anomalies'), 'Arn'] },
          },
        ],
      },
    });
  });
});

describe('EventBridgeDestination options', () => {
  test('a customer-managed key, a bus name and an archive', () => {
    const { stack } = stackWithStream();
    const key = new kms.Key(stack, 'BusKey');
    const dest = new EventBridgeDestination(stack, 'Anomalies', {
      eventBusName: 'anomalies',
      encryptionKey: key,
      archiveRetention: Duration.days(30),
    });
    const t = Template.fromStack(stack);
    expect(dest.archive).toBeDefined();
    t.hasResourceProperties('AWS::Events::EventBus', {
      Name: 'anomalies',
      KmsKeyIdentifier: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BusKey'), 'Arn'] },
    });
    t.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 30, EventPattern: { account: ['123456789012'] } });
  });

  test('with a customer-managed key, the archive is encrypted with it and EventBridge may use it for the archive', () => {
    const { stack } = stackWithStream();
    const key = new kms.Key(stack, 'BusKey');
    new EventBridgeDestination(stack, 'Anomalies', { encryptionKey: key, archiveRetention: Duration.days(30) });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Events::Archive', {
      KmsKeyIdentifier: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BusKey'), 'Arn'] },
    });
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'events.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:ReEncrypt*'],
            Condition: {
              StringEquals: {
                'kms:EncryptionContext:aws:events:event-bus:arn': {
                  'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':event-bus/TestStackAnomalies')])],
                },
              },
            },
          }),
          Match.objectLike({ Principal: { Service: 'events.amazonaws.com' }, Action: 'kms:DescribeKey' }),
        ]),
      },
    });
  });

  test("without a customer-managed key, the archive uses EventBridge's own key", () => {
    const { stack } = stackWithStream();
    new EventBridgeDestination(stack, 'Anomalies', { archiveRetention: Duration.days(30) });
    const [archive] = Object.values(Template.fromStack(stack).findResources('AWS::Events::Archive'));
    expect(archive.Properties.KmsKeyIdentifier ?? '').toBe('');
  });

  test('a user target replaces the log group and its queue', () => {
    const { stack } = stackWithStream();
    const queue = new sqs.Queue(stack, 'Mine', { enforceSSL: true });
    const dest = new EventBridgeDestination(stack, 'Anomalies', { ruleTarget: new targets.SqsQueue(queue) });
    const t = Template.fromStack(stack);
    expect(dest.logGroup).toBeUndefined();
    expect(dest.deadLetterQueue).toBeUndefined();
    expect(dest.alarms).toHaveLength(1);
    t.hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Mine'), 'Arn'] } })],
    });
    t.resourceCountIs('AWS::Logs::LogGroup', 0);
  });

  test('source, detail type, log retention and alarm settings are configurable', () => {
    const { stack } = stackWithStream();
    const topic = new sns.Topic(stack, 'Topic');
    new EventBridgeDestination(stack, 'Anomalies', {
      ruleSource: 'plant.sensors',
      ruleDetailType: 'Overheat',
      logRetention: logs.RetentionDays.ONE_WEEK,
      failedInvocationsThreshold: 3,
      deadLetterQueueDepthThreshold: 5,
      alarmTopic: topic,
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['plant.sensors'], 'detail-type': ['Overheat'] },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'FailedInvocations',
      Threshold: 3,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 5,
    });
  });

  test('alarms can be switched off', () => {
    const { t, dest } = build({ createAlarms: false });
    expect(dest.alarms).toEqual([]);
    expect(t.findResources('AWS::CloudWatch::Alarm', { Properties: { Namespace: 'AWS/Events' } })).toEqual({});
  });
});

describe('EventBridgeDestination validation', () => {
  const cases: Array<[string, EventBridgeDestinationProps, RegExp]> = [
    ['bus name', { eventBusName: 'my bus' }, /eventBusName must match .*got 'my bus'/],
    ['default bus', { eventBusName: 'default' }, /not be 'default', got 'default'/],
    ['source', { ruleSource: ' ' }, /ruleSource must not be empty, got ' '/],
    ['detail type', { ruleDetailType: '' }, /ruleDetailType must not be empty, got ''/],
    [
      'archive retention',
      { archiveRetention: Duration.hours(1) },
      /archiveRetention must be a whole number of days, at least 1, got 1 hour/,
    ],
    ['threshold', { failedInvocationsThreshold: -1 }, /failedInvocationsThreshold must be zero or more, got -1/],
    [
      'queue threshold',
      { deadLetterQueueDepthThreshold: -3 },
      /deadLetterQueueDepthThreshold must be zero or more, got -3/,
    ],
  ];
  test.each(cases)('rejects %s with the received value', (_name, props, message) => {
    const { stack } = stackWithStream();
    expect(() => new EventBridgeDestination(stack, 'Anomalies', props)).toThrow(message);
  });

  test('rejects a log retention with a user target', () => {
    const { stack } = stackWithStream();
    const queue = new sqs.Queue(stack, 'Mine');
    expect(
      () =>
        new EventBridgeDestination(stack, 'Anomalies', {
          ruleTarget: new targets.SqsQueue(queue),
          logRetention: logs.RetentionDays.ONE_DAY,
        }),
    ).toThrow(/logRetention applies to the default log group target, got 1 with ruleTarget/);
  });
});

describe('EventBridgeDestination cdk-nag', () => {
  test('defaults pass the AWS Solutions checks', () => {
    expect(() => synthWithNag((stack) => new EventBridgeDestination(stack, 'Anomalies'))).not.toThrow();
  });

  test('a CMK-encrypted, archived bus passes the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag(
        (stack) =>
          new EventBridgeDestination(stack, 'Anomalies', {
            encryptionKey: new kms.Key(stack, 'BusKey', { enableKeyRotation: true }),
            archiveRetention: Duration.days(7),
          }),
      ),
    ).not.toThrow();
  });
});
