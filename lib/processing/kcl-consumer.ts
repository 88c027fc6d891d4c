import * as fs from 'fs';
import * as path from 'path';
import { Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { requireResolved, validateDuration, validateInteger, validateName } from '../internal';
import { allowCloudWatchLogs, createEncryptedLogGroup } from '../internal/encrypted-log-group';
import { acknowledgeWildcardResource } from '../internal/nag';
import { findInPackage } from '../internal/paths';

/** The container image of a `KclConsumer`, as `KclConsumerImage.bind` returns it. */
export interface KclConsumerImageConfig {
  /** The image the task runs. */
  readonly image: ecs.ContainerImage;
}

/**
 * The image of the KCL consumer: the OCI tarball Jib builds from `flink-apps/kcl-consumer` (no Docker needed to build
 * or synthesize; `cdk deploy` runs `docker load` on it), an image in ECR, or any registry image.
 */
export abstract class KclConsumerImage {
  /**
   * An OCI/Docker image tarball on this machine, e.g. `flink-apps/kcl-consumer/target/kcl-consumer-image.tar` (what
   * `mvn package` in that module writes). Published as a CDK asset: synth only hashes the file, but `cdk deploy` loads
   * it with `docker load` (or `$CDK_DOCKER`), so the deploying machine needs a container runtime.
   */
  public static fromTarball(tarballFile: string): KclConsumerImage {
    const resolved = path.resolve(tarballFile);
    if (!fs.existsSync(resolved) || !fs.statSync(resolved).isFile()) {
      throw new Error(`KclConsumerImage.fromTarball needs an existing image tarball, got ${tarballFile}`);
    }
    return new StaticImage(ecs.ContainerImage.fromTarball(resolved));
  }

  /**
   * The tarball of this repository's Maven module, `flink-apps/kcl-consumer/target/kcl-consumer-image.tar`, which
   * must have been built (`mvn -f flink-apps/pom.xml -pl kcl-consumer -am package`).
   */
  public static fromMavenBuild(): KclConsumerImage {
    const pom = findInPackage(path.join('flink-apps', 'kcl-consumer', 'pom.xml'));
    if (!pom) {
      throw new Error(
        `KclConsumerImage.fromMavenBuild found no flink-apps/kcl-consumer/ above ${__dirname}: use fromTarball, ` +
          'fromEcrRepository or fromRegistry',
      );
    }
    const tarball = path.join(path.dirname(pom), 'target', 'kcl-consumer-image.tar');
    if (!fs.existsSync(tarball)) {
      throw new Error(
        `the KCL consumer image has not been built (no ${tarball}): run ` +
          `\`mvn -f ${path.join(path.dirname(path.dirname(pom)), 'pom.xml')} -pl kcl-consumer -am package\``,
      );
    }
    return KclConsumerImage.fromTarball(tarball);
  }

  /**
   * An image already in ECR, e.g. the tarball pushed once with `crane push` or `skopeo copy` (no Docker needed at
   * deploy time). `tag` may be a token.
   * @param tag - the image tag; 'latest' when not given
   */
  public static fromEcrRepository(repository: ecr.IRepository, tag?: string): KclConsumerImage {
    if (tag !== undefined && !Token.isUnresolved(tag) && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) {
      throw new Error(`KclConsumerImage.fromEcrRepository needs an image tag of 1-128 characters, got '${tag}'`);
    }
    return new StaticImage(ecs.ContainerImage.fromEcrRepository(repository, tag));
  }

  /** An image from a registry by name, e.g. `registry.example.com/kcl-consumer:1.0`. */
  public static fromRegistry(name: string): KclConsumerImage {
    if (!Token.isUnresolved(name) && (name.length === 0 || /\s/.test(name))) {
      throw new Error(`KclConsumerImage.fromRegistry needs an image name without spaces, got '${name}'`);
    }
    return new StaticImage(ecs.ContainerImage.fromRegistry(name));
  }

  /** Called once by the consumer: returns the image of its container. */
  public abstract bind(scope: Construct): KclConsumerImageConfig;
}

class StaticImage extends KclConsumerImage {
  constructor(private readonly image: ecs.ContainerImage) {
    super();
  }

  public bind(_scope: Construct): KclConsumerImageConfig {
    return { image: this.image };
  }
}

/** Where a worker starts reading a shard that has no checkpoint yet. */
export enum KclInitialPosition {
  /** The oldest record the stream retains. */
  TRIM_HORIZON = 'TRIM_HORIZON',
  /** Records written after the worker started. */
  LATEST = 'LATEST',
}

/** How many metrics the KCL publishes to CloudWatch (namespace: the application name). */
export enum KclMetricsLevel {
  NONE = 'NONE',
  /** Per-operation aggregates, including `MillisBehindLatest` of `ProcessTask`. */
  SUMMARY = 'SUMMARY',
  /** Per-shard metrics too: one set of metrics per shard and operation. */
  DETAILED = 'DETAILED',
}

export interface KclConsumerProps {
  /** The stream to read (the enriched stream of the time-series pipeline). */
  readonly stream: kinesis.IStream;
  /** The image of the consumer; see `KclConsumerImage`. */
  readonly image: KclConsumerImage;
  /** The VPC the tasks run in; they need a route to Kinesis, DynamoDB and CloudWatch (NAT or VPC endpoints). */
  readonly vpc: ec2.IVpc;
  /** @default - the private subnets with egress of `vpc` */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The cluster of the service; it must be in `vpc`. @default - a new cluster with Container Insights */
  readonly cluster?: ecs.ICluster;
  /**
   * The KCL application name: the lease table's name, the CloudWatch namespace of the KCL's metrics. Workers with the
   * same name share the stream's shards. 3-255 characters of `[a-zA-Z0-9_.-]`.
   * @default - a name unique to this construct
   */
  readonly applicationName?: string;
  /** Tasks (workers) of the service; each takes a share of the shards. @default 2 */
  readonly desiredCount?: number;
  /** vCPU units of a task (a valid Fargate value: 256, 512, 1024, 2048, 4096, 8192, 16384). @default 512 */
  readonly cpu?: number;
  /** Memory of a task in MiB; must suit `cpu` (Fargate's table). @default 1024 */
  readonly memoryLimitMiB?: number;
  /**
   * The CPU architecture of the image. The image Jib builds here carries a JRE linked from the build machine's JDK,
   * so it runs on that machine's architecture.
   * @default ecs.CpuArchitecture.X86_64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /** @default KclInitialPosition.TRIM_HORIZON */
  readonly initialPosition?: KclInitialPosition;
  /** @default KclMetricsLevel.SUMMARY */
  readonly metricsLevel?: KclMetricsLevel;
  /** How long a lease lives without renewal before another worker takes it, 1 s to 10 minutes. @default Duration.seconds(10) */
  readonly failoverTime?: Duration;
  /** Encrypts the lease table, the device state table and the log group. @default - a new customer-managed key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Removal policy of the lease and device state tables. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const FARGATE_CPU = [256, 512, 1024, 2048, 4096, 8192, 16384];
/** The GSI the KCL 3 lease table needs (leaseOwner -> leaseKey, keys only). */
export const KCL_LEASE_OWNER_INDEX = 'LeaseOwnerToLeaseKeyIndex';
/** What a worker does on its lease table: leases, checkpoints, leader lock, worker metrics (KCL 3.5 single table). */
const LEASE_TABLE_ACTIONS = [
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Scan',
  'dynamodb:Query',
];
/** What the KCL reads from a stream when it polls (GetRecords); no enhanced fan-out. */
const STREAM_READ_ACTIONS = [
  'kinesis:DescribeStreamSummary',
  'kinesis:ListShards',
  'kinesis:GetShardIterator',
  'kinesis:GetRecords',
];

/**
 * A Kinesis Client Library 3 consumer on ECS Fargate: the Java application of `flink-apps/kcl-consumer`, which keeps
 * the latest state of every device in a DynamoDB table (`stateTable`, key `deviceId`), each record applied once by a
 * conditional write on its position. Creates the KCL lease table itself (key `leaseKey`, GSI
 * `LeaseOwnerToLeaseKeyIndex`), so the task role needs no `dynamodb:CreateTable`; KCL 3.5 keeps its coordinator
 * state and worker metrics in that table too and only looks for the older `<app>-CoordinatorState` and
 * `<app>-WorkerMetricStats` tables (`DescribeTable`). Tasks run in private subnets without ingress, with a read-only
 * root file system, logs to a log group encrypted with a customer-managed key, and Container Insights on a new
 * cluster.
 */
export class KclConsumer extends Construct {
  public readonly applicationName: string;
  public readonly leaseTable: dynamodb.Table;
  public readonly stateTable: dynamodb.Table;
  public readonly encryptionKey: kms.IKey;
  public readonly cluster: ecs.ICluster;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly service: ecs.FargateService;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly logGroup: logs.LogGroup;
  /** The task role: what the worker may do. */
  public readonly taskRole: iam.Role;

  constructor(scope: Construct, id: string, props: KclConsumerProps) {
    super(scope, id);
    const desiredCount = props.desiredCount ?? 2;
    const cpu = props.cpu ?? 512;
    const memoryLimitMiB = props.memoryLimitMiB ?? 1024;
    const failoverTime = props.failoverTime ?? Duration.seconds(10);
    validateInteger('desiredCount', desiredCount, 1, 1000);
    validateInteger('memoryLimitMiB', memoryLimitMiB, 512, 122880);
    if (!Token.isUnresolved(cpu) && !FARGATE_CPU.includes(cpu)) {
      throw new Error(`cpu must be one of ${FARGATE_CPU.join(', ')} (Fargate), got ${cpu}`);
    }
    validateDuration('failoverTime', failoverTime, Duration.seconds(1), Duration.minutes(10));
    requireResolved('failoverTime', failoverTime, 'it becomes the FAILOVER_TIME_MILLIS of the container');
    if (props.applicationName !== undefined) {
      requireResolved('applicationName', props.applicationName, 'it names the lease table the KCL looks up');
    }
    validateName('applicationName', props.applicationName, /^[a-zA-Z0-9_.-]+$/, 3, 255, '[a-zA-Z0-9_.-]');
    if (props.cluster && props.cluster.vpc !== props.vpc) {
      throw new Error(`cluster ${props.cluster.node.path} is not in the vpc given (${props.vpc.node.path})`);
    }

    // The KCL's companion table names add up to 21 characters to the application name; keep them under 255.
    this.applicationName = props.applicationName ?? Names.uniqueResourceName(this, { maxLength: 200 });
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    if (props.encryptionKey) {
      this.encryptionKey = props.encryptionKey;
    } else {
      const key = new kms.Key(this, 'Key', {
        description: `Encrypts the lease table, device state and logs of KCL application ${this.applicationName}`,
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      allowCloudWatchLogs(key);
      this.encryptionKey = key;
    }

    this.leaseTable = new dynamodb.Table(this, 'LeaseTable', {
      tableName: this.applicationName,
      partitionKey: { name: 'leaseKey', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    });
    this.leaseTable.addGlobalSecondaryIndex({
      indexName: KCL_LEASE_OWNER_INDEX,
      partitionKey: { name: 'leaseOwner', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'leaseKey', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
    this.stateTable = new dynamodb.Table(this, 'StateTable', {
      partitionKey: { name: 'deviceId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    });

    this.logGroup = createEncryptedLogGroup(
      this,
      'LogGroup',
      props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      'logs of the KCL consumer',
      { encryptionKey: this.encryptionKey },
    );

    this.cluster =
      props.cluster ??
      new ecs.Cluster(this, 'Cluster', { vpc: props.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `KCL consumer ${this.applicationName} (${this.node.path})`,
    });
    this.grantWorker(props.stream);

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu,
      memoryLimitMiB,
      taskRole: this.taskRole,
      runtimePlatform: {
        cpuArchitecture: props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      volumes: [{ name: 'tmp' }],
    });
    const stack = Stack.of(this);
    this.container = this.taskDefinition.addContainer('Consumer', {
      image: props.image.bind(this).image,
      // The JVM writes only to /tmp (a task volume); the image itself stays read-only.
      readonlyRootFilesystem: true,
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'kcl' }),
      environment: {
        STREAM_ARN: props.stream.streamArn,
        APPLICATION_NAME: this.applicationName,
        STATE_TABLE_NAME: this.stateTable.tableName,
        AWS_REGION: stack.region,
        INITIAL_POSITION: props.initialPosition ?? KclInitialPosition.TRIM_HORIZON,
        METRICS_LEVEL: props.metricsLevel ?? KclMetricsLevel.SUMMARY,
        FAILOVER_TIME_MILLIS: String(failoverTime.toMilliseconds()),
      },
      // SIGTERM lets the worker checkpoint and hand its leases over before ECS stops it.
      stopTimeout: Duration.seconds(30),
    });
    this.container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });
    // The execution role pulls the image and writes the logs; its log grant does not cover the key.
    const executionRole = this.taskDefinition.obtainExecutionRole();
    this.encryptionKey.grant(executionRole, 'kms:GenerateDataKey', 'kms:Decrypt');
    acknowledgeWildcardResource(
      executionRole,
      '*',
      'ecr:GetAuthorizationToken, which pulling the image needs, supports no resource-level permissions',
    );
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions::AwsSolutions-ECS2',
      reason:
        'The environment holds configuration only (stream ARN, table and application names, region, KCL tunables); ' +
        'no secrets, and the worker needs them at start',
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `KCL consumer ${this.applicationName}: no ingress, HTTPS to AWS APIs`,
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs (Kinesis, DynamoDB, CloudWatch)');

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      assignPublicIp: false,
      // A new task joins before an old one leaves, so leases move by handoff rather than by expiry.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
    });
  }

  /**
   * `MillisBehindLatest` of the KCL's `ProcessTask`: how far the slowest shard's last batch was behind the tip of the
   * stream. Needs `metricsLevel` SUMMARY or DETAILED.
   * @default statistic Maximum over 5 minutes
   */
  public metricMillisBehindLatest(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.applicationName,
      metricName: 'MillisBehindLatest',
      dimensionsMap: { Operation: 'ProcessTask' },
      statistic: 'Maximum',
      ...props,
    });
  }

  /** Lets `grantee` read the device state table (e.g. an API serving the latest state). */
  public grantReadState(grantee: iam.IGrantable): iam.Grant {
    return this.stateTable.grantReadData(grantee);
  }

  private grantWorker(stream: kinesis.IStream): void {
    const role = this.taskRole;
    iam.Grant.addToPrincipal({ grantee: role, actions: STREAM_READ_ACTIONS, resourceArns: [stream.streamArn] });
    stream.encryptionKey?.grant(role, 'kms:Decrypt');

    const stack = Stack.of(this);
    const tableArn = (name: string) => stack.formatArn({ service: 'dynamodb', resource: 'table', resourceName: name });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: LEASE_TABLE_ACTIONS,
        resources: [this.leaseTable.tableArn, `${this.leaseTable.tableArn}/index/${KCL_LEASE_OWNER_INDEX}`],
      }),
    );
    // KCL 3.5 checks whether an application upgraded from KCL 2 or 3.0 still has these tables; new ones do not.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:DescribeTable'],
        resources: [
          tableArn(`${this.applicationName}-CoordinatorState`),
          tableArn(`${this.applicationName}-WorkerMetricStats`),
        ],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:UpdateItem'],
        resources: [this.stateTable.tableArn],
      }),
    );
    this.encryptionKey.grant(role, 'kms:Decrypt', 'kms:GenerateDataKey');

    // PutMetricData has no resource-level permissions; the condition pins the KCL's namespace.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': this.applicationName } },
      }),
    );
    acknowledgeWildcardResource(
      role,
      '*',
      'cloudwatch:PutMetricData supports no resource-level permissions; a condition pins the namespace to the KCL application',
    );
  }
}
