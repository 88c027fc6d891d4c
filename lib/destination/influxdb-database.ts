import { Aws, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as timestream from 'aws-cdk-lib/aws-timestream';
import { Construct } from 'constructs';
import { validateInteger, validateRange } from '../internal';
import { AlarmSpec, createAlarm } from '../internal/alarms';
import { ITimeSeriesDatabase } from './time-series-database';

/** How a Timestream for InfluxDB instance is deployed. */
export enum InfluxDbDeploymentType {
  /** One instance in one Availability Zone. */
  SINGLE_AZ = 'SINGLE_AZ',
  /** A standby in a second Availability Zone for failover (needs subnets in two zones). */
  MULTI_AZ = 'WITH_MULTIAZ_STANDBY',
}

/** The port InfluxDB listens on. */
export const INFLUXDB_PORT = 8086;

export interface InfluxDbDatabaseProps {
  /**
   * The VPC for the InfluxDB instance and its writers.
   * @default - a new VPC with isolated subnets in 2 Availability Zones and no NAT gateway
   */
  readonly existingVpc?: ec2.IVpc;
  /** Subnets for the instance and its writers. @default - the isolated subnets (private with egress if there are none) */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Also allow these peers (e.g. a CIDR) to reach port 8086. @default - only the writer security group and `allowFrom` */
  readonly allowedPeers?: ec2.IPeer[];
  /**
   * Interface endpoints to create in the VPC so writers reach AWS services without a NAT gateway.
   * @default - Secrets Manager, EventBridge, SQS and Kinesis Data Streams in a new VPC; none in an existing VPC
   */
  readonly interfaceEndpoints?: ec2.InterfaceVpcEndpointAwsService[];
  /** Add a DynamoDB gateway endpoint. @default - true in a new VPC, false in an existing VPC */
  readonly dynamoDbGatewayEndpoint?: boolean;
  /** Name of the instance (3-40 characters, letters, digits, single hyphens). @default - derived from the construct path */
  readonly instanceName?: string;
  /** Name of the initial admin user. @default 'admin' */
  readonly username?: string;
  /** Initial organization. @default 'telemetry' */
  readonly organization?: string;
  /** Initial bucket. @default 'telemetry' */
  readonly bucket?: string;
  /** @default 'db.influx.medium' */
  readonly instanceType?: string;
  /** Storage in GiB, 20 to 16384. @default 20 */
  readonly allocatedStorageGiB?: number;
  /** 'InfluxIOIncludedT1' (3000 IOPS), 'InfluxIOIncludedT2' (12000) or 'InfluxIOIncludedT3' (16000). @default 'InfluxIOIncludedT1' */
  readonly storageType?: string;
  /** @default InfluxDbDeploymentType.SINGLE_AZ */
  readonly deploymentType?: InfluxDbDeploymentType;
  /** Bucket for the engine logs. @default - a new encrypted bucket */
  readonly logBucket?: s3.IBucket;
  /** Key that encrypts the admin credentials secret. @default - a new KMS key with rotation */
  readonly secretEncryptionKey?: kms.IKey;
  /** Applies to the instance, its secret, the secret's key and the log bucket it creates. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;

  /** Create the default alarms. @default true */
  readonly createAlarms?: boolean;
  /** Alarm when CPUUtilization (Maximum, 5 minutes) reaches this percentage for 3 periods in a row. @default 90 */
  readonly cpuUtilizationThreshold?: number;
  /** Alarm when MemoryUtilization (Maximum, 5 minutes) reaches this percentage for 3 periods in a row. @default 90 */
  readonly memoryUtilizationThreshold?: number;
  /** Alarm when DiskUtilization (Maximum, 5 minutes) reaches this percentage. @default 80 */
  readonly diskUtilizationThreshold?: number;
  /** Topic notified when an alarm fires or recovers. @default - no action */
  readonly alarmTopic?: sns.ITopic;
}

/** The CloudWatch namespace of Timestream for InfluxDB instance metrics (dimension `DbInstanceName`). */
export const INFLUXDB_METRICS_NAMESPACE = 'AWS/Timestream/InfluxDB';

const DEFAULT_ENDPOINTS = [
  ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
  ec2.InterfaceVpcEndpointAwsService.SQS,
  ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
];
const INSTANCE_TYPES = [
  'db.influx.medium',
  'db.influx.large',
  'db.influx.xlarge',
  'db.influx.2xlarge',
  'db.influx.4xlarge',
  'db.influx.8xlarge',
  'db.influx.12xlarge',
  'db.influx.16xlarge',
  'db.influx.24xlarge',
];
const STORAGE_TYPES = ['InfluxIOIncludedT1', 'InfluxIOIncludedT2', 'InfluxIOIncludedT3'];

/**
 * Time-series storage in Amazon Timestream for InfluxDB (InfluxDB 2), the default for the telemetry pipeline:
 * private in a VPC without NAT, reachable on 8086 only from the writer security group and peers you allow, admin
 * credentials generated in Secrets Manager (encrypted with a customer-managed key), engine logs in an encrypted bucket,
 * VPC endpoints so a Lambda writer in the VPC reaches the AWS services it calls, and alarms on CPU, memory and disk
 * (namespace `AWS/Timestream/InfluxDB`, dimension `DbInstanceName`).
 */
export class InfluxDbDatabase extends Construct implements ITimeSeriesDatabase, ec2.IConnectable {
  /** The VPC of the instance. */
  public readonly vpc: ec2.IVpc;
  /** Subnets writers run in. */
  public readonly writerSubnets: ec2.SubnetSelection;
  /** Attach to writers (e.g. the time-series Lambda): it may reach port 8086 and the VPC endpoints. */
  public readonly writerSecurityGroup: ec2.ISecurityGroup;
  /** The instance's security group. */
  public readonly securityGroup: ec2.ISecurityGroup;
  /** The instance's connections (default port 8086). */
  public readonly connections: ec2.Connections;
  /** Secret with the admin credentials as JSON {"username","password"}. */
  public readonly secret: secretsmanager.ISecret;
  /** https://<endpoint>:8086 */
  public readonly endpointUrl: string;
  /** The InfluxDB organization. */
  public readonly organization: string;
  /** The InfluxDB bucket. */
  public readonly bucket: string;
  /** The L1 instance. */
  public readonly instance: timestream.CfnInfluxDBInstance;
  /** The bucket receiving the engine logs. */
  public readonly logBucket: s3.IBucket;
  /** The key that encrypts `secret`. */
  public readonly secretEncryptionKey: kms.IKey;
  /** Name of the instance: the `DbInstanceName` dimension of its metrics. */
  public readonly instanceName: string;
  /** Alarms created by this construct. */
  public readonly alarms: cloudwatch.Alarm[] = [];

  private readonly endpointServices = new Set<string>();

  constructor(scope: Construct, id: string, props: InfluxDbDatabaseProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    validateProps(props);

    const newVpc = props.existingVpc === undefined;
    const vpc =
      props.existingVpc ??
      new ec2.Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [{ name: 'timeseries', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      });
    this.vpc = vpc;
    const subnetSelection =
      props.vpcSubnets ??
      (vpc.isolatedSubnets.length > 0
        ? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }
        : { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    this.writerSubnets = subnetSelection;
    const subnets = vpc.selectSubnets(subnetSelection);
    const deploymentType = props.deploymentType ?? InfluxDbDeploymentType.SINGLE_AZ;
    // Zones of a new VPC in an environment-agnostic stack are tokens, one per zone, so counting still works.
    const zones = new Set(subnets.availabilityZones).size;
    if (deploymentType === InfluxDbDeploymentType.MULTI_AZ && zones < 2) {
      throw new Error(`deploymentType MULTI_AZ needs subnets in two Availability Zones, got subnets in ${zones}`);
    }

    const logBucket =
      props.logBucket ??
      new s3.Bucket(this, 'LogBucket', {
        encryption: s3.BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned: true,
        removalPolicy,
        lifecycleRules: [{ expiration: Duration.days(90), noncurrentVersionExpiration: Duration.days(30) }],
      });
    this.logBucket = logBucket;
    if (!props.logBucket) {
      Validations.of(logBucket).acknowledge({
        id: 'AwsSolutions::AwsSolutions-S1',
        reason: 'This bucket only receives InfluxDB engine and VPC flow logs; logging its own access would recurse.',
      });
    }
    // Timestream for InfluxDB delivers engine logs with its service principal, for this account only.
    logBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('timestream-influxdb.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [logBucket.arnForObjects('InfluxLogs/*')],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    if (newVpc) {
      vpc.addFlowLog('FlowLog', {
        destination: ec2.FlowLogDestination.toS3(logBucket, 'vpc-flow-logs/'),
        trafficType: ec2.FlowLogTrafficType.REJECT,
      });
    }

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: `InfluxDB instance of ${this.node.path}: port ${INFLUXDB_PORT} from writers only`,
      allowAllOutbound: false,
    });
    this.securityGroup = securityGroup;
    this.connections = new ec2.Connections({
      securityGroups: [securityGroup],
      defaultPort: ec2.Port.tcp(INFLUXDB_PORT),
    });
    const writerSecurityGroup = new ec2.SecurityGroup(this, 'WriterSecurityGroup', {
      vpc,
      description: `Writers of ${this.node.path}: reach InfluxDB and the VPC endpoints`,
      allowAllOutbound: true,
    });
    this.writerSecurityGroup = writerSecurityGroup;
    this.allowFrom(writerSecurityGroup);
    for (const peer of props.allowedPeers ?? []) {
      securityGroup.addIngressRule(peer, ec2.Port.tcp(INFLUXDB_PORT), `InfluxDB from ${peer.uniqueId}`);
    }

    const username = props.username ?? 'admin';
    this.secretEncryptionKey =
      props.secretEncryptionKey ??
      new kms.Key(this, 'SecretKey', {
        description: `Encrypts the InfluxDB admin credentials of ${this.node.path}`,
        enableKeyRotation: true,
        removalPolicy,
      });
    const secret = new secretsmanager.Secret(this, 'Secret', {
      description: `Admin credentials of the InfluxDB instance of ${this.node.path}`,
      encryptionKey: this.secretEncryptionKey,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username }),
        generateStringKey: 'password',
        // The instance accepts letters and digits only, 8 to 64 characters.
        excludePunctuation: true,
        includeSpace: false,
        passwordLength: 32,
      },
      removalPolicy,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'The password only seeds the initial InfluxDB admin user; InfluxDB has no rotation hook, so rotating the secret would break writers.',
    });
    this.secret = secret;

    this.organization = props.organization ?? 'telemetry';
    this.bucket = props.bucket ?? 'telemetry';
    this.instanceName = props.instanceName ?? instanceNameFor(this);
    const instance = new timestream.CfnInfluxDBInstance(this, 'Resource', {
      name: this.instanceName,
      dbInstanceType: props.instanceType ?? 'db.influx.medium',
      allocatedStorage: props.allocatedStorageGiB ?? 20,
      dbStorageType: props.storageType ?? 'InfluxIOIncludedT1',
      deploymentType,
      networkType: 'IPV4',
      publiclyAccessible: false,
      port: INFLUXDB_PORT,
      username,
      // A dynamic reference: CloudFormation resolves it at deploy time, the template holds no password.
      password: secret.secretValueFromJson('password').unsafeUnwrap(),
      organization: this.organization,
      bucket: this.bucket,
      vpcSubnetIds: subnets.subnetIds.slice(0, 3),
      vpcSecurityGroupIds: [securityGroup.securityGroupId],
      logDeliveryConfiguration: { s3Configuration: { bucketName: logBucket.bucketName, enabled: true } },
    });
    instance.applyRemovalPolicy(removalPolicy);
    // Timestream for InfluxDB requires the log delivery bucket policy to exist before the instance is created.
    if (logBucket.policy) instance.node.addDependency(logBucket.policy);
    this.instance = instance;
    this.endpointUrl = `https://${instance.attrEndpoint}:${INFLUXDB_PORT}`;

    if (props.dynamoDbGatewayEndpoint ?? newVpc) {
      vpc.addGatewayEndpoint('DynamoDbEndpoint', {
        service: ec2.GatewayVpcEndpointAwsService.DYNAMODB,
        subnets: [subnetSelection],
      });
    }
    for (const service of props.interfaceEndpoints ?? (newVpc ? DEFAULT_ENDPOINTS : [])) {
      this.addInterfaceEndpoint(service);
    }
    if (props.createAlarms ?? true) this.createAlarms(props);
  }

  /** Any Timestream for InfluxDB instance metric, scoped to this instance. @default statistic Average over 5 minutes */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: INFLUXDB_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { DbInstanceName: this.instanceName },
      ...props,
    });
  }

  /** CPUUtilization, percent. @default statistic Maximum over 5 minutes */
  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('CPUUtilization', { statistic: 'Maximum', ...props });
  }

  /** MemoryUtilization, percent. @default statistic Maximum over 5 minutes */
  public metricMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('MemoryUtilization', { statistic: 'Maximum', ...props });
  }

  /** DiskUtilization, percent of the allocated storage. @default statistic Maximum over 5 minutes */
  public metricDiskUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('DiskUtilization', { statistic: 'Maximum', ...props });
  }

  /** HeapMemoryUsage, bytes. @default statistic Maximum over 5 minutes */
  public metricHeapMemoryUsage(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('HeapMemoryUsage', { statistic: 'Maximum', ...props });
  }

  private createAlarms(props: InfluxDbDatabaseProps): void {
    const add = (id: string, spec: AlarmSpec) => this.alarms.push(createAlarm(this, id, spec, props.alarmTopic));
    const cpu = props.cpuUtilizationThreshold ?? 90;
    const memory = props.memoryUtilizationThreshold ?? 90;
    const disk = props.diskUtilizationThreshold ?? 80;
    // Sustained load, not a spike: three 5-minute periods in a row.
    add('CpuUtilizationAlarm', {
      metric: this.metricCpuUtilization(),
      threshold: cpu,
      evaluationPeriods: 3,
      alarmDescription: `CPU of the InfluxDB instance of ${this.node.path} is at or above ${cpu}%`,
    });
    add('MemoryUtilizationAlarm', {
      metric: this.metricMemoryUtilization(),
      threshold: memory,
      evaluationPeriods: 3,
      alarmDescription: `Memory of the InfluxDB instance of ${this.node.path} is at or above ${memory}%`,
    });
    // A full disk stops writes: alarm on the first period.
    add('DiskUtilizationAlarm', {
      metric: this.metricDiskUtilization(),
      threshold: disk,
      alarmDescription: `Storage of the InfluxDB instance of ${this.node.path} is at or above ${disk}% used`,
    });
  }

  /** Allows `other` (e.g. a Lambda in the VPC, or a Grafana workspace) to reach InfluxDB on port 8086. */
  public allowFrom(other: ec2.IConnectable): void {
    this.connections.allowDefaultPortFrom(
      other,
      `InfluxDB from ${other.connections.securityGroups.map((sg) => sg.node.path).join(', ') || 'peer'}`,
    );
  }

  /** Adds an interface endpoint reachable from the writer security group, unless one for the service exists already. */
  public addInterfaceEndpoint(service: ec2.InterfaceVpcEndpointAwsService): ec2.InterfaceVpcEndpoint | undefined {
    if (this.endpointServices.has(service.name)) return undefined;
    this.endpointServices.add(service.name);
    const endpoint = new ec2.InterfaceVpcEndpoint(this, `Endpoint-${service.shortName}`, {
      vpc: this.vpc,
      service,
      subnets: this.writerSubnets,
      privateDnsEnabled: true,
      open: false,
    });
    endpoint.connections.allowDefaultPortFrom(this.writerSecurityGroup, 'HTTPS from the time-series writers');
    return endpoint;
  }

  /**
   * Lets `grantee` write time series: read the credentials secret. The network path comes from
   * `writerSecurityGroup` or `allowFrom`.
   */
  public grantWrite(grantee: iam.IGrantable): iam.Grant {
    return this.secret.grantRead(grantee);
  }

  /** The calculator's InfluxDB v2 writer: `TIME_SERIES_BACKEND=influxdb`, the URL, organization, bucket and secret. */
  public writerEnvironment(): { [key: string]: string } {
    return {
      TIME_SERIES_BACKEND: 'influxdb',
      INFLUX_URL: this.endpointUrl,
      INFLUX_SECRET_ARN: this.secret.secretArn,
      INFLUX_ORG: this.organization,
      INFLUX_BUCKET: this.bucket,
      INFLUX_API: 'v2',
    };
  }
}

function validateProps(props: InfluxDbDatabaseProps): void {
  validateInteger('allocatedStorageGiB', props.allocatedStorageGiB, 20, 16384);
  validateRange('cpuUtilizationThreshold', props.cpuUtilizationThreshold, 0, 100, 'percent');
  validateRange('memoryUtilizationThreshold', props.memoryUtilizationThreshold, 0, 100, 'percent');
  validateRange('diskUtilizationThreshold', props.diskUtilizationThreshold, 0, 100, 'percent');
  const alarmOnly = {
    cpuUtilizationThreshold: props.cpuUtilizationThreshold,
    memoryUtilizationThreshold: props.memoryUtilizationThreshold,
    diskUtilizationThreshold: props.diskUtilizationThreshold,
    alarmTopic: props.alarmTopic,
  };
  const stray = Object.entries(alarmOnly).filter(([, v]) => v !== undefined);
  if (props.createAlarms === false && stray.length > 0) {
    throw new Error(`${stray.map(([k]) => k).join(', ')} need createAlarms, got false`);
  }
  if (
    props.instanceType !== undefined &&
    !Token.isUnresolved(props.instanceType) &&
    !INSTANCE_TYPES.includes(props.instanceType)
  ) {
    throw new Error(`instanceType must be one of ${INSTANCE_TYPES.join(', ')}, got '${props.instanceType}'`);
  }
  if (
    props.storageType !== undefined &&
    !Token.isUnresolved(props.storageType) &&
    !STORAGE_TYPES.includes(props.storageType)
  ) {
    throw new Error(`storageType must be one of ${STORAGE_TYPES.join(', ')}, got '${props.storageType}'`);
  }
  if (props.instanceName !== undefined && !Token.isUnresolved(props.instanceName)) {
    if (
      !/^[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$/.test(props.instanceName) ||
      props.instanceName.length < 3 ||
      props.instanceName.length > 40
    ) {
      throw new Error(
        `instanceName must be 3-40 letters, digits and single hyphens starting with a letter, got '${props.instanceName}'`,
      );
    }
  }
  if (props.username !== undefined && !Token.isUnresolved(props.username)) {
    if (!/^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,63}$/.test(props.username) || props.username.endsWith('-')) {
      throw new Error(
        `username must start with a letter, not end with a hyphen nor contain '--', got '${props.username}'`,
      );
    }
  }
  if (props.bucket !== undefined && !Token.isUnresolved(props.bucket)) {
    if (
      props.bucket.length < 2 ||
      props.bucket.length > 64 ||
      props.bucket.startsWith('_') ||
      props.bucket.includes('"')
    ) {
      throw new Error(`bucket must be 2-64 characters, not start with '_' nor contain '"', got '${props.bucket}'`);
    }
  }
  if (props.organization !== undefined && !Token.isUnresolved(props.organization)) {
    if (props.organization.length < 1 || props.organization.length > 64) {
      throw new Error(`organization must be 1-64 characters, got '${props.organization}'`);
    }
  }
  if (props.vpcSubnets && !props.existingVpc) {
    throw new Error('vpcSubnets needs existingVpc: the new VPC has its own isolated subnets');
  }
}

/** A stable, valid instance name from the construct path: letters, digits and single hyphens, 3-40 characters. */
function instanceNameFor(scope: Construct): string {
  const stack = Stack.of(scope);
  const base = `${stack.stackName}-${scope.node.path.split('/').slice(1).join('-')}`
    .replace(/[^a-zA-Z0-9]+/g, '-')
    .replace(/^[^a-zA-Z]+/, '')
    .replace(/-+$/, '');
  const hash = scope.node.addr.slice(0, 8);
  const head = base.slice(0, 40 - hash.length - 1).replace(/-+$/, '');
  return `${head || 'influx'}-${hash}`;
}
