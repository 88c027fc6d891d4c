import { App, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { applyNagChecks } from '../../../bin/nag';
import { ChangeDataCaptureStack, ChangeDataCaptureStackProps } from '../../../lib/stacks';
import { alarmDeliveryProblems } from './alarm-delivery';

process.env.JSII_DEPRECATED = 'quiet';

function synth(props: ChangeDataCaptureStackProps = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new ChangeDataCaptureStack(app, 'ChangeDataCapture', props);
  return { stack, template: Template.fromStack(stack) };
}

describe('ChangeDataCaptureStack', () => {
  const { stack, template } = synth();

  test('matches the snapshot (asset hashes masked)', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });

  test('the orders table streams its changes into the change stream, with millisecond timestamps', () => {
    const [streamId] = Object.keys(template.findResources('AWS::Kinesis::Stream'));
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'orderId', KeyType: 'HASH' }],
      SSESpecification: Match.objectLike({ SSEEnabled: true, SSEType: 'KMS' }),
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KinesisStreamSpecification: {
        StreamArn: { 'Fn::GetAtt': [streamId, 'Arn'] },
        ApproximateCreationDateTimePrecision: 'MILLISECOND',
      },
    });
  });

  test('Redshift Serverless reads the stream: private workgroup in three zones, an external schema and a view', () => {
    const workgroup = Object.values(template.findResources('AWS::RedshiftServerless::Workgroup'))[0];
    expect(workgroup.Properties).toMatchObject({
      PubliclyAccessible: false,
      EnhancedVpcRouting: true,
      BaseCapacity: 8,
    });
    expect(workgroup.Properties.SubnetIds).toHaveLength(3);
    expect(stack.availabilityZones).toHaveLength(3);
    template.resourceCountIs('Custom::RedshiftExternalSchema', 1);
    template.hasResourceProperties('Custom::RedshiftStreamingView', { ViewName: 'order_changes' });
  });

  test('Redshift reaches Kinesis through an interface endpoint open to the workgroup only (no NAT)', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['.kinesis-streams'])]) }),
      VpcEndpointType: 'Interface',
    });
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'));
    expect(ingress.map((r) => r.Properties.Description)).toContain('Redshift streaming ingestion');
  });

  test('Firehose delivers the changes to an OpenSearch Serverless collection', () => {
    template.resourceCountIs('AWS::OpenSearchServerless::Collection', 1);
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      AmazonOpenSearchServerlessDestinationConfiguration: Match.objectLike({ IndexName: 'order-changes' }),
    });
  });

  test('every alarm notifies the encrypted alarm topic', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThanOrEqual(5);
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlarmTopic/) }]);
    expect(alarmDeliveryProblems(template)).toEqual({ topicsChecked: 1, problems: [] });
  });

  test('the table, the stream and the keys are retained by default, destroyed on request', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
    template.hasResource('AWS::Kinesis::Stream', { DeletionPolicy: 'Retain' });
    const destroyed = synth({ removalPolicy: RemovalPolicy.DESTROY }).template;
    destroyed.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    destroyed.hasResource('AWS::Kinesis::Stream', { DeletionPolicy: 'Delete' });
  });

  test('options: base capacity and index name', () => {
    const t = synth({ redshiftBaseCapacity: 16, openSearchIndexName: 'orders' }).template;
    t.hasResourceProperties('AWS::RedshiftServerless::Workgroup', { BaseCapacity: 16 });
    t.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      AmazonOpenSearchServerlessDestinationConfiguration: Match.objectLike({ IndexName: 'orders' }),
    });
  });

  test('an environment-specific stack uses the zones CDK looked up', () => {
    const app = new App({
      context: {
        'aws:cdk:bundling-stacks': [],
        'availability-zones:account=111122223333:region=eu-west-1': ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
      },
    });
    const s = new ChangeDataCaptureStack(app, 'Cdc', { env: { account: '111122223333', region: 'eu-west-1' } });
    expect(s.availabilityZones).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
  });

  test('has no unacknowledged cdk-nag finding', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new ChangeDataCaptureStack(app, 'ChangeDataCapture');
    applyNagChecks(app);
    expect(() => app.synth()).not.toThrow();
  });
});
