import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { applyNagChecks } from '../../../bin/nag';
import { GrafanaAuthenticationProvider } from '../../../lib/destination';
import { FlinkApplicationStart, FlinkCode } from '../../../lib/processing';
import {
  referenceData,
  TimeSeriesAnalyticsStack,
  TimeSeriesAnalyticsStackProps,
  timeSeriesAnalyticsPropsFromContext,
} from '../../../lib/stacks';
import { alarmDeliveryProblems } from './alarm-delivery';

// The feature flags of the CLI app, so the template is the one `cdk synth` produces.
const CDK_CONTEXT = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../cdk.json'), 'utf8')).context;
const ENV = { region: 'eu-west-1' };
const TOKEN_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:influx-read-token-AbCdEf';

let jar: string;
beforeAll(() => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsa-'));
  jar = path.join(tmp, 'timeseries-enrichment.jar');
  // An empty zip archive is a valid jar for asset staging; the stack must not need Maven in tests.
  fs.writeFileSync(jar, Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]));
});

/** Synthesizes with cdk-nag (synth throws on an unacknowledged finding) and returns the stack's template. */
function synth(
  props: Partial<TimeSeriesAnalyticsStackProps> | ((app: App) => Partial<TimeSeriesAnalyticsStackProps>) = {},
  bundle = true,
) {
  const context = { ...CDK_CONTEXT, ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) };
  const app = new App({ context });
  const stack = new TimeSeriesAnalyticsStack(app, 'TimeSeriesAnalytics', {
    env: ENV,
    flinkCode: FlinkCode.fromJar(jar),
    ...(typeof props === 'function' ? props(app) : props),
  });
  applyNagChecks(app);
  const assembly = app.synth();
  return { stack, template: Template.fromJSON(assembly.getStackByName(stack.stackName).template) };
}

const ref = (prefix: string) => ({ Ref: Match.stringLikeRegexp(`^${prefix}`) });
const arn = (prefix: string) => ({ 'Fn::GetAtt': [Match.stringLikeRegexp(`^${prefix}`), 'Arn'] });

function logicalId(t: Template, type: string, prefix: string): string {
  const ids = Object.keys(t.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1)
    throw new Error(`expected one ${type} starting with ${prefix}, got ${ids.join(', ') || 'none'}`);
  return ids[0];
}

/** Every statement of the policies attached to the role whose logical id starts with `rolePrefix`. */
function statementsOf(t: Template, rolePrefix: string): Array<Record<string, unknown>> {
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref.startsWith(rolePrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>);
}

/** Logical id a resource reference points at (`Ref` or `Fn::GetAtt`), if it is a plain reference. */
function referencedId(resource: unknown): string | undefined {
  const r = resource as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  return r?.Ref ?? r?.['Fn::GetAtt']?.[0];
}

/**
 * Actions the role may perform on the resource whose logical id is `resourceId` plus CDK's 8-character hash, or on
 * `*` when `resourceId` is '*'.
 */
function actionsOn(t: Template, rolePrefix: string, resourceId: string): string[] {
  const id = resourceId === '*' ? undefined : new RegExp(`^${resourceId}[0-9A-F]{8}$`);
  return statementsOf(t, rolePrefix)
    .filter((s) => [s.Resource].flat().some((r) => (id ? id.test(referencedId(r) ?? '') : r === '*')))
    .flatMap((s) => [s.Action].flat() as string[])
    .sort();
}

describe('TimeSeriesAnalyticsStack (defaults, cdk-nag applied)', () => {
  let t: Template;
  let stack: TimeSeriesAnalyticsStack;
  beforeAll(() => {
    ({ template: t, stack } = synth());
  });

  test('matches the snapshot (asset hashes masked)', () => {
    expect(t.toJSON()).toMatchSnapshot();
  });

  test('CloudWatch may publish alarms to the topic and use its key (the TLS-only topic policy replaces the default)', () => {
    expect(alarmDeliveryProblems(t)).toEqual({ topicsChecked: 1, problems: [] });
  });

  test('raw, enriched and dead-letter streams, KMS-encrypted; dead letters kept a week', () => {
    t.resourceCountIs('AWS::Kinesis::Stream', 3);
    t.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      StreamEncryption: { EncryptionType: 'KMS', KeyId: arn('RawStreamKey') },
      RetentionPeriodHours: 24,
    });
    for (const r of Object.values(t.findResources('AWS::Kinesis::Stream'))) expect(r.DeletionPolicy).toBe('Retain');
    const dlq = logicalId(t, 'AWS::Kinesis::Stream', 'DeadLetterStream');
    expect(t.toJSON().Resources[dlq].Properties.RetentionPeriodHours).toBe(168);
  });

  test('the REST API, the IoT rule and the simulator write to the raw stream only', () => {
    expect(actionsOn(t, 'RestIngestionIntegrationRole', 'RawStream')).toEqual([
      'kinesis:PutRecord',
      'kinesis:PutRecords',
    ]);
    expect(actionsOn(t, 'IotIngestionRole', 'RawStream')).toEqual(['kinesis:PutRecord']);
    expect(actionsOn(t, 'DeviceFleetServiceRole', 'RawStream')).toEqual(['kinesis:PutRecords']);
    for (const role of ['RestIngestionIntegrationRole', 'IotIngestionRole', 'DeviceFleetServiceRole']) {
      const text = JSON.stringify(statementsOf(t, role));
      expect(text).not.toMatch(/EnrichedStream|DeadLetterStream/);
    }
    t.hasResourceProperties('AWS::IoT::TopicRule', {
      TopicRulePayload: Match.objectLike({
        Sql: "SELECT * FROM 'telemetry/+'",
        Actions: [{ Kinesis: Match.objectLike({ StreamName: ref('RawStream'), PartitionKey: '${topic(2)}' }) }],
      }),
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ STREAM_ARN: arn('RawStream'), DEVICE_COUNT: '100' }) },
    });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
  });

  test('the REST API validates bodies against the telemetry schema, partitioned by deviceId', () => {
    t.hasResourceProperties('AWS::ApiGateway::Model', {
      Schema: Match.objectLike({ required: ['eventId', 'deviceId', 'timestamp', 'metrics'] }),
    });
    const posts = Object.values(t.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'POST' } }));
    expect(posts).toHaveLength(2);
    for (const m of posts) {
      expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
      expect(JSON.stringify(m.Properties.Integration.RequestTemplates)).toContain('deviceId');
      expect(m.Properties.Integration.Uri).toMatch(/kinesis:action\/PutRecords?$/);
    }
  });

  test('Flink reads raw, writes enriched and dead letters, with the enrichment property groups', () => {
    const groups = new Capture();
    t.hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      RuntimeEnvironment: 'FLINK-2_2',
      ApplicationConfiguration: Match.objectLike({
        EnvironmentProperties: { PropertyGroups: groups },
      }),
    });
    const byId = Object.fromEntries(
      (groups.asArray() as Array<{ PropertyGroupId: string; PropertyMap: Record<string, unknown> }>).map((g) => [
        g.PropertyGroupId,
        g.PropertyMap,
      ]),
    );
    expect(Object.keys(byId).sort()).toEqual([
      'DeadLetterSink',
      'Enrichment',
      'KinesisSink',
      'KinesisSource',
      'Processing',
    ]);
    expect(JSON.stringify(byId.KinesisSource['stream.arn'])).toMatch(/"RawStream/);
    expect(byId.KinesisSource['initial.position']).toBe('TRIM_HORIZON');
    expect(byId.KinesisSource['reader.type']).toBe('POLLING');
    expect(JSON.stringify(byId.KinesisSink['stream.arn'])).toMatch(/"EnrichedStream/);
    expect(JSON.stringify(byId.DeadLetterSink['stream.arn'])).toMatch(/"DeadLetterStream/);
    expect(JSON.stringify(byId.Enrichment['reference.s3.uri'])).toMatch(
      /"s3:\/\/",\{"Ref":"ReferenceData.*"\},"\/reference\/devices\.jsonl"/,
    );
    expect(byId.Enrichment['reference.refresh.seconds']).toBe('300');
    expect(byId.Processing).toEqual({
      'dedupe.ttl.minutes': '60',
      'max.out.of.orderness.seconds': '30',
      'max.future.skew.seconds': '300',
      'max.past.age.hours': '24',
    });

    expect(actionsOn(t, 'EnrichmentServiceRole', 'RawStream')).toEqual([
      'kinesis:DescribeStreamSummary',
      'kinesis:GetRecords',
      'kinesis:GetShardIterator',
      'kinesis:ListShards',
    ]);
    for (const sink of ['EnrichedStream', 'DeadLetterStream']) {
      expect(actionsOn(t, 'EnrichmentServiceRole', sink)).toEqual([
        'kinesis:DescribeStreamSummary',
        'kinesis:ListShards',
        'kinesis:PutRecord',
        'kinesis:PutRecords',
      ]);
    }
    const reference = statementsOf(t, 'EnrichmentServiceRole').filter((s) =>
      JSON.stringify(s.Resource).includes('reference/devices.jsonl'),
    );
    expect(reference).toEqual([expect.objectContaining({ Action: 's3:GetObject' })]);
    expect(actionsOn(t, 'EnrichmentServiceRole', 'ReferenceDataKey')).toEqual(['kms:Decrypt']);
  });

  test('reference data: a KMS-encrypted, TLS-only, versioned bucket seeded with devices.jsonl', () => {
    const bucket = logicalId(t, 'AWS::S3::Bucket', 'ReferenceData');
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: arn('ReferenceDataKey') },
          }),
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true, RestrictPublicBuckets: true }),
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    t.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketName: { Ref: bucket },
      Prune: false,
    });
  });

  test('the calculator reads the enriched stream with a 60 s tumbling window', () => {
    const calculator = logicalId(t, 'AWS::Lambda::Function', 'CalculatorFunction');
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: calculator },
      EventSourceArn: arn('EnrichedStream'),
      TumblingWindowInSeconds: 60,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    t.resourcePropertiesCountIs('AWS::Lambda::EventSourceMapping', { EventSourceArn: arn('RawStream') }, 0);
  });

  test('the calculator writes InfluxDB, the latest-state table and the anomaly bus', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          TIME_SERIES_BACKEND: 'influxdb',
          INFLUX_API: 'v2',
          INFLUX_URL: {
            'Fn::Join': [
              '',
              ['https://', { 'Fn::GetAtt': [Match.stringLikeRegexp('^TimeSeriesDatabase'), 'Endpoint'] }, ':8086'],
            ],
          },
          INFLUX_SECRET_ARN: ref('TimeSeriesDatabaseSecret'),
          INFLUX_ORG: 'telemetry',
          INFLUX_BUCKET: 'telemetry',
          LATEST_STATE_TABLE: ref('LatestState'),
          EVENT_BUS_NAME: ref('AnomalyEvents'),
          ANOMALY_Z_THRESHOLD: '3',
          PERCENTILE: '95',
          DEAD_LETTER_QUEUE_URL: ref('CalculatorDeadLetterQueue'),
        }),
      },
    });
    expect(actionsOn(t, 'CalculatorServiceRole', 'TimeSeriesDatabaseSecret')).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    expect(actionsOn(t, 'CalculatorServiceRole', 'LatestState')).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
    ]);
    expect(actionsOn(t, 'CalculatorServiceRole', 'LatestStateKey')).toEqual([
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:Encrypt',
      'kms:GenerateDataKey',
    ]);
    expect(actionsOn(t, 'CalculatorServiceRole', 'AnomalyEvents')).toEqual(['events:PutEvents']);
    // The event source mapping reads the enriched stream with the function's role; nothing else is read or written.
    expect(actionsOn(t, 'CalculatorServiceRole', 'EnrichedStream')).toEqual(
      expect.arrayContaining(['kinesis:GetRecords', 'kinesis:GetShardIterator']),
    );
    expect(actionsOn(t, 'CalculatorServiceRole', 'EnrichedStreamKey')).toEqual(['kms:Decrypt']);
    expect(JSON.stringify(statementsOf(t, 'CalculatorServiceRole'))).not.toMatch(/kinesis:Put|RawStream/);
  });

  test('the calculator may list the enriched stream’s shards (a new shard’s parents), and no other stream’s', () => {
    // Its own statement, not only the event source mapping's read grant.
    expect(statementsOf(t, 'CalculatorServiceRole')).toContainEqual({
      Sid: 'ShardLineage',
      Action: 'kinesis:ListShards',
      Effect: 'Allow',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^EnrichedStream[0-9A-F]{8}$/), 'Arn'] },
    });
    const listing = statementsOf(t, 'CalculatorServiceRole').filter((s) =>
      [s.Action].flat().includes('kinesis:ListShards'),
    );
    for (const s of listing) expect(referencedId(s.Resource)).toMatch(/^EnrichedStream[0-9A-F]{8}$/);
  });

  test('the calculator runs in the isolated subnets of the database VPC with the writer security group', () => {
    const subnets = Object.keys(t.findResources('AWS::EC2::Subnet'));
    t.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: {
        SubnetIds: subnets.map((s) => ({ Ref: s })),
        SecurityGroupIds: [
          { 'Fn::GetAtt': [Match.stringLikeRegexp('^TimeSeriesDatabaseWriterSecurityGroup'), 'GroupId'] },
        ],
      },
    });
    for (const s of Object.values(t.findResources('AWS::EC2::Subnet'))) {
      expect(s.Properties.MapPublicIpOnLaunch).toBe(false);
    }
    t.resourceCountIs('AWS::EC2::NatGateway', 0);
    t.resourceCountIs('AWS::EC2::InternetGateway', 0);
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 8086,
      ToPort: 8086,
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TimeSeriesDatabaseSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: {
        'Fn::GetAtt': [Match.stringLikeRegexp('^TimeSeriesDatabaseWriterSecurityGroup'), 'GroupId'],
      },
    });
    expect(actionsOn(t, 'CalculatorServiceRole', '*')).toEqual(
      expect.arrayContaining([
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
      ]),
    );
  });

  test('VPC endpoints for exactly what the calculator calls, and a DynamoDB gateway', () => {
    const services = Object.values(t.findResources('AWS::EC2::VPCEndpoint')).map((e) =>
      JSON.stringify(e.Properties.ServiceName),
    );
    const names = services.map(
      (s) => s.match(/\.(secretsmanager|events|sqs|xray|dynamodb|kinesis-streams|monitoring)"/)?.[1],
    );
    expect(names.sort()).toEqual(['dynamodb', 'events', 'kinesis-streams', 'secretsmanager', 'sqs', 'xray']);
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
  });

  test('latest state: on-demand table keyed by deviceId with PITR, and an IAM-authorized read API', () => {
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'deviceId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      AuthorizationType: 'AWS_IAM',
      Integration: Match.objectLike({ Uri: Match.stringLikeRegexp('dynamodb:action/GetItem$') }),
    });
    // One owner of the account-level logging role; the read API's stage waits for it.
    t.resourceCountIs('AWS::ApiGateway::Account', 1);
    const account = logicalId(t, 'AWS::ApiGateway::Account', 'RestIngestionApiAccount');
    const readStage = logicalId(t, 'AWS::ApiGateway::Stage', 'LatestStateApiDeploymentStage');
    expect(t.toJSON().Resources[readStage].DependsOn).toEqual(expect.arrayContaining([account]));
  });

  test('anomaly events: a custom bus with the example rule on the shared source and detail type', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: ref('AnomalyEvents'),
      EventPattern: { source: ['cdk-streaming-patterns.timeseries'], 'detail-type': ['TelemetryAnomaly'] },
    });
  });

  test('the raw stream is archived to S3 as Parquet through Firehose', () => {
    t.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamType: 'KinesisStreamAsSource',
      KinesisStreamSourceConfiguration: Match.objectLike({ KinesisStreamARN: arn('RawStream') }),
      ExtendedS3DestinationConfiguration: Match.objectLike({
        DataFormatConversionConfiguration: Match.objectLike({ Enabled: true }),
      }),
    });
    t.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 1);
  });

  test('outputs name what operators need, including the raw stream for the simulate CLI', () => {
    t.hasOutput('RawStreamName', { Value: ref('RawStream') });
    t.hasOutput('DeadLetterStreamName', { Value: ref('DeadLetterStream') });
    t.hasOutput('LatestStateTableName', { Value: ref('LatestState') });
    t.hasOutput('AnomalyEventBusName', { Value: ref('AnomalyEvents') });
    t.hasOutput('DashboardName', { Value: ref('Dashboard') });
    expect(Object.keys(t.findOutputs('GrafanaUrl'))).toEqual([]);
  });

  test('no Grafana workspace unless enabled', () => {
    t.resourceCountIs('AWS::Grafana::Workspace', 0);
    expect(stack.grafana).toBeUndefined();
  });

  test('alarms cover streams, Flink, the calculator, the table, the archive and the bus, all to the topic', () => {
    const alarms = t.findResources('AWS::CloudWatch::Alarm');
    const ids = Object.keys(alarms);
    for (const expected of [
      'RawStreamIteratorAgeAlarm',
      'EnrichedStreamIteratorAgeAlarm',
      'EnrichmentRestartsAlarm',
      'EnrichmentFailedCheckpointsAlarm',
      'EnrichmentSourceLagAlarm',
      'CalculatorErrorsAlarm',
      'CalculatorIteratorAgeAlarm',
      'CalculatorDeadLetterQueueDepthAlarm',
      'LatestStateThrottledRequestsAlarm',
      'ArchiveDataFreshness',
      'AnomalyEventsFailedInvocationsAlarm',
      'IotIngestion',
      'RestIngestion',
    ]) {
      expect(ids.some((id) => id.startsWith(expected))).toBe(true);
    }
    expect(ids.some((id) => id.startsWith('DeadLetterStream'))).toBe(false);
    for (const a of Object.values(alarms)) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlarmTopic[0-9A-F]{8}$/) }]);
    }
    // Flink 2.2 removed fullRestarts: the restart alarm watches numRestarts.
    expect(JSON.stringify(alarms)).not.toContain('fullRestarts');
  });

  test('the pipeline dashboard shows every stage from the constructs’ metrics', () => {
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(
      Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody,
    );
    for (const metric of [
      'IncomingRecords',
      'PutRecords.FailedRecords',
      'numRestarts',
      'numberOfFailedCheckpoints',
      'GetRecords.IteratorAgeMilliseconds',
      'IteratorAge',
      'Errors',
      'Throttles',
      'Duration',
      'ApproximateNumberOfMessagesVisible',
      'ThrottledRequests',
      'DeliveryToS3.DataFreshness',
      'MatchedEvents',
      'FailedInvocations',
      '4XXError',
      'Failure',
    ]) {
      expect(body).toContain(`\\"${metric}\\"`);
    }
    expect(body).toContain('alarm');
  });
});

describe('TimeSeriesAnalyticsStack options', () => {
  test('Grafana on: a workspace in the database VPC with an InfluxDB data source reaching port 8086', () => {
    const { template: t, stack } = synth(
      {
        enableGrafana: true,
        grafanaAuthenticationProviders: [GrafanaAuthenticationProvider.AWS_SSO],
        grafanaInfluxDbTokenSecretArn: TOKEN_SECRET_ARN,
      },
      false,
    );
    expect(stack.grafana).toBeDefined();
    t.hasResourceProperties('AWS::Grafana::Workspace', {
      AuthenticationProviders: ['AWS_SSO'],
      VpcConfiguration: Match.objectLike({ SubnetIds: Match.anyValue() }),
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 8086,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GrafanaSecurityGroup'), 'GroupId'] },
    });
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: Match.stringLikeRegexp('monitoring'),
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 443,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GrafanaSecurityGroup'), 'GroupId'] },
    });
    const provisioning = Object.values(t.findResources('Custom::GrafanaDashboards'))[0].Properties;
    expect(JSON.stringify(provisioning.DataSources)).toMatch(/\\"type\\":\\"influxdb\\"/);
    expect(JSON.stringify(provisioning.DataSources)).toContain(TOKEN_SECRET_ARN);
  });

  test('Grafana with SAML takes the IdP metadata', () => {
    // SAML used to be accepted as a provider with no way to give its metadata, so synth always failed.
    const { template: t } = synth(
      {
        enableGrafana: true,
        grafanaAuthenticationProviders: [GrafanaAuthenticationProvider.SAML],
        grafanaSamlIdpMetadataUrl: 'https://idp.example.com/metadata',
      },
      false,
    );
    t.hasResourceProperties('AWS::Grafana::Workspace', {
      AuthenticationProviders: ['SAML'],
      SamlConfiguration: Match.objectLike({ IdpMetadata: { Url: 'https://idp.example.com/metadata' } }),
    });
  });

  test('the InfluxDB alarms notify the alarm topic', () => {
    const { template: t } = synth({}, false);
    for (const MetricName of ['CPUUtilization', 'MemoryUtilization', 'DiskUtilization']) {
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Timestream/InfluxDB',
        MetricName,
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlarmTopic') }],
      });
    }
  });

  test('Grafana without a token stays out of the VPC and shows CloudWatch only', () => {
    const { template: t } = synth({ enableGrafana: true }, false);
    t.hasResourceProperties('AWS::Grafana::Workspace', { VpcConfiguration: Match.absent() });
    t.resourcePropertiesCountIs('AWS::EC2::VPCEndpoint', { ServiceName: Match.stringLikeRegexp('monitoring') }, 0);
  });

  test("an alarm on the calculator going on without a new shard's parents, on the dashboard too", () => {
    const { stack, template: t } = synth({}, false);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'CdkStreamingPatterns',
      MetricName: 'ShardLineageUnavailable',
      Dimensions: [{ Name: 'service', Value: 'TimeSeriesAnalytics-Calculator' }],
      Statistic: 'Sum',
      Threshold: 1,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlarmTopic') }],
    });
    expect(stack.dashboard.alarms).toContain(stack.shardLineageAlarm);
    // The function publishes under that service name.
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'TimeSeriesAnalytics-Calculator' }) },
    });
  });

  test('the Glue ETL path and the Iceberg archive are off by default', () => {
    const { stack, template: t } = synth({}, false);
    t.resourceCountIs('AWS::Glue::Job', 0);
    t.resourcePropertiesCountIs(
      'AWS::KinesisFirehose::DeliveryStream',
      { IcebergDestinationConfiguration: Match.anyValue() },
      0,
    );
    expect(stack.glueEtl).toBeUndefined();
    expect(stack.icebergArchive).toBeUndefined();
  });

  test('enableGlueEtl and enableIcebergArchive add both readers of the raw stream, cdk-nag clean', () => {
    const { stack, template: t } = synth({ enableGlueEtl: true, enableIcebergArchive: true }, false);
    const [rawId] = Object.entries(t.findResources('AWS::Kinesis::Stream')).find(([id]) => id.startsWith('Raw'))!;
    t.hasResourceProperties('AWS::Glue::Job', { Command: Match.objectLike({ Name: 'gluestreaming' }) });
    t.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Parameters: Match.objectLike({ streamARN: { 'Fn::GetAtt': [rawId, 'Arn'] } }),
      }),
    });
    t.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      KinesisStreamSourceConfiguration: Match.objectLike({ KinesisStreamARN: { 'Fn::GetAtt': [rawId, 'Arn'] } }),
      IcebergDestinationConfiguration: Match.objectLike({
        DestinationTableConfigurationList: [Match.objectLike({ UniqueKeys: ['eventid'] })],
      }),
    });
    expect(stack.glueEtl).toBeDefined();
    expect(stack.icebergArchive).toBeDefined();
    expect(JSON.stringify(t.toJSON()).length).toBeLessThan(500_000);
  });

  test('timeseries:enableGlueEtl and timeseries:enableIcebergArchive switch them on', () => {
    const props = timeSeriesAnalyticsPropsFromContext(
      new App({ context: { 'timeseries:enableGlueEtl': 'true', 'timeseries:enableIcebergArchive': true } }),
    );
    expect(props).toMatchObject({ enableGlueEtl: true, enableIcebergArchive: true });
  });

  test('flinkStartOnDeploy starts the enrichment application after the deploy', () => {
    const { template: t } = synth(() => ({ flinkStartOnDeploy: FlinkApplicationStart.fromLatestSnapshot() }), false);
    t.hasResourceProperties('Custom::FlinkApplicationStart', { RestoreType: 'RESTORE_FROM_LATEST_SNAPSHOT' });
  });

  test('a prebuilt jar in S3, a disabled simulator and custom calculator settings', () => {
    const { template: t } = synth(
      (app) => ({
        // A bucket of another stack, e.g. the artifacts stack of a CI pipeline.
        flinkCode: FlinkCode.fromBucket(
          s3.Bucket.fromBucketName(new Stack(app, 'Artifacts', { env: ENV }), 'Jars', 'ci-artifacts'),
          'flink/timeseries-enrichment-1.0.0.jar',
        ),
        flinkParallelism: 4,
        simulatorEnabled: false,
        simulatorDeviceCount: 7,
        window: Duration.seconds(120),
        anomalyZThreshold: 4.5,
        percentile: 99,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      false,
    );
    t.hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      ApplicationConfiguration: Match.objectLike({
        ApplicationCodeConfiguration: {
          CodeContent: {
            S3ContentLocation: {
              BucketARN: 'arn:aws:s3:::ci-artifacts',
              FileKey: 'flink/timeseries-enrichment-1.0.0.jar',
            },
          },
          CodeContentType: 'ZIPFILE',
        },
        FlinkApplicationConfiguration: Match.objectLike({
          ParallelismConfiguration: Match.objectLike({ Parallelism: 4 }),
        }),
      }),
    });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)', State: 'DISABLED' });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { TumblingWindowInSeconds: 120 });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ANOMALY_Z_THRESHOLD: '4.5', PERCENTILE: '99' }) },
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DEVICE_COUNT: '7' }) },
    });
    for (const type of ['AWS::Kinesis::Stream', 'AWS::DynamoDB::Table', 'AWS::Timestream::InfluxDBInstance']) {
      for (const r of Object.values(t.findResources(type))) expect(r.DeletionPolicy).toBe('Delete');
    }
    // A bucket holding objects cannot be deleted by CloudFormation: the reference data stays.
    const reference = logicalId(t, 'AWS::S3::Bucket', 'ReferenceData');
    expect(t.toJSON().Resources[reference].DeletionPolicy).toBe('Retain');
  });

  test.each<[Partial<TimeSeriesAnalyticsStackProps>, RegExp]>([
    [{ anomalyZThreshold: 0 }, /anomalyZThreshold must be between .* got 0/],
    [{ percentile: 0 }, /percentile must be above 0 and at most 100, got 0/],
    [{ percentile: 101 }, /percentile must be above 0 and at most 100, got 101/],
    [{ flinkParallelism: 0 }, /flinkParallelism must be an integer between 1 and 10000, got 0/],
    [{ grafanaInfluxDbTokenSecretArn: TOKEN_SECRET_ARN }, /grafanaInfluxDbTokenSecretArn needs enableGrafana true/],
    [{ grafanaSamlIdpMetadataUrl: 'https://idp.example.com/m' }, /grafanaSamlIdpMetadataXml need enableGrafana true/],
    [{ window: Duration.minutes(20) }, /tumblingWindow must be between 1 second and 15 minutes, got 20 minutes/],
    [{ simulatorDeviceCount: 100000 }, /deviceCount must be an integer between 1 and 99999, got 100000/],
  ])('rejects %p', (props, message) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(
      () => new TimeSeriesAnalyticsStack(app, 'Bad', { env: ENV, flinkCode: FlinkCode.fromJar(jar), ...props }),
    ).toThrow(message);
  });
});

describe('referenceData', () => {
  test('one JSON line per simulated device, with the shared reference fields', () => {
    const lines = referenceData(12, 'eu-west-1')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(12);
    expect(lines[0]).toEqual({
      deviceId: 'device-00000',
      site: 'plant-1',
      deviceType: 'thermostat',
      region: 'eu-west-1',
    });
    expect(lines[11].deviceId).toBe('device-00011');
    expect(new Set(lines.map((l) => l.deviceId)).size).toBe(12);
    for (const l of lines) expect(Object.keys(l).sort()).toEqual(['deviceId', 'deviceType', 'region', 'site']);
    expect(referenceData(12, 'eu-west-1')).toBe(referenceData(12, 'eu-west-1'));
  });
});

describe('timeSeriesAnalyticsPropsFromContext', () => {
  const read = (context: Record<string, unknown>) => timeSeriesAnalyticsPropsFromContext(new App({ context }));

  test('the cdk.json defaults', () => {
    expect(read(CDK_CONTEXT)).toEqual(
      expect.objectContaining({
        enableGrafana: false,
        grafanaAuthenticationProviders: undefined,
        simulatorEnabled: true,
        simulatorDeviceCount: 100,
        simulatorRatePerSecond: 100,
        window: Duration.seconds(60),
        removalPolicy: RemovalPolicy.RETAIN,
        flinkCode: undefined,
        flinkStartOnDeploy: undefined,
      }),
    );
  });

  test.each([
    ['latest-snapshot', 'RESTORE_FROM_LATEST_SNAPSHOT'],
    ['no-snapshot', 'SKIP_RESTORE_FROM_SNAPSHOT'],
  ])('timeseries:startFlinkOnDeploy=%s starts the enrichment application on deploy', (value, restoreType) => {
    expect(read({ 'timeseries:startFlinkOnDeploy': value }).flinkStartOnDeploy?.restoreType).toBe(restoreType);
    expect(read({ 'timeseries:startFlinkOnDeploy': 'false' }).flinkStartOnDeploy).toBeUndefined();
  });

  test('command-line strings are parsed', () => {
    const props = read({
      'timeseries:enableGrafana': 'true',
      'timeseries:grafanaAuthenticationProviders': 'AWS_SSO,SAML',
      'timeseries:grafanaInfluxDbTokenSecretArn': TOKEN_SECRET_ARN,
      'timeseries:grafanaSamlIdpMetadataUrl': 'https://idp.example.com/metadata',
      'timeseries:simulatorEnabled': 'false',
      'timeseries:simulatorDeviceCount': '250',
      'timeseries:windowSeconds': '30',
      'timeseries:flinkCode': 's3://ci-artifacts/flink/timeseries-enrichment-1.0.0.jar',
      'timeseries:removalPolicy': 'DESTROY',
    });
    expect(props).toEqual(
      expect.objectContaining({
        enableGrafana: true,
        grafanaAuthenticationProviders: [GrafanaAuthenticationProvider.AWS_SSO, GrafanaAuthenticationProvider.SAML],
        grafanaInfluxDbTokenSecretArn: TOKEN_SECRET_ARN,
        grafanaSamlIdpMetadataUrl: 'https://idp.example.com/metadata',
        simulatorEnabled: false,
        simulatorDeviceCount: 250,
        window: Duration.seconds(30),
        flinkCode: expect.any(FlinkCode),
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    );
  });

  test.each<[Record<string, unknown>, RegExp]>([
    [{ 'timeseries:enableGrafana': 'yes' }, /timeseries:enableGrafana must be true or false, got "yes"/],
    [{ 'timeseries:simulatorDeviceCount': 'many' }, /timeseries:simulatorDeviceCount must be a number, got "many"/],
    [{ 'timeseries:removalPolicy': 'SNAPSHOT' }, /timeseries:removalPolicy must be RETAIN or DESTROY, got 'SNAPSHOT'/],
    [{ 'timeseries:flinkCode': 3 }, /timeseries:flinkCode must be a string, got 3/],
    [
      { 'timeseries:startFlinkOnDeploy': 'yes' },
      /timeseries:startFlinkOnDeploy must be latest-snapshot, no-snapshot or false, got 'yes'/,
    ],
    [
      { 'timeseries:flinkCode': 's3://ci-artifacts' },
      /must be a jar path or s3:\/\/<bucket>\/<key>, got 's3:\/\/ci-artifacts'/,
    ],
    [
      { 'timeseries:flinkCode': '/nowhere/app.jar' },
      /FlinkCode.fromJar needs an existing jar file, got \/nowhere\/app.jar/,
    ],
    [{ 'timeseries:flinkJarPath': '/tmp/app.jar' }, /timeseries:flinkJarPath was replaced by timeseries:flinkCode/],
    [{ 'timeseries:flinkCodeKey': 'k' }, /timeseries:flinkCodeKey was replaced by timeseries:flinkCode/],
    [
      { 'timeseries:enableGrafana': true, 'timeseries:grafanaAuthenticationProviders': ['OKTA'] },
      /must list AWS_SSO or SAML, got 'OKTA'/,
    ],
  ])('rejects %p', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });
});
