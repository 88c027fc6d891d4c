import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { applyNagChecks } from '../../../bin/nag';
import { RedshiftStreamingIngestion, RedshiftStreamingIngestionProps } from '../../../lib/destination';

// An environment-agnostic stack has only 2 zones; Redshift Serverless needs 3.
const ENV = { account: '123456789012', region: 'us-east-1' };

interface Setup {
  app: App;
  stack: Stack;
  stream: kinesis.Stream;
  vpc: ec2.Vpc;
}

function setup(): Setup {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: ENV });
  const stream = new kinesis.Stream(stack, 'Stream', {
    streamName: 'telemetry',
    encryption: kinesis.StreamEncryption.KMS,
    encryptionKey: new kms.Key(stack, 'StreamKey', { enableKeyRotation: true }),
  });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 3,
    natGateways: 0,
    subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  return { app, stack, stream, vpc };
}

function build(overrides: Partial<RedshiftStreamingIngestionProps> = {}): Setup & {
  ingestion: RedshiftStreamingIngestion;
  template: Template;
} {
  const s = setup();
  const ingestion = new RedshiftStreamingIngestion(s.stack, 'Redshift', { stream: s.stream, vpc: s.vpc, ...overrides });
  return { ...s, ingestion, template: Template.fromStack(s.stack) };
}

const id = (stack: Stack, c: { node: { defaultChild?: unknown } } | object) =>
  stack.getLogicalId(((c as { node: { defaultChild?: unknown } }).node?.defaultChild ?? c) as never);

describe('RedshiftStreamingIngestion', () => {
  test('a namespace encrypted with a new rotated key, admin password managed by Secrets Manager, logs exported', () => {
    const { template, stack, ingestion } = build();
    template.resourceCountIs('AWS::RedshiftServerless::Namespace', 1);
    const keyId = { 'Fn::GetAtt': [id(stack, ingestion.encryptionKey!), 'Arn'] };
    template.hasResourceProperties('AWS::RedshiftServerless::Namespace', {
      DbName: 'dev',
      KmsKeyId: keyId,
      ManageAdminPassword: true,
      AdminPasswordSecretKmsKeyId: keyId,
      IamRoles: [{ 'Fn::GetAtt': [id(stack, ingestion.streamingRole), 'Arn'] }],
      LogExports: ['userlog', 'connectionlog', 'useractivitylog'],
      NamespaceName: Match.stringLikeRegexp('^[a-z0-9-]{3,64}$'),
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResource('AWS::RedshiftServerless::Namespace', { DeletionPolicy: 'Retain' });
  });

  test('a private workgroup with enhanced VPC routing, TLS, 8 RPUs, in the VPC subnets of 3 zones', () => {
    const { template, stack, ingestion, vpc } = build();
    template.hasResourceProperties('AWS::RedshiftServerless::Workgroup', {
      BaseCapacity: 8,
      PubliclyAccessible: false,
      EnhancedVpcRouting: true,
      NamespaceName: ingestion.namespace!.namespaceName,
      SubnetIds: vpc.isolatedSubnets.map((s) => ({ Ref: id(stack, s) })),
      SecurityGroupIds: [{ 'Fn::GetAtt': [id(stack, ingestion.securityGroup!), 'GroupId'] }],
      ConfigParameters: Match.arrayWith([
        { ParameterKey: 'require_ssl', ParameterValue: 'true' },
        { ParameterKey: 'enable_user_activity_logging', ParameterValue: 'true' },
      ]),
    });
    expect(vpc.isolatedSubnets).toHaveLength(3);
    template.hasResource('AWS::RedshiftServerless::Workgroup', {
      DeletionPolicy: 'Retain',
      DependsOn: [id(stack, ingestion.namespace!)],
    });
  });

  test('the security group has no inbound rule', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('Redshift Serverless workgroup'),
      SecurityGroupIngress: Match.absent(),
    });
  });

  test('the streaming role: trusted by Redshift, reads only the one stream and decrypts with its key', () => {
    const { template, stack, ingestion, stream } = build();
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'redshift.amazonaws.com' } }],
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: id(stack, ingestion.streamingRole) }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: [
              'kinesis:DescribeStreamSummary',
              'kinesis:GetShardIterator',
              'kinesis:GetRecords',
              'kinesis:ListShards',
              'kinesis:DescribeStream',
            ],
            Resource: { 'Fn::GetAtt': [id(stack, stream), 'Arn'] },
          },
          {
            Effect: 'Allow',
            Action: 'kms:Decrypt',
            Resource: { 'Fn::GetAtt': [id(stack, stream.encryptionKey!), 'Arn'] },
          },
        ],
      },
    });
  });

  test('an unencrypted stream needs no key statement', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: ENV });
    const stream = new kinesis.Stream(stack, 'Stream', { encryption: kinesis.StreamEncryption.UNENCRYPTED });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 3 });
    const ingestion = new RedshiftStreamingIngestion(stack, 'R', { stream, vpc });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: id(stack, ingestion.streamingRole) }],
      PolicyDocument: { Statement: [Match.objectLike({ Action: Match.arrayWith(['kinesis:GetRecords']) })] },
    });
  });

  test('the schema and the view run on the workgroup through the admin secret Redshift manages', () => {
    const { template, stack, ingestion } = build();
    const common = {
      WorkgroupName: { 'Fn::GetAtt': [id(stack, ingestion.workgroup!), 'Workgroup.WorkgroupName'] },
      Database: 'dev',
      // The handler looks the secret up: CloudFormation has no attribute for it.
      NamespaceName: ingestion.namespace!.namespaceName,
      SecretArn: Match.absent(),
    };
    template.hasResourceProperties('Custom::RedshiftExternalSchema', {
      ...common,
      Kind: 'ExternalSchema',
      SchemaName: 'kinesis',
      RoleArn: { 'Fn::GetAtt': [id(stack, ingestion.streamingRole), 'Arn'] },
    });
    template.hasResourceProperties('Custom::RedshiftStreamingView', {
      ...common,
      Kind: 'MaterializedView',
      SchemaName: { 'Fn::GetAtt': [id(stack, ingestion.externalSchema), 'SchemaName'] },
      ViewName: 'kinesis_records',
      StreamName: { Ref: id(stack, ingestion.node.scope!.node.findChild('Stream')) },
      JsonOnly: 'true',
    });
  });

  test('the custom resources wait for the streaming role and its policy', () => {
    const { template, stack, ingestion } = build();
    const policy = id(stack, ingestion.streamingRole.node.findChild('DefaultPolicy'));
    for (const type of ['Custom::RedshiftExternalSchema', 'Custom::RedshiftStreamingView']) {
      template.hasResource(type, { DependsOn: Match.arrayWith([policy, id(stack, ingestion.streamingRole)]) });
    }
  });

  test('the SQL function may run statements on the workgroup only, read the secret, and see its own statements', () => {
    const { template, stack, ingestion } = build();
    const workgroupArn = { 'Fn::GetAtt': [id(stack, ingestion.workgroup!), 'Workgroup.WorkgroupArn'] };
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'],
            Resource: workgroupArn,
          },
          {
            Effect: 'Allow',
            Action: 'redshift-data:DescribeStatement',
            Resource: '*',
            Condition: { StringEquals: { 'redshift-data:statement-owner-iam-userid': '${aws:userid}' } },
          },
          {
            Effect: 'Allow',
            Action: 'redshift-serverless:GetNamespace',
            Resource: { 'Fn::GetAtt': [id(stack, ingestion.namespace!), 'Namespace.NamespaceArn'] },
          },
          {
            Effect: 'Allow',
            Action: 'secretsmanager:GetSecretValue',
            Resource: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  `:secretsmanager:us-east-1:123456789012:secret:redshift!${ingestion.namespace!.namespaceName}-admin-*`,
                ],
              ],
            },
          },
          Match.objectLike({
            Action: 'kms:Decrypt',
            Resource: { 'Fn::GetAtt': [id(stack, ingestion.encryptionKey!), 'Arn'] },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 600,
    });
  });

  test('names, capacity, key, filter and removal policy can be set', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: ENV });
    const stream = new kinesis.Stream(stack, 'Stream');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 3 });
    const key = new kms.Key(stack, 'MyKey');
    new RedshiftStreamingIngestion(stack, 'R', {
      stream,
      vpc,
      databaseName: 'analytics',
      schemaName: 'orders_stream',
      viewName: 'orders',
      baseCapacity: 32,
      namespaceName: 'orders-ns',
      workgroupName: 'orders-wg',
      encryptionKey: key,
      jsonOnly: false,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::RedshiftServerless::Namespace', {
      NamespaceName: 'orders-ns',
      DbName: 'analytics',
      KmsKeyId: { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as never), 'Arn'] },
    });
    template.hasResourceProperties('AWS::RedshiftServerless::Workgroup', {
      WorkgroupName: 'orders-wg',
      BaseCapacity: 32,
    });
    template.hasResource('AWS::RedshiftServerless::Workgroup', { DeletionPolicy: 'Delete' });
    template.hasResourceProperties('Custom::RedshiftExternalSchema', {
      SchemaName: 'orders_stream',
      Database: 'analytics',
    });
    template.hasResourceProperties('Custom::RedshiftStreamingView', { ViewName: 'orders', JsonOnly: 'false' });
    // Only the given key: none created.
    template.resourceCountIs('AWS::KMS::Key', 2);
  });

  test('an existing workgroup: no namespace or workgroup, statements through its secret', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: ENV });
    const stream = new kinesis.Stream(stack, 'Stream');
    const adminSecret = new secretsmanager.Secret(stack, 'Admin');
    const workgroupArn =
      'arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/0b1c2d3e-aaaa-bbbb-cccc-123456789012';
    const ingestion = new RedshiftStreamingIngestion(stack, 'R', {
      stream,
      existingWorkgroup: { workgroupName: 'analytics', workgroupArn, adminSecret },
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::RedshiftServerless::Namespace', 0);
    template.resourceCountIs('AWS::RedshiftServerless::Workgroup', 0);
    expect(ingestion.namespace).toBeUndefined();
    template.hasResourceProperties('Custom::RedshiftExternalSchema', {
      WorkgroupName: 'analytics',
      SecretArn: { Ref: stack.getLogicalId(adminSecret.node.defaultChild as never) },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'],
            Resource: workgroupArn,
          }),
        ]),
      },
    });
  });

  test('an existing workgroup without a secret: IAM credentials of the function, GetCredentials on that workgroup', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: ENV });
    const stream = new kinesis.Stream(stack, 'Stream');
    const workgroupArn =
      'arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/0b1c2d3e-aaaa-bbbb-cccc-123456789012';
    new RedshiftStreamingIngestion(stack, 'R', {
      stream,
      existingWorkgroup: { workgroupName: 'analytics', workgroupArn },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('Custom::RedshiftExternalSchema', { SecretArn: Match.absent() });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Effect: 'Allow', Action: 'redshift-serverless:GetCredentials', Resource: workgroupArn },
        ]),
      },
    });
  });

  describe('validation', () => {
    test.each([0, 2, 12, 520, 1056, 8.5])('baseCapacity %p is rejected', (baseCapacity) => {
      expect(() => build({ baseCapacity })).toThrow(
        new RegExp(
          `baseCapacity must be 4, 8 to 512 in steps of 8, or 512 to 1024 in steps of 32 \\(RPUs\\), got ${baseCapacity}`,
        ),
      );
    });

    test.each([4, 8, 512, 544, 1024])('baseCapacity %p is accepted', (baseCapacity) => {
      expect(() => build({ baseCapacity })).not.toThrow();
    });

    test('subnets in fewer than 3 zones are rejected', () => {
      const { stack, stream } = setup();
      const vpc = new ec2.Vpc(stack, 'Vpc2', { maxAzs: 2 });
      expect(() => new RedshiftStreamingIngestion(stack, 'R', { stream, vpc })).toThrow(
        /at least 3 Availability Zones, got subnets in 2/,
      );
    });

    test('a workgroup needs a VPC', () => {
      const { stack, stream } = setup();
      expect(() => new RedshiftStreamingIngestion(stack, 'R', { stream })).toThrow(
        /vpc is required to create a workgroup/,
      );
    });

    test('an existing workgroup excludes the props of a new one', () => {
      const { stack, stream, vpc } = setup();
      expect(
        () =>
          new RedshiftStreamingIngestion(stack, 'R', {
            stream,
            vpc,
            baseCapacity: 16,
            existingWorkgroup: {
              workgroupName: 'w',
              workgroupArn: 'arn:aws:redshift-serverless:us-east-1:1:workgroup/x',
            },
          }),
      ).toThrow(/existingWorkgroup cannot be combined with vpc, baseCapacity/);
    });

    test.each([
      ['schemaName', 'Kinesis', /schemaName must be 1-127 characters of lower-case letters/],
      ['viewName', 'my-view', /viewName must be 1-127 characters of lower-case letters/],
      ['databaseName', '1db', /databaseName must be 1-127 characters of letters, digits and '_'/],
      ['namespaceName', 'NS', /namespaceName must be 3-64 characters of 'a-z', '0-9' and '-', got 'NS'/],
      ['workgroupName', 'wg_1', /workgroupName must be 3-64 characters of 'a-z', '0-9' and '-', got 'wg_1'/],
    ])('%s %p is rejected', (prop, value, message) => {
      expect(() => build({ [prop]: value })).toThrow(message);
    });
  });

  test('has no unacknowledged cdk-nag finding', () => {
    const { app, stack, stream, vpc } = setup();
    // The VPC is the user's, not the construct's.
    Validations.of(vpc).acknowledge({ id: 'AwsSolutions::AwsSolutions-VPC7', reason: 'Test fixture VPC.' });
    new RedshiftStreamingIngestion(stack, 'Redshift', { stream, vpc });
    // Before any synth: a Template made earlier would have synthesized the app without the checks.
    applyNagChecks(app);
    expect(() => app.synth()).not.toThrow();
  });
});
