import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  DynamoDbDestination,
  EventBridgeDestination,
  GrafanaAuthenticationProvider,
  GrafanaVisualisation,
  IcebergDestination,
  InfluxDbDatabase,
  S3ArchiveDestination,
} from '../destination';
import { ApiGatewayIngestion, IngestionSchemas, IotCoreIngestion } from '../ingestion';
import { handlerEntry, validateInteger, validateRange } from '../internal';
import { createAlarm, createAlarmTopic } from '../internal/alarms';
import { nagLabel } from '../internal/nag';
import { serviceNameOf } from '../internal/observed-function';
import { PipelineDashboard } from '../operations';
import {
  FlinkApplicationStart,
  FlinkCode,
  FlinkStreamProcessor,
  GlueStreamingEtl,
  LambdaStreamProcessor,
} from '../processing';
import { DeviceFleetSimulator } from '../source';
import { StreamStore } from '../storage';
import { flinkCodeFromContext, packagedFlinkCode, rejectReplacedContextKeys } from './flink-code-from-context';

/** Object key of the enrichment reference data in the reference data bucket. */
export const REFERENCE_DATA_KEY = 'reference/devices.jsonl';

export interface TimeSeriesAnalyticsStackProps extends StackProps {
  /**
   * The enrichment jar, e.g. `FlinkCode.fromBucket(bucket, key)` for one a CI pipeline built once.
   * @default - `FlinkCode.fromPackage('timeseries-enrichment')`: the jar this package ships (in a checkout, the module's build)
   */
  readonly flinkCode?: FlinkCode;
  /** Initial parallelism of the enrichment application (1 KPU per parallel task). @default 1 */
  readonly flinkParallelism?: number;
  /**
   * Start the enrichment application on deploy, e.g. `FlinkApplicationStart.fromLatestSnapshot()`
   * (`FlinkStreamProcessorProps.startOnDeploy`).
   * @default - not started by the deploy: start it with `aws kinesisanalyticsv2 start-application`
   */
  readonly flinkStartOnDeploy?: FlinkApplicationStart;

  /** Run the device fleet simulator on its schedule. @default true */
  readonly simulatorEnabled?: boolean;
  /** Devices the simulator plays (and that get reference data). @default 100 */
  readonly simulatorDeviceCount?: number;
  /** Records per second the simulator writes while a run lasts. @default 100 */
  readonly simulatorRatePerSecond?: number;

  /** Tumbling window of the time-series calculator, 1 s to 15 minutes. @default Duration.seconds(60) */
  readonly window?: Duration;
  /** z-score at or above which a value is an anomaly. @default 3 */
  readonly anomalyZThreshold?: number;
  /** Percentile computed per metric and window, 0 (exclusive) to 100. @default 95 */
  readonly percentile?: number;

  /**
   * Also run a Glue streaming ETL job on the raw stream (`GlueStreamingEtl`): validated records as Parquet, bad ones
   * dead-lettered with their reason, in S3. Billed per DPU-hour for as long as the job runs.
   * @default false
   */
  readonly enableGlueEtl?: boolean;
  /**
   * Also archive the raw stream into an Apache Iceberg table (`IcebergDestination`, Glue Data Catalog), upserted by
   * event id so that producer retries do not add rows.
   * @default false
   */
  readonly enableIcebergArchive?: boolean;
  /** Create the Amazon Managed Grafana workspace (needs IAM Identity Center or SAML). @default false */
  readonly enableGrafana?: boolean;
  /** @default [GrafanaAuthenticationProvider.AWS_SSO] */
  readonly grafanaAuthenticationProviders?: GrafanaAuthenticationProvider[];
  /** SAML IdP metadata URL, with the SAML provider (or `grafanaSamlIdpMetadataXml`). @default - none */
  readonly grafanaSamlIdpMetadataUrl?: string;
  /** SAML IdP metadata document, with the SAML provider (or `grafanaSamlIdpMetadataUrl`). @default - none */
  readonly grafanaSamlIdpMetadataXml?: string;
  /**
   * ARN of a secret holding an InfluxDB API token (JSON {"token": "..."}) for the Grafana InfluxDB data source; create
   * the token with `influx auth create --read-bucket` after the first deployment. With it the workspace joins the
   * database's VPC and gets the InfluxDB dashboards.
   * @default - CloudWatch dashboards only
   */
  readonly grafanaInfluxDbTokenSecretArn?: string;

  /**
   * Applies to the streams, the latest-state table, the database (with its secret and log bucket) and their keys.
   * The reference data and archive buckets are always retained.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The time-series analytics architecture: telemetry from a REST API, AWS IoT Core and a device fleet simulator lands
 * in a raw stream; a Managed Flink application validates, deduplicates and enriches it into an enriched stream (bad
 * records go to a dead-letter stream with their reason); a Lambda aggregates tumbling windows in memory, detects
 * anomalies and writes Timestream for InfluxDB, the latest state per device in DynamoDB (with a read API) and
 * anomaly events to EventBridge; the raw stream is archived to S3 as Parquet; a CloudWatch dashboard covers it all,
 * and Managed Grafana optionally sits on top.
 */
export class TimeSeriesAnalyticsStack extends Stack {
  public readonly alarmTopic: sns.Topic;
  public readonly rawStream: StreamStore;
  public readonly enrichedStream: StreamStore;
  public readonly deadLetterStream: StreamStore;
  public readonly restIngestion: ApiGatewayIngestion;
  public readonly iotIngestion: IotCoreIngestion;
  public readonly simulator: DeviceFleetSimulator;
  public readonly referenceDataBucket: s3.Bucket;
  public readonly enrichment: FlinkStreamProcessor;
  public readonly timeSeriesDatabase: InfluxDbDatabase;
  public readonly latestState: DynamoDbDestination;
  public readonly anomalyEvents: EventBridgeDestination;
  public readonly calculator: LambdaStreamProcessor;
  public readonly archive: S3ArchiveDestination;
  public readonly grafana?: GrafanaVisualisation;
  /** Fires when the calculator starts a new shard without its parents' remembered event ids. */
  public readonly shardLineageAlarm: cloudwatch.Alarm;
  /** The Glue streaming ETL job, with `enableGlueEtl`. */
  public readonly glueEtl?: GlueStreamingEtl;
  /** The Iceberg archive of the raw stream, with `enableIcebergArchive`. */
  public readonly icebergArchive?: IcebergDestination;
  public readonly dashboard: PipelineDashboard;

  constructor(scope: Construct, id: string, props: TimeSeriesAnalyticsStackProps = {}) {
    super(scope, id, props);
    validateProps(props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const deviceCount = props.simulatorDeviceCount ?? 100;

    this.alarmTopic = createAlarmTopic(this, {
      keyDescription: 'Encrypts the alarm topic of the time-series pipeline',
      removalPolicy,
    });
    const alarmTopic = this.alarmTopic;

    // Storage: raw telemetry, enriched telemetry, and the dead letters of the enrichment (kept a week for triage).
    this.rawStream = new StreamStore(this, 'RawStream', { alarmTopic, removalPolicy });
    this.enrichedStream = new StreamStore(this, 'EnrichedStream', { alarmTopic, removalPolicy });
    this.deadLetterStream = new StreamStore(this, 'DeadLetterStream', {
      retentionPeriod: Duration.days(7),
      removalPolicy,
      // Nobody reads dead letters continuously, so an iterator-age alarm would only ever be noise.
      createAlarms: false,
    });

    // Sources and ingestion.
    this.restIngestion = new ApiGatewayIngestion(this, 'RestIngestion', {
      stream: this.rawStream.stream,
      partitionKeyField: 'deviceId',
      eventSchema: IngestionSchemas.telemetryRecord(),
      alarmTopic,
    });
    this.iotIngestion = new IotCoreIngestion(this, 'IotIngestion', { stream: this.rawStream.stream, alarmTopic });
    this.simulator = new DeviceFleetSimulator(this, 'DeviceFleet', {
      stream: this.rawStream.stream,
      enabled: props.simulatorEnabled ?? true,
      deviceCount,
      ratePerSecond: props.simulatorRatePerSecond ?? 100,
    });

    // Enrichment reference data, read by the Flink application only.
    this.referenceDataBucket = this.createReferenceData(deviceCount);
    this.enrichment = new FlinkStreamProcessor(this, 'Enrichment', {
      code: props.flinkCode ?? packagedFlinkCode('timeseries-enrichment', 'TimeSeriesAnalyticsStackProps.flinkCode'),
      sourceStream: this.rawStream.stream,
      sinkStream: this.enrichedStream.stream,
      deadLetterStream: this.deadLetterStream.stream,
      parallelism: props.flinkParallelism ?? 1,
      startOnDeploy: props.flinkStartOnDeploy,
      additionalPropertyGroups: {
        Enrichment: {
          'reference.s3.uri': this.referenceDataBucket.s3UrlForObject(REFERENCE_DATA_KEY),
          'reference.refresh.seconds': '300',
        },
        Processing: {
          'dedupe.ttl.minutes': '60',
          'max.out.of.orderness.seconds': '30',
          'max.future.skew.seconds': '300',
          'max.past.age.hours': '24',
        },
      },
      alarmTopic,
    });
    this.enrichment.grantReadS3(this.referenceDataBucket, REFERENCE_DATA_KEY);

    // Destinations.
    this.timeSeriesDatabase = new InfluxDbDatabase(this, 'TimeSeriesDatabase', {
      removalPolicy,
      alarmTopic,
      // Exactly what the calculator calls from inside the VPC; DynamoDB goes through the gateway endpoint.
      interfaceEndpoints: [
        ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
        ec2.InterfaceVpcEndpointAwsService.SQS,
        ec2.InterfaceVpcEndpointAwsService.XRAY,
        // ListShards, for a new shard's parents after a reshard (the event source mapping reads outside the VPC).
        ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
      ],
    });
    this.latestState = new DynamoDbDestination(this, 'LatestState', {
      partitionKeyName: 'deviceId',
      removalPolicy,
      enableReadApi: true,
      // The ingestion API already sets the account's API Gateway logging role; one owner per stack.
      readApiOptions: { cloudWatchRole: false, alarmTopic },
      alarmTopic,
    });
    // Anomaly events, with an example rule that keeps them in a log group.
    this.anomalyEvents = new EventBridgeDestination(this, 'AnomalyEvents', { alarmTopic });
    const account = this.restIngestion.api.node.tryFindChild('Account');
    if (account && this.latestState.api) {
      // The read API's stage logs at ERROR, which needs the account's logging role to be set first.
      this.latestState.api.deploymentStage.node.addDependency(account);
    }

    // The time-series calculator: tumbling windows over the enriched stream, inside the database's VPC.
    const db = this.timeSeriesDatabase;
    this.calculator = new LambdaStreamProcessor(this, 'Calculator', {
      stream: this.enrichedStream.stream,
      entry: handlerEntry('timeseries-calculator'),
      description: 'Tumbling-window aggregates, anomaly detection, latest state per device',
      memorySize: 1024,
      tumblingWindow: props.window ?? Duration.seconds(60),
      // Inside the database's VPC (isolated subnets, no NAT): it reaches AWS APIs through the VPC endpoints.
      vpc: db.vpc,
      vpcSubnets: db.writerSubnets,
      securityGroups: [db.writerSecurityGroup],
      environment: {
        ...db.writerEnvironment(),
        LATEST_STATE_TABLE: this.latestState.table.tableName,
        EVENT_BUS_NAME: this.anomalyEvents.eventBusName,
        ANOMALY_Z_THRESHOLD: String(props.anomalyZThreshold ?? 3),
        PERCENTILE: String(props.percentile ?? 95),
      },
      alarmTopic,
    });
    db.grantWrite(this.calculator.role);
    grantLatestState(this.calculator.role, this.latestState);
    // The handler's own call (shard-lineage.ts): the parents of a new shard, so its duplicate memory starts from
    // theirs. Its own statement (the Sid keeps CDK from folding it into the mapping's read grant, which may change
    // with the read mode), on the enriched stream only.
    this.calculator.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ShardLineage',
        actions: ['kinesis:ListShards'],
        resources: [this.enrichedStream.stream.streamArn],
      }),
    );
    this.anomalyEvents.grantPutEvents(this.calculator.role);

    // Everything that arrived, as it arrived, in Parquet for Athena (records Parquet cannot hold go to errors/).
    this.archive = new S3ArchiveDestination(this, 'Archive', {
      stream: this.rawStream.stream,
      // The raw stream carries malformed input by design (the enrichment dead-letters it with its reason), and such
      // records fail conversion; alarm only on a surge.
      failedConversionThreshold: 500,
      alarmTopic,
    });

    if (props.enableGlueEtl ?? false) {
      this.glueEtl = new GlueStreamingEtl(this, 'GlueEtl', { stream: this.rawStream.stream });
    }
    if (props.enableIcebergArchive ?? false) {
      this.icebergArchive = new IcebergDestination(this, 'IcebergArchive', {
        stream: this.rawStream.stream,
        uniqueKeys: ['eventid'],
        // As for the S3 archive: the raw stream carries malformed input by design; alarm only on a surge.
        failedRowsThreshold: 500,
        alarmTopic,
      });
    }

    if (props.enableGrafana ?? false) {
      this.grafana = this.createGrafana(props);
    }

    // The calculator goes on without a new shard's parents when ListShards cannot name them (a duplicate across
    // the reshard may then count twice): rare, and worth a look when it happens.
    this.shardLineageAlarm = createAlarm(
      this,
      'ShardLineageAlarm',
      {
        metric: new cloudwatch.Metric({
          namespace: 'CdkStreamingPatterns',
          metricName: 'ShardLineageUnavailable',
          dimensionsMap: { service: serviceNameOf(this.calculator, this.calculator.node.id) },
          statistic: 'Sum',
          period: Duration.minutes(5),
        }),
        threshold: 1,
        alarmDescription: `${this.calculator.node.path} could not find a new shard's parents: duplicates across that reshard may count twice`,
      },
      alarmTopic,
    );

    this.dashboard = new PipelineDashboard(this, 'Dashboard', {
      extraAlarms: [this.shardLineageAlarm],
      rawStream: this.rawStream,
      enrichedStream: this.enrichedStream,
      deadLetterStream: this.deadLetterStream,
      flinkApplication: this.enrichment,
      streamProcessor: this.calculator,
      latestState: this.latestState,
      archive: this.archive,
      anomalyEvents: this.anomalyEvents,
      apiIngestion: this.restIngestion,
      iotIngestion: this.iotIngestion,
      simulator: this.simulator,
    });

    // What operators need after `cdk deploy` (the two REST APIs add their own Endpoint outputs).
    const outputs: Record<string, [string, string]> = {
      RawStreamName: [this.rawStream.streamName, 'Raw telemetry stream: target of `npm run simulate -- --stream`'],
      EnrichedStreamName: [this.enrichedStream.streamName, 'Enriched telemetry stream (Flink output)'],
      DeadLetterStreamName: [this.deadLetterStream.streamName, 'Records the enrichment rejected, with their reason'],
      ReferenceDataUri: [this.referenceDataBucket.s3UrlForObject(REFERENCE_DATA_KEY), 'Enrichment reference data'],
      InfluxDbUrl: [db.endpointUrl, 'Timestream for InfluxDB endpoint (reachable inside its VPC only)'],
      InfluxDbSecretArn: [db.secret.secretArn, 'InfluxDB admin credentials'],
      LatestStateTableName: [this.latestState.table.tableName, 'Latest state per device'],
      AnomalyEventBusName: [this.anomalyEvents.eventBusName, 'EventBridge bus of anomaly events'],
      ArchiveBucketName: [this.archive.bucket.bucketName, 'Raw telemetry archive (Parquet)'],
      DashboardName: [this.dashboard.dashboard.dashboardName, 'CloudWatch dashboard of the pipeline'],
    };
    if (this.grafana) outputs.GrafanaUrl = [this.grafana.workspaceUrl, 'Managed Grafana workspace'];
    for (const [outputId, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, outputId, { value, description });
    }
  }

  /** Always retained: the bucket holds the seeded object, and CloudFormation cannot delete a non-empty bucket. */
  private createReferenceData(deviceCount: number): s3.Bucket {
    const key = new kms.Key(this, 'ReferenceDataKey', {
      description: 'Encrypts the enrichment reference data',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const bucket = new s3.Bucket(this, 'ReferenceData', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason:
        'Holds one small reference file written by the deployment and read by the Flink application; versioning keeps every change, CloudTrail data events cover object-level audit.',
    });
    const deployment = new s3deploy.BucketDeployment(this, 'ReferenceDataSeed', {
      destinationBucket: bucket,
      sources: [s3deploy.Source.data(REFERENCE_DATA_KEY, referenceData(deviceCount, this.region))],
      // Only the seeded object: other files users add to the bucket are left alone.
      prune: false,
      retainOnDelete: true,
      memoryLimit: 256,
    });
    acknowledgeBucketDeployment(this, deployment);
    return bucket;
  }

  private createGrafana(props: TimeSeriesAnalyticsStackProps): GrafanaVisualisation {
    const db = this.timeSeriesDatabase;
    const tokenSecret = props.grafanaInfluxDbTokenSecretArn
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'GrafanaInfluxDbToken', props.grafanaInfluxDbTokenSecretArn)
      : undefined;
    const withInflux = tokenSecret !== undefined;
    const grafana = new GrafanaVisualisation(this, 'Grafana', {
      authenticationProviders: props.grafanaAuthenticationProviders ?? [GrafanaAuthenticationProvider.AWS_SSO],
      samlIdpMetadataUrl: props.grafanaSamlIdpMetadataUrl,
      samlIdpMetadataXml: props.grafanaSamlIdpMetadataXml,
      vpc: withInflux ? db.vpc : undefined,
      influxDbUrl: withInflux ? db.endpointUrl : undefined,
      influxDbOrganization: withInflux ? db.organization : undefined,
      influxDbBucket: withInflux ? db.bucket : undefined,
      influxDbTokenSecret: tokenSecret,
      removalPolicy: props.removalPolicy,
    });
    if (withInflux) {
      db.allowFrom(grafana);
      // In a VPC the workspace reaches its CloudWatch data source through the VPC, which has no NAT gateway.
      const endpoint = db.addInterfaceEndpoint(ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING);
      endpoint?.connections.allowDefaultPortFrom(grafana, 'HTTPS from the Grafana workspace');
    }
    return grafana;
  }
}

/**
 * Reads the stack's settings from CDK context (`cdk.json` or `-c key=value`), so the CLI app can be configured
 * without code. Keys are `timeseries:<prop>`; values given on the command line arrive as strings and are parsed.
 */
export function timeSeriesAnalyticsPropsFromContext(scope: Construct): TimeSeriesAnalyticsStackProps {
  const get = (key: string): unknown => scope.node.tryGetContext(`timeseries:${key}`);
  rejectReplacedContextKeys(scope, 'timeseries', ['flinkJarPath', 'flinkCodeBucketName', 'flinkCodeKey'], 'flinkCode');
  const str = (key: string): string | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new Error(`context timeseries:${key} must be a string, got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (key: string): boolean | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    throw new Error(`context timeseries:${key} must be true or false, got ${JSON.stringify(v)}`);
  };
  const num = (key: string): number | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN;
    if (!Number.isFinite(n)) throw new Error(`context timeseries:${key} must be a number, got ${JSON.stringify(v)}`);
    return n;
  };
  const providers = get('grafanaAuthenticationProviders');
  const providerList =
    providers === undefined || providers === null || providers === ''
      ? undefined
      : (Array.isArray(providers) ? providers : String(providers).split(',')).map((p) => {
          const name = String(p).trim();
          if (!Object.values(GrafanaAuthenticationProvider).includes(name as GrafanaAuthenticationProvider)) {
            throw new Error(
              `context timeseries:grafanaAuthenticationProviders must list AWS_SSO or SAML, got '${name}'`,
            );
          }
          return name as GrafanaAuthenticationProvider;
        });
  const removal = str('removalPolicy');
  if (removal !== undefined && removal !== 'RETAIN' && removal !== 'DESTROY') {
    throw new Error(`context timeseries:removalPolicy must be RETAIN or DESTROY, got '${removal}'`);
  }
  const windowSeconds = num('windowSeconds');
  const enableGrafana = bool('enableGrafana') ?? false;
  return {
    flinkCode: flinkCodeFromContext('timeseries:flinkCode', str('flinkCode')),
    flinkParallelism: num('flinkParallelism'),
    flinkStartOnDeploy: flinkStartFromContext(str('startFlinkOnDeploy')),
    simulatorEnabled: bool('simulatorEnabled'),
    simulatorDeviceCount: num('simulatorDeviceCount'),
    simulatorRatePerSecond: num('simulatorRatePerSecond'),
    window: windowSeconds === undefined ? undefined : Duration.seconds(windowSeconds),
    anomalyZThreshold: num('anomalyZThreshold'),
    percentile: num('percentile'),
    enableGlueEtl: bool('enableGlueEtl'),
    enableIcebergArchive: bool('enableIcebergArchive'),
    enableGrafana,
    // Settings of a disabled workspace are ignored rather than rejected, so cdk.json can keep them around.
    grafanaAuthenticationProviders: enableGrafana ? providerList : undefined,
    grafanaInfluxDbTokenSecretArn: enableGrafana ? str('grafanaInfluxDbTokenSecretArn') : undefined,
    grafanaSamlIdpMetadataUrl: enableGrafana ? str('grafanaSamlIdpMetadataUrl') : undefined,
    grafanaSamlIdpMetadataXml: enableGrafana ? str('grafanaSamlIdpMetadataXml') : undefined,
    removalPolicy:
      removal === undefined ? undefined : removal === 'DESTROY' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  };
}

/** `timeseries:startFlinkOnDeploy`: `latest-snapshot`, `no-snapshot` or `false`. */
function flinkStartFromContext(value: string | undefined): FlinkApplicationStart | undefined {
  if (value === undefined || value === 'false') return undefined;
  if (value === 'latest-snapshot') return FlinkApplicationStart.fromLatestSnapshot();
  if (value === 'no-snapshot') return FlinkApplicationStart.withoutSnapshot();
  throw new Error(
    `context timeseries:startFlinkOnDeploy must be latest-snapshot, no-snapshot or false, got '${value}'`,
  );
}

function validateProps(props: TimeSeriesAnalyticsStackProps): void {
  validateRange('anomalyZThreshold', props.anomalyZThreshold, Number.MIN_VALUE, 1000);
  if (props.percentile !== undefined && !Token.isUnresolved(props.percentile)) {
    if (!(props.percentile > 0 && props.percentile <= 100)) {
      throw new Error(`percentile must be above 0 and at most 100, got ${props.percentile}`);
    }
  }
  validateInteger('flinkParallelism', props.flinkParallelism, 1, 10000);
  if (props.grafanaInfluxDbTokenSecretArn && !props.enableGrafana) {
    throw new Error('grafanaInfluxDbTokenSecretArn needs enableGrafana true');
  }
  if (props.grafanaAuthenticationProviders && !props.enableGrafana) {
    throw new Error('grafanaAuthenticationProviders needs enableGrafana true');
  }
  if ((props.grafanaSamlIdpMetadataUrl || props.grafanaSamlIdpMetadataXml) && !props.enableGrafana) {
    throw new Error('grafanaSamlIdpMetadataUrl and grafanaSamlIdpMetadataXml need enableGrafana true');
  }
}

const SITES = ['plant-1', 'plant-2', 'plant-3', 'warehouse-1', 'office-1'];
const DEVICE_TYPES = ['thermostat', 'air-quality', 'pressure-gauge', 'vibration-sensor', 'edge-gateway'];

/**
 * Reference data for the simulated fleet, one JSON line per device with the ids the simulator uses
 * (`device-00000`...). Deterministic so the deployment only changes when the fleet does.
 */
export function referenceData(deviceCount: number, region: string): string {
  const lines: string[] = [];
  for (let i = 0; i < deviceCount; i++) {
    lines.push(
      JSON.stringify({
        deviceId: `device-${String(i).padStart(5, '0')}`,
        site: SITES[i % SITES.length],
        deviceType: DEVICE_TYPES[Math.floor(i / SITES.length) % DEVICE_TYPES.length],
        region,
      }),
    );
  }
  return lines.join('\n') + '\n';
}

/** Exactly what the calculator does with the table: BatchGetItem for baselines, GetItem for the shard's recent event
 * ids, conditional PutItem for state. */
function grantLatestState(role: iam.IRole, destination: DynamoDbDestination): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
      resources: [destination.table.tableArn],
    }),
  );
  if (destination.encryptionKey) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [destination.encryptionKey.keyArn],
      }),
    );
  }
}

/** The findings of aws-cdk-lib's own BucketDeployment handler, which this stack cannot change. */
function acknowledgeBucketDeployment(stack: Stack, deployment: s3deploy.BucketDeployment): void {
  const handler = stack.node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
  if (!(handler instanceof lambda.Function) || !handler.role) {
    throw new Error(`no BucketDeployment handler found for ${deployment.node.path}`);
  }
  const acknowledge = (id: string, reason: string) =>
    Validations.of(handler).acknowledge({ id: `AwsSolutions::AwsSolutions-${id}`, reason });
  acknowledge(
    'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "aws-cdk-lib's BucketDeployment handler logs with the basic execution managed policy; it runs only during deployments.",
  );
  acknowledge(
    'L1',
    "The BucketDeployment handler's Python runtime is chosen by aws-cdk-lib and moves with its releases.",
  );
  // The handler copies from the CDK asset bucket into the reference data bucket: aws-cdk-lib grants it read on the
  // assets and read/write on the destination (bucket.grantRead / grantReadWrite), wildcards included.
  const policy = handler.role.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
  const document = policy ? (stack.resolve(policy.document) as { Statement?: Array<Record<string, unknown>> }) : {};
  for (const statement of document.Statement ?? []) {
    for (const action of ([] as unknown[]).concat(statement.Action ?? [])) {
      if (typeof action === 'string' && action.includes('*')) {
        acknowledge(
          `IAM5[Action::${action}]`,
          `aws-cdk-lib's BucketDeployment grants ${action} to copy the seed files.`,
        );
      }
    }
    for (const resource of ([] as unknown[]).concat(statement.Resource ?? [])) {
      const label = nagLabel(resource);
      if (label.includes('*')) {
        acknowledge(
          `IAM5[Resource::${label}]`,
          "aws-cdk-lib's BucketDeployment reads the staged asset objects and writes the seeded objects under generated keys.",
        );
      }
    }
  }
}
