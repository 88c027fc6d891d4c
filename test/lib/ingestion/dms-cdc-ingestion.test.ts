import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  DmsCdcIngestion,
  DmsCdcIngestionProps,
  DmsMessageFormat,
  DmsReplicationType,
  DmsSelectionAction,
  DmsSource,
  DmsSslMode,
} from '../../../lib/ingestion';
import { StreamStore } from '../../../lib/storage';
import { stackWithStream, synthWithNag } from './helpers';

function parts(stack: Stack) {
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const secret = new secretsmanager.Secret(stack, 'DbSecret');
  return { vpc, secret };
}

function build(props: Partial<DmsCdcIngestionProps> = {}) {
  const { stack, store } = stackWithStream();
  const { vpc, secret } = parts(stack);
  const cdc = new DmsCdcIngestion(stack, 'Cdc', {
    stream: store.stream,
    vpc,
    source: DmsSource.postgres({ secret, databaseName: 'orders' }),
    tables: [{ schemaName: 'public' }],
    ...props,
  });
  return { stack, store, vpc, secret, cdc, t: Template.fromStack(stack) };
}

function policyOf(t: Template, rolePrefix: string) {
  const policies = t.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: Match.stringLikeRegexp(`^${rolePrefix}`) }] },
  });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('DmsCdcIngestion defaults', () => {
  test('a Kinesis target endpoint with JSON messages and every optional detail off', () => {
    const { t } = build();
    t.hasResourceProperties('AWS::DMS::Endpoint', {
      EndpointType: 'target',
      EngineName: 'kinesis',
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CdcKey'), 'Arn'] },
      KinesisSettings: {
        StreamArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Store'), 'Arn'] },
        ServiceAccessRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CdcTargetRole'), 'Arn'] },
        MessageFormat: 'json',
        IncludeControlDetails: false,
        IncludePartitionValue: false,
        IncludeTableAlterOperations: false,
        IncludeTransactionDetails: false,
        IncludeNullAndEmpty: false,
        PartitionIncludeSchemaTable: false,
      },
    });
  });

  test('the target role may describe and put to the one stream and generate data keys on its key only', () => {
    const { t } = build();
    expect(policyOf(t, 'CdcTargetRole')).toEqual([
      {
        Action: ['kinesis:DescribeStream', 'kinesis:PutRecord', 'kinesis:PutRecords'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Store/), 'Arn'] },
      },
      {
        Action: 'kms:GenerateDataKey',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Store.*Key/), 'Arn'] },
      },
    ]);
  });

  test('DMS roles trust the global and the regional DMS principal of this account', () => {
    const { t } = build();
    const condition = { StringEquals: { 'aws:SourceAccount': '123456789012' } };
    t.hasResourceProperties('AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('Kinesis target'),
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'dms.amazonaws.com' },
            Condition: condition,
          },
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'dms.eu-west-1.amazonaws.com' },
            Condition: condition,
          },
        ],
      },
    });
  });

  test('a PostgreSQL source reads its credentials from the secret with TLS required', () => {
    const { t } = build();
    t.hasResourceProperties('AWS::DMS::Endpoint', {
      EndpointType: 'source',
      EngineName: 'postgres',
      DatabaseName: 'orders',
      SslMode: 'require',
      KmsKeyId: Match.anyValue(),
      PostgreSqlSettings: {
        SecretsManagerSecretId: { Ref: Match.stringLikeRegexp('^DbSecret') },
        SecretsManagerAccessRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CdcSourceSecretRole'), 'Arn'] },
      },
    });
    const statements = policyOf(t, 'CdcSourceSecretRole');
    expect(statements.map((s) => s.Action)).toEqual([
      ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
    ]);
    expect(JSON.stringify(t.toJSON())).not.toMatch(/"Password"|"Username"/);
  });

  test('a serverless full-load-and-cdc replication of 16 DCUs, single-AZ, on the private subnets', () => {
    const { t, cdc } = build();
    t.hasResourceProperties('AWS::DMS::ReplicationConfig', {
      ReplicationConfigIdentifier: Match.stringLikeRegexp('^TestStackCdc[A-F0-9]{8}$'),
      ReplicationType: 'full-load-and-cdc',
      SourceEndpointArn: { Ref: Match.stringLikeRegexp('^CdcSourceEndpoint') },
      TargetEndpointArn: { Ref: Match.stringLikeRegexp('^CdcTargetEndpoint') },
      ComputeConfig: {
        MaxCapacityUnits: 16,
        MultiAZ: false,
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CdcKey'), 'Arn'] },
        ReplicationSubnetGroupId: { Ref: Match.stringLikeRegexp('^CdcSubnetGroup') },
        VpcSecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^CdcSecurityGroup'), 'GroupId'] }],
      },
    });
    t.hasResourceProperties('AWS::DMS::ReplicationSubnetGroup', {
      SubnetIds: [
        { Ref: Match.stringLikeRegexp('^VpcPrivateSubnet1') },
        { Ref: Match.stringLikeRegexp('^VpcPrivateSubnet2') },
      ],
    });
    expect(cdc.dmsVpcRole).toBeUndefined();
    t.resourcePropertiesCountIs('AWS::IAM::Role', { RoleName: 'dms-vpc-role' }, 0);
  });

  test('both endpoints wait for their role and its policy (DMS uses them when it tests the endpoint)', () => {
    const { t } = build();
    for (const [type, role] of [
      ['target', 'CdcTargetRole'],
      ['source', 'CdcSourceSecretRole'],
    ]) {
      t.hasResource('AWS::DMS::Endpoint', {
        Properties: { EndpointType: type },
        DependsOn: Match.arrayWith([
          Match.stringLikeRegexp(`^${role}DefaultPolicy`),
          Match.stringLikeRegexp(`^${role}[A-F0-9]`),
        ]),
      });
    }
  });

  test('the table mapping is built from the selection list in order', () => {
    const { t, cdc } = build({
      tables: [
        { schemaName: 'public' },
        { schemaName: 'public', tableName: 'audit_%', action: DmsSelectionAction.EXCLUDE },
      ],
    });
    const rules = [
      {
        'rule-type': 'selection',
        'rule-id': '1',
        'rule-name': '1',
        'object-locator': { 'schema-name': 'public', 'table-name': '%' },
        'rule-action': 'include',
      },
      {
        'rule-type': 'selection',
        'rule-id': '2',
        'rule-name': '2',
        'object-locator': { 'schema-name': 'public', 'table-name': 'audit_%' },
        'rule-action': 'exclude',
      },
    ];
    expect(cdc.tableMappings).toEqual({ rules });
    t.hasResourceProperties('AWS::DMS::ReplicationConfig', { TableMappings: { rules } });
  });

  test('the replication is a connectable: the database can allow it in', () => {
    const { stack, store } = stackWithStream();
    const { vpc, secret } = parts(stack);
    const cdc = new DmsCdcIngestion(stack, 'Cdc', {
      stream: store.stream,
      vpc,
      source: DmsSource.postgres({ secret, databaseName: 'orders' }),
      tables: [{ schemaName: 'public' }],
    });
    const dbGroup = new ec2.SecurityGroup(stack, 'Db', { vpc });
    dbGroup.connections.allowFrom(cdc, ec2.Port.tcp(5432));
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5432,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CdcSecurityGroup'), 'GroupId'] },
    });
  });
});

describe('DmsCdcIngestion options', () => {
  test('every Kinesis setting can be turned on', () => {
    const { t } = build({
      messageFormat: DmsMessageFormat.JSON_UNFORMATTED,
      includeControlDetails: true,
      includePartitionValue: true,
      includeTableAlterOperations: true,
      includeTransactionDetails: true,
      includeNullAndEmpty: true,
      partitionIncludeSchemaTable: true,
    });
    t.hasResourceProperties('AWS::DMS::Endpoint', {
      KinesisSettings: Match.objectLike({
        MessageFormat: 'json-unformatted',
        IncludeControlDetails: true,
        IncludePartitionValue: true,
        IncludeTableAlterOperations: true,
        IncludeTransactionDetails: true,
        IncludeNullAndEmpty: true,
        PartitionIncludeSchemaTable: true,
      }),
    });
  });

  test('type, capacity, Multi-AZ, identifier, key, subnets and security groups are configurable', () => {
    const { stack, store } = stackWithStream();
    const { vpc, secret } = parts(stack);
    const key = new kms.Key(stack, 'Mine');
    const sg = new ec2.SecurityGroup(stack, 'Sg', { vpc });
    new DmsCdcIngestion(stack, 'Cdc', {
      stream: store.stream,
      vpc,
      source: DmsSource.postgres({ secret, databaseName: 'orders' }),
      tables: [{ schemaName: 'sales', tableName: 'orders' }],
      replicationType: DmsReplicationType.CDC,
      maxCapacityUnits: 384,
      minCapacityUnits: 2,
      multiAz: true,
      replicationConfigIdentifier: 'orders-cdc',
      encryptionKey: key,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [sg],
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::DMS::ReplicationConfig', {
      ReplicationConfigIdentifier: 'orders-cdc',
      ReplicationType: 'cdc',
      ComputeConfig: Match.objectLike({
        MaxCapacityUnits: 384,
        MinCapacityUnits: 2,
        MultiAZ: true,
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Mine'), 'Arn'] },
        VpcSecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^Sg'), 'GroupId'] }],
      }),
    });
    t.hasResourceProperties('AWS::DMS::ReplicationSubnetGroup', {
      SubnetIds: [
        { Ref: Match.stringLikeRegexp('^VpcPublicSubnet1') },
        { Ref: Match.stringLikeRegexp('^VpcPublicSubnet2') },
      ],
    });
    t.resourceCountIs('AWS::EC2::SecurityGroup', 1);
  });

  test('createDmsVpcRole creates the retained dms-vpc-role before the subnet group', () => {
    const { t, cdc } = build({ createDmsVpcRole: true });
    expect(cdc.dmsVpcRole).toBeDefined();
    t.hasResource('AWS::IAM::Role', {
      DeletionPolicy: 'Retain',
      Properties: {
        RoleName: 'dms-vpc-role',
        AssumeRolePolicyDocument: {
          Statement: [Match.objectLike({ Principal: { Service: 'dms.amazonaws.com' } })],
        },
        ManagedPolicyArns: [
          {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AmazonDMSVPCManagementRole'],
            ],
          },
        ],
      },
    });
    t.hasResource('AWS::DMS::ReplicationSubnetGroup', {
      DependsOn: Match.arrayWith([Match.stringLikeRegexp('^CdcDmsVpcRole')]),
    });
  });

  test('a MySQL source with a time zone and full certificate verification', () => {
    const { stack, store } = stackWithStream();
    const { vpc, secret } = parts(stack);
    new DmsCdcIngestion(stack, 'Cdc', {
      stream: store.stream,
      vpc,
      tables: [{ schemaName: 'shop' }],
      source: DmsSource.mysql({
        secret,
        databaseName: 'shop',
        serverTimezone: 'US/Pacific',
        sslMode: DmsSslMode.VERIFY_FULL,
        certificateArn: 'arn:aws:dms:eu-west-1:123456789012:cert:rds-ca',
        endpointIdentifier: 'shop-source',
      }),
    });
    Template.fromStack(stack).hasResourceProperties('AWS::DMS::Endpoint', {
      EndpointType: 'source',
      EngineName: 'mysql',
      EndpointIdentifier: 'shop-source',
      SslMode: 'verify-full',
      CertificateArn: 'arn:aws:dms:eu-west-1:123456789012:cert:rds-ca',
      MySqlSettings: {
        SecretsManagerSecretId: Match.anyValue(),
        SecretsManagerAccessRoleArn: Match.anyValue(),
        ServerTimezone: 'US/Pacific',
      },
    });
  });

  test('a PostgreSQL slot name is passed on', () => {
    const { stack, store } = stackWithStream();
    const { vpc, secret } = parts(stack);
    new DmsCdcIngestion(stack, 'Cdc', {
      stream: store.stream,
      vpc,
      tables: [{ schemaName: 'public' }],
      source: DmsSource.postgres({ secret, databaseName: 'orders', slotName: 'dms_slot' }),
    });
    Template.fromStack(stack).hasResourceProperties('AWS::DMS::Endpoint', {
      PostgreSqlSettings: Match.objectLike({ SlotName: 'dms_slot' }),
    });
  });

  test('an existing source endpoint is used as it is, with no source role', () => {
    const arn = 'arn:aws:dms:eu-west-1:123456789012:endpoint:ABCDEFGHIJKLMNOP';
    const { t, cdc } = build({ source: DmsSource.fromEndpointArn(arn) });
    expect(cdc.source.endpoint).toBeUndefined();
    t.resourcePropertiesCountIs('AWS::DMS::Endpoint', { EndpointType: 'source' }, 0);
    t.hasResourceProperties('AWS::DMS::ReplicationConfig', { SourceEndpointArn: arn });
    t.resourcePropertiesCountIs('AWS::IAM::Role', { Description: Match.stringLikeRegexp('source secret') }, 0);
  });
});

describe('DmsCdcIngestion validation', () => {
  const cases: Array<[string, Partial<DmsCdcIngestionProps>, RegExp]> = [
    ['capacity units off the list', { maxCapacityUnits: 3 }, /maxCapacityUnits must be one of 1, 2, 4, .*384, got 3/],
    ['a minimum off the list', { minCapacityUnits: 500 }, /minCapacityUnits must be one of .*got 500/],
    [
      'a minimum above the maximum',
      { minCapacityUnits: 32 },
      /minCapacityUnits must be at most maxCapacityUnits \(16\), got 32/,
    ],
    [
      'an identifier with two hyphens',
      { replicationConfigIdentifier: 'orders--cdc' },
      /replicationConfigIdentifier must be .*got 'orders--cdc'/,
    ],
    ['an identifier starting with a digit', { replicationConfigIdentifier: '1orders' }, /got '1orders'/],
    ['an identifier ending with a hyphen', { replicationConfigIdentifier: 'orders-' }, /got 'orders-'/],
    ['no tables', { tables: [] }, /tables must include at least one INCLUDE selection, got \[\]/],
    [
      'only exclusions',
      { tables: [{ schemaName: 'public', action: DmsSelectionAction.EXCLUDE }] },
      /tables must include at least one INCLUDE selection, got \[\{"schemaName":"public","action":"exclude"\}\]/,
    ],
    [
      'a schema name with spaces',
      { tables: [{ schemaName: 'my schema' }] },
      /tables\[\].schemaName must be .*got 'my schema'/,
    ],
  ];
  test.each(cases)('rejects %s with the received value', (_name, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('rejects subnets in one Availability Zone', () => {
    const { stack, store } = stackWithStream();
    const { vpc, secret } = parts(stack);
    expect(
      () =>
        new DmsCdcIngestion(stack, 'Cdc', {
          stream: store.stream,
          vpc,
          vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, availabilityZones: [vpc.availabilityZones[0]] },
          source: DmsSource.postgres({ secret, databaseName: 'orders' }),
          tables: [{ schemaName: 'public' }],
        }),
    ).toThrow(/vpcSubnets must span at least two Availability Zones, got dummy1a/);
  });

  test.each<[string, () => DmsSource, RegExp]>([
    [
      'a verifying TLS mode without a certificate',
      () => DmsSource.postgres({ secret: secretOf(), databaseName: 'db', sslMode: DmsSslMode.VERIFY_CA }),
      /sslMode verify-ca requires certificateArn/,
    ],
    [
      'a certificate without a verifying mode',
      () => DmsSource.mysql({ secret: secretOf(), databaseName: 'db', certificateArn: 'arn:aws:dms:::cert:x' }),
      /certificateArn is used only with sslMode verify-ca or verify-full, got require/,
    ],
    [
      'a database name with spaces',
      () => DmsSource.postgres({ secret: secretOf(), databaseName: 'my db' }),
      /databaseName must be 1-63 characters of .*got 'my db'/,
    ],
    [
      'a bad endpoint identifier',
      () => DmsSource.postgres({ secret: secretOf(), databaseName: 'db', endpointIdentifier: 'src_1' }),
      /endpointIdentifier must be .*got 'src_1'/,
    ],
  ])('a source rejects %s', (_name, make, message) => {
    expect(make).toThrow(message);
  });
});

function secretOf(): secretsmanager.ISecret {
  return secretsmanager.Secret.fromSecretNameV2(new Stack(), 'S', 'db');
}

describe('DmsCdcIngestion cdk-nag', () => {
  test('a PostgreSQL replication with the dms-vpc-role passes the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag((stack: Stack, store: StreamStore) => {
        // The database's VPC and secret belong to the database: a flow-logged VPC and an imported secret.
        const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
        vpc.addFlowLog('FlowLog');
        const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'DbSecret', 'orders-db');
        new DmsCdcIngestion(stack, 'Cdc', {
          stream: store.stream,
          vpc,
          source: DmsSource.postgres({ secret, databaseName: 'orders' }),
          tables: [{ schemaName: 'public' }],
          createDmsVpcRole: true,
        });
      }),
    ).not.toThrow();
  });
});
