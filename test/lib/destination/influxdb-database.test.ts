import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { applyNagChecks } from '../../../bin/nag';
import { InfluxDbDatabase, InfluxDbDatabaseProps, InfluxDbDeploymentType } from '../../../lib/destination';

function setup(): { app: App; stack: Stack } {
  const app = new App();
  return { app, stack: new Stack(app, 'TestStack') };
}

function id(stack: Stack, construct: { node: { defaultChild?: unknown } } | ec2.ISecurityGroup): string {
  const child = (construct as { node: { defaultChild?: unknown } }).node.defaultChild ?? construct;
  return stack.getLogicalId(child as never);
}

describe('InfluxDbDatabase', () => {
  test('creates a private InfluxDB 2 instance with cheap defaults', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db');
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Timestream::InfluxDBInstance', 1);
    template.hasResourceProperties('AWS::Timestream::InfluxDBInstance', {
      DbInstanceType: 'db.influx.medium',
      AllocatedStorage: 20,
      DbStorageType: 'InfluxIOIncludedT1',
      DeploymentType: 'SINGLE_AZ',
      PubliclyAccessible: false,
      Port: 8086,
      Organization: 'telemetry',
      Bucket: 'telemetry',
      Username: 'admin',
      VpcSecurityGroupIds: [{ 'Fn::GetAtt': [id(stack, db.securityGroup), 'GroupId'] }],
    });
    template.resourceCountIs('AWS::Timestream::Database', 0);
    expect(db.writerEnvironment().TIME_SERIES_BACKEND).toBe('influxdb');
    expect(db.organization).toBe('telemetry');
    expect(db.bucket).toBe('telemetry');
  });

  test('the password is a dynamic reference to a generated secret, never plaintext', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: {
        SecretStringTemplate: '{"username":"admin"}',
        GenerateStringKey: 'password',
        ExcludePunctuation: true,
        IncludeSpace: false,
        PasswordLength: 32,
      },
    });
    template.hasResourceProperties('AWS::Timestream::InfluxDBInstance', {
      Password: {
        'Fn::Join': [
          '',
          ['{{resolve:secretsmanager:', { Ref: id(stack, db.secret as never) }, ':SecretString:password::}}'],
        ],
      },
    });
  });

  test('a new VPC has isolated subnets in two zones, no NAT gateway, and rejected-traffic flow logs', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db');
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.hasResourceProperties('AWS::EC2::FlowLog', { LogDestinationType: 's3', TrafficType: 'REJECT' });
    expect(db.vpc.isolatedSubnets).toHaveLength(2);
    expect(db.writerSubnets).toEqual({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
    template.hasResourceProperties('AWS::Timestream::InfluxDBInstance', {
      VpcSubnetIds: db.vpc.isolatedSubnets.map((s) => ({ Ref: id(stack, s as never) })),
    });
  });

  test('port 8086 is open to the writer security group only, and the instance has no egress', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db');
    const template = Template.fromStack(stack);
    const dbSg = id(stack, db.securityGroup);
    const ingress = template.findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: { GroupId: { 'Fn::GetAtt': [dbSg, 'GroupId'] } },
    });
    expect(Object.values(ingress).map((r) => r.Properties)).toEqual([
      {
        Description: expect.any(String),
        FromPort: 8086,
        ToPort: 8086,
        IpProtocol: 'tcp',
        GroupId: { 'Fn::GetAtt': [dbSg, 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [id(stack, db.writerSecurityGroup), 'GroupId'] },
      },
    ]);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('InfluxDB instance'),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' })],
    });
  });

  test('allowFrom and allowedPeers open 8086 to exactly those sources', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db', {});
    const grafanaSg = new ec2.SecurityGroup(stack, 'Grafana', { vpc: db.vpc });
    db.allowFrom(grafanaSg);
    const { stack: stack2 } = setup();
    const vpc = new ec2.Vpc(stack2, 'Vpc', { natGateways: 0 });
    new InfluxDbDatabase(stack2, 'Db', { existingVpc: vpc, allowedPeers: [ec2.Peer.ipv4('10.20.0.0/16')] });

    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 8086,
      GroupId: { 'Fn::GetAtt': [id(stack, db.securityGroup), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [id(stack, grafanaSg), 'GroupId'] },
    });
    Template.fromStack(stack2).hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: [Match.objectLike({ CidrIp: '10.20.0.0/16', FromPort: 8086, ToPort: 8086 })],
    });
  });

  test('endpointUrl is https on port 8086 of the instance endpoint', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db');
    expect(stack.resolve(db.endpointUrl)).toEqual({
      'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [id(stack, db.instance as never), 'Endpoint'] }, ':8086']],
    });
  });

  test('a new VPC gets Secrets Manager, EventBridge, SQS and Kinesis endpoints plus a DynamoDB gateway', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db');
    const template = Template.fromStack(stack);
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).map((r) => r.Properties);
    const services = endpoints.map((p) => JSON.stringify(p.ServiceName).match(/\.([a-z-]+)"\]\]\}$/)?.[1]).sort();
    expect(services).toEqual(['dynamodb', 'events', 'kinesis-streams', 'secretsmanager', 'sqs']);
    expect(endpoints.filter((p) => p.VpcEndpointType === 'Interface').every((p) => p.PrivateDnsEnabled === true)).toBe(
      true,
    );
    // Each interface endpoint admits HTTPS from the writers.
    template.resourcePropertiesCountIs(
      'AWS::EC2::SecurityGroupIngress',
      { FromPort: 443, SourceSecurityGroupId: { 'Fn::GetAtt': [id(stack, db.writerSecurityGroup), 'GroupId'] } },
      4,
    );
  });

  test('addInterfaceEndpoint adds a service once', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db', { interfaceEndpoints: [] });
    expect(db.addInterfaceEndpoint(ec2.InterfaceVpcEndpointAwsService.KMS)).toBeDefined();
    expect(db.addInterfaceEndpoint(ec2.InterfaceVpcEndpointAwsService.KMS)).toBeUndefined();
    Template.fromStack(stack).resourcePropertiesCountIs('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Interface' }, 1);
  });

  test('an existing VPC gets no endpoints unless asked, and its private subnets are used', () => {
    const { stack } = setup();
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 1, maxAzs: 2 });
    const db = new InfluxDbDatabase(stack, 'Db', { existingVpc: vpc });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    template.resourceCountIs('AWS::EC2::FlowLog', 0);
    expect(db.writerSubnets).toEqual({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    template.hasResourceProperties('AWS::Timestream::InfluxDBInstance', {
      VpcSubnetIds: vpc.privateSubnets.map((s) => ({ Ref: id(stack, s as never) })),
    });
  });

  test('engine logs go to an encrypted, SSL-only bucket that the service may write to', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db');
    const template = Template.fromStack(stack);
    const bucket = id(stack, db.logBucket as never);
    template.hasResourceProperties('AWS::Timestream::InfluxDBInstance', {
      LogDeliveryConfiguration: { S3Configuration: { BucketName: { Ref: bucket }, Enabled: true } },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true, RestrictPublicBuckets: true }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'timestream-influxdb.amazonaws.com' },
            Action: 's3:PutObject',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
  });

  test('the instance is created after the log bucket policy, which the service needs before creation', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db');
    const template = Template.fromStack(stack);
    const policy = stack.getLogicalId((db.logBucket as s3.Bucket).policy!.node.defaultChild as s3.CfnBucketPolicy);
    const [instance] = Object.values(template.findResources('AWS::Timestream::InfluxDBInstance'));
    expect(instance.DependsOn).toEqual(expect.arrayContaining([policy]));
  });

  test('a log bucket passed in still orders the instance after its policy', () => {
    const { stack } = setup();
    const logBucket = new s3.Bucket(stack, 'Logs', { enforceSSL: true });
    new InfluxDbDatabase(stack, 'Db', { logBucket });
    const policy = stack.getLogicalId(logBucket.policy!.node.defaultChild as s3.CfnBucketPolicy);
    const [instance] = Object.values(Template.fromStack(stack).findResources('AWS::Timestream::InfluxDBInstance'));
    expect(instance.DependsOn).toEqual(expect.arrayContaining([policy]));
  });

  test('sizing, deployment type and names follow the props', () => {
    const { stack } = setup();
    new InfluxDbDatabase(stack, 'Db', {
      instanceType: 'db.influx.large',
      allocatedStorageGiB: 100,
      storageType: 'InfluxIOIncludedT2',
      deploymentType: InfluxDbDeploymentType.MULTI_AZ,
      instanceName: 'telemetry-prod',
      username: 'writer',
      organization: 'acme',
      bucket: 'devices',
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Timestream::InfluxDBInstance', {
      DbInstanceType: 'db.influx.large',
      AllocatedStorage: 100,
      DbStorageType: 'InfluxIOIncludedT2',
      DeploymentType: 'WITH_MULTIAZ_STANDBY',
      Name: 'telemetry-prod',
      Username: 'writer',
      Organization: 'acme',
      Bucket: 'devices',
    });
  });

  test('the generated instance name is valid and stable', () => {
    const { stack } = setup();
    new InfluxDbDatabase(stack, 'Time_Series__Database');
    const [instance] = Object.values(Template.fromStack(stack).findResources('AWS::Timestream::InfluxDBInstance'));
    const name: string = instance.Properties.Name;
    expect(name).toMatch(/^[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$/);
    expect(name.length).toBeLessThanOrEqual(40);
    const { stack: again } = setup();
    new InfluxDbDatabase(again, 'Time_Series__Database');
    const [instance2] = Object.values(Template.fromStack(again).findResources('AWS::Timestream::InfluxDBInstance'));
    expect(instance2.Properties.Name).toBe(name);
  });

  test('grantWrite lets a writer read the secret, and nothing else', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db');
    const role = new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    db.grantWrite(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: id(stack, role) }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: { Ref: id(stack, db.secret as never) },
          },
        ],
      },
    });
  });

  test.each([
    [{ allocatedStorageGiB: 10 }, /allocatedStorageGiB must be an integer between 20 and 16384, got 10/],
    [{ instanceType: 'db.t3.micro' }, /instanceType must be one of .*got 'db.t3.micro'/],
    [{ storageType: 'gp3' }, /storageType must be one of .*got 'gp3'/],
    [{ instanceName: '1bad' }, /instanceName must be .*got '1bad'/],
    [{ username: 'bad--name' }, /username must .*got 'bad--name'/],
    [{ bucket: '_system' }, /bucket must .*got '_system'/],
    [{ vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } }, /vpcSubnets needs existingVpc/],
  ])('%p is rejected', (props, message) => {
    const { stack } = setup();
    expect(() => new InfluxDbDatabase(stack, 'Db', props)).toThrow(message);
  });

  test('LiveAnalytics props are not InfluxDB props', () => {
    const { stack } = setup();
    // @ts-expect-error tableName belongs to LiveAnalyticsDatabaseProps: the type rejects it at compile time
    const props: InfluxDbDatabaseProps = { tableName: 'x' };
    new InfluxDbDatabase(stack, 'Db', props);
    Template.fromStack(stack).resourceCountIs('AWS::Timestream::Table', 0);
  });

  test('MULTI_AZ in a single-zone subnet selection is rejected', () => {
    const { stack } = setup();
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      natGateways: 0,
      maxAzs: 1,
      subnetConfiguration: [{ name: 'i', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    expect(
      () => new InfluxDbDatabase(stack, 'Db', { existingVpc: vpc, deploymentType: InfluxDbDeploymentType.MULTI_AZ }),
    ).toThrow(/MULTI_AZ needs subnets in two Availability Zones, got subnets in 1/);
  });

  test('the default stack emits no LiveAnalytics warning', () => {
    const { stack } = setup();
    new InfluxDbDatabase(stack, 'Db');
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('LiveAnalytics'));
  });
});

describe('InfluxDbDatabase alarms and metrics', () => {
  const dimension = (stack: Stack, db: InfluxDbDatabase) => [
    { Name: 'DbInstanceName', Value: stack.resolve(db.instanceName) },
  ];

  test('CPU, memory and disk alarms on the instance, in AWS/Timestream/InfluxDB', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db');
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    for (const [MetricName, Threshold, EvaluationPeriods] of [
      ['CPUUtilization', 90, 3],
      ['MemoryUtilization', 90, 3],
      ['DiskUtilization', 80, 1],
    ]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Timestream/InfluxDB',
        MetricName,
        Dimensions: dimension(stack, db),
        Statistic: 'Maximum',
        Period: 300,
        Threshold,
        EvaluationPeriods,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
    expect(db.alarms.map((a) => a.node.id)).toEqual([
      'CpuUtilizationAlarm',
      'MemoryUtilizationAlarm',
      'DiskUtilizationAlarm',
    ]);
  });

  test('thresholds follow the props, and alarms notify the topic', () => {
    const { stack } = setup();
    const topic = new sns.Topic(stack, 'Topic');
    new InfluxDbDatabase(stack, 'Db', {
      cpuUtilizationThreshold: 75,
      memoryUtilizationThreshold: 85,
      diskUtilizationThreshold: 70,
      alarmTopic: topic,
    });
    const template = Template.fromStack(stack);
    for (const [MetricName, Threshold] of [
      ['CPUUtilization', 75],
      ['MemoryUtilization', 85],
      ['DiskUtilization', 70],
    ]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName,
        Threshold,
        AlarmActions: [{ Ref: stack.getLogicalId(topic.node.defaultChild as never) }],
      });
    }
  });

  test('createAlarms false creates none; thresholds without alarms are rejected', () => {
    const { stack } = setup();
    new InfluxDbDatabase(stack, 'Db', { createAlarms: false });
    Template.fromStack(stack).resourceCountIs('AWS::CloudWatch::Alarm', 0);
    expect(() => new InfluxDbDatabase(stack, 'Db2', { createAlarms: false, cpuUtilizationThreshold: 50 })).toThrow(
      /cpuUtilizationThreshold need createAlarms, got false/,
    );
  });

  test.each(['cpuUtilizationThreshold', 'memoryUtilizationThreshold', 'diskUtilizationThreshold'])(
    '%s above 100 percent is rejected',
    (prop) => {
      const { stack } = setup();
      expect(() => new InfluxDbDatabase(stack, 'Db', { [prop]: 101 })).toThrow(
        new RegExp(`${prop} must be between 0 and 100 percent, got 101`),
      );
    },
  );

  test('metric methods use the documented names and the DbInstanceName dimension', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db', { instanceName: 'telemetry-db' });
    const metrics = [
      db.metricCpuUtilization(),
      db.metricMemoryUtilization(),
      db.metricDiskUtilization(),
      db.metricHeapMemoryUsage(),
    ].map((m) => [m.namespace, m.metricName, m.dimensions, m.statistic]);
    expect(metrics).toEqual(
      ['CPUUtilization', 'MemoryUtilization', 'DiskUtilization', 'HeapMemoryUsage'].map((name) => [
        'AWS/Timestream/InfluxDB',
        name,
        { DbInstanceName: 'telemetry-db' },
        'Maximum',
      ]),
    );
  });
});

describe('InfluxDbDatabase admin secret', () => {
  test('is encrypted with a new customer-managed key with rotation', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db');
    const template = Template.fromStack(stack);
    const keyId = stack.getLogicalId(db.secretEncryptionKey.node.defaultChild as never);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
  });

  test('uses a given key, and writers may decrypt with it', () => {
    const { stack } = setup();
    const key = new kms.Key(stack, 'Given', { enableKeyRotation: true });
    const db = new InfluxDbDatabase(stack, 'Db', { secretEncryptionKey: key });
    const writer = new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    db.grantWrite(writer);
    const template = Template.fromStack(stack);
    const keyId = stack.getLogicalId(key.node.defaultChild as never);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    // Secret.grantRead grants the decrypt in the key policy, through Secrets Manager only.
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'kms:Decrypt',
            Principal: { AWS: { 'Fn::GetAtt': [stack.getLogicalId(writer.node.defaultChild as never), 'Arn'] } },
            Condition: { StringEquals: { 'kms:ViaService': Match.anyValue() } },
          }),
        ]),
      },
    });
  });
});

describe('InfluxDbDatabase cdk-nag', () => {
  test('the default InfluxDB database and a writer pass AwsSolutions checks', () => {
    const { app, stack } = setup();
    applyNagChecks(app);
    const db = new InfluxDbDatabase(stack, 'Db');
    const role = new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    db.grantWrite(role);
    db.addInterfaceEndpoint(ec2.InterfaceVpcEndpointAwsService.KMS);
    expect(() => app.synth()).not.toThrow();
  });

  test('an existing VPC without flow logs is reported, so the check is live', () => {
    const { app, stack } = setup();
    applyNagChecks(app);
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0 });
    new InfluxDbDatabase(stack, 'Db', { existingVpc: vpc });
    expect(() => app.synth()).toThrow(/AwsSolutions-VPC7/);
  });
});
