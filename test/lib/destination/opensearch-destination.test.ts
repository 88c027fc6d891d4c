import { Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  CollectionType,
  IndexRotation,
  OpenSearchDestination,
  OpenSearchDestinationProps,
  OpenSearchTarget,
} from '../../../lib/destination/opensearch-destination';
import { stackWithStream, synthWithNag } from '../ingestion/helpers';

type Options = Omit<OpenSearchDestinationProps, 'stream'>;

const DOMAIN_ARN = 'arn:aws:es:eu-west-1:123456789012:domain/logs';

function build(props: Options = {}): { stack: Stack; search: OpenSearchDestination; t: Template } {
  const { stack, store } = stackWithStream();
  const search = new OpenSearchDestination(stack, 'Search', { stream: store.stream, ...props });
  return { stack, search, t: Template.fromStack(stack) };
}

function domainBuild(props: Options = {}, indexRotation?: IndexRotation) {
  const { stack, store } = stackWithStream();
  const domain = opensearch.Domain.fromDomainAttributes(stack, 'Domain', {
    domainArn: DOMAIN_ARN,
    domainEndpoint: 'https://search-logs-abc.eu-west-1.es.amazonaws.com',
  });
  const search = new OpenSearchDestination(stack, 'Search', {
    stream: store.stream,
    target: OpenSearchTarget.domain(domain, { indexRotation }),
    ...props,
  });
  return { search, t: Template.fromStack(stack) };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- CloudFormation properties are untyped JSON
function deliveryStream(t: Template): any {
  const streams = Object.values(t.findResources('AWS::KinesisFirehose::DeliveryStream'));
  expect(streams).toHaveLength(1);
  return streams[0].Properties;
}

function policyStatements(t: Template): Array<{ Action: unknown; Resource: unknown; Condition?: unknown }> {
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes('SearchRole'))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** The JSON policy document of an OpenSearch Serverless policy, with the tokens it joins replaced by `<Ref>`. */
function policyDocument(t: Template, type: string, policyType: string): unknown {
  const policies = Object.values(t.findResources(type)).filter((p) => p.Properties.Type === policyType);
  expect(policies).toHaveLength(1);
  const policy = policies[0].Properties.Policy;
  const text =
    typeof policy === 'string'
      ? policy
      : (policy['Fn::Join'][1] as unknown[])
          .map((p) => (typeof p === 'string' ? p : `<${JSON.stringify(p).replace(/"/g, "'")}>`))
          .join('');
  return JSON.parse(text);
}

const ERRORS = 'errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/';

describe('OpenSearchDestination defaults (serverless collection)', () => {
  test('Firehose reads the stream and writes index telemetry of a new TIMESERIES collection', () => {
    const { t, search } = build();
    expect(search.collection).toBeDefined();
    expect(search.indexName).toBe('telemetry');
    const props = deliveryStream(t);
    expect(props.DeliveryStreamType).toBe('KinesisStreamAsSource');
    expect(props.KinesisStreamSourceConfiguration.KinesisStreamARN).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^Store/), 'Arn'],
    });
    expect(props.AmazonopensearchserviceDestinationConfiguration).toBeUndefined();
    const config = props.AmazonOpenSearchServerlessDestinationConfiguration;
    expect(config).toMatchObject({
      CollectionEndpoint: { 'Fn::GetAtt': [expect.stringMatching(/^SearchCollection/), 'CollectionEndpoint'] },
      IndexName: 'telemetry',
      BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 5 },
      RetryOptions: { DurationInSeconds: 300 },
      S3BackupMode: 'FailedDocumentsOnly',
    });
    // Serverless collections have no index rotation.
    expect(config.IndexRotationPeriod).toBeUndefined();
    t.hasResourceProperties('AWS::OpenSearchServerless::Collection', {
      Name: Match.stringLikeRegexp('^[a-z][a-z0-9-]{2,27}$'),
      Type: 'TIMESERIES',
      StandbyReplicas: 'ENABLED',
    });
  });

  test('failed documents go to the encrypted bucket under errors/, errors are logged', () => {
    const { t } = build();
    const config = deliveryStream(t).AmazonOpenSearchServerlessDestinationConfiguration;
    expect(config.S3Configuration).toEqual({
      BucketARN: { 'Fn::GetAtt': [expect.stringMatching(/^SearchBucket/), 'Arn'] },
      RoleARN: { 'Fn::GetAtt': [expect.stringMatching(/^SearchRole/), 'Arn'] },
      ErrorOutputPrefix: ERRORS,
      EncryptionConfiguration: {
        KMSEncryptionConfig: { AWSKMSKeyARN: { 'Fn::GetAtt': [expect.stringMatching(/^SearchKey/), 'Arn'] } },
      },
    });
    expect(config.CloudWatchLoggingOptions).toMatchObject({
      Enabled: true,
      LogGroupName: { Ref: expect.stringMatching(/^SearchDeliveryLogGroup/) },
    });
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SearchKey'), 'Arn'] },
            },
          }),
        ],
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'opensearch/' }),
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('the encryption policy covers the collection with the customer-managed key', () => {
    const { t } = build();
    const name = Object.values(t.findResources('AWS::OpenSearchServerless::Collection'))[0].Properties.Name;
    t.hasResourceProperties('AWS::OpenSearchServerless::SecurityPolicy', { Type: 'encryption', Name: `${name}-enc` });
    expect(policyDocument(t, 'AWS::OpenSearchServerless::SecurityPolicy', 'encryption')).toEqual({
      Rules: [{ ResourceType: 'collection', Resource: [`collection/${name}`] }],
      AWSOwnedKey: false,
      KmsARN: expect.stringMatching(/^<\{'Fn::GetAtt':\['SearchKey[A-F0-9]+','Arn'\]\}>$/),
    });
  });

  test('the network policy opens the collection endpoint only, never OpenSearch Dashboards', () => {
    const { t } = build();
    const name = Object.values(t.findResources('AWS::OpenSearchServerless::Collection'))[0].Properties.Name;
    expect(policyDocument(t, 'AWS::OpenSearchServerless::SecurityPolicy', 'network')).toEqual([
      { Rules: [{ ResourceType: 'collection', Resource: [`collection/${name}`] }], AllowFromPublic: true },
    ]);
  });

  test('the data access policy lets only the Firehose role create, update, describe and write the index', () => {
    const { t } = build();
    const name = Object.values(t.findResources('AWS::OpenSearchServerless::Collection'))[0].Properties.Name;
    expect(policyDocument(t, 'AWS::OpenSearchServerless::AccessPolicy', 'data')).toEqual([
      {
        Rules: [
          {
            ResourceType: 'index',
            Resource: [`index/${name}/telemetry*`],
            Permission: ['aoss:CreateIndex', 'aoss:UpdateIndex', 'aoss:DescribeIndex', 'aoss:WriteDocument'],
          },
        ],
        Principal: [expect.stringMatching(/^<\{'Fn::GetAtt':\['SearchRole[A-F0-9]+','Arn'\]\}>$/)],
      },
    ]);
  });

  test('the collection waits for its three policies', () => {
    const { t } = build();
    const collection = Object.values(t.findResources('AWS::OpenSearchServerless::Collection'))[0];
    expect(collection.DependsOn).toEqual([
      expect.stringMatching(/^SearchDataAccessPolicy/),
      expect.stringMatching(/^SearchEncryptionPolicy/),
      expect.stringMatching(/^SearchNetworkPolicy/),
    ]);
  });

  test('the role: stream read, error prefix, the S3 key, the log group, aoss:APIAccessAll on the collection', () => {
    const { t } = build();
    const statements = policyStatements(t);
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
      'aoss:APIAccessAll',
    ]);
    expect(statements[6].Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^SearchCollection/), 'Arn'] });
    expect(JSON.stringify(statements[2].Resource)).toContain('/errors/*');
    expect(statements[3].Condition).toEqual({ StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } });
  });

  test('alarms on DeliveryToAmazonOpenSearchServerless.DataFreshness (15 min, Maximum)', () => {
    const { t, search } = build();
    expect(search.alarms).toHaveLength(1);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Firehose',
      MetricName: 'DeliveryToAmazonOpenSearchServerless.DataFreshness',
      Statistic: 'Maximum',
      Threshold: 900,
      Dimensions: [{ Name: 'DeliveryStreamName', Value: { Ref: Match.stringLikeRegexp('^Search') } }],
    });
    expect(search.metricDeliveryRecords().metricName).toBe('DeliveryToAmazonOpenSearchServerless.Records');
  });
});

describe('OpenSearchDestination options', () => {
  test('collection name, type, replicas and key; index, buffering, retries, backup of all documents', () => {
    const { stack, store } = stackWithStream();
    const collectionKey = new kms.Key(stack, 'CollectionKey');
    new OpenSearchDestination(stack, 'Search', {
      stream: store.stream,
      target: OpenSearchTarget.serverlessCollection({
        collectionName: 'telemetry-search',
        collectionType: CollectionType.SEARCH,
        standbyReplicas: false,
        encryptionKey: collectionKey,
      }),
      indexName: 'readings',
      bufferingInterval: Duration.seconds(60),
      bufferingSize: Size.mebibytes(100),
      retryDuration: Duration.hours(2),
      backupAllDocuments: true,
      backupPrefix: 'all/',
      errorPrefix: 'failed/',
      logRetention: logs.RetentionDays.ONE_WEEK,
      dataFreshnessThreshold: Duration.minutes(5),
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::OpenSearchServerless::Collection', {
      Name: 'telemetry-search',
      Type: 'SEARCH',
      StandbyReplicas: 'DISABLED',
    });
    expect(JSON.stringify(policyDocument(t, 'AWS::OpenSearchServerless::SecurityPolicy', 'encryption'))).toContain(
      'CollectionKey',
    );
    const config = deliveryStream(t).AmazonOpenSearchServerlessDestinationConfiguration;
    expect(config).toMatchObject({
      IndexName: 'readings',
      BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 100 },
      RetryOptions: { DurationInSeconds: 7200 },
      S3BackupMode: 'AllDocuments',
    });
    expect(config.S3Configuration.Prefix).toBe('all/');
    expect(config.S3Configuration.ErrorOutputPrefix).toMatch(/^failed\//);
    const writes = JSON.stringify(policyStatements(t)[2].Resource);
    expect(writes).toContain('/all/*');
    expect(writes).toContain('/failed/*');
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 300 });
  });

  test('alarms can be switched off or sent to a topic', () => {
    expect(build({ createAlarms: false }).search.alarms).toEqual([]);
    const { stack, store } = stackWithStream();
    const topic = new sns.Topic(stack, 'Topic');
    new OpenSearchDestination(stack, 'Search', { stream: store.stream, alarmTopic: topic });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
    });
  });
});

describe('OpenSearchDestination with a domain', () => {
  test('writes the domain with daily index rotation by default, no collection', () => {
    const { t, search } = domainBuild();
    expect(search.collection).toBeUndefined();
    t.resourceCountIs('AWS::OpenSearchServerless::Collection', 0);
    const props = deliveryStream(t);
    expect(props.AmazonOpenSearchServerlessDestinationConfiguration).toBeUndefined();
    expect(props.AmazonopensearchserviceDestinationConfiguration).toMatchObject({
      DomainARN: DOMAIN_ARN,
      IndexName: 'telemetry',
      IndexRotationPeriod: 'OneDay',
      S3BackupMode: 'FailedDocumentsOnly',
    });
  });

  test.each([
    [IndexRotation.NO_ROTATION, 'NoRotation'],
    [IndexRotation.ONE_HOUR, 'OneHour'],
    [IndexRotation.ONE_WEEK, 'OneWeek'],
    [IndexRotation.ONE_MONTH, 'OneMonth'],
  ])('index rotation %s', (rotation, expected) => {
    const { t } = domainBuild({}, rotation);
    expect(deliveryStream(t).AmazonopensearchserviceDestinationConfiguration.IndexRotationPeriod).toBe(expected);
  });

  test('the role gets the es actions and read paths Firehose documents, on the one domain', () => {
    const { t } = domainBuild();
    const statements = policyStatements(t);
    expect(statements.slice(6)).toEqual([
      {
        Effect: 'Allow',
        Action: ['es:DescribeDomain', 'es:DescribeDomains', 'es:DescribeDomainConfig', 'es:ESHttpPost', 'es:ESHttpPut'],
        Resource: [DOMAIN_ARN, `${DOMAIN_ARN}/*`],
      },
      {
        Effect: 'Allow',
        Action: 'es:ESHttpGet',
        Resource: [
          '_all/_settings',
          '_cluster/stats',
          'telemetry*/_mapping/*',
          '_nodes',
          '_nodes/stats',
          '_nodes/*/stats',
          '_stats',
          'telemetry*/_stats',
        ].map((p) => `${DOMAIN_ARN}/${p}`),
      },
    ]);
    expect(JSON.stringify(statements)).not.toContain('aoss:');
  });

  test('alarms on DeliveryToAmazonOpenSearchService.DataFreshness', () => {
    const { t } = domainBuild();
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DeliveryToAmazonOpenSearchService.DataFreshness',
    });
  });
});

describe('OpenSearchDestination validation', () => {
  const cases: Array<[string, Options, RegExp]> = [
    ['an upper-case index', { indexName: 'Telemetry' }, /indexName must be 1-80 characters of .*got 'Telemetry'/],
    ['an index starting with _', { indexName: '_hidden' }, /indexName must be .*got '_hidden'/],
    [
      'an error prefix without slash',
      { errorPrefix: 'errors' },
      /errorPrefix must be non-empty, end with '\/'.*got 'errors'/,
    ],
    ['a backup prefix without backupAllDocuments', { backupPrefix: 'all/' }, /backupPrefix needs backupAllDocuments/],
    [
      'overlapping prefixes',
      { backupAllDocuments: true, backupPrefix: 'a/', errorPrefix: 'a/errors/' },
      /backupPrefix and errorPrefix must not overlap, got 'a\/' and 'a\/errors\/'/,
    ],
    [
      'a buffer over 100 MiB',
      { bufferingSize: Size.mebibytes(101) },
      /bufferingSize must be between 1 and 100 MiB, got 101 MiB/,
    ],
    [
      'an interval over 900 s',
      { bufferingInterval: Duration.seconds(901) },
      /bufferingInterval must be between 0 seconds and 15 minutes/,
    ],
    [
      'retries over 2 hours',
      { retryDuration: Duration.seconds(7201) },
      /retryDuration must be between 0 seconds and 2 hours/,
    ],
  ];
  test.each(cases)('rejects %s with the received value', (_name, props, message) => {
    const { stack, store } = stackWithStream();
    expect(() => new OpenSearchDestination(stack, 'Search', { stream: store.stream, ...props })).toThrow(message);
  });

  test.each([
    ['too short', 'ab'],
    ['too long', 'a'.repeat(29)],
    ['starting with a digit', '1logs'],
    ['upper case', 'Logs'],
  ])('rejects a collection name %s', (_name, collectionName) => {
    expect(() => OpenSearchTarget.serverlessCollection({ collectionName })).toThrow(
      new RegExp(`collectionName must be 3-28 characters of .*got '${collectionName}'`),
    );
  });
});

describe('OpenSearchDestination cdk-nag', () => {
  test('the serverless variant passes the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag((stack, store) => new OpenSearchDestination(stack, 'Search', { stream: store.stream })),
    ).not.toThrow();
  });

  test('the domain variant passes the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag((stack, store) => {
        const domain = opensearch.Domain.fromDomainAttributes(stack, 'Domain', {
          domainArn: DOMAIN_ARN,
          domainEndpoint: 'https://search-logs-abc.eu-west-1.es.amazonaws.com',
        });
        new OpenSearchDestination(stack, 'Search', {
          stream: store.stream,
          target: OpenSearchTarget.domain(domain),
          backupAllDocuments: true,
        });
      }),
    ).not.toThrow();
  });
});
