import * as fs from 'fs';
import * as path from 'path';
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { KinesisStreamRecord } from 'aws-lambda';
import { runSimulation, SimulationSummary } from '../../lambda/device-fleet-simulator/run';
import { KinesisProducer } from '../../lambda/shared/producer';
import { createInfluxDatabase, queryInflux } from './servers';
import { AssemblyStack, LocalNames, LocalResolver, resourcesOfType, streamNameFromArn } from './assembly';
import { applyBucketDeployments } from './bucket-deployment';
import { LocalEnvironment } from './environment';
import { EventSourceMappingProperties, KinesisEventSourceMapping } from './event-source-mapping';
import { LocalFirehose } from './firehose';
import { LocalFlinkApplication } from './flink-runner';
import { LambdaRunner } from './lambda-runner';
import { provisionStack, ProvisionedStack } from './provision';
import { Recorder } from './report/model';
import { drainQueue, flinkPropertyGroup, recordCheckpoints, recordsDone } from './stack-parts';
import { StageCounters, Tally } from './stage-counters';
import { StreamTap } from './stream-tap';

/** The detail of an anomaly event on the bus (what the calculator publishes). */
export interface AnomalyEventDetail {
  readonly deviceId: string;
  readonly metric: string;
  readonly value: number;
  readonly eventId: string;
  readonly timestamp: number;
  readonly windowEnd: number;
}

/** What a local run of the time-series stack is asked to do. */
export interface TimeSeriesRunOptions {
  readonly devices: number;
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  readonly seed: number;
  /** Share of each kind of bad record the simulator writes. */
  readonly badRecordRate: number;
  readonly anomalyRate: number;
  /** Write KPL aggregates instead of one record per entry. */
  readonly aggregate: boolean;
  /** Shards of each on-demand stream. */
  readonly shards: number;
  /** The calculator's tumbling window, shortened for a local run (the template's is 60 s). */
  readonly windowSeconds?: number;
  /** Flink checkpoint interval for the local job. */
  readonly checkpointIntervalMs: number;
  /** A directory of this run for Flink checkpoints and properties. */
  readonly workDir: string;
  readonly log: (line: string) => void;
  /** Fault injection: the calculator's invocations fail while they hold a record whose eventId this accepts. */
  readonly poison?: (eventId: string) => boolean;
}

function eventIdOf(data: Buffer): string | undefined {
  try {
    const id = (JSON.parse(data.toString('utf8')) as { eventId?: unknown }).eventId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

const INFLUX_DATABASE_TYPE = 'AWS::Timestream::InfluxDBInstance';
/** The metric the report draws for the devices it follows. */
export const TRACKED_METRIC = 'temperature';

/** The logical id of the one resource of `type` in the stack that matches `filter`; fails naming what is missing. */
function single(stack: AssemblyStack, type: string, filter: (id: string) => boolean = () => true): string {
  const ids = resourcesOfType(stack, type)
    .map(([id]) => id)
    .filter(filter);
  if (ids.length !== 1) throw new Error(`${stack.name}: expected one ${type}, found ${ids.length} (${ids.join(', ')})`);
  return ids[0];
}

/**
 * The time-series stack on local servers: the enrichment job (the stack's jar, its property groups) reads the raw
 * stream and writes the enriched and dead-letter streams; the calculator function (its bundle, its environment)
 * runs behind an event-source poller with the template's mapping (tumbling windows included) and writes InfluxDB,
 * DynamoDB and EventBridge; the archive delivery stream copies the raw stream to S3; the simulator's generator feeds
 * the raw stream. Every stage's counts go to the recorder.
 */
export class LocalTimeSeries {
  private readonly names: LocalNames;
  private readonly resolver: LocalResolver;
  private readonly counters: StageCounters;
  private provisioned?: ProvisionedStack;
  private flink?: LocalFlinkApplication;
  private calculator?: LambdaRunner;
  private poller?: KinesisEventSourceMapping;
  private firehose?: LocalFirehose;
  private readonly taps: StreamTap[] = [];
  private readonly deadLetters = new Tally();
  private readonly deadLetterIdentities = new Set<string>();
  private readonly calculatorDeadLetters = new Tally();
  private readonly handlerDeadLetters = new Tally();
  private readonly calculatorProcessed = new Set<string>();
  /** Distinct eventIds on the enriched stream, and those the calculator processed: replays count once. */
  private readonly enrichedEventIds = new Set<string>();
  private readonly calculatorEventIds = new Set<string>();
  /** Records the enrichment job wrote twice (after a restore from a checkpoint), which the calculator drops. */
  public replayedRecords = 0;
  /** Arrival in the raw stream by eventId, where end-to-end latency starts. */
  private readonly rawArrivals = new Map<string, number>();
  /** Every record the calculator processed, with the tumbling window the mapping put it in (first success only). */
  public readonly calculatorInputs: Array<{ windowStart: number; windowEnd: number; data: Buffer }> = [];
  private anomalyQueueUrl?: string;
  private anomalyEvents = 0;
  /** The anomaly events the bus delivered (their detail), in arrival order. */
  public readonly anomalies: AnomalyEventDetail[] = [];
  private influxPoints = 0;
  private latestStateItems = 0;
  private summary?: SimulationSummary;
  private rawRecords = 0;
  private timer?: NodeJS.Timeout;
  private readonly influxEndpoint: string;

  constructor(
    private readonly env: LocalEnvironment,
    public readonly stack: AssemblyStack,
    private readonly recorder: Recorder,
    private readonly options: TimeSeriesRunOptions,
    runPrefix: string,
  ) {
    this.names = new LocalNames(stack, runPrefix);
    this.influxEndpoint = env.endpoint('influxdb');
    const overrides: Record<string, unknown> = {};
    for (const [id] of resourcesOfType(stack, INFLUX_DATABASE_TYPE)) {
      overrides[`${id}.Endpoint`] = new URL(this.influxEndpoint).hostname;
    }
    this.resolver = new LocalResolver(this.names, { sqs: env.endpoint('moto') }, overrides);
    this.counters = new StageCounters(recorder, 'timeseries');
  }

  /** Creates the resources and starts every stage; the load starts with `produce`. */
  public async start(): Promise<void> {
    const { stack, env, options, resolver } = this;
    const kinesis = env.kinesis();
    this.provisioned = await provisionStack(
      stack,
      this.names,
      resolver,
      { kinesis, dynamodb: env.dynamodb(), s3: env.s3(), sqs: env.sqs(), eventBridge: env.eventBridge() },
      { onDemandShards: options.shards },
    );
    await createInfluxDatabase(this.influxEndpoint, 'telemetry');
    await applyBucketDeployments(stack, resolver, env.s3());
    await this.captureAnomalyEvents();

    const streamOf = (id: string) => this.names.nameOf(id);
    const flinkId = single(stack, 'AWS::KinesisAnalyticsV2::Application');
    this.flink = new LocalFlinkApplication({
      stack,
      logicalId: flinkId,
      resolver,
      workDir: path.join(options.workDir, 'enrichment'),
      checkpointIntervalMs: options.checkpointIntervalMs,
      overrideProperties: (group, properties) => this.localFlinkProperties(group, properties),
      onLine: (line) => options.log(`[enrichment] ${line}`),
    });

    // The dead-letter stream the enrichment job writes: reasons by the record's `reason` field.
    const [sourceGroup, deadLetterGroup] = ['KinesisSource', 'DeadLetterSink'].map((g) =>
      flinkPropertyGroup(this.stack, flinkId, g),
    );
    const rawStream = streamNameFromArn(resolver.string(sourceGroup['stream.arn'], 'KinesisSource stream.arn'));
    const deadLetterStream = streamNameFromArn(
      resolver.string(deadLetterGroup['stream.arn'], 'DeadLetterSink stream.arn'),
    );
    this.taps.push(
      new StreamTap(kinesis, rawStream, (record, arrival) => {
        this.rawRecords += 1;
        this.recordRawPoint(record.data, arrival);
      }),
      new StreamTap(kinesis, deadLetterStream, (record) => {
        let reason = 'unreadable';
        let identity = record.data.toString('base64');
        try {
          const letter = JSON.parse(record.data.toString('utf8')) as {
            reason?: unknown;
            stage?: unknown;
            payload?: unknown;
          };
          reason = String(letter.reason ?? 'no-reason');
          identity = JSON.stringify([letter.reason, letter.stage, letter.payload]);
        } catch {
          // counted as unreadable
        }
        // The job's sinks are at least once (a restore, a PutRecords retried after a cut connection): a dead letter
        // written again has the same reason and payload, which no two generated records share.
        if (this.deadLetterIdentities.has(identity)) return;
        this.deadLetterIdentities.add(identity);
        this.deadLetters.add(reason);
      }),
    );

    // The calculator behind its event-source mapping.
    const [mappingId, mapping] = resourcesOfType(stack, 'AWS::Lambda::EventSourceMapping')[0];
    const properties = mapping.Properties as unknown as EventSourceMappingProperties & Record<string, unknown>;
    const functionId = (properties.FunctionName as { Ref: string }).Ref;
    this.calculator = new LambdaRunner({
      assemblyDir: stack.directory,
      stackName: stack.name,
      logicalId: functionId,
      resolve: (value, variable) => this.functionEnvironment(variable, value),
      extraEnv: {
        ...env.awsEnvironment(),
        // Debian's InfluxDB 1.x serves the v1 write API without authentication; Timestream for InfluxDB is 2.x.
        INFLUX_URL: this.influxEndpoint,
        INFLUX_API: 'v1',
        INFLUX_SECRET_ARN: '',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
      output: (line) => options.log(`[calculator] ${line}`),
    });
    await this.calculator.start();
    const enrichedStream = streamNameFromArn(resolver.string(properties.EventSourceArn, `${mappingId} EventSourceArn`));
    this.poller = new KinesisEventSourceMapping({
      properties: {
        ...properties,
        TumblingWindowInSeconds: options.windowSeconds ?? properties.TumblingWindowInSeconds,
      },
      streamName: enrichedStream,
      client: kinesis,
      eventSourceArn: resolver.string({ 'Fn::GetAtt': [this.streamLogicalId(enrichedStream), 'Arn'] }, 'stream'),
      invoke: (event) => this.invokeCalculator(event),
      // In AWS the invocation record goes to the same queue as the handler's dead letters; here it is counted.
      resolveOnFailure: () => async (record) => {
        this.calculatorDeadLetters.add(
          `on-failure:${record.requestContext.condition}`,
          record.KinesisBatchInfo.batchSize,
        );
      },
      log: (line) => options.log(`[calculator mapping] ${line}`),
    });

    const archiveId = single(stack, 'AWS::KinesisFirehose::DeliveryStream');
    this.firehose = new LocalFirehose({
      stack,
      logicalId: archiveId,
      resolver,
      kinesis,
      s3: env.s3(),
      bufferIntervalSeconds: 5,
      log: (line) => options.log(`[archive] ${line}`),
    });

    await Promise.all([
      this.flink.start(),
      this.poller.start(),
      this.firehose.start(),
      ...this.taps.map((t) => t.start()),
    ]);
    this.timer = setInterval(() => void this.refresh(), 1000);
    void streamOf;
  }

  /** Plays the device fleet into the raw stream for the run's duration (the simulator takes no abort signal: Ctrl-C ends the run after it). */
  public async produce(_signal?: AbortSignal): Promise<SimulationSummary> {
    const { options } = this;
    const flinkId = single(this.stack, 'AWS::KinesisAnalyticsV2::Application');
    const rawArn = this.resolver.string(
      flinkPropertyGroup(this.stack, flinkId, 'KinesisSource')['stream.arn'],
      'raw stream',
    );
    const producer = new KinesisProducer({
      client: this.env.kinesis(),
      streamName: streamNameFromArn(rawArn),
      aggregate: options.aggregate,
      // Rides out a Kinesis outage of some seconds (up to ~20 s of backoff) before a record counts as failed.
      maxAttempts: 10,
    });
    const bad = options.badRecordRate;
    this.summary = await runSimulation(producer, {
      deviceCount: options.devices,
      ratePerSecond: options.ratePerSecond,
      durationSeconds: options.durationSeconds,
      anomalyRate: options.anomalyRate,
      duplicateRate: bad,
      lateRate: bad,
      malformedRate: bad,
      seed: options.seed,
      onProgress: (p) => {
        this.counters.in('ingest', p.generated);
        this.counters.out('ingest', p.sent);
        this.counters.deadLetters('ingest', { 'put-failed': p.failed });
      },
    });
    return this.summary;
  }

  /** Records the simulator produced, by kind (after `produce`). */
  public produced(): SimulationSummary | undefined {
    return this.summary;
  }

  /** True once every record sent has been accounted for at the end of both paths. */
  public settled(): boolean {
    const sent = this.summary?.sent;
    if (sent === undefined) return false;
    const archiveMetrics = this.firehose?.metrics();
    const archived = (archiveMetrics?.recordsDelivered ?? 0) + (archiveMetrics?.conversionFailures ?? 0);
    const duplicates = this.summary?.duplicatesSent ?? 0;
    const calculated = this.calculatorEventIds.size + this.calculatorDeadLetters.total;
    return this.rawRecords >= sent && archived >= sent && calculated + this.deadLetters.total + duplicates >= sent;
  }

  /** Updates the recorder from every stage's counters (called every second and at the end). */
  public async refresh(): Promise<void> {
    const c = this.counters;
    const sent = this.summary?.sent;
    c.in('raw-stream', Math.max(this.rawRecords, 0));
    c.out('raw-stream', this.rawRecords);
    c.in('enrichment', this.rawRecords);
    const enrichedRead = this.enrichedEventIds.size;
    c.out('enrichment', enrichedRead);
    c.deadLetters('enrichment', this.deadLetters.counts);
    // The enrichment job drops repeated eventIds; the simulator knows how many of those it sent.
    if (sent !== undefined) c.deduplicated('enrichment', this.summary!.duplicatesSent);
    c.in('enriched-stream', enrichedRead);
    c.out('enriched-stream', enrichedRead);
    c.in('calculator', enrichedRead);
    // A record the handler dead-letters is a success to the mapping: it is counted once, as a dead letter.
    c.out('calculator', this.calculatorEventIds.size - this.handlerDeadLetters.total);
    c.deadLetters('calculator', this.calculatorDeadLetters.counts);
    c.deadLetters('calculator', this.handlerDeadLetters.counts);
    const archive = this.firehose?.metrics();
    if (archive) {
      c.in('archive', archive.recordsRead);
      c.out('archive', archive.recordsDelivered);
      // Records Parquet conversion refused go under the error prefix, as Firehose writes them.
      c.deadLetters('archive', { 'format-conversion-failed': archive.conversionFailures });
    }
    this.flinkCheckpointsSeen = recordCheckpoints(
      this.recorder.stage('timeseries', 'enrichment'),
      this.flink?.metrics(),
      this.flinkCheckpointsSeen,
    );
    const mapping = this.poller?.metrics();
    if (mapping) {
      this.recorder.lag('timeseries', 'calculator', Math.max(0, ...mapping.shards.map((s) => s.iteratorAgeMs)));
    }
    this.recorder.lag('timeseries', 'enrichment', Math.max(0, ...this.taps.map((t) => t.lagMs())));
    await this.refreshDestinations();
  }

  private flinkCheckpointsSeen = 0;

  /** Stops every stage (the servers belong to the environment). */
  public async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled([
      this.poller?.stop(),
      this.firehose?.stop(),
      ...this.taps.map((t) => t.stop()),
      this.flink?.stop(),
    ]);
    await this.calculator?.stop();
  }

  /** The Flink job, for fault tests (kill and restart from the last checkpoint). */
  public flinkJob(): LocalFlinkApplication | undefined {
    return this.flink;
  }

  public localNames(): LocalNames {
    return this.names;
  }

  public resources(): ProvisionedStack | undefined {
    return this.provisioned;
  }

  private async invokeCalculator(event: unknown): Promise<unknown> {
    const records = (event as { Records?: KinesisStreamRecord[] }).Records ?? [];
    const eventIds = records.map((r) => eventIdOf(Buffer.from(r.kinesis.data, 'base64')));
    for (const id of eventIds) if (id !== undefined) this.enrichedEventIds.add(id);
    // Fault injection: the function fails every invocation that holds a poison record, as a handler bug would.
    if (this.options.poison && eventIds.some((id) => id !== undefined && this.options.poison!(id))) {
      throw new Error('injected fault: a poison record in the batch');
    }
    const result = await this.calculator!.invoke(event);
    const done = Date.now();
    for (const record of recordsDone(records, result)) {
      if (this.calculatorProcessed.has(record.kinesis.sequenceNumber)) continue;
      this.calculatorProcessed.add(record.kinesis.sequenceNumber);
      const eventId = eventIdOf(Buffer.from(record.kinesis.data, 'base64'));
      // A record the enrichment job wrote again after a restore (its sink is at least once): same eventId.
      if (eventId !== undefined && this.calculatorEventIds.has(eventId)) {
        this.replayedRecords += 1;
        continue;
      }
      if (eventId !== undefined) this.calculatorEventIds.add(eventId);
      const window = (event as { window?: { start: string; end: string } }).window;
      if (window) {
        this.calculatorInputs.push({
          windowStart: Date.parse(window.start),
          windowEnd: Date.parse(window.end),
          data: Buffer.from(record.kinesis.data, 'base64'),
        });
      }
      try {
        const payload = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8')) as {
          eventId?: string;
        };
        const put = payload.eventId === undefined ? undefined : this.rawArrivals.get(payload.eventId);
        if (put !== undefined) this.recorder.latency('timeseries', done - put, done);
      } catch {
        // not JSON: the calculator dead-letters it
      }
    }
    return result;
  }

  private async captureAnomalyEvents(): Promise<void> {
    const bus = resourcesOfType(this.stack, 'AWS::Events::EventBus')[0];
    if (!bus) return;
    const sqs = this.env.sqs();
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: `${this.names.nameOf(bus[0])}-capture` }));
    this.anomalyQueueUrl = queue.QueueUrl!;
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: this.anomalyQueueUrl, AttributeNames: ['QueueArn'] }),
    );
    // The template's rules, with their event patterns, but targeting a queue the run reads.
    for (const [ruleId, rule] of resourcesOfType(this.stack, 'AWS::Events::Rule')) {
      const p = rule.Properties ?? {};
      if (!p.EventPattern || !p.EventBusName) continue;
      const eventBusName = this.resolver.string(p.EventBusName, `${ruleId} EventBusName`);
      const events = this.env.eventBridge();
      await events.send(
        new PutRuleCommand({
          Name: `${ruleId}-local`,
          EventBusName: eventBusName,
          EventPattern: JSON.stringify(this.resolver.resolve(p.EventPattern)),
        }),
      );
      await events.send(
        new PutTargetsCommand({
          Rule: `${ruleId}-local`,
          EventBusName: eventBusName,
          Targets: [{ Id: 'capture', Arn: attributes.Attributes!.QueueArn! }],
        }),
      );
    }
  }

  private async refreshDestinations(): Promise<void> {
    const c = this.counters;
    if (this.anomalyQueueUrl) {
      await drainQueue(this.env.sqs(), this.anomalyQueueUrl, (body) => {
        this.anomalyEvents += 1;
        const event = JSON.parse(body) as {
          detail?: { deviceId?: string; metric?: string; value?: number; timestamp?: number; eventId?: string };
        };
        const d = event.detail;
        if (d) this.anomalies.push(d as AnomalyEventDetail);
        if (d?.deviceId && this.recorder.tracks(d.deviceId) && typeof d.value === 'number') {
          this.recorder.device(d.deviceId).anomaly(d.timestamp ?? Date.now(), d.value, d.metric ?? 'anomaly');
        }
      });
      c.in('eventbridge', this.anomalyEvents);
      c.out('eventbridge', this.anomalyEvents);
    }
    const deadLetterQueue = this.provisioned?.queues.find(
      (q) => /DeadLetter/.test(q.logicalId) && !/Anomal/.test(q.logicalId),
    );
    if (deadLetterQueue) {
      await drainQueue(this.env.sqs(), deadLetterQueue.url, (body) => {
        const entry = JSON.parse(body) as { reason?: string };
        this.handlerDeadLetters.add(entry.reason ?? 'no-reason');
      });
    }
    try {
      const rows = await queryInflux(this.influxEndpoint, 'telemetry', 'SELECT count(*) FROM /.*/');
      let points = 0;
      for (const row of rows) {
        const counts = Object.entries(row)
          .filter(([k, v]) => k.startsWith('count_') && typeof v === 'number')
          .map(([, v]) => v as number);
        if (counts.length) points += Math.max(...counts);
      }
      this.influxPoints = points;
      c.in('influxdb', points);
      c.out('influxdb', points);
    } catch {
      // InfluxDB answers once the first point is written
    }
    const table = this.provisioned?.tables[0];
    if (table) {
      const scan = await this.env
        .dynamodb()
        .send(new ScanCommand({ TableName: table.name, Select: 'COUNT' }))
        .catch(() => undefined);
      if (scan?.Count !== undefined) {
        this.latestStateItems = scan.Count;
        c.in('dynamodb', scan.Count);
        c.out('dynamodb', scan.Count);
      }
    }
  }

  /** The raw metric of a device the report follows. */
  private recordRawPoint(data: Buffer, arrival: number): void {
    try {
      const r = JSON.parse(data.toString('utf8')) as {
        eventId?: string;
        deviceId?: string;
        timestamp?: number;
        metrics?: Record<string, number>;
      };
      // When the producer put it: late records carry an old timestamp on purpose, so latency starts at the put.
      if (typeof r.eventId === 'string' && !this.rawArrivals.has(r.eventId)) this.rawArrivals.set(r.eventId, arrival);
      if (!r.deviceId || !this.recorder.tracks(r.deviceId) || typeof r.timestamp !== 'number') return;
      const value = r.metrics?.[TRACKED_METRIC];
      if (typeof value === 'number') this.recorder.device(r.deviceId).raw(r.timestamp, value);
    } catch {
      // malformed: no point
    }
  }

  /**
   * The window aggregates InfluxDB holds for the devices the report follows (measurement `telemetry`, one point per
   * device, metric and window, at the window's end), handed to the recorder at the end of a run.
   */
  public async recordWindows(deviceIds: readonly string[]): Promise<void> {
    const windowMs = (this.options.windowSeconds ?? 60) * 1000;
    for (const deviceId of deviceIds) {
      const rows = await queryInflux(
        this.influxEndpoint,
        'telemetry',
        `SELECT * FROM "telemetry" WHERE "deviceId" = '${deviceId.replace(/'/g, '')}' AND "metric" = '${TRACKED_METRIC}'`,
      ).catch(() => []);
      for (const row of rows) {
        const end = Number(row.time);
        this.recorder.device(deviceId).window({
          start: end - windowMs,
          end,
          count: Number(row.count),
          min: Number(row.min),
          max: Number(row.max),
          mean: Number(row.mean),
          p95: Number(row.p95),
        });
      }
    }
  }

  /** Local values for a function's environment variable. */
  private functionEnvironment(variable: string, value: unknown): string | undefined {
    if (variable === 'INFLUX_URL') return this.influxEndpoint;
    if (variable === 'INFLUX_SECRET_ARN') return '';
    return this.resolver.string(value, variable);
  }

  /** The local endpoints in the enrichment job's property groups: Kinesis for streams, s3rver for reference data. */
  private localFlinkProperties(group: string, properties: Readonly<Record<string, string>>): Record<string, string> {
    const out = { ...properties };
    if (out['stream.arn']) out['aws.endpoint'] = this.env.endpoint('kinesis');
    if (group === 'Enrichment' || Object.keys(out).some((k) => k.startsWith('s3.') || k.startsWith('reference.'))) {
      out['s3.endpoint'] = this.env.endpoint('s3');
      out['s3.path.style'] = 'true';
    }
    return out;
  }

  private streamLogicalId(localName: string): string {
    const found = resourcesOfType(this.stack, 'AWS::Kinesis::Stream').find(
      ([id]) => this.names.nameOf(id) === localName,
    );
    if (!found) throw new Error(`no stream named ${localName} in ${this.stack.name}`);
    return found[0];
  }

  public destinationCounts(): { influxPoints: number; latestStateItems: number; anomalyEvents: number } {
    return {
      influxPoints: this.influxPoints,
      latestStateItems: this.latestStateItems,
      anomalyEvents: this.anomalyEvents,
    };
  }

  /** Where the run's files go. */
  public static workDir(base: string): string {
    fs.mkdirSync(base, { recursive: true });
    return base;
  }
}
