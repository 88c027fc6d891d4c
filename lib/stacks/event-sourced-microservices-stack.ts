import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ArchiveFormat, S3ArchiveDestination } from '../destination';
import { ApiGatewayIngestion, EventTypeIngestion, JsonSchemaObject } from '../ingestion';
import { handlerEntry, validateDuration, validateInteger } from '../internal';
import { createAlarmTopic } from '../internal/alarms';
import {
  FlinkCode,
  RemoteFunction,
  RemoteFunctionOptions,
  StatefulFunctionsApi,
  StatefulFunctionsProcessor,
  validateEgressName,
} from '../processing';
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
  /**
   * Egress streams besides `order-events` and `inventory-events`, each created as `addEgressStream` does (stream,
   * runtime egress, archive, replay permissions, dashboard row, outputs).
   * @default - none
   */
  readonly egressStreams?: EventSourcedEgressStreamOptions[];
  /**
   * Remote functions besides `order` and `inventory`, each added as `addFunction` does (Lambda and `POST /<type>`,
   * module.json entry and invoke grant, commands and their routes, dashboard row), after `egressStreams`.
   * @default - none
   */
  readonly functions?: EventSourcedFunctionOptions[];
}

/** A remote function of the event-sourced stack and the commands routed to it. */
export interface EventSourcedFunctionOptions extends RemoteFunctionOptions {
  /**
   * Commands accepted at `POST /events/<name>` of the commands API (the schema is the payload's; the stack's
   * idempotency key header is required) and routed by the runtime to this function (address id = `aggregateId`).
   * @default - none: the function must be among the `messageTargets` of a function that is called
   */
  readonly commands?: EventTypeIngestion[];
}

/** An egress stream added to the event-sourced stack. */
export interface EventSourcedEgressStreamOptions {
  /**
   * Egress name the functions write to (`ctx.egress('<name>', ...)`), e.g. `shipping-events`. It also names the
   * constructs (`ShippingEvents`, `ShippingEventsArchive`), the archive prefix (`shipping-events/`) and the outputs.
   */
  readonly name: string;
  /** Retention of the stream, 1 to 365 days. @default - the stack's `egressRetention` */
  readonly retentionPeriod?: Duration;
}

/** An egress stream of the event-sourced stack and the archive of its records. */
export interface EventSourcedEgressStream {
  /** The egress name. */
  readonly name: string;
  /** The stream the runtime writes the egress records to. */
  readonly store: StreamStore;
  /** Its Firehose archive (newline-delimited JSON under `<name>/`), which the replay CLI reads. */
  readonly archive: S3ArchiveDestination;
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
  /** Every egress stream by name, with its archive: `order-events`, `inventory-events` and those added. */
  public readonly egressStreams: { [name: string]: EventSourcedEgressStream } = {};

  private readonly removalPolicy: RemovalPolicy;
  private readonly egressRetention: Duration;
  private readonly archiveKey: kms.Key;

  constructor(scope: Construct, id: string, props: EventSourcedMicroservicesStackProps = {}) {
    super(scope, id, props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.removalPolicy = removalPolicy;
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
      messageTargets: ['inventory'],
      alarmTopic,
    });
    this.inventoryFunction = this.functionsApi.addFunction({
      functionType: 'inventory',
      entry: handlerEntry('functions/inventory'),
      egressNames: ['inventory-events'],
      // Replies to the order that reserved stock.
      messageTargets: ['order'],
      alarmTopic,
    });

    const egressRetention = props.egressRetention ?? Duration.days(7);
    this.egressRetention = egressRetention;
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
    this.archiveKey = archiveKey;
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
      extraWidgets: [
        this.functionWidgets([this.orderFunction, this.inventoryFunction]),
        this.projectionWidgets(),
        this.egressWidgets(),
      ],
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
    this.egressStreams['order-events'] = {
      name: 'order-events',
      store: this.orderEvents,
      archive: this.orderEventsArchive,
    };
    this.egressStreams['inventory-events'] = {
      name: 'inventory-events',
      store: this.inventoryEvents,
      archive: this.inventoryEventsArchive,
    };

    for (const egress of props.egressStreams ?? []) this.addEgressStream(egress);
    for (const fn of props.functions ?? []) this.addFunction(fn);
  }

  /**
   * Adds a remote function, wired end to end: the Lambda behind `POST /<functionType>` of `functionsApi` (its alarms
   * notify `alarmTopic` unless the options name another topic), its module.json entry and the runtime's invoke
   * grant, each command at `POST /events/<name>` of the commands API with its route to the function, and a dashboard
   * row. Synth fails if the function writes to an egress that is not declared (`addEgressStream`), sends messages to
   * an unknown function type, or is called by nothing (no command and no called function's `messageTargets`).
   */
  public addFunction(options: EventSourcedFunctionOptions): RemoteFunction {
    const { commands, ...functionOptions } = options;
    const fn = this.functionsApi.addFunction({
      ...functionOptions,
      alarmTopic: functionOptions.alarmTopic ?? this.alarmTopic,
    });
    for (const command of commands ?? []) {
      this.ingestion.addEventType(command);
      this.runtime.addIngress({ eventType: command.name, functionType: fn.functionType });
    }
    const row: cloudwatch.IWidget[] = [...this.functionWidgets([fn], `Remote function ${fn.functionType}`)];
    this.dashboard.dashboard.addWidgets(...row);
    if (fn.alarms.length > 0) {
      this.dashboard.dashboard.addWidgets(
        new cloudwatch.AlarmStatusWidget({
          title: `Alarms: function ${fn.functionType}`,
          alarms: fn.alarms,
          width: 24,
        }),
      );
    }
    return fn;
  }

  /**
   * Adds an egress stream, wired like `order-events`: the stream (`egressRetention`, the stack's removal policy and
   * alarm topic), the runtime's `Egress.<name>` group and write grant, a Firehose archive under `<name>/` (archive key
   * and access logs of the other archives), read, archive-read and write permissions of the replay role, a dashboard
   * row and the outputs `<Name>StreamArn` and `<Name>ArchiveBucket`. The read model does not project it: its
   * reducers are the projection Lambda's code (`lambda/projection/reducers.ts`).
   */
  public addEgressStream(options: EventSourcedEgressStreamOptions): EventSourcedEgressStream {
    const name = options.name;
    validateEgressName(name);
    validateDuration('retentionPeriod', options.retentionPeriod, Duration.days(1), Duration.days(365));
    if (this.egressStreams[name]) {
      throw new Error(`egress stream '${name}' already exists in ${this.node.path}`);
    }
    const id = name
      .split(/[-_]/)
      .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
      .join('');
    for (const taken of [id, `${id}Archive`, `${id}StreamArn`, `${id}ArchiveBucket`]) {
      if (this.node.tryFindChild(taken)) {
        throw new Error(`egress name '${name}' would reuse the construct id '${taken}' of ${this.node.path}`);
      }
    }
    const store = new StreamStore(this, id, {
      retentionPeriod: options.retentionPeriod ?? this.egressRetention,
      removalPolicy: this.removalPolicy,
      alarmTopic: this.alarmTopic,
    });
    this.runtime.addEgress({ name, stream: store.stream });
    const archive = new S3ArchiveDestination(this, `${id}Archive`, {
      format: ArchiveFormat.JSON,
      encryptionKey: this.archiveKey,
      accessLogsBucket: this.eventArchive.accessLogsBucket,
      alarmTopic: this.alarmTopic,
      stream: store.stream,
      prefix: `${name}/`,
    });
    // As for the other egress streams: a replay into it is a redelivery its consumers apply by sequence.
    this.replayRole.allowReadStream(store.stream);
    this.replayRole.allowReadArchive(archive.bucket, archive.prefix);
    this.replayRole.allowWriteStream(store.stream);
    this.dashboard.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `Egress ${name}: incoming records`,
        width: 8,
        left: [store.metricIncomingRecords({ label: name, period: Duration.minutes(1) })],
      }),
      new cloudwatch.GraphWidget({
        title: `Archive ${name}: data freshness (s)`,
        width: 8,
        left: [archive.metricDataFreshness({ label: archive.prefix, period: Duration.minutes(5) })],
      }),
      new cloudwatch.AlarmStatusWidget({
        title: `Alarms: egress ${name}`,
        alarms: [...store.alarms, ...archive.alarms],
        width: 8,
      }),
    );
    new CfnOutput(this, `${id}StreamArn`, { value: store.streamArn });
    new CfnOutput(this, `${id}ArchiveBucket`, { value: archive.bucket.bucketName });
    const egress = { name, store, archive };
    this.egressStreams[name] = egress;
    return egress;
  }

  private functionWidgets(fns: RemoteFunction[], title = 'Remote functions'): cloudwatch.IWidget[] {
    return [
      new cloudwatch.GraphWidget({
        title: `${title}: p99 latency (ms)`,
        width: 8,
        left: fns.map((f) => f.metricLatency({ label: f.functionType, period: Duration.minutes(1) })),
      }),
      new cloudwatch.GraphWidget({
        title: `${title}: 4XX / 5XX`,
        width: 8,
        left: fns.flatMap((f) => [
          f.metricClientError({ label: `${f.functionType} 4XX`, period: Duration.minutes(1) }),
          f.metricServerError({ label: `${f.functionType} 5XX`, period: Duration.minutes(1) }),
        ]),
      }),
      new cloudwatch.GraphWidget({
        title: `${title}: Lambda errors / throttles`,
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
