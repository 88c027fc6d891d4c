import { Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3tables from 'aws-cdk-lib/aws-s3tables';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  IcebergCatalog,
  IcebergColumns,
  IcebergDestination,
  IcebergDestinationProps,
} from '../../../lib/destination/iceberg-destination';
import { stackWithStream, synthWithNag } from '../ingestion/helpers';

type Options = Omit<IcebergDestinationProps, 'stream'>;

function build(props: Options = {}): { stack: Stack; lake: IcebergDestination; t: Template } {
  const { stack, store } = stackWithStream();
  const lake = new IcebergDestination(stack, 'Lake', { stream: store.stream, ...props });
  return { stack, lake, t: Template.fromStack(stack) };
}

function s3TablesBuild(props: Options = {}): { lake: IcebergDestination; t: Template } {
  const { stack, store } = stackWithStream();
  const tableBucket = new s3tables.CfnTableBucket(stack, 'TableBucket', { tableBucketName: 'telemetry' });
  const lake = new IcebergDestination(stack, 'Lake', {
    stream: store.stream,
    catalog: IcebergCatalog.s3Tables(tableBucket),
    databaseName: 'telemetry',
    tableName: 'raw',
    ...props,
  });
  return { lake, t: Template.fromStack(stack) };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- CloudFormation properties are untyped JSON
function icebergConfig(t: Template): any {
  const streams = Object.values(t.findResources('AWS::KinesisFirehose::DeliveryStream'));
  expect(streams).toHaveLength(1);
  return streams[0].Properties.IcebergDestinationConfiguration;
}

function lakePolicyStatements(t: Template): Array<{ Action: unknown; Resource: unknown; Condition?: unknown }> {
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes('LakeRole'))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** A CloudFormation value as text: Fn::Join joined, `{ Ref: X }` as `${X}`, other intrinsics as JSON. */
function text(node: unknown): string {
  if (typeof node === 'string') return node;
  if (Array.isArray(node)) return node.map(text).join(',');
  const o = node as Record<string, unknown>;
  if (o['Fn::Join']) {
    const [delimiter, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(text).join(delimiter);
  }
  if (o.Ref) return `\${${String(o.Ref)}}`;
  return JSON.stringify(node);
}

const GLUE = 'arn:${AWS::Partition}:glue:eu-west-1:123456789012';

const ERRORS = 'errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/';

describe('IcebergDestination defaults (Glue catalog)', () => {
  test('Firehose reads the stream and writes the table of the account Glue catalog, inserts only', () => {
    const { t, lake } = build();
    t.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamType: 'KinesisStreamAsSource',
      KinesisStreamSourceConfiguration: {
        KinesisStreamARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Store'), 'Arn'] },
        RoleARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeRole'), 'Arn'] },
      },
    });
    const config = icebergConfig(t);
    expect(text(config.CatalogConfiguration.CatalogArn)).toBe(`${GLUE}:catalog`);
    expect(config.CatalogConfiguration.WarehouseLocation).toBeUndefined();
    expect(config.DestinationTableConfigurationList).toEqual([
      {
        DestinationDatabaseName: lake.databaseName,
        DestinationTableName: lake.tableName,
        S3ErrorOutputPrefix: ERRORS,
      },
    ]);
    expect(lake.databaseName).toMatch(/^[a-z0-9_]+$/);
    expect(lake.tableName).toBe(`${lake.databaseName}_table`);
    expect(config.AppendOnly).toBe(true);
    expect(config.SchemaEvolutionConfiguration).toBeUndefined();
    expect(config.TableCreationConfiguration).toBeUndefined();
  });

  test('buffers 300 s or 128 MiB, retries 300 s, backs up failed records to the encrypted bucket, logs errors', () => {
    const { t } = build();
    const config = icebergConfig(t);
    expect(config.BufferingHints).toEqual({ IntervalInSeconds: 300, SizeInMBs: 128 });
    expect(config.RetryOptions).toEqual({ DurationInSeconds: 300 });
    expect(config.s3BackupMode).toBe('FailedDataOnly');
    expect(config.S3Configuration).toEqual({
      BucketARN: { 'Fn::GetAtt': [expect.stringMatching(/^LakeBucket/), 'Arn'] },
      RoleARN: { 'Fn::GetAtt': [expect.stringMatching(/^LakeRole/), 'Arn'] },
      ErrorOutputPrefix: ERRORS,
      EncryptionConfiguration: {
        KMSEncryptionConfig: { AWSKMSKeyARN: { 'Fn::GetAtt': [expect.stringMatching(/^LakeKey/), 'Arn'] } },
      },
    });
    expect(config.CloudWatchLoggingOptions).toMatchObject({
      Enabled: true,
      LogGroupName: { Ref: expect.stringMatching(/^LakeDeliveryLogGroup/) },
      LogStreamName: { Ref: expect.stringMatching(/^LakeDeliveryLogStream/) },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30, KmsKeyId: Match.anyValue() });
  });

  test('creates the Glue database and an Iceberg v2 table with the telemetry columns under warehouse/', () => {
    const { t, lake } = build();
    expect(lake.database).toBeDefined();
    expect(lake.table).toBeDefined();
    t.hasResourceProperties('AWS::Glue::Database', {
      CatalogId: '123456789012',
      DatabaseInput: Match.objectLike({ Name: lake.databaseName }),
    });
    t.hasResourceProperties('AWS::Glue::Table', {
      CatalogId: '123456789012',
      DatabaseName: { Ref: Match.stringLikeRegexp('^LakeDatabase') },
      OpenTableFormatInput: { IcebergInput: { MetadataOperation: 'CREATE', Version: '2' } },
      TableInput: Match.objectLike({
        Name: lake.tableName,
        TableType: 'EXTERNAL_TABLE',
        StorageDescriptor: {
          Columns: IcebergColumns.telemetryRecord().map((c) => ({ Name: c.name, Type: c.type })),
          Location: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^LakeBucket') }, '/warehouse']] },
        },
      }),
    });
    // Firehose validates the table when the stream is created, so the stream waits for it.
    const stream = Object.values(t.findResources('AWS::KinesisFirehose::DeliveryStream'))[0];
    expect(stream.DependsOn).toEqual(
      expect.arrayContaining([expect.stringMatching(/^LakeTable/), expect.stringMatching(/^LakePolicy/)]),
    );
  });

  test('the bucket is encrypted with a rotated CMK, TLS-only, private and logs server access', () => {
    const { t, lake } = build();
    expect(lake.warehouseBucket).toBe(lake.bucket);
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeKey'), 'Arn'] },
            },
          }),
        ],
      },
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true, RestrictPublicBuckets: true }),
      LoggingConfiguration: {
        DestinationBucketName: { Ref: Match.stringLikeRegexp('^LakeAccessLogsBucket') },
        LogFilePrefix: 'iceberg/',
      },
    });
    t.hasResourceProperties('AWS::KMS::Key', {
      Description: Match.stringLikeRegexp('Iceberg'),
      EnableKeyRotation: true,
    });
  });

  test('the role: stream read, error prefix, warehouse prefix with delete, the S3 key, the log group, one Glue table', () => {
    const { t, lake } = build();
    const statements = lakePolicyStatements(t);
    expect(statements.map((s) => s.Action)).toEqual([
      [
        'kinesis:DescribeStream',
        'kinesis:DescribeStreamSummary',
        'kinesis:GetShardIterator',
        'kinesis:GetRecords',
        'kinesis:ListShards',
      ],
      ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
      ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      ['kms:GenerateDataKey', 'kms:Decrypt'],
      ['logs:PutLogEvents', 'logs:CreateLogStream'],
      'kms:Decrypt',
      ['glue:GetDatabase', 'glue:GetTable', 'glue:UpdateTable'],
      ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject', 's3:DeleteObject'],
    ]);
    expect(JSON.stringify(statements[2].Resource)).toContain('/errors/*');
    expect(JSON.stringify(statements[2].Resource)).not.toContain('/warehouse/*');
    expect((statements[6].Resource as unknown[]).map(text)).toEqual([
      `${GLUE}:catalog`,
      `${GLUE}:database/${lake.databaseName}`,
      `${GLUE}:table/${lake.databaseName}/${lake.tableName}`,
    ]);
    expect(JSON.stringify(statements[7].Resource)).toContain('/warehouse/*');
    expect(JSON.stringify(t.findResources('AWS::IAM::Policy'))).not.toContain('lakeformation');
  });

  test('alarms on data freshness (15 min, Maximum) and failed rows (1, Sum)', () => {
    const { t, lake } = build();
    expect(lake.alarms).toHaveLength(2);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Firehose',
      MetricName: 'DeliveryToIceberg.DataFreshness',
      Statistic: 'Maximum',
      Threshold: 900,
      Dimensions: [{ Name: 'DeliveryStreamName', Value: { Ref: Match.stringLikeRegexp('^Lake') } }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DeliveryToIceberg.FailedRowCount',
      Statistic: 'Sum',
      Threshold: 1,
    });
    expect(lake.metricSuccessfulRowCount().metricName).toBe('DeliveryToIceberg.SuccessfulRowCount');
  });
});

describe('IcebergDestination options', () => {
  test('unique keys turn on updates: the keys in the table configuration, not append-only', () => {
    const { t } = build({ uniqueKeys: ['eventid'] });
    const config = icebergConfig(t);
    expect(config.DestinationTableConfigurationList[0].UniqueKeys).toEqual(['eventid']);
    expect(config.AppendOnly).toBe(false);
  });

  test('names, columns, prefixes, buffering, retries, schema evolution and table creation are configurable', () => {
    const { t } = build({
      databaseName: 'telemetry',
      tableName: 'readings',
      columns: [
        { name: 'deviceid', type: 'string' },
        { name: 'value', type: 'double' },
      ],
      warehousePrefix: 'tables/',
      errorPrefix: 'failed/',
      bufferingInterval: Duration.seconds(60),
      bufferingSize: Size.mebibytes(64),
      retryDuration: Duration.hours(1),
      schemaEvolution: true,
      automaticTableCreation: true,
      appendOnly: false,
      logRetention: logs.RetentionDays.ONE_WEEK,
      dataFreshnessThreshold: Duration.minutes(5),
      failedRowsThreshold: 10,
    });
    const config = icebergConfig(t);
    expect(config.DestinationTableConfigurationList[0]).toMatchObject({
      DestinationDatabaseName: 'telemetry',
      DestinationTableName: 'readings',
      S3ErrorOutputPrefix: expect.stringMatching(/^failed\//),
    });
    expect(config.BufferingHints).toEqual({ IntervalInSeconds: 60, SizeInMBs: 64 });
    expect(config.RetryOptions).toEqual({ DurationInSeconds: 3600 });
    expect(config.SchemaEvolutionConfiguration).toEqual({ Enabled: true });
    expect(config.TableCreationConfiguration).toEqual({ Enabled: true });
    expect(config.AppendOnly).toBe(false);
    // Firehose needs the warehouse location to create tables and evolve schemas.
    expect(config.CatalogConfiguration.WarehouseLocation).toEqual({
      'Fn::Join': ['', ['s3://', { Ref: expect.stringMatching(/^LakeBucket/) }, '/tables/']],
    });
    t.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'readings',
        StorageDescriptor: Match.objectLike({
          Columns: [
            { Name: 'deviceid', Type: 'string' },
            { Name: 'value', Type: 'double' },
          ],
        }),
      }),
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DeliveryToIceberg.DataFreshness',
      Threshold: 300,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DeliveryToIceberg.FailedRowCount',
      Threshold: 10,
    });
  });

  test('an existing Glue table in another bucket: no database or table created, the role writes that bucket', () => {
    const { stack, store } = stackWithStream();
    const warehouseKey = new kms.Key(stack, 'WarehouseKey');
    const warehouse = new s3.Bucket(stack, 'Warehouse', { encryptionKey: warehouseKey });
    const lake = new IcebergDestination(stack, 'Lake', {
      stream: store.stream,
      createTable: false,
      databaseName: 'lake',
      tableName: 'events',
      warehouseBucket: warehouse,
      warehousePrefix: 'events/',
    });
    const t = Template.fromStack(stack);
    expect(lake.table).toBeUndefined();
    t.resourceCountIs('AWS::Glue::Table', 0);
    t.resourceCountIs('AWS::Glue::Database', 0);
    const statements = lakePolicyStatements(t);
    const json = JSON.stringify(statements);
    expect(json).toMatch(/Warehouse[A-F0-9]+","Arn"\]\},"\/events\/\*"/);
    expect(JSON.stringify(statements.slice(-2))).toContain('WarehouseKey');
    const glue = statements.find((s) => JSON.stringify(s.Action).includes('glue:'))!.Resource as unknown[];
    expect(glue.map(text)).toEqual([`${GLUE}:catalog`, `${GLUE}:database/lake`, `${GLUE}:table/lake/events`]);
  });

  test('a given key and access logs bucket are used', () => {
    const { stack, store } = stackWithStream();
    const key = new kms.Key(stack, 'MyKey');
    const accessLogs = new s3.Bucket(stack, 'MyLogs');
    const lake = new IcebergDestination(stack, 'Lake', {
      stream: store.stream,
      encryptionKey: key,
      accessLogsBucket: accessLogs,
    });
    expect(lake.encryptionKey).toBe(key);
    expect(lake.accessLogsBucket).toBe(accessLogs);
    expect(JSON.stringify(icebergConfig(Template.fromStack(stack)).S3Configuration)).toContain('MyKey');
  });

  test('alarms can be switched off or sent to a topic', () => {
    expect(build({ createAlarms: false }).lake.alarms).toEqual([]);
    const { stack, store } = stackWithStream();
    const topic = new sns.Topic(stack, 'Topic');
    new IcebergDestination(stack, 'Lake', { stream: store.stream, alarmTopic: topic });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DeliveryToIceberg.FailedRowCount',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
    });
  });
});

describe('IcebergDestination with S3 Tables', () => {
  test('writes the table through the s3tablescatalog federated catalog of the table bucket', () => {
    const { t, lake } = s3TablesBuild();
    expect(lake.table).toBeUndefined();
    t.resourceCountIs('AWS::Glue::Table', 0);
    const config = icebergConfig(t);
    expect(text(config.CatalogConfiguration.CatalogArn)).toMatch(
      /^arn:\$\{AWS::Partition\}:glue:eu-west-1:123456789012:catalog\/s3tablescatalog\/\{"Fn::Select".*"Ref":"TableBucket"/,
    );
    expect(config.CatalogConfiguration.WarehouseLocation).toBeUndefined();
    expect(config.DestinationTableConfigurationList[0]).toMatchObject({
      DestinationDatabaseName: 'telemetry',
      DestinationTableName: 'raw',
    });
  });

  test('Lake Formation grants the role DESCRIBE on the namespace and ALL on the table, before the stream', () => {
    const { t } = s3TablesBuild();
    t.hasResourceProperties('AWS::LakeFormation::PrincipalPermissions', {
      Principal: { DataLakePrincipalIdentifier: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeRole'), 'Arn'] } },
      Resource: { Database: { CatalogId: Match.anyValue(), Name: 'telemetry' } },
      Permissions: ['DESCRIBE'],
    });
    t.hasResourceProperties('AWS::LakeFormation::PrincipalPermissions', {
      Resource: { Table: { CatalogId: Match.anyValue(), DatabaseName: 'telemetry', Name: 'raw' } },
      Permissions: ['ALL'],
    });
    const stream = Object.values(t.findResources('AWS::KinesisFirehose::DeliveryStream'))[0];
    expect(stream.DependsOn).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^LakeNamespacePermissions/),
        expect.stringMatching(/^LakeTablePermissions/),
      ]),
    );
  });

  test('the role gets GetDataAccess and the Glue ARNs of the one table, no warehouse write', () => {
    const { t } = s3TablesBuild();
    const statements = lakePolicyStatements(t);
    expect(statements.find((s) => s.Action === 'lakeformation:GetDataAccess')!.Resource).toBe('*');
    const glue = (statements.find((s) => JSON.stringify(s.Action).includes('glue:'))!.Resource as unknown[]).map(text);
    expect(glue.slice(0, 2)).toEqual([`${GLUE}:catalog`, `${GLUE}:catalog/s3tablescatalog`]);
    expect(glue[2]).toMatch(/:catalog\/s3tablescatalog\/\{"Fn::Select"/);
    expect(glue[3]).toMatch(/:database\/s3tablescatalog\/\{.*\}\/telemetry$/);
    expect(glue[4]).toMatch(/:table\/s3tablescatalog\/\{.*\}\/telemetry\/raw$/);
    expect(JSON.stringify(statements)).not.toContain('s3:DeleteObject');
  });

  test('Lake Formation grants can be left to the user', () => {
    const { stack, store } = stackWithStream();
    const tableBucket = new s3tables.CfnTableBucket(stack, 'TableBucket', { tableBucketName: 'telemetry' });
    new IcebergDestination(stack, 'Lake', {
      stream: store.stream,
      catalog: IcebergCatalog.s3Tables(tableBucket, { grantLakeFormationPermissions: false }),
      databaseName: 'telemetry',
      tableName: 'raw',
    });
    Template.fromStack(stack).resourceCountIs('AWS::LakeFormation::PrincipalPermissions', 0);
  });
});

describe('IcebergDestination validation', () => {
  const cases: Array<[string, Options, RegExp]> = [
    ['an upper-case database name', { databaseName: 'Lake' }, /databaseName must be 1-255 characters of .*got 'Lake'/],
    ['a 256-character table name', { tableName: 'a'.repeat(256) }, /tableName must be 1-255 characters of/],
    [
      'an existing table without names',
      { createTable: false, tableName: 't' },
      /databaseName and tableName are required .*got undefined and t/,
    ],
    [
      'columns for an existing table',
      { createTable: false, databaseName: 'd', tableName: 't', columns: [{ name: 'a', type: 'int' }] },
      /columns describe a table the construct creates/,
    ],
    ['no columns', { columns: [] }, /columns must not be empty, got \[\]/],
    [
      'a column name',
      { columns: [{ name: 'Device Id', type: 'string' }] },
      /column names must match .*got 'Device Id'/,
    ],
    ['an empty column type', { columns: [{ name: 'a', type: '' }] }, /column 'a' needs a type, got ''/],
    ['empty unique keys', { uniqueKeys: [] }, /uniqueKeys must name at least one column, got \[\]/],
    [
      'a unique key that is no column',
      { uniqueKeys: ['id'] },
      /uniqueKeys must be columns of the table \(eventid, .*got 'id'/,
    ],
    [
      'append-only with unique keys',
      { uniqueKeys: ['eventid'], appendOnly: true },
      /appendOnly cannot be combined with uniqueKeys/,
    ],
    [
      'a warehouse prefix without slash',
      { warehousePrefix: 'warehouse' },
      /warehousePrefix must be non-empty, end with '\/'.*got 'warehouse'/,
    ],
    [
      'overlapping prefixes',
      { warehousePrefix: 'a/', errorPrefix: 'a/errors/' },
      /must not overlap, got 'a\/' and 'a\/errors\/'/,
    ],
    [
      'an interval over 900 s',
      { bufferingInterval: Duration.seconds(901) },
      /bufferingInterval must be between 0 seconds and 15 minutes/,
    ],
    [
      'a buffer over 128 MiB',
      { bufferingSize: Size.mebibytes(129) },
      /bufferingSize must be between 1 and 128 MiB, got 129 MiB/,
    ],
    [
      'retries over 2 hours',
      { retryDuration: Duration.hours(3) },
      /retryDuration must be between 0 seconds and 2 hours, got 3 hours/,
    ],
    [
      'a negative failed rows threshold',
      { failedRowsThreshold: -1 },
      /failedRowsThreshold must be zero or more, got -1/,
    ],
  ];
  test.each(cases)('rejects %s with the received value', (_name, props, message) => {
    const { stack, store } = stackWithStream();
    expect(() => new IcebergDestination(stack, 'Lake', { stream: store.stream, ...props })).toThrow(message);
  });

  const s3TablesCases: Array<[string, Options, RegExp]> = [
    ['table creation', { createTable: true }, /createTable needs IcebergCatalog.glue\(\)/],
    [
      'a warehouse prefix',
      { warehousePrefix: 'w/' },
      /warehouseBucket and warehousePrefix are for IcebergCatalog.glue\(\)/,
    ],
    [
      'automatic table creation',
      { automaticTableCreation: true },
      /automaticTableCreation is only available with IcebergCatalog.glue\(\)/,
    ],
  ];
  test.each(s3TablesCases)('rejects %s with S3 Tables', (_name, props, message) => {
    expect(() => s3TablesBuild(props)).toThrow(message);
  });
});

describe('IcebergDestination cdk-nag', () => {
  test('the Glue catalog variant passes the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag((stack, store) => new IcebergDestination(stack, 'Lake', { stream: store.stream })),
    ).not.toThrow();
  });

  test('the S3 Tables variant passes the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag((stack, store) => {
        const tableBucket = new s3tables.CfnTableBucket(stack, 'TableBucket', { tableBucketName: 'telemetry' });
        new IcebergDestination(stack, 'Lake', {
          stream: store.stream,
          catalog: IcebergCatalog.s3Tables(tableBucket),
          databaseName: 'telemetry',
          tableName: 'raw',
        });
      }),
    ).not.toThrow();
  });
});
