import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { applyNagChecks } from '../../../bin/nag';
import { LiveAnalyticsDatabase, LiveAnalyticsDatabaseProps } from '../../../lib/destination';

function setup(): { app: App; stack: Stack } {
  const app = new App();
  return { app, stack: new Stack(app, 'TestStack') };
}

describe('LiveAnalyticsDatabase', () => {
  test('creates an encrypted database and a table with the retention props', () => {
    const { stack } = setup();
    const db = new LiveAnalyticsDatabase(stack, 'Db', {
      memoryStoreRetention: Duration.hours(12),
      magneticStoreRetention: Duration.days(30),
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Timestream::InfluxDBInstance', 0);
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.hasResourceProperties('AWS::Timestream::Database', { KmsKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::Timestream::Table', {
      TableName: 'telemetry',
      RetentionProperties: { MemoryStoreRetentionPeriodInHours: '12', MagneticStoreRetentionPeriodInDays: '30' },
      MagneticStoreWriteProperties: { EnableMagneticStoreWrites: true },
    });
    // No VPC, secret or network connections: those belong to InfluxDbDatabase only.
    expect('vpc' in db).toBe(false);
    expect('secret' in db).toBe(false);
    expect('connections' in db).toBe(false);
  });

  test('warns at synth time that LiveAnalytics is closed to new customers', () => {
    const { stack } = setup();
    new LiveAnalyticsDatabase(stack, 'Db');
    Annotations.fromStack(stack).hasWarning(
      '/TestStack/Db',
      Match.stringLikeRegexp('closed to new customers since 2025-06-20'),
    );
  });

  test('grantWrite grants WriteRecords on the table and DescribeEndpoints', () => {
    const { stack } = setup();
    const db = new LiveAnalyticsDatabase(stack, 'Db');
    const role = new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    db.grantWrite(role);
    const tableId = stack.getLogicalId(db.node.findChild('Table') as never);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: 'timestream:WriteRecords', Resource: { 'Fn::GetAtt': [tableId, 'Arn'] } },
          { Effect: 'Allow', Action: 'timestream:DescribeEndpoints', Resource: '*' },
        ],
      },
    });
  });

  test.each([
    [
      { memoryStoreRetention: Duration.minutes(30) },
      /memoryStoreRetention \(hours\) must be an integer between 1 and 8766, got 0.5/,
    ],
    [
      { magneticStoreRetention: Duration.days(80000) },
      /magneticStoreRetention \(days\) must be an integer between 1 and 73000, got 80000/,
    ],
  ])('%p is rejected', (props, message) => {
    const { stack } = setup();
    expect(() => new LiveAnalyticsDatabase(stack, 'Db', props)).toThrow(message);
  });

  test('InfluxDB props are not LiveAnalytics props', () => {
    const { stack } = setup();
    // @ts-expect-error organization belongs to InfluxDbDatabaseProps: the type rejects it at compile time
    const props: LiveAnalyticsDatabaseProps = { organization: 'acme' };
    new LiveAnalyticsDatabase(stack, 'Db', props);
    Template.fromStack(stack).resourceCountIs('AWS::Timestream::InfluxDBInstance', 0);
  });
});

describe('LiveAnalyticsDatabase cdk-nag', () => {
  test('LiveAnalytics with a writer passes AwsSolutions checks', () => {
    const { app, stack } = setup();
    applyNagChecks(app);
    const db = new LiveAnalyticsDatabase(stack, 'Db');
    db.grantWrite(new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
    expect(() => app.synth()).not.toThrow();
  });
});
