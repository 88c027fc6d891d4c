import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ArchiveFormat, S3ArchiveDestination } from '../destination';
import { ApiGatewayIngestion, JsonSchemaObject } from '../ingestion';
import { handlerEntry, validateDuration, validateInteger } from '../internal';
import { createAlarmTopic } from '../internal/alarms';
import { FlinkCode, RemoteFunction, StatefulFunctionsApi, StatefulFunctionsProcessor } from '../processing';
import { PipelineDashboard, ReplayRole } from '../operations';
import { CommandSchemas, ReadModel } from '../patterns';
import { StreamStore } from '../storage';
import { flinkCodeFromContext, packagedFlinkCode, rejectReplacedContextKeys } from './flink-code-from-context';

export interface EventSourcedMicroservicesStackProps extends StackProps {
  /** Retention of the event store, 1 to 365 days: how far back a stream replay can reach. @default Duration.days(7) */
  readonly eventStoreRetention?: Duration;
  /** Retention of the egress streams (`order-events`, `inventory-events`), 1 to 365 days. @default Duration.days(7) */
  readonly egressRetention?: Duration;
  /**
   * The stateful-functions runtime jar, e.g. `FlinkCode.fromBucket(bucket, key)` for one a CI pipeline built once.
   * @default - `FlinkCode.fromPackage('stateful-functions')`: the jar this package ships (in a checkout, the module's build)
   */
  readonly statefulFunctionsCode?: FlinkCode;
  /**
   * Generation of the read model the query API serves (`ReadModelV<n>`: table, projections, query API). Raising it
   * to the rebuilt generation switches the query API over; the old generation's projections are removed and its table
   * is retained.
   * @default 1
   */
  readonly readModelGeneration?: number;
  /**
   * Build this read-model generation next to the served one: a fresh table fed by the egress streams from their
   * oldest record and by a replay stream (`ReplayStream`) the replay CLI fills from the archives.
   * @default - no rebuild
   */
  readonly rebuildReadModelGeneration?: number;
  /** Header carrying the client's idempotency key, which becomes the event's `eventId`. @default 'Idempotency-Key' */
  readonly idempotencyKeyHeader?: string;
  /**
   * Removal policy of the streams, the read-model tables and their keys. Archive buckets, state exports and log groups
   * are always retained.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Command types, the function that handles each, and their payload schemas. */
const COMMANDS: { name: string; functionType: string; schema: () => JsonSchemaObject }[] = [
  { name: 'PlaceOrder', functionType: 'order', schema: CommandSchemas.placeOrder },
  { name: 'PayOrder', functionType: 'order', schema: CommandSchemas.payOrder },
  { name: 'ShipOrder', functionType: 'order', schema: CommandSchemas.shipOrder },
  { name: 'CancelOrder', functionType: 'order', schema: CommandSchemas.cancelOrder },
  { name: 'RestockItem', functionType: 'inventory', schema: CommandSchemas.restockItem },
];

/**
 * The event-sourced microservices architecture: commands enter through a REST API (one JSON schema per command, an
 * idempotency key that becomes the eventId) into the Kinesis event store (partition key = aggregateId); the
 * stateful-functions runtime on Managed Flink keeps each aggregate's state and calls the `order` and `inventory`
 * remote functions (Lambda behind an IAM-authorized API); their egress goes to `order-events` and `inventory-events`,
 * which projection Lambdas turn into a DynamoDB read model with a query API. Every stream is archived to S3 as
 * newline-delimited JSON for replays beyond retention; a replay role carries exactly what the replay CLI needs.
 */
export class EventSourcedMicroservicesStack extends Stack {
  public readonly alarmTopic: sns.Topic;
  public readonly eventStore: StreamStore;
  public readonly ingestion: ApiGatewayIngestion;
  public readonly functionsApi: StatefulFunctionsApi;
  public readonly orderFunction: RemoteFunction;
  public readonly inventoryFunction: RemoteFunction;
  public readonly orderEvents: StreamStore;
  public readonly inventoryEvents: StreamStore;
  public readonly runtime: StatefulFunctionsProcessor;
  /** The read model the query API serves. */
  public readonly readModel: ReadModel;
  /** The read model being rebuilt, with `rebuildReadModelGeneration`. */
  public readonly rebuildReadModel?: ReadModel;
  /** Target of replays into the rebuilt read model, with `rebuildReadModelGeneration`. */
  public readonly replayStream?: StreamStore;
  public readonly eventArchive: S3ArchiveDestination;
  public readonly orderEventsArchive: S3ArchiveDestination;
  public readonly inventoryEventsArchive: S3ArchiveDestination;
  public readonly replayRole: ReplayRole;
  public readonly dashboard: PipelineDashboard;

  constructor(scope: Construct, id: string, props: EventSourcedMicroservicesStackProps = {}) {
    super(scope, id, props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const generation = props.readModelGeneration ?? 1;
    validateProps(props, generation);

    this.alarmTopic = createAlarmTopic(this, {
      keyDescription: 'Encrypts the alarm topic of the event-sourced microservices',
    });
    const alarmTopic = this.alarmTopic;

    this.eventStore = new StreamStore(this, 'EventStore', {
      retentionPeriod: props.eventStoreRetention ?? Duration.days(7),
      removalPolicy,
      alarmTopic,
    });
    this.ingestion = new ApiGatewayIngestion(this, 'Ingestion', {
      stream: this.eventStore.stream,
      eventTypes: COMMANDS.map((c) => ({ name: c.name, schema: c.schema() })),
      idempotencyKeyHeader: props.idempotencyKeyHeader ?? 'Idempotency-Key',
      restApiName: `${this.stackName}-Commands`,
      alarmTopic,
    });

    this.functionsApi = new StatefulFunctionsApi(this, 'Functions', { cloudWatchRole: false, alarmTopic });
    // The ingestion API sets the account's logging role; stages with execution logging must come after it.
    const account = this.ingestion.api.node.tryFindChild('Account');
    this.orderFunction = this.functionsApi.addFunction({
      functionType: 'order',
      entry: handlerEntry('functions/order'),
      egressNames: ['order-events'],
      alarmTopic,
    });
    this.inventoryFunction = this.functionsApi.addFunction({
      functionType: 'inventory',
      entry: handlerEntry('functions/inventory'),
      egressNames: ['inventory-events'],
      alarmTopic,
    });

    const egressRetention = props.egressRetention ?? Duration.days(7);
    this.orderEvents = new StreamStore(this, 'OrderEvents', {
      retentionPeriod: egressRetention,
      removalPolicy,
      alarmTopic,
    });
    this.inventoryEvents = new StreamStore(this, 'InventoryEvents', {
      retentionPeriod: egressRetention,
      removalPolicy,
      alarmTopic,
    });

    this.runtime = new StatefulFunctionsProcessor(this, 'Runtime', {
      code:
        props.statefulFunctionsCode ??
        packagedFlinkCode('stateful-functions', 'EventSourcedMicroservicesStackProps.statefulFunctionsCode'),
      eventStore: this.eventStore.stream,
      // Functions added to the API later (addFunction, or functionsApi.addFunction) are called too.
      functionsApis: [this.functionsApi],
      ingress: COMMANDS.map((c) => ({ eventType: c.name, functionType: c.functionType })),
      egress: [
        { name: 'order-events', stream: this.orderEvents.stream },
        { name: 'inventory-events', stream: this.inventoryEvents.stream },
      ],
      removalPolicy,
      alarmTopic,
    });

    const egressInputs = [
      { name: 'order-events', stream: this.orderEvents.stream },
      { name: 'inventory-events', stream: this.inventoryEvents.stream },
    ];
    this.readModel = new ReadModel(this, `ReadModelV${generation}`, {
      inputs: egressInputs,
      removalPolicy,
      alarmTopic,
    });
    if (props.rebuildReadModelGeneration !== undefined) {
      this.replayStream = new StreamStore(this, 'ReplayStream', { removalPolicy, alarmTopic });
      this.rebuildReadModel = new ReadModel(this, `ReadModelV${props.rebuildReadModelGeneration}`, {
        inputs: [...egressInputs, { name: 'replay', stream: this.replayStream.stream }],
        removalPolicy,
        alarmTopic,
      });
    }
    for (const model of [this.readModel, this.rebuildReadModel]) {
      const stage = model?.table.api?.deploymentStage;
      if (stage && account) stage.node.addDependency(account);
    }
    if (account) this.functionsApi.api.deploymentStage.node.addDependency(account);

    // Raw JSON, one record per line, under <prefix>year=/month=/day=/hour=/: the layout the replay CLI reads.
    const archiveKey = new kms.Key(this, 'ArchiveKey', {
      description: 'Encrypts the event and egress archives',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.eventArchive = new S3ArchiveDestination(this, 'EventArchive', {
      stream: this.eventStore.stream,
      format: ArchiveFormat.JSON,
      prefix: 'events/',
      encryptionKey: archiveKey,
      alarmTopic,
    });
    const archiveOptions = {
      format: ArchiveFormat.JSON,
      encryptionKey: archiveKey,
      accessLogsBucket: this.eventArchive.accessLogsBucket,
      alarmTopic,
    };
    this.orderEventsArchive = new S3ArchiveDestination(this, 'OrderEventsArchive', {
      ...archiveOptions,
      stream: this.orderEvents.stream,
      prefix: 'order-events/',
    });
    this.inventoryEventsArchive = new S3ArchiveDestination(this, 'InventoryEventsArchive', {
      ...archiveOptions,
      stream: this.inventoryEvents.stream,
      prefix: 'inventory-events/',
    });

    // Commands are never replay targets: the functions would apply them a second time. Egress records are: every
    // consumer applies them by sequence, so a replay is a redelivery.
    this.replayRole = new ReplayRole(this, 'ReplayRole', {
      sourceStreams: [this.eventStore.stream, this.orderEvents.stream, this.inventoryEvents.stream],
      archives: [this.eventArchive, this.orderEventsArchive, this.inventoryEventsArchive].map((a) => ({
        bucket: a.bucket,
        prefix: a.prefix,
      })),
      targetStreams: [
        this.orderEvents.stream,
        this.inventoryEvents.stream,
        ...(this.replayStream ? [this.replayStream.stream] : []),
      ],
    });

    this.dashboard = new PipelineDashboard(this, 'Dashboard', {
      rawStream: this.eventStore,
      deadLetterStream: this.runtime.deadLetterStore,
      flinkApplication: this.runtime.flink,
      streamProcessor: this.readModel.projections[0],
      latestState: this.readModel.table,
      archive: this.eventArchive,
      apiIngestion: this.ingestion,
      extraWidgets: [this.functionWidgets(), this.projectionWidgets(), this.egressWidgets()],
      extraAlarms: [
        ...this.functionsApi.alarms,
        ...this.orderFunction.alarms,
        ...this.inventoryFunction.alarms,
        ...this.readModel.projections.slice(1).flatMap((p) => p.alarms),
        ...this.orderEvents.alarms,
        ...this.inventoryEvents.alarms,
      ],
    });

    this.outputs();
  }

  private functionWidgets(): cloudwatch.IWidget[] {
    const fns = [this.orderFunction, this.inventoryFunction];
    return [
      new cloudwatch.GraphWidget({
        title: 'Remote functions: p99 latency (ms)',
        width: 8,
        left: fns.map((f) => f.metricLatency({ label: f.functionType, period: Duration.minutes(1) })),
      }),
      new cloudwatch.GraphWidget({
        title: 'Remote functions: 4XX / 5XX',
        width: 8,
        left: fns.flatMap((f) => [
          f.metricClientError({ label: `${f.functionType} 4XX`, period: Duration.minutes(1) }),
          f.metricServerError({ label: `${f.functionType} 5XX`, period: Duration.minutes(1) }),
        ]),
      }),
      new cloudwatch.GraphWidget({
        title: 'Remote functions: Lambda errors / throttles',
        width: 8,
        left: fns.flatMap((f) => [
          f.metricErrors({ label: `${f.functionType} errors`, period: Duration.minutes(1) }),
          f.metricThrottles({ label: `${f.functionType} throttles`, period: Duration.minutes(1) }),
        ]),
      }),
    ];
  }

  private projectionWidgets(): cloudwatch.IWidget[] {
    const projections = this.readModel.projections;
    return [
      new cloudwatch.GraphWidget({
        title: 'Projections: iterator age (ms)',
        width: 12,
        left: projections.map((p) => p.metricIteratorAge({ label: p.node.id, period: Duration.minutes(1) })),
      }),
      new cloudwatch.GraphWidget({
        title: 'Projections: errors / dead letters',
        width: 12,
        left: projections.flatMap((p) => [
          p.metricErrors({ label: `${p.node.id} errors`, period: Duration.minutes(1) }),
          p.metricDeadLetterQueueDepth({ label: `${p.node.id} dead letters`, period: Duration.minutes(1) }),
        ]),
      }),
    ];
  }

  private egressWidgets(): cloudwatch.IWidget[] {
    return [
      new cloudwatch.GraphWidget({
        title: 'Egress streams: incoming records',
        width: 12,
        left: [
          this.orderEvents.metricIncomingRecords({ label: 'order-events', period: Duration.minutes(1) }),
          this.inventoryEvents.metricIncomingRecords({ label: 'inventory-events', period: Duration.minutes(1) }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Archives: data freshness (s)',
        width: 12,
        left: [this.eventArchive, this.orderEventsArchive, this.inventoryEventsArchive].map((a) =>
          a.metricDataFreshness({ label: a.prefix, period: Duration.minutes(5) }),
        ),
      }),
    ];
  }

  private outputs(): void {
    new CfnOutput(this, 'CommandsUrl', {
      value: this.ingestion.url,
      description: 'POST <url>events/<CommandType> with {"aggregateId","payload"} and the idempotency key header',
    });
    new CfnOutput(this, 'QueryApiUrl', {
      value: this.readModel.table.url as string,
      description: 'Read model: GET <url>items/<aggregateType>/<aggregateId> or <url>items?pk=<aggregateType>',
    });
    if (this.rebuildReadModel) {
      new CfnOutput(this, 'RebuildQueryApiUrl', {
        value: this.rebuildReadModel.table.url as string,
        description: 'Read model being rebuilt: compare with QueryApiUrl before switching over',
      });
    }
    new CfnOutput(this, 'ReplayRoleArn', { value: this.replayRole.roleArn });
    new CfnOutput(this, 'EventStoreStreamArn', { value: this.eventStore.streamArn });
    new CfnOutput(this, 'OrderEventsStreamArn', { value: this.orderEvents.streamArn });
    new CfnOutput(this, 'InventoryEventsStreamArn', { value: this.inventoryEvents.streamArn });
    new CfnOutput(this, 'DeadLetterStreamArn', { value: this.runtime.deadLetterStream.streamArn });
    if (this.replayStream) new CfnOutput(this, 'ReplayStreamArn', { value: this.replayStream.streamArn });
    new CfnOutput(this, 'EventArchiveBucket', { value: this.eventArchive.bucket.bucketName });
    new CfnOutput(this, 'OrderEventsArchiveBucket', { value: this.orderEventsArchive.bucket.bucketName });
    new CfnOutput(this, 'InventoryEventsArchiveBucket', { value: this.inventoryEventsArchive.bucket.bucketName });
  }
}

function validateProps(props: EventSourcedMicroservicesStackProps, generation: number): void {
  validateDuration('eventStoreRetention', props.eventStoreRetention, Duration.days(1), Duration.days(365));
  validateDuration('egressRetention', props.egressRetention, Duration.days(1), Duration.days(365));
  validateInteger('readModelGeneration', generation, 1, 9999);
  validateInteger('rebuildReadModelGeneration', props.rebuildReadModelGeneration, 1, 9999);
  if (props.rebuildReadModelGeneration === generation) {
    throw new Error(
      `rebuildReadModelGeneration must differ from readModelGeneration (${generation}), got ${props.rebuildReadModelGeneration}`,
    );
  }
}

/** Reads the stack options from the `eventsourced:*` context keys (cdk.json or `-c eventsourced:<key>=<value>`). */
export function eventSourcedMicroservicesPropsFromContext(scope: Construct): EventSourcedMicroservicesStackProps {
  const get = (key: string): unknown => scope.node.tryGetContext(`eventsourced:${key}`);
  rejectReplacedContextKeys(scope, 'eventsourced', ['statefulFunctionsJarPath'], 'statefulFunctionsCode');
  const num = (key: string): number | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN;
    if (!Number.isFinite(n)) throw new Error(`context eventsourced:${key} must be a number, got ${JSON.stringify(v)}`);
    return n;
  };
  const str = (key: string): string | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string')
      throw new Error(`context eventsourced:${key} must be a string, got ${JSON.stringify(v)}`);
    return v;
  };
  const removal = str('removalPolicy');
  if (removal !== undefined && removal !== 'RETAIN' && removal !== 'DESTROY') {
    throw new Error(`context eventsourced:removalPolicy must be RETAIN or DESTROY, got '${removal}'`);
  }
  const eventDays = num('eventStoreRetentionDays');
  const egressDays = num('egressRetentionDays');
  return {
    eventStoreRetention: eventDays === undefined ? undefined : Duration.days(eventDays),
    egressRetention: egressDays === undefined ? undefined : Duration.days(egressDays),
    readModelGeneration: num('readModelGeneration'),
    rebuildReadModelGeneration: num('rebuildReadModelGeneration'),
    statefulFunctionsCode: flinkCodeFromContext('eventsourced:statefulFunctionsCode', str('statefulFunctionsCode')),
    idempotencyKeyHeader: str('idempotencyKeyHeader'),
    removalPolicy:
      removal === undefined ? undefined : removal === 'DESTROY' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  };
}
