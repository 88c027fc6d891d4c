import { Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  ArchiveColumns,
  ArchiveFormat,
  ArchivePartitioning,
  S3ArchiveDestination,
  S3ArchiveDestinationProps,
} from '../../../lib/destination/s3-archive-destination';
import { stackWithStream, synthWithNag } from '../ingestion/helpers';

type Options = Omit<S3ArchiveDestinationProps, 'stream'>;

function build(props: Options = {}): { stack: Stack; archive: S3ArchiveDestination; t: Template } {
  const { stack, store } = stackWithStream();
  const archive = new S3ArchiveDestination(stack, 'Archive', { stream: store.stream, ...props });
  return { stack, archive, t: Template.fromStack(stack) };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- CloudFormation properties are untyped JSON
function s3Config(t: Template): any {
  const streams = Object.values(t.findResources('AWS::KinesisFirehose::DeliveryStream'));
  expect(streams).toHaveLength(1);
  return streams[0].Properties.ExtendedS3DestinationConfiguration;
}

function archivePolicyStatements(t: Template): Array<{ Action: unknown; Resource: unknown; Condition?: unknown }> {
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes('ArchiveRole'))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('S3ArchiveDestination defaults', () => {
  test('Firehose reads the stream and writes Parquet under data/year=/month=/day=/hour=/', () => {
    const { t } = build();
    t.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamType: 'KinesisStreamAsSource',
      KinesisStreamSourceConfiguration: {
        KinesisStreamARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Store'), 'Arn'] },
        RoleARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ArchiveRole'), 'Arn'] },
      },
    });
    const config = s3Config(t);
    expect(config.Prefix).toBe(
      'data/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/',
    );
    expect(config.ErrorOutputPrefix).toBe(
      'errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/',
    );
    expect(config.BufferingHints).toEqual({ IntervalInSeconds: 300, SizeInMBs: 128 });
    expect(config.DataFormatConversionConfiguration).toMatchObject({
      Enabled: true,
      InputFormatConfiguration: {
        Deserializer: {
          OpenXJsonSerDe: { ColumnToJsonKeyMappings: { eventid: 'eventId', deviceid: 'deviceId', ts: 'timestamp' } },
        },
      },
      OutputFormatConfiguration: { Serializer: { ParquetSerDe: { Compression: 'SNAPPY' } } },
      SchemaConfiguration: { VersionId: 'LATEST' },
    });
    expect(config.ProcessingConfiguration).toBeUndefined();
  });

  test('the Glue table holds the telemetry columns, is partitioned by date and hour and projects partitions', () => {
    const { t, archive } = build();
    expect(archive.table).toBeDefined();
    t.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        PartitionKeys: ['year', 'month', 'day', 'hour'].map((Name) => ({ Name, Type: 'string' })),
        Parameters: Match.objectLike({
          'projection.enabled': 'true',
          'projection.hour.range': '0,23',
          'projection.year.digits': '4',
        }),
        StorageDescriptor: Match.objectLike({
          Columns: [
            { Name: 'eventid', Type: 'string' },
            { Name: 'deviceid', Type: 'string' },
            { Name: 'ts', Type: 'bigint' },
            { Name: 'metrics', Type: 'map<string,double>' },
            { Name: 'attributes', Type: 'map<string,string>' },
          ],
          Location: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^ArchiveBucket') }, '/data/']] },
        }),
      }),
    });
    t.resourceCountIs('AWS::Glue::Database', 1);
  });

  test('the bucket is encrypted with a rotated CMK, TLS-only, private and logs server access to a logs bucket', () => {
    const { t, archive } = build();
    expect(s3Config(t).EncryptionConfiguration).toEqual({
      KMSEncryptionConfig: { AWSKMSKeyARN: { 'Fn::GetAtt': [expect.stringMatching(/^ArchiveKey/), 'Arn'] } },
    });
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ArchiveKey'), 'Arn'] },
            },
          }),
        ],
      },
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true, RestrictPublicBuckets: true }),
      LoggingConfiguration: {
        DestinationBucketName: { Ref: Match.stringLikeRegexp('^ArchiveAccessLogsBucket') },
        LogFilePrefix: 'archive/',
      },
    });
    t.hasResourceProperties('AWS::KMS::Key', {
      Description: Match.stringLikeRegexp('archive'),
      EnableKeyRotation: true,
    });
    const tlsDenies = Object.values(t.findResources('AWS::S3::BucketPolicy')).filter((p) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('"aws:SecureTransport":"false"'),
    );
    expect(tlsDenies).toHaveLength(2);
    t.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 365 })] },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    });
    expect(archive.accessLogsBucket).toBeDefined();
  });

  test('objects move to Standard-IA after 30 days and Glacier Instant Retrieval after 90, never expire', () => {
    const { t } = build();
    t.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [
          {
            Id: 'TierArchive',
            Status: 'Enabled',
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
            Transitions: [
              { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
              { StorageClass: 'GLACIER_IR', TransitionInDays: 90 },
            ],
          },
        ],
      },
    });
  });

  test('delivery errors are logged to an encrypted log group kept one month', () => {
    const { t } = build();
    expect(s3Config(t).CloudWatchLoggingOptions).toMatchObject({
      Enabled: true,
      LogGroupName: { Ref: expect.stringMatching(/^ArchiveDeliveryLogGroup/) },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30, KmsKeyId: Match.anyValue() });
  });

  test('the role grants exactly what Firehose documents, scoped to the stream, the prefixes, the keys and the table', () => {
    const { t } = build();
    const statements = archivePolicyStatements(t);
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
      ['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions'],
    ]);
    expect(JSON.stringify(statements[2].Resource)).toMatch(/"\/data\/\*".*"\/errors\/\*"/);
    expect(statements[3].Condition).toEqual({ StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } });
    // No other policy may give the Firehose role more (the L2's broad grants are not applied).
    const all = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(all).not.toContain('s3:DeleteObject');
    expect(all).not.toContain('kms:ReEncrypt');
  });

  test('alarms on data freshness (15 min, Maximum) and failed conversions (1, Sum)', () => {
    const { t, archive } = build();
    expect(archive.alarms).toHaveLength(2);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Firehose',
      MetricName: 'DeliveryToS3.DataFreshness',
      Statistic: 'Maximum',
      Threshold: 900,
      Dimensions: [{ Name: 'DeliveryStreamName', Value: { Ref: Match.stringLikeRegexp('^Archive') } }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'FailedConversion.Records',
      Statistic: 'Sum',
      Threshold: 1,
    });
  });

  test('grantRead covers the archived objects and their key', () => {
    const { stack, store } = stackWithStream();
    const archive = new S3ArchiveDestination(stack, 'Archive', { stream: store.stream });
    const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
    archive.grantRead(reader);
    const json = JSON.stringify(
      Template.fromStack(stack).findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Reader') }] },
      }),
    );
    expect(json).toContain('s3:GetObject*');
    expect(json).toContain('/data/*');
    expect(json).toContain('kms:Decrypt');
  });
});

describe('S3ArchiveDestination JSON mode', () => {
  test('writes newline-delimited JSON: no conversion, a newline appended to every record, uncompressed', () => {
    const { t, archive } = build({ format: ArchiveFormat.JSON, prefix: 'events/', errorPrefix: 'failed/' });
    expect(archive.table).toBeUndefined();
    t.resourceCountIs('AWS::Glue::Table', 0);
    const config = s3Config(t);
    expect(config.DataFormatConversionConfiguration).toBeUndefined();
    expect(config.ProcessingConfiguration).toEqual({
      Enabled: true,
      Processors: [{ Type: 'AppendDelimiterToRecord', Parameters: [] }],
    });
    expect(config.CompressionFormat).toBe('UNCOMPRESSED');
    expect(config.BufferingHints).toEqual({ IntervalInSeconds: 300, SizeInMBs: 5 });
    expect(config.Prefix).toMatch(/^events\/year=/);
    expect(config.ErrorOutputPrefix).toMatch(/^failed\/!\{firehose:error-output-type\}\//);
    expect(archive.alarms).toHaveLength(1);
    expect(archivePolicyStatements(t).some((s) => JSON.stringify(s.Action).includes('glue:'))).toBe(false);
  });

  test('JSON objects can be compressed', () => {
    const { t } = build({ format: ArchiveFormat.JSON, jsonCompression: firehose.Compression.GZIP });
    expect(s3Config(t).CompressionFormat).toBe('GZIP');
  });
});

describe('S3ArchiveDestination options', () => {
  test('columns, names, buffering, lifecycle, log retention and freshness threshold are configurable', () => {
    const { t } = build({
      columns: [
        { name: 'eventid', type: 'string', jsonKey: 'eventId' },
        { name: 'metadata', type: 'map<string,string>' },
        { name: 'enriched', type: 'boolean' },
      ],
      databaseName: 'telemetry',
      tableName: 'enriched',
      bufferingInterval: Duration.seconds(60),
      bufferingSize: Size.mebibytes(64),
      infrequentAccessAfter: Duration.days(45),
      glacierInstantRetrievalAfter: Duration.days(180),
      expireAfter: Duration.days(730),
      logRetention: logs.RetentionDays.ONE_WEEK,
      dataFreshnessThreshold: Duration.minutes(5),
      failedConversionThreshold: 10,
    });
    t.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'telemetry' } });
    t.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'enriched',
        StorageDescriptor: Match.objectLike({
          Columns: [
            { Name: 'eventid', Type: 'string' },
            { Name: 'metadata', Type: 'map<string,string>' },
            { Name: 'enriched', Type: 'boolean' },
          ],
        }),
      }),
    });
    const config = s3Config(t);
    expect(config.BufferingHints).toEqual({ IntervalInSeconds: 60, SizeInMBs: 64 });
    expect(
      config.DataFormatConversionConfiguration.InputFormatConfiguration.Deserializer.OpenXJsonSerDe
        .ColumnToJsonKeyMappings,
    ).toEqual({
      eventid: 'eventId',
    });
    t.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            ExpirationInDays: 730,
            Transitions: [
              { StorageClass: 'STANDARD_IA', TransitionInDays: 45 },
              { StorageClass: 'GLACIER_IR', TransitionInDays: 180 },
            ],
          }),
        ],
      },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DeliveryToS3.DataFreshness', Threshold: 300 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'FailedConversion.Records', Threshold: 10 });
  });

  test('a given key and access logs bucket are used instead of new ones', () => {
    const { stack, store } = stackWithStream();
    const key = new kms.Key(stack, 'MyKey');
    const accessLogs = new s3.Bucket(stack, 'MyLogs');
    const archive = new S3ArchiveDestination(stack, 'Archive', {
      stream: store.stream,
      encryptionKey: key,
      accessLogsBucket: accessLogs,
    });
    expect(archive.encryptionKey).toBe(key);
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: Match.objectLike({ DestinationBucketName: { Ref: Match.stringLikeRegexp('^MyLogs') } }),
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            ServerSideEncryptionByDefault: Match.objectLike({
              KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MyKey'), 'Arn'] },
            }),
          }),
        ],
      },
    });
    expect(Object.keys(t.findResources('AWS::S3::Bucket'))).toHaveLength(2);
  });

  test('alarms can be switched off or sent to a topic', () => {
    expect(build({ createAlarms: false }).archive.alarms).toEqual([]);
    const { stack, store } = stackWithStream();
    const topic = new sns.Topic(stack, 'Topic');
    new S3ArchiveDestination(stack, 'Archive', { stream: store.stream, alarmTopic: topic });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DeliveryToS3.DataFreshness',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
    });
  });

  test('ArchiveColumns.telemetryRecord maps the Hive keyword timestamp to column ts', () => {
    expect(ArchiveColumns.telemetryRecord().find((c) => c.jsonKey === 'timestamp')).toEqual({
      name: 'ts',
      type: 'bigint',
      jsonKey: 'timestamp',
    });
  });
});

describe('S3ArchiveDestination dynamic partitioning', () => {
  const byDevice = ArchivePartitioning.fromJqQuery([{ name: 'deviceId', jqExpression: '.deviceId' }]);

  test('is off by default: no partitioning configuration, no MetadataExtraction processor', () => {
    const { t, archive } = build({ format: ArchiveFormat.JSON });
    expect(archive.partitioning).toBeUndefined();
    const config = s3Config(t);
    expect(config.DynamicPartitioningConfiguration).toBeUndefined();
    expect(JSON.stringify(config)).not.toContain('partitionKeyFromQuery');
  });

  test('JSON: the jq query, a newline per record, the key in the prefix before the date, 300 s of retries', () => {
    const { t, archive } = build({ format: ArchiveFormat.JSON, partitioning: byDevice });
    expect(archive.partitioning).toBe(byDevice);
    const config = s3Config(t);
    expect(config.DynamicPartitioningConfiguration).toEqual({
      Enabled: true,
      RetryOptions: { DurationInSeconds: 300 },
    });
    expect(config.ProcessingConfiguration).toEqual({
      Enabled: true,
      Processors: [
        {
          Type: 'MetadataExtraction',
          Parameters: [
            { ParameterName: 'MetadataExtractionQuery', ParameterValue: '{"deviceId":.deviceId}' },
            { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
          ],
        },
        { Type: 'AppendDelimiterToRecord', Parameters: [] },
      ],
    });
    expect(config.Prefix).toBe(
      'data/deviceId=!{partitionKeyFromQuery:deviceId}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/',
    );
    // Records whose key jq cannot evaluate land under the error prefix, by error type.
    expect(config.ErrorOutputPrefix).toMatch(/^errors\/!\{firehose:error-output-type\}\//);
  });

  test('JSON with partitioning buffers 128 MiB by default (Firehose needs at least 64 MiB)', () => {
    const { t } = build({ format: ArchiveFormat.JSON, partitioning: byDevice });
    expect(s3Config(t).BufferingHints).toEqual({ IntervalInSeconds: 300, SizeInMBs: 128 });
  });

  test('several keys appear in the prefix in order, each in the query', () => {
    const { t } = build({
      format: ArchiveFormat.JSON,
      partitioning: ArchivePartitioning.fromJqQuery(
        [
          { name: 'site', jqExpression: '.attributes.site' },
          { name: 'deviceId', jqExpression: '.deviceId' },
        ],
        { retryDuration: Duration.minutes(30) },
      ),
    });
    const config = s3Config(t);
    expect(config.Prefix).toMatch(
      /^data\/site=!\{partitionKeyFromQuery:site\}\/deviceId=!\{partitionKeyFromQuery:deviceId\}\/year=/,
    );
    expect(config.ProcessingConfiguration.Processors[0].Parameters[0].ParameterValue).toBe(
      '{"site":.attributes.site,"deviceId":.deviceId}',
    );
    expect(config.DynamicPartitioningConfiguration.RetryOptions).toEqual({ DurationInSeconds: 1800 });
  });

  test('PARQUET: the key becomes an injected partition column before the date, located by a template', () => {
    const { t } = build({
      partitioning: ArchivePartitioning.fromJqQuery([{ name: 'Device', jqExpression: '.deviceId' }]),
    });
    const config = s3Config(t);
    expect(config.Prefix).toMatch(/^data\/Device=!\{partitionKeyFromQuery:Device\}\/year=/);
    expect(config.DataFormatConversionConfiguration.Enabled).toBe(true);
    expect(config.ProcessingConfiguration.Processors.map((p: { Type: string }) => p.Type)).toEqual([
      'MetadataExtraction',
    ]);
    t.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        PartitionKeys: ['device', 'year', 'month', 'day', 'hour'].map((Name) => ({ Name, Type: 'string' })),
        Parameters: Match.objectLike({
          'projection.device.type': 'injected',
          'projection.year.type': 'integer',
          'storage.location.template': {
            'Fn::Join': [
              '',
              [
                's3://',
                { Ref: Match.stringLikeRegexp('^ArchiveBucket') },
                '/data/Device=${device}/year=${year}/month=${month}/day=${day}/hour=${hour}/',
              ],
            ],
          },
        }),
      }),
    });
  });

  test('the role writes only under the prefix, which also holds the partitions', () => {
    const { t } = build({ format: ArchiveFormat.JSON, partitioning: byDevice });
    const statements = archivePolicyStatements(t);
    expect(JSON.stringify(statements[2].Resource)).toMatch(/"\/data\/\*".*"\/errors\/\*"/);
  });

  test('passes the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag(
        (stack, store) =>
          new S3ArchiveDestination(stack, 'Archive', {
            stream: store.stream,
            partitioning: ArchivePartitioning.fromJqQuery([{ name: 'device', jqExpression: '.deviceId' }]),
          }),
      ),
    ).not.toThrow();
  });

  const key = (name: string, jqExpression = '.x') => ({ name, jqExpression });
  const cases: Array<[string, Options, RegExp]> = [
    ['no keys', { partitioning: ArchivePartitioning.fromJqQuery([]) }, /partitioning needs 1 to 50 keys, got 0/],
    [
      '51 keys',
      {
        format: ArchiveFormat.JSON,
        partitioning: ArchivePartitioning.fromJqQuery(Array.from({ length: 51 }, (_, i) => key(`k${i}`))),
      },
      /partitioning needs 1 to 50 keys, got 51/,
    ],
    [
      'a key name with a dash',
      { format: ArchiveFormat.JSON, partitioning: ArchivePartitioning.fromJqQuery([key('device-id')]) },
      /partition key names must be 1-64 letters, digits and '_'.*got 'device-id'/,
    ],
    [
      'a key name starting with a digit',
      { format: ArchiveFormat.JSON, partitioning: ArchivePartitioning.fromJqQuery([key('1st')]) },
      /got '1st'/,
    ],
    [
      'a date key name',
      { format: ArchiveFormat.JSON, partitioning: ArchivePartitioning.fromJqQuery([key('Year')]) },
      /not year, month, day or hour, got 'Year'/,
    ],
    [
      'duplicate key names ignoring case',
      { format: ArchiveFormat.JSON, partitioning: ArchivePartitioning.fromJqQuery([key('site'), key('Site')]) },
      /unique ignoring case.*got 'Site'/,
    ],
    [
      'a key named like a Parquet column',
      { partitioning: ArchivePartitioning.fromJqQuery([key('deviceId', '.deviceId')]) },
      /partition key 'deviceId' is also a column of the Glue table/,
    ],
    [
      'an empty jq expression',
      { format: ArchiveFormat.JSON, partitioning: ArchivePartitioning.fromJqQuery([key('site', ' ')]) },
      /partition key 'site' needs a jq expression, got ' '/,
    ],
    [
      'a retry duration over 2 hours',
      {
        format: ArchiveFormat.JSON,
        partitioning: ArchivePartitioning.fromJqQuery([key('site')], { retryDuration: Duration.seconds(7201) }),
      },
      /partitioning retryDuration must be between 0 seconds and 2 hours, got 2 hours 1 second/,
    ],
    [
      'a buffer under 64 MiB',
      { format: ArchiveFormat.JSON, partitioning: byDevice, bufferingSize: Size.mebibytes(5) },
      /bufferingSize must be between 64 and 128 MiB with format JSON and partitioning, got 5 MiB/,
    ],
    [
      'an interval under 60 s',
      { format: ArchiveFormat.JSON, partitioning: byDevice, bufferingInterval: Duration.seconds(30) },
      /bufferingInterval with partitioning must be between 1 minute and 15 minutes, got 30 seconds/,
    ],
  ];
  test.each(cases)('rejects %s with the received value', (_name, props, message) => {
    const { stack, store } = stackWithStream();
    expect(() => new S3ArchiveDestination(stack, 'Archive', { stream: store.stream, ...props })).toThrow(message);
  });
});

describe('S3ArchiveDestination validation', () => {
  const cases: Array<[string, Options, RegExp]> = [
    // Glue allows 255 characters: a 300-character name used to pass synth and fail at deploy time.
    ['a 300-character database name', { databaseName: 'a'.repeat(300) }, /databaseName must be 1-255 characters of/],
    ['an upper-case table name', { tableName: 'Telemetry' }, /tableName must be 1-255 characters of .*got 'Telemetry'/],
    ['prefix without slash', { prefix: 'data' }, /prefix must be non-empty, end with '\/'.*got 'data'/],
    ['empty error prefix', { errorPrefix: '' }, /errorPrefix must be non-empty.*got ''/],
    [
      'overlapping prefixes',
      { prefix: 'a/', errorPrefix: 'a/errors/' },
      /must not overlap, got 'a\/' and 'a\/errors\/'/,
    ],
    [
      'JSON option with PARQUET',
      { jsonCompression: firehose.Compression.GZIP },
      /jsonCompression cannot be used with format PARQUET/,
    ],
    [
      'PARQUET option with JSON',
      { format: ArchiveFormat.JSON, tableName: 't' },
      /tableName cannot be used with format JSON/,
    ],
    ['column name', { columns: [{ name: 'Device Id', type: 'string' }] }, /column names must match .*got 'Device Id'/],
    ['partition column', { columns: [{ name: 'hour', type: 'int' }] }, /not be a partition key .*got 'hour'/],
    [
      'duplicate column',
      {
        columns: [
          { name: 'a', type: 'int' },
          { name: 'a', type: 'int' },
        ],
      },
      /be unique .*got 'a'/,
    ],
    ['empty type', { columns: [{ name: 'a', type: ' ' }] }, /column 'a' needs a Hive type, got ' '/],
    ['no columns', { columns: [] }, /columns must not be empty with format PARQUET, got \[\]/],
    [
      'interval',
      { bufferingInterval: Duration.seconds(901) },
      /bufferingInterval must be between 0 seconds and 15 minutes, got 15 minutes 1 second/,
    ],
    [
      'Parquet buffer',
      { bufferingSize: Size.mebibytes(5) },
      /bufferingSize must be between 64 and 128 MiB with format PARQUET, got 5 MiB/,
    ],
    [
      'JSON buffer',
      { format: ArchiveFormat.JSON, bufferingSize: Size.mebibytes(129) },
      /between 1 and 128 MiB with format JSON, got 129 MiB/,
    ],
    [
      'IA too early',
      { infrequentAccessAfter: Duration.days(10) },
      /infrequentAccessAfter must be at least 30 days, got 10 days/,
    ],
    [
      'Glacier before IA',
      { glacierInstantRetrievalAfter: Duration.days(30) },
      /later than infrequentAccessAfter \(30 days\), got 30 days/,
    ],
    [
      'expiry before Glacier',
      { expireAfter: Duration.days(60) },
      /expireAfter must be later than glacierInstantRetrievalAfter \(90 days\), got 60 days/,
    ],
    [
      'conversion threshold',
      { failedConversionThreshold: -1 },
      /failedConversionThreshold must be zero or more, got -1/,
    ],
  ];
  test.each(cases)('rejects %s with the received value', (_name, props, message) => {
    const { stack, store } = stackWithStream();
    expect(() => new S3ArchiveDestination(stack, 'Archive', { stream: store.stream, ...props })).toThrow(message);
  });
});

describe('S3ArchiveDestination cdk-nag', () => {
  test('Parquet passes the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag((stack, store) => new S3ArchiveDestination(stack, 'Archive', { stream: store.stream })),
    ).not.toThrow();
  });

  test('JSON passes the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag(
        (stack, store) =>
          new S3ArchiveDestination(stack, 'Archive', { stream: store.stream, format: ArchiveFormat.JSON }),
      ),
    ).not.toThrow();
  });
});
