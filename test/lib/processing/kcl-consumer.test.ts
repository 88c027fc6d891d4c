import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { applyNagChecks } from '../../../bin/nag';
import {
  KclConsumer,
  KclConsumerImage,
  KclConsumerProps,
  KclInitialPosition,
  KclMetricsLevel,
} from '../../../lib/processing';
import { StreamStore } from '../../../lib/storage';

// TarballImageAsset only hashes the file at synth; any bytes stand in for the image Jib builds.
const tarball = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kcl-image-')), 'image.tar');
fs.writeFileSync(tarball, 'an OCI image tarball');

function build(props: Partial<KclConsumerProps> = {}, app = new App()) {
  const stack = new Stack(app, 'S', { env: { account: '111122223333', region: 'eu-west-1' } });
  const store = new StreamStore(stack, 'Store');
  // Flow logs: the VPC is the user's, and cdk-nag checks it (VPC7) along with the construct.
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, flowLogs: { all: {} } });
  const consumer = new KclConsumer(stack, 'Kcl', {
    stream: store.stream,
    image: KclConsumerImage.fromTarball(tarball),
    vpc,
    applicationName: 'device-state',
    ...props,
  });
  return { app, stack, store, vpc, consumer };
}

function template(props: Partial<KclConsumerProps> = {}) {
  return Template.fromStack(build(props).stack);
}

/** Every statement of the task role's policy. */
function taskRoleStatements(t: Template): Array<Record<string, unknown>> {
  const policies = t.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: Match.stringLikeRegexp('KclTaskRole') }] },
  });
  return Object.values(policies).flatMap(
    (p) =>
      (p as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties.PolicyDocument
        .Statement,
  );
}

describe('KclConsumer defaults', () => {
  const t = template();

  test('lease table named after the application, keyed by leaseKey, with the KCL 3 owner index', () => {
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'device-state',
      KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: [
        {
          IndexName: 'LeaseOwnerToLeaseKeyIndex',
          KeySchema: [
            { AttributeName: 'leaseOwner', KeyType: 'HASH' },
            { AttributeName: 'leaseKey', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    });
  });

  test('device state table keyed by deviceId; both tables on the customer-managed key with PITR, retained', () => {
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'deviceId', KeyType: 'HASH' }],
    });
    const tables = t.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toHaveLength(2);
    for (const table of Object.values(tables) as Array<{
      DeletionPolicy: string;
      Properties: Record<string, unknown>;
    }>) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.Properties.SSESpecification).toEqual({
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^KclKey/), 'Arn'] },
      });
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
  });

  test('a new cluster with Container Insights', () => {
    t.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });

  test('Fargate task: 512 CPU, 1024 MiB, X86_64 Linux, read-only root with a /tmp volume', () => {
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '512',
      Memory: '1024',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
      Volumes: [{ Name: 'tmp' }],
      ContainerDefinitions: [
        Match.objectLike({
          ReadonlyRootFilesystem: true,
          StopTimeout: 30,
          MountPoints: [{ ContainerPath: '/tmp', SourceVolume: 'tmp', ReadOnly: false }],
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
        }),
      ],
    });
  });

  test('container environment: stream ARN, application, state table, region and the KCL defaults', () => {
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([
            { Name: 'STREAM_ARN', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Store[0-9A-F]{8}$'), 'Arn'] } },
            { Name: 'APPLICATION_NAME', Value: 'device-state' },
            { Name: 'STATE_TABLE_NAME', Value: { Ref: Match.stringLikeRegexp('KclStateTable') } },
            { Name: 'AWS_REGION', Value: 'eu-west-1' },
            { Name: 'INITIAL_POSITION', Value: 'TRIM_HORIZON' },
            { Name: 'METRICS_LEVEL', Value: 'SUMMARY' },
            { Name: 'FAILOVER_TIME_MILLIS', Value: '10000' },
          ]),
        }),
      ],
    });
  });

  test('service: 2 tasks in private subnets, no public IP, rolling with rollback', () => {
    t.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: 2,
      LaunchType: 'FARGATE',
      DeploymentConfiguration: {
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      },
      NetworkConfiguration: {
        AwsvpcConfiguration: Match.objectLike({
          AssignPublicIp: 'DISABLED',
          Subnets: [
            { Ref: Match.stringLikeRegexp('VpcPrivateSubnet1') },
            { Ref: Match.stringLikeRegexp('VpcPrivateSubnet2') },
          ],
        }),
      },
    });
  });

  test('security group: no ingress, HTTPS egress only', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^KCL consumer'),
      SecurityGroupIngress: Match.absent(),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 })],
    });
  });

  test('log group encrypted with the customer-managed key, a month, retained', () => {
    t.hasResource('AWS::Logs::LogGroup', {
      Properties: {
        RetentionInDays: 30,
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('KclKey'), 'Arn'] },
      },
      DeletionPolicy: 'Retain',
    });
  });

  test('task role reads the stream by polling only, on the stream ARN, and decrypts with its key', () => {
    const statements = taskRoleStatements(t);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: [
          'kinesis:DescribeStreamSummary',
          'kinesis:ListShards',
          'kinesis:GetShardIterator',
          'kinesis:GetRecords',
        ],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Store[0-9A-F]{8}$/), 'Arn'] },
      }),
    );
    expect(JSON.stringify(statements)).not.toMatch(/SubscribeToShard|RegisterStreamConsumer|kinesis:\*/);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'kms:Decrypt',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/StoreKey/), 'Arn'] },
      }),
    );
  });

  test('task role works the lease table and its index, and cannot create tables', () => {
    const statements = taskRoleStatements(t);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: [
          'dynamodb:DescribeTable',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Scan',
          'dynamodb:Query',
        ],
        Resource: [
          { 'Fn::GetAtt': [expect.stringMatching(/KclLeaseTable/), 'Arn'] },
          {
            'Fn::Join': [
              '',
              [{ 'Fn::GetAtt': [expect.stringMatching(/KclLeaseTable/), 'Arn'] }, '/index/LeaseOwnerToLeaseKeyIndex'],
            ],
          },
        ],
      }),
    );
    expect(JSON.stringify(statements)).not.toMatch(/CreateTable|UpdateTable|dynamodb:\*/);
  });

  test('task role may only describe the legacy companion tables', () => {
    expect(taskRoleStatements(t)).toContainEqual(
      expect.objectContaining({
        Action: 'dynamodb:DescribeTable',
        Resource: ['CoordinatorState', 'WorkerMetricStats'].map((suffix) => ({
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, `:dynamodb:eu-west-1:111122223333:table/device-state-${suffix}`],
          ],
        })),
      }),
    );
  });

  test('task role writes the state table with UpdateItem only', () => {
    expect(taskRoleStatements(t)).toContainEqual(
      expect.objectContaining({
        Action: 'dynamodb:UpdateItem',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/KclStateTable/), 'Arn'] },
      }),
    );
  });

  test('task role puts metrics only into the application namespace', () => {
    expect(taskRoleStatements(t)).toContainEqual(
      expect.objectContaining({
        Action: 'cloudwatch:PutMetricData',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': 'device-state' } },
      }),
    );
  });

  test('the image is a CDK tarball asset in the bootstrap container repository', () => {
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({ Image: { 'Fn::Sub': Match.stringLikeRegexp('container-assets-111122223333-eu-west-1') } }),
      ],
    });
  });

  test('metricMillisBehindLatest: the KCL ProcessTask metric in the application namespace, Maximum', () => {
    const { stack, consumer } = build();
    const metric = consumer.metricMillisBehindLatest();
    expect(stack.resolve(metric.namespace)).toBe('device-state');
    expect(metric.metricName).toBe('MillisBehindLatest');
    expect(metric.dimensions).toEqual({ Operation: 'ProcessTask' });
    expect(metric.statistic).toBe('Maximum');
  });

  test('grantReadState lets a grantee read the state table', () => {
    const { stack, consumer } = build();
    const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
    consumer.grantReadState(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Reader') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['dynamodb:Query', 'dynamodb:GetItem']),
            Resource: Match.arrayWith([{ 'Fn::GetAtt': [Match.stringLikeRegexp('KclStateTable'), 'Arn'] }]),
          }),
        ]),
      },
    });
  });
});

describe('KclConsumer options', () => {
  test('applicationName defaults to a name unique to the construct', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const consumer = new KclConsumer(stack, 'Kcl', {
      stream: new StreamStore(stack, 'Store').stream,
      image: KclConsumerImage.fromTarball(tarball),
      vpc: new ec2.Vpc(stack, 'Vpc'),
    });
    expect(consumer.applicationName).toMatch(/^SKcl[A-F0-9]{8}$/);
    Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::Table', { TableName: consumer.applicationName });
  });

  test('sizing, count, architecture, position, metrics level and failover time', () => {
    const t = template({
      cpu: 1024,
      memoryLimitMiB: 2048,
      desiredCount: 4,
      cpuArchitecture: ecs.CpuArchitecture.ARM64,
      initialPosition: KclInitialPosition.LATEST,
      metricsLevel: KclMetricsLevel.DETAILED,
      failoverTime: Duration.seconds(20),
    });
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '1024',
      Memory: '2048',
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([
            { Name: 'INITIAL_POSITION', Value: 'LATEST' },
            { Name: 'METRICS_LEVEL', Value: 'DETAILED' },
            { Name: 'FAILOVER_TIME_MILLIS', Value: '20000' },
          ]),
        }),
      ],
    });
    t.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 4 });
  });

  test('an existing cluster is used and no cluster is created', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const cluster = new ecs.Cluster(stack, 'Shared', { vpc });
    const consumer = new KclConsumer(stack, 'Kcl', {
      stream: new StreamStore(stack, 'Store').stream,
      image: KclConsumerImage.fromTarball(tarball),
      vpc,
      cluster,
    });
    expect(consumer.cluster).toBe(cluster);
    Template.fromStack(stack).resourceCountIs('AWS::ECS::Cluster', 1);
  });

  test('an existing key encrypts the tables and logs; no key is created', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const key = new kms.Key(stack, 'MyKey');
    const store = new StreamStore(stack, 'Store');
    new KclConsumer(stack, 'Kcl', {
      stream: store.stream,
      image: KclConsumerImage.fromTarball(tarball),
      vpc: new ec2.Vpc(stack, 'Vpc'),
      encryptionKey: key,
    });
    const t = Template.fromStack(stack);
    expect(Object.keys(t.findResources('AWS::KMS::Key')).filter((id) => id.startsWith('Kcl'))).toHaveLength(0);
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: Match.objectLike({
        KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('MyKey'), 'Arn'] },
      }),
    });
  });

  test('removalPolicy applies to both tables', () => {
    const t = template({ removalPolicy: RemovalPolicy.DESTROY });
    for (const table of Object.values(t.findResources('AWS::DynamoDB::Table')) as Array<Record<string, unknown>>) {
      expect(table.DeletionPolicy).toBe('Delete');
    }
  });

  test('fromEcrRepository and fromRegistry images', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const repository = ecr.Repository.fromRepositoryName(stack, 'Repo', 'kcl-consumer');
    const ecrImage = KclConsumerImage.fromEcrRepository(repository, '0.1.0').bind(stack).image;
    const registryImage = KclConsumerImage.fromRegistry('registry.example.com/kcl:1').bind(stack).image;
    expect(ecrImage).toBeInstanceOf(ecs.EcrImage);
    expect(registryImage).toBeInstanceOf(ecs.RepositoryImage);
  });
});

describe('KclConsumer validation', () => {
  test.each([
    [{ desiredCount: 0 }, /desiredCount must be an integer between 1 and 1000, got 0/],
    [{ cpu: 300 }, /cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384 \(Fargate\), got 300/],
    [{ memoryLimitMiB: 100 }, /memoryLimitMiB must be an integer between 512 and 122880, got 100/],
    [{ failoverTime: Duration.millis(500) }, /failoverTime must be between/],
    [{ applicationName: 'a b' }, /applicationName must be 3-255 characters of \[a-zA-Z0-9_.-\], got 'a b'/],
  ])('rejects %j', (props, message) => {
    expect(() => build(props as Partial<KclConsumerProps>)).toThrow(message);
  });

  test('rejects a cluster in another VPC', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const cluster = new ecs.Cluster(stack, 'Other', { vpc: new ec2.Vpc(stack, 'OtherVpc') });
    expect(
      () =>
        new KclConsumer(stack, 'Kcl', {
          stream: new StreamStore(stack, 'Store').stream,
          image: KclConsumerImage.fromTarball(tarball),
          vpc: new ec2.Vpc(stack, 'Vpc'),
          cluster,
        }),
    ).toThrow(/cluster S\/Other is not in the vpc given \(S\/Vpc\)/);
  });

  test('fromTarball rejects a missing file', () => {
    expect(() => KclConsumerImage.fromTarball('/nonexistent/image.tar')).toThrow(
      /KclConsumerImage.fromTarball needs an existing image tarball, got \/nonexistent\/image.tar/,
    );
  });

  test('fromEcrRepository rejects a malformed tag and fromRegistry an empty name', () => {
    const stack = new Stack(new App(), 'S');
    const repository = ecr.Repository.fromRepositoryName(stack, 'Repo', 'kcl-consumer');
    expect(() => KclConsumerImage.fromEcrRepository(repository, 'bad tag')).toThrow(
      /needs an image tag of 1-128 characters, got 'bad tag'/,
    );
    expect(() => KclConsumerImage.fromRegistry('')).toThrow(/needs an image name without spaces, got ''/);
  });
});

describe('KclConsumer cdk-nag', () => {
  test('passes AwsSolutions with the one acknowledged PutMetricData wildcard', () => {
    const app = new App();
    build({}, app);
    applyNagChecks(app);
    expect(() => app.synth()).not.toThrow();
  });
});
