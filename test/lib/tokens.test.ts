import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnParameter, Duration, Size, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import * as s3tables from 'aws-cdk-lib/aws-s3tables';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { applyNagChecks } from '../../bin/nag';
import {
  ArchiveFormat,
  ArchivePartitioning,
  DynamoDbDestination,
  EventBridgeDestination,
  GrafanaAuthenticationProvider,
  GrafanaVisualisation,
  IcebergCatalog,
  IcebergDestination,
  InfluxDbDatabase,
  LiveAnalyticsDatabase,
  OpenSearchDestination,
  OpenSearchTarget,
  RedshiftStreamingIngestion,
  S3ArchiveDestination,
} from '../../lib/destination';
import {
  ApiGatewayIngestion,
  DmsCdcIngestion,
  DmsSource,
  DmsSslMode,
  DynamoDbCdcIngestion,
  IotCoreIngestion,
  KinesisAgentIngestion,
  KinesisAgentLogFormat,
  KinesisAgentProcessor,
} from '../../lib/ingestion';
import { handlerEntry } from '../../lib/internal';
import { PipelineDashboard, ReplayRole } from '../../lib/operations';
import {
  ExternalFunctionEndpoint,
  FlinkCode,
  FlinkStreamProcessor,
  GlueStreamingEtl,
  KclConsumer,
  KclConsumerImage,
  LambdaStreamProcessor,
  RemoteFunction,
  StatefulFunctionsProcessor,
} from '../../lib/processing';
import { DeviceFleetSimulator } from '../../lib/source';
import { ShardCalculator, StreamStore } from '../../lib/storage';

// aws-cdk-lib's rule: a prop that takes a string, number or Duration also takes a token, and only resolved values are
// validated. Each prop below gets a deploy-time value (a CloudFormation parameter) on its own; the stack must then
// synthesize with cdk-nag clean, and the parameter must reach the template (not be dropped or turned into a number).

process.env.JSII_DEPRECATED = 'quiet';

let tmp: string;
let jar: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tokens-'));
  jar = path.join(tmp, 'app.jar');
  // An empty zip archive is a valid jar for asset staging.
  fs.writeFileSync(jar, Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Deploy-time values, each a CloudFormation parameter named `Tok`. */
const str = (s: Stack): string => new CfnParameter(s, 'Tok').valueAsString;
const num = (s: Stack): number => new CfnParameter(s, 'Tok', { type: 'Number' }).valueAsNumber;
const secs = (s: Stack): Duration => Duration.seconds(num(s));
const mins = (s: Stack): Duration => Duration.minutes(num(s));
const hours = (s: Stack): Duration => Duration.hours(num(s));
const days = (s: Stack): Duration => Duration.days(num(s));
const millis = (s: Stack): Duration => Duration.millis(num(s));
const mebibytes = (s: Stack): Size => Size.mebibytes(num(s));

type Token = (s: Stack) => unknown;
/** Builds the construct under test in `stack`, with `props` merged over what it needs. */
type Build = (stack: Stack, store: StreamStore, props: Record<string, unknown>) => void;

function synthWithToken(build: Build, prop: string, token: Token): Template {
  // Bundling is not what this tests, and esbuild for every function would take most of the time.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  applyNagChecks(app);
  const stack = new Stack(app, 'Tokens', { env: { account: '111122223333', region: 'eu-west-1' } });
  const store = new StreamStore(stack, 'Store');
  build(stack, store, { [prop]: token(stack) });
  app.synth();
  return Template.fromStack(stack);
}

/** Props that cannot take a token, because aws-cdk-lib or this library uses their value at synth time. */
function rejectedTokenTests(name: string, build: Build, props: Record<string, [Token, RegExp]>): void {
  describe(`${name} names the prop when a token cannot be used`, () => {
    test.each(Object.entries(props))('%s', (prop, [token, message]) => {
      expect(() => synthWithToken(build, prop, token)).toThrow(message);
    });
  });
}

function tokenTests(name: string, build: Build, props: Record<string, Token>): void {
  describe(`${name} accepts tokens`, () => {
    test.each(Object.entries(props))('%s', (prop, token) => {
      const resources = JSON.stringify(synthWithToken(build, prop, token).toJSON().Resources);
      expect(resources).toContain('{"Ref":"Tok"}');
      // A number token used in arithmetic or a unit conversion turns into a huge meaningless number.
      expect(resources).not.toMatch(/\d\.\d+e[+-]\d{3}/);
    });
  });
}

tokenTests('StreamStore', (stack, _store, props) => new StreamStore(stack, 'Subject', props), {
  streamName: str,
  retentionPeriod: hours,
  maxRecordSizeKiB: num,
  warmThroughputMiBps: num,
  enhancedFanOutConsumerNames: (s) => [str(s)],
  iteratorAgeThreshold: millis,
  writeThrottleThreshold: num,
  readThrottleThreshold: num,
  putRecordsFailedThreshold: num,
});

tokenTests(
  'StreamStore in provisioned mode',
  (stack, _store, props) => new StreamStore(stack, 'Subject', { streamMode: kinesis.StreamMode.PROVISIONED, ...props }),
  { shardCount: num },
);

describe('StreamStore accepts tokens', () => {
  test('addConsumer with a token name gets a numbered construct id', () => {
    const template = synthWithToken(
      (stack, store) => {
        store.addConsumer('literal');
        const consumer = store.addConsumer(str(stack));
        expect(consumer.node.id).toBe('Consumer-2');
      },
      'unused',
      () => undefined,
    );
    template.hasResourceProperties('AWS::Kinesis::StreamConsumer', { ConsumerName: { Ref: 'Tok' } });
    template.hasResourceProperties('AWS::Kinesis::StreamConsumer', { ConsumerName: 'literal' });
  });
});

describe('ShardCalculator', () => {
  test('names the prop that is a token: it computes at synth time', () => {
    const stack = new Stack();
    expect(() => ShardCalculator.calculate({ recordsPerSecond: num(stack), averageRecordBytes: 100 })).toThrow(
      /recordsPerSecond must be a literal value, got an unresolved token: ShardCalculator sizes the stream at synth time/,
    );
  });
});

tokenTests(
  'ApiGatewayIngestion',
  (stack, store, props) => new ApiGatewayIngestion(stack, 'Subject', { stream: store.stream, ...props }),
  {
    restApiName: str,
    throttlingRateLimit: num,
    throttlingBurstLimit: num,
    webAclArn: str,
    clientErrorThreshold: num,
    serverErrorThreshold: num,
    latencyP99Threshold: millis,
  },
);

rejectedTokenTests(
  'ApiGatewayIngestion',
  (stack, store, props) =>
    new ApiGatewayIngestion(stack, 'Subject', {
      stream: store.stream,
      eventTypes: [{ name: 'Reading', schema: { type: 'object' } }],
      ...props,
    }),
  {
    stageName: [str, /stageName must be a literal value, got an unresolved token: aws-cdk-lib names the stage/],
    partitionKeyField: [
      str,
      /partitionKeyField must be a literal value, got an unresolved token: it is a property name/,
    ],
    idempotencyKeyHeader: [str, /idempotencyKeyHeader must be a literal value, got an unresolved token/],
  },
);

tokenTests(
  'ApiGatewayIngestion with API keys',
  (stack, store, props) =>
    new ApiGatewayIngestion(stack, 'Subject', { stream: store.stream, authorization: 'API_KEY' as never, ...props }),
  { apiKeyQuotaPerDay: num },
);

tokenTests(
  'IotCoreIngestion',
  (stack, store, props) => new IotCoreIngestion(stack, 'Subject', { stream: store.stream, ...props }),
  {
    sql: str,
    sqlVersion: str,
    partitionKey: str,
    ruleName: str,
    description: str,
    failureThreshold: num,
  },
);

tokenTests(
  'IotCoreIngestion with an S3 error destination',
  (stack, store, props) =>
    new IotCoreIngestion(stack, 'Subject', { stream: store.stream, errorDestination: 'S3' as never, ...props }),
  { errorPrefix: str },
);

tokenTests('DynamoDbDestination', (stack, _store, props) => new DynamoDbDestination(stack, 'Subject', props), {
  tableName: str,
  partitionKeyName: str,
  sortKeyName: str,
  timeToLiveAttribute: str,
  throttledRequestsThreshold: num,
  systemErrorsThreshold: num,
});

tokenTests('EventBridgeDestination', (stack, _store, props) => new EventBridgeDestination(stack, 'Subject', props), {
  eventBusName: str,
  archiveRetention: days,
  ruleSource: str,
  ruleDetailType: str,
  failedInvocationsThreshold: num,
  deadLetterQueueDepthThreshold: num,
});

tokenTests(
  'GrafanaVisualisation',
  (stack, _store, props) =>
    new GrafanaVisualisation(stack, 'Subject', {
      authenticationProviders: [GrafanaAuthenticationProvider.AWS_SSO],
      provisionDashboards: false,
      ...props,
    }),
  { workspaceName: str, grafanaVersion: str },
);

tokenTests(
  'GrafanaVisualisation with SAML',
  (stack, _store, props) =>
    new GrafanaVisualisation(stack, 'Subject', {
      authenticationProviders: [GrafanaAuthenticationProvider.SAML],
      provisionDashboards: false,
      ...(props.samlIdpMetadataXml ? {} : { samlIdpMetadataUrl: 'https://idp.example.com/metadata' }),
      ...props,
    }),
  {
    samlIdpMetadataXml: str,
    samlRoleAttribute: str,
    samlAdminRoleValues: (s) => [str(s)],
  },
);

tokenTests('InfluxDbDatabase', (stack, _store, props) => new InfluxDbDatabase(stack, 'Subject', props), {
  instanceName: str,
  username: str,
  organization: str,
  bucket: str,
  instanceType: str,
  allocatedStorageGiB: num,
  storageType: str,
  cpuUtilizationThreshold: num,
  memoryUtilizationThreshold: num,
  diskUtilizationThreshold: num,
});

tokenTests('LiveAnalyticsDatabase', (stack, _store, props) => new LiveAnalyticsDatabase(stack, 'Subject', props), {
  databaseName: str,
  tableName: str,
  memoryStoreRetention: hours,
  magneticStoreRetention: days,
});

tokenTests(
  'S3ArchiveDestination',
  (stack, store, props) => new S3ArchiveDestination(stack, 'Subject', { stream: store.stream, ...props }),
  {
    databaseName: str,
    tableName: str,
    prefix: str,
    errorPrefix: str,
    bufferingInterval: secs,
    infrequentAccessAfter: days,
    glacierInstantRetrievalAfter: days,
    expireAfter: days,
    accessLogsExpiration: days,
    dataFreshnessThreshold: secs,
    failedConversionThreshold: num,
  },
);

const lambdaEntry = handlerEntry('json-validator');

tokenTests(
  'LambdaStreamProcessor',
  (stack, store, props) =>
    new LambdaStreamProcessor(stack, 'Subject', { stream: store.stream, entry: lambdaEntry, ...props }),
  {
    handler: str,
    description: str,
    memorySize: num,
    timeout: secs,
    reservedConcurrentExecutions: num,
    batchSize: num,
    maxBatchingWindow: secs,
    parallelizationFactor: num,
    retryAttempts: num,
    tumblingWindow: secs,
    deadLetterRetention: secs,
    errorsThreshold: num,
    throttlesThreshold: num,
    iteratorAgeThreshold: millis,
    deadLetterQueueDepthThreshold: num,
  },
);

tokenTests(
  'LambdaStreamProcessor with event source mapping metrics',
  (stack, store, props) =>
    new LambdaStreamProcessor(stack, 'Subject', {
      stream: store.stream,
      entry: lambdaEntry,
      eventSourceMappingMetrics: true,
      ...props,
    }),
  { droppedEventsThreshold: num },
);

rejectedTokenTests(
  'LambdaStreamProcessor',
  (stack, store, props) =>
    new LambdaStreamProcessor(stack, 'Subject', { stream: store.stream, entry: lambdaEntry, ...props }),
  { maxRecordAge: [secs, /maxRecordAge must be a literal value, got an unresolved token/] },
);

tokenTests(
  'FlinkStreamProcessor',
  (stack, store, props) =>
    new FlinkStreamProcessor(stack, 'Subject', { code: FlinkCode.fromJar(jar), sourceStream: store.stream, ...props }),
  {
    applicationName: str,
    checkpointInterval: millis,
    minPauseBetweenCheckpoints: millis,
    parallelism: num,
    parallelismPerKpu: num,
    restartsThreshold: num,
    failedCheckpointsThreshold: num,
    checkpointDurationThreshold: millis,
    sourceLagThreshold: millis,
  },
);

tokenTests(
  'RemoteFunction',
  (stack, _store, props) =>
    new RemoteFunction(stack, 'Subject', { functionType: 'order', entry: handlerEntry('functions/order'), ...props }),
  {
    handler: str,
    description: str,
    memorySize: num,
    timeout: secs,
    reservedConcurrentExecutions: num,
    serverErrorThreshold: num,
    latencyP99Threshold: millis,
    errorsThreshold: num,
    throttlesThreshold: num,
    invocationTimeout: millis,
  },
);

rejectedTokenTests(
  'RemoteFunction',
  (stack, _store, props) =>
    new RemoteFunction(stack, 'Subject', { functionType: 'order', entry: handlerEntry('functions/order'), ...props }),
  {
    functionType: [str, /functionType must be a literal value, got an unresolved token/],
    egressNames: [(s) => [str(s)], /egress name must be a literal value, got an unresolved token/],
  },
);

function statefulFunctions(stack: Stack, store: StreamStore, props: Record<string, unknown>, endpoint = {}) {
  const egress = new StreamStore(stack, 'Egress', { createAlarms: false });
  new StatefulFunctionsProcessor(stack, 'Subject', {
    code: FlinkCode.fromJar(jar),
    eventStore: props.eventStoreRetention ? undefined : store.stream,
    functions: [
      ExternalFunctionEndpoint.fromUrl({
        functionType: 'order',
        endpointUrl: 'https://api123.execute-api.eu-west-1.amazonaws.com/prod/order',
        executeApiArn: 'arn:aws:execute-api:eu-west-1:111122223333:api123/prod/POST/order',
        egressNames: ['order-events'],
        ...endpoint,
      }),
    ],
    ingress: [{ eventType: 'PlaceOrder', functionType: 'order' }],
    egress: [{ name: 'order-events', stream: egress.stream }],
    ...props,
  });
}

tokenTests('StatefulFunctionsProcessor', statefulFunctions, {
  eventStoreRetention: hours,
  stateExportPrefix: str,
  stateExportInterval: secs,
  stateExportRetention: days,
  maxConcurrentCalls: num,
  applicationName: str,
  parallelism: num,
  parallelismPerKpu: num,
  checkpointInterval: millis,
  deadLetterThreshold: num,
});

tokenTests('ExternalFunctionEndpoint', (stack, store, props) => statefulFunctions(stack, store, {}, props), {
  endpointUrl: str,
  executeApiArn: str,
  invocationTimeout: millis,
  maxAttempts: num,
});

tokenTests(
  'DeviceFleetSimulator',
  (stack, store, props) => new DeviceFleetSimulator(stack, 'Subject', { stream: store.stream, ...props }),
  {
    deviceCount: num,
    ratePerSecond: num,
    runDuration: secs,
    scheduleRate: mins,
    anomalyRate: num,
    duplicateRate: num,
    lateRate: num,
    malformedRate: num,
    seed: num,
    memorySize: num,
  },
);

const dashboard: Build = (stack, store, props) =>
  new PipelineDashboard(stack, 'Subject', { rawStream: store, ...props });
tokenTests('PipelineDashboard', dashboard, { dashboardName: str });
rejectedTokenTests('PipelineDashboard', dashboard, {
  period: [secs, /period must be a literal value, got an unresolved token: CloudWatch metrics check their period/],
  defaultInterval: [millis, /defaultInterval must be a literal value, got an unresolved token/],
});

rejectedTokenTests('ReplayRole', (stack, _store, props) => new ReplayRole(stack, 'Subject', props), {
  maxSessionDuration: [secs, /maxSessionDuration must be a literal value, got an unresolved token/],
});

describe('ReplayRole accepts tokens', () => {
  test('an archive prefix', () => {
    synthWithToken(
      (stack) => {
        const archive = new S3ArchiveDestination(stack, 'Archive', {
          stream: new StreamStore(stack, 'Raw').stream,
          prefix: str(stack),
        });
        new ReplayRole(stack, 'Subject', { archives: [{ bucket: archive.bucket, prefix: archive.prefix }] });
      },
      'unused',
      () => undefined,
    );
  });
});

tokenTests(
  'S3ArchiveDestination with partitioning',
  (stack, store, props) =>
    new S3ArchiveDestination(stack, 'Subject', {
      stream: store.stream,
      format: ArchiveFormat.JSON,
      partitioning: ArchivePartitioning.fromJqQuery(
        [{ name: 'device', jqExpression: (props.jqExpression as string) ?? '.deviceId' }],
        { retryDuration: props.retryDuration as Duration },
      ),
    }),
  { jqExpression: str, retryDuration: secs },
);

rejectedTokenTests(
  'S3ArchiveDestination with partitioning',
  (stack, store, props) =>
    new S3ArchiveDestination(stack, 'Subject', {
      stream: store.stream,
      format: ArchiveFormat.JSON,
      partitioning: ArchivePartitioning.fromJqQuery([{ name: props.name as string, jqExpression: '.deviceId' }]),
    }),
  { name: [str, /partition key name must be a literal value, got an unresolved token/] },
);

const glue: Build = (stack, store, props) => new GlueStreamingEtl(stack, 'Subject', { stream: store.stream, ...props });
tokenTests('GlueStreamingEtl', glue, {
  outputPrefix: str,
  deadLetterPrefix: str,
  jobName: str,
  databaseName: str,
  tableName: str,
  numberOfWorkers: num,
  windowSize: secs,
});

tokenTests(
  'GlueStreamingEtl with an event-time window',
  (stack, store, props) =>
    glue(stack, store, { maxFutureSkew: Duration.minutes(5), maxPastAge: Duration.days(1), ...props }),
  { maxFutureSkew: millis, maxPastAge: millis },
);

function kclConsumer(stack: Stack, store: StreamStore, props: Record<string, unknown>, image?: KclConsumerImage) {
  const vpc = new ec2.Vpc(stack, 'Vpc', { flowLogs: { all: {} } });
  new KclConsumer(stack, 'Subject', {
    stream: store.stream,
    vpc,
    image: image ?? KclConsumerImage.fromRegistry('registry.example.com/kcl-consumer:1.0'),
    ...props,
  });
}

tokenTests('KclConsumer', kclConsumer, { desiredCount: num, cpu: num, memoryLimitMiB: num });

rejectedTokenTests('KclConsumer', kclConsumer, {
  applicationName: [str, /applicationName must be a literal value, got an unresolved token: it names the lease table/],
  failoverTime: [millis, /failoverTime must be a literal value, got an unresolved token/],
});

tokenTests(
  'KclConsumerImage',
  (stack, store, props) =>
    kclConsumer(
      stack,
      store,
      {},
      props.name
        ? KclConsumerImage.fromRegistry(props.name as string)
        : KclConsumerImage.fromEcrRepository(
            ecr.Repository.fromRepositoryName(stack, 'Images', 'kcl-consumer'),
            props.tag as string,
          ),
    ),
  { name: str, tag: str },
);

const iceberg: Build = (stack, store, props) =>
  new IcebergDestination(stack, 'Subject', { stream: store.stream, ...props });
tokenTests('IcebergDestination', iceberg, {
  databaseName: str,
  tableName: str,
  uniqueKeys: (s) => [str(s)],
  warehousePrefix: str,
  errorPrefix: str,
  bufferingInterval: secs,
  bufferingSize: mebibytes,
  retryDuration: secs,
  accessLogsExpiration: days,
  dataFreshnessThreshold: secs,
  failedRowsThreshold: num,
});

tokenTests(
  'IcebergDestination with S3 Tables',
  (stack, store, props) =>
    iceberg(stack, store, {
      catalog: IcebergCatalog.s3Tables(new s3tables.CfnTableBucket(stack, 'TableBucket', { tableBucketName: 'lake' })),
      databaseName: 'telemetry',
      tableName: 'raw',
      ...props,
    }),
  { databaseName: str, tableName: str },
);

const icebergColumns: Build = (stack, store, props) =>
  iceberg(stack, store, {
    columns: [
      { name: (props.name as string) ?? 'eventid', type: (props.type as string) ?? 'string' },
      { name: 'deviceid', type: 'string' },
    ],
  });
tokenTests('IcebergDestination columns', icebergColumns, { type: str });
rejectedTokenTests('IcebergDestination columns', icebergColumns, {
  name: [str, /column name must be a literal value, got an unresolved token: it is compared with the other columns/],
});

const openSearch: Build = (stack, store, props) =>
  new OpenSearchDestination(stack, 'Subject', { stream: store.stream, ...props });
tokenTests('OpenSearchDestination', openSearch, {
  indexName: str,
  errorPrefix: str,
  bufferingInterval: secs,
  bufferingSize: mebibytes,
  retryDuration: secs,
  accessLogsExpiration: days,
  dataFreshnessThreshold: secs,
});

tokenTests(
  'OpenSearchDestination backing up all documents',
  (stack, store, props) => openSearch(stack, store, { backupAllDocuments: true, ...props }),
  { backupPrefix: str },
);

tokenTests(
  'OpenSearchTarget.serverlessCollection',
  (stack, store, props) => openSearch(stack, store, { target: OpenSearchTarget.serverlessCollection(props) }),
  { collectionName: str },
);

tokenTests(
  'OpenSearchTarget.domain',
  (stack, store, props) =>
    openSearch(stack, store, {
      target: OpenSearchTarget.domain(
        opensearch.Domain.fromDomainAttributes(stack, 'Domain', {
          domainArn: (props.domainArn as string) ?? 'arn:aws:es:eu-west-1:111122223333:domain/search',
          domainEndpoint: 'https://search-search-abc.eu-west-1.es.amazonaws.com',
        }),
      ),
      indexName: props.indexName,
    }),
  { domainArn: str, indexName: str },
);

const redshift: Build = (stack, store, props) =>
  new RedshiftStreamingIngestion(stack, 'Subject', {
    stream: store.stream,
    vpc: props.existingWorkgroup
      ? undefined
      : new ec2.Vpc(stack, 'Vpc', { maxAzs: 3, natGateways: 0, flowLogs: { all: {} } }),
    ...props,
  });
tokenTests('RedshiftStreamingIngestion', redshift, {
  baseCapacity: num,
  namespaceName: str,
  workgroupName: str,
  databaseName: str,
  schemaName: str,
  viewName: str,
});

tokenTests(
  'RedshiftStreamingIngestion with an existing workgroup',
  (stack, store, props) =>
    redshift(stack, store, {
      existingWorkgroup: {
        workgroupName: 'analytics',
        workgroupArn: 'arn:aws:redshift-serverless:eu-west-1:111122223333:workgroup/0123',
        ...props,
      },
    }),
  { workgroupName: str, workgroupArn: str },
);

tokenTests(
  'DynamoDbCdcIngestion',
  (stack, store, props) =>
    new DynamoDbCdcIngestion(stack, 'Subject', {
      stream: store.stream,
      tableProps: {
        partitionKey: { name: (props.partitionKeyName as string) ?? 'orderId', type: dynamodb.AttributeType.STRING },
        tableName: props.tableName as string,
      },
    }),
  { partitionKeyName: str, tableName: str },
);

function dmsCdc(stack: Stack, store: StreamStore, props: Record<string, unknown>, source?: DmsSource) {
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, flowLogs: { all: {} } });
  const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'DbSecret', 'orders-db');
  new DmsCdcIngestion(stack, 'Subject', {
    stream: store.stream,
    vpc,
    source: source ?? DmsSource.postgres({ secret, databaseName: 'orders' }),
    tables: [{ schemaName: 'public' }],
    ...props,
  });
}

tokenTests('DmsCdcIngestion', dmsCdc, {
  maxCapacityUnits: num,
  minCapacityUnits: num,
  replicationConfigIdentifier: str,
  tables: (s) => [{ schemaName: str(s) }],
});

tokenTests(
  'DmsCdcIngestion table selection',
  (stack, store, props) => dmsCdc(stack, store, { tables: [{ schemaName: 'public', ...props }] }),
  { tableName: str },
);

const dmsSource = (factory: (secret: secretsmanager.ISecret, props: Record<string, unknown>) => DmsSource): Build => {
  return (stack, store, props) =>
    dmsCdc(stack, store, {}, factory(secretsmanager.Secret.fromSecretNameV2(stack, 'Secret', 'db'), props));
};

tokenTests(
  'DmsSource.postgres',
  dmsSource((secret, props) => DmsSource.postgres({ secret, databaseName: 'orders', ...props })),
  { databaseName: str, endpointIdentifier: str, slotName: str },
);

tokenTests(
  'DmsSource.postgres verifying the server',
  dmsSource((secret, props) =>
    DmsSource.postgres({ secret, databaseName: 'orders', sslMode: DmsSslMode.VERIFY_FULL, ...props }),
  ),
  { certificateArn: str },
);

tokenTests(
  'DmsSource.mysql',
  dmsSource((secret, props) => DmsSource.mysql({ secret, databaseName: 'orders', ...props })),
  { serverTimezone: str },
);

tokenTests(
  'DmsSource.fromEndpointArn',
  dmsSource((_secret, props) => DmsSource.fromEndpointArn(props.endpointArn as string)),
  { endpointArn: str },
);

const kinesisAgent: Build = (stack, store, props) =>
  new KinesisAgentIngestion(stack, 'Subject', {
    stream: store.stream,
    flows: [{ filePattern: '/var/log/app/*.log' }],
    ...props,
  });
tokenTests('KinesisAgentIngestion', kinesisAgent, {
  kinesisEndpoint: str,
  cloudWatchEndpoint: str,
  agentPackage: str,
  documentName: str,
});

tokenTests(
  'KinesisAgentIngestion flows',
  (stack, store, props) => kinesisAgent(stack, store, { flows: [{ filePattern: '/var/log/app/*.log', ...props }] }),
  {
    filePattern: str,
    multiLineStartPattern: str,
    skipHeaderLines: num,
    truncatedRecordTerminator: str,
    maxBufferAge: millis,
    maxBufferSizeRecords: num,
    maxBufferSizeBytes: num,
  },
);

const agentProcessor = (processor: (props: Record<string, unknown>) => KinesisAgentProcessor): Build => {
  return (stack, store, props) =>
    kinesisAgent(stack, store, {
      flows: [{ filePattern: '/var/log/app/*.log', dataProcessingOptions: [processor(props)] }],
    });
};

tokenTests(
  'KinesisAgentProcessor.csvToJson',
  agentProcessor((props) =>
    KinesisAgentProcessor.csvToJson((props.customFieldNames as string[]) ?? ['a'], props.delimiter as string),
  ),
  { customFieldNames: (s) => [str(s)], delimiter: str },
);

tokenTests(
  'KinesisAgentProcessor.logToJson',
  agentProcessor((props) => KinesisAgentProcessor.logToJson({ logFormat: KinesisAgentLogFormat.SYSLOG, ...props })),
  { matchPattern: str, customFieldNames: (s) => [str(s)] },
);

tokenTests(
  'KinesisAgentProcessor.addMetadata',
  agentProcessor((props) => KinesisAgentProcessor.addMetadata(props as Record<string, string>)),
  { environment: str },
);

tokenTests(
  'KinesisAgentProcessor.addEc2Metadata',
  agentProcessor((props) =>
    KinesisAgentProcessor.addEc2Metadata({ logFormat: KinesisAgentLogFormat.SYSLOG, ...props }),
  ),
  { metadataTtl: secs },
);
