import * as path from 'path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, KinesisStreamRecord } from 'aws-lambda';
import { KinesisProducer } from '../../lambda/shared/producer';
import { proxyRoutes, serveRestApis, LocalRestApi } from './api-gateway';
import { AssemblyStack, LocalNames, LocalResolver, resourcesOfType, streamNameFromArn } from './assembly';
import { CommandRunSummary, runCommands } from './commands';
import { LocalEnvironment } from './environment';
import { EventSourceMappingProperties, KinesisEventSourceMapping } from './event-source-mapping';
import { LocalFirehose } from './firehose';
import { LocalFlinkApplication } from './flink-runner';
import { LambdaRunner } from './lambda-runner';
import { provisionStack, ProvisionedStack } from './provision';
import { Recorder } from './report/model';
import { drainQueue, flinkPropertyGroups, recordCheckpoints, recordsDone } from './stack-parts';
import { StageCounters, Tally } from './stage-counters';
import { StreamTap } from './stream-tap';

export interface EventSourcedRunOptions {
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  readonly seed: number;
  /** Share of each kind of bad record (duplicates, malformed, unknown types, invalid payloads). */
  readonly badRecordRate: number;
  readonly shards: number;
  readonly checkpointIntervalMs: number;
  readonly workDir: string;
  readonly log: (line: string) => void;
  /** Fault injection: answer the n-th call to the functions API with a 500 or let it time out (504). */
  readonly functionFault?: (call: number) => 'error' | 'timeout' | undefined;
}

interface Projection {
  readonly runner: LambdaRunner;
  readonly poller: KinesisEventSourceMapping;
  readonly processed: Set<string>;
  readonly deadLetterQueueUrl?: string;
}

/**
 * The event-sourced stack on local servers: commands go into the event store; the stateful-functions job (the
 * stack's jar and property groups) calls the order and inventory functions (their bundles, behind a local REST API
 * that invokes them as API Gateway's Lambda proxy does) and writes the egress and dead-letter streams; projection
 * functions behind event-source pollers build the read model in DynamoDB; delivery streams archive every stream.
 */
export class LocalEventSourced {
  private readonly names: LocalNames;
  private readonly resolver: LocalResolver;
  private readonly counters: StageCounters;
  private provisioned?: ProvisionedStack;
  private api?: LocalRestApi;
  private flink?: LocalFlinkApplication;
  private readonly functions = new Map<string, LambdaRunner>();
  private readonly projections: Projection[] = [];
  private readonly firehoses: LocalFirehose[] = [];
  private readonly taps: StreamTap[] = [];
  private readonly runtimeDeadLetters = new Tally();
  private readonly projectionDeadLetters = new Tally();
  /** Ingress messages (eventId) a function accepted; a retried invocation does not count twice. */
  private readonly acceptedIngress = new Set<string>();
  private eventStoreRecords = 0;
  private readModelItems = 0;
  private summary?: CommandRunSummary;
  private timer?: NodeJS.Timeout;
  private flinkCheckpointsSeen = 0;
  private functionCalls = 0;
  /** When a projection last wrote to the read model (epoch ms). */
  public lastProjectionAt = 0;

  constructor(
    private readonly env: LocalEnvironment,
    public readonly stack: AssemblyStack,
    private readonly recorder: Recorder,
    private readonly options: EventSourcedRunOptions,
    runPrefix: string,
  ) {
    this.names = new LocalNames(stack, runPrefix);
    this.resolver = new LocalResolver(this.names, { sqs: env.endpoint('moto') });
    this.counters = new StageCounters(recorder, 'eventsourced');
  }

  public async start(): Promise<void> {
    const { stack, env, options, resolver } = this;
    const kinesis = env.kinesis();
    this.provisioned = await provisionStack(
      stack,
      this.names,
      resolver,
      { kinesis, dynamodb: env.dynamodb(), s3: env.s3(), sqs: env.sqs() },
      { onDemandShards: options.shards },
    );

    // The remote functions, each from its bundle, behind the functions API.
    for (const route of proxyRoutes(stack)) {
      if (this.functions.has(route.functionLogicalId)) continue;
      const runner = new LambdaRunner({
        assemblyDir: stack.directory,
        stackName: stack.name,
        logicalId: route.functionLogicalId,
        resolve: (value, variable) => resolver.string(value, variable),
        extraEnv: { ...env.awsEnvironment(), POWERTOOLS_METRICS_DISABLED: 'true' },
        maxConcurrency: 4,
        output: (line) => options.log(`[${route.resourcePath.slice(1)}] ${line}`),
      });
      await runner.start();
      this.functions.set(route.functionLogicalId, runner);
    }
    this.api = await serveRestApis(stack, this.names, (functionId, event) => this.invokeFunction(functionId, event));

    const flinkId = resourcesOfType(stack, 'AWS::KinesisAnalyticsV2::Application')[0][0];
    this.flink = new LocalFlinkApplication({
      stack,
      logicalId: flinkId,
      resolver,
      workDir: path.join(options.workDir, 'stateful-functions'),
      checkpointIntervalMs: options.checkpointIntervalMs,
      overrideProperties: (group: string, properties: Record<string, string>) =>
        this.localFlinkProperties(group, properties),
      onLine: (line) => options.log(`[stateful-functions] ${line}`),
    });

    const groups = flinkPropertyGroups(this.stack, flinkId);
    const streamOfGroup = (id: string) =>
      streamNameFromArn(resolver.string(groups[id]['stream.arn'], `${id} stream.arn`));
    this.taps.push(
      new StreamTap(kinesis, streamOfGroup('KinesisSource'), () => {
        this.eventStoreRecords += 1;
      }),
      new StreamTap(kinesis, streamOfGroup('DeadLetterSink'), (record) => {
        let reason = 'unreadable';
        try {
          reason = String((JSON.parse(record.data.toString('utf8')) as { reason?: unknown }).reason ?? 'no-reason');
        } catch {
          // counted as unreadable
        }
        this.runtimeDeadLetters.add(reason);
      }),
    );

    // One projection per event-source mapping, each from its bundle with the template's mapping.
    for (const [mappingId, mapping] of resourcesOfType(stack, 'AWS::Lambda::EventSourceMapping')) {
      const properties = mapping.Properties as unknown as EventSourceMappingProperties & Record<string, unknown>;
      const functionId = (properties.FunctionName as { Ref: string }).Ref;
      const runner = new LambdaRunner({
        assemblyDir: stack.directory,
        stackName: stack.name,
        logicalId: functionId,
        resolve: (value, variable) => resolver.string(value, variable),
        extraEnv: { ...env.awsEnvironment(), POWERTOOLS_METRICS_DISABLED: 'true' },
        maxConcurrency: options.shards * (properties.ParallelizationFactor ?? 1),
        output: (line) => options.log(`[${functionId}] ${line}`),
      });
      await runner.start();
      const environment = (
        stack.template.Resources[functionId].Properties?.Environment as {
          Variables?: Record<string, unknown>;
        }
      )?.Variables;
      const projection: Projection = {
        runner,
        processed: new Set<string>(),
        deadLetterQueueUrl: environment?.DEAD_LETTER_QUEUE_URL
          ? resolver.string(environment.DEAD_LETTER_QUEUE_URL, 'DEAD_LETTER_QUEUE_URL')
          : undefined,
        poller: new KinesisEventSourceMapping({
          properties,
          streamName: streamNameFromArn(resolver.string(properties.EventSourceArn, `${mappingId} EventSourceArn`)),
          client: kinesis,
          invoke: (event) => this.invokeProjection(projection, event),
          resolveOnFailure: () => async (record) => {
            this.projectionDeadLetters.add(
              `on-failure:${record.requestContext.condition}`,
              record.KinesisBatchInfo.batchSize,
            );
          },
          log: (line) => options.log(`[${mappingId}] ${line}`),
        }),
      };
      this.projections.push(projection);
    }

    for (const [id] of resourcesOfType(stack, 'AWS::KinesisFirehose::DeliveryStream')) {
      this.firehoses.push(
        new LocalFirehose({
          stack,
          logicalId: id,
          resolver,
          kinesis,
          s3: env.s3(),
          bufferIntervalSeconds: 5,
          log: (line: string) => options.log(`[${id}] ${line}`),
        }),
      );
    }

    await Promise.all([
      this.flink.start(),
      ...this.projections.map((p) => p.poller.start()),
      ...this.firehoses.map((f) => f.start()),
      ...this.taps.map((t) => t.start()),
    ]);
    this.timer = setInterval(() => void this.refresh(), 1000);
  }

  /** Writes commands into the event store for the run's duration. */
  public async produce(signal?: AbortSignal): Promise<CommandRunSummary> {
    const flinkId = resourcesOfType(this.stack, 'AWS::KinesisAnalyticsV2::Application')[0][0];
    const source = flinkPropertyGroups(this.stack, flinkId).KinesisSource;
    const producer = new KinesisProducer({
      client: this.env.kinesis(),
      streamName: streamNameFromArn(this.resolver.string(source['stream.arn'], 'event store')),
    });
    const bad = this.options.badRecordRate;
    this.summary = await runCommands(producer, {
      seed: this.options.seed,
      ratePerSecond: this.options.ratePerSecond,
      durationSeconds: this.options.durationSeconds,
      duplicateRate: bad,
      malformedRate: bad,
      unknownTypeRate: bad,
      invalidPayloadRate: bad,
      signal,
      onProgress: (p) => {
        this.counters.in('commands', p.generated);
        this.counters.out('commands', p.sent);
        this.counters.deadLetters('commands', { 'put-failed': p.failed });
      },
    });
    return this.summary;
  }

  public produced(): CommandRunSummary | undefined {
    return this.summary;
  }

  /** True once every command written is accounted for by the functions and every egress event is projected. */
  public settled(): boolean {
    const s = this.summary;
    if (!s) return false;
    const commandsDone =
      this.eventStoreRecords >= s.sent &&
      this.acceptedIngress.size + this.runtimeDeadLetters.total + s.byKind.duplicate >= s.sent;
    const egress = this.projections.reduce((n, p) => n + p.poller.metrics().recordsRead, 0);
    const projected = this.projections.reduce((n, p) => n + p.processed.size, 0) + this.projectionDeadLetters.total;
    return commandsDone && projected >= egress;
  }

  public async refresh(): Promise<void> {
    const c = this.counters;
    c.in('event-store', this.eventStoreRecords);
    c.out('event-store', this.eventStoreRecords);
    c.in('functions', this.eventStoreRecords);
    c.out('functions', this.acceptedIngress.size);
    c.deadLetters('functions', this.runtimeDeadLetters.counts);
    // The runtime drops a command whose eventId it has seen; the generator knows how many it wrote twice.
    if (this.summary) c.deduplicated('functions', this.summary.byKind.duplicate);
    for (const p of this.projections) {
      if (!p.deadLetterQueueUrl) continue;
      await drainQueue(this.env.sqs(), p.deadLetterQueueUrl, (body) => {
        this.projectionDeadLetters.add((JSON.parse(body) as { reason?: string }).reason ?? 'no-reason');
      });
    }
    const egress = this.projections.reduce((n, p) => n + p.poller.metrics().recordsRead, 0);
    const processed = this.projections.reduce((n, p) => n + p.processed.size, 0);
    const handlerDead = [...this.projectionDeadLetters.counts.entries()]
      .filter(([reason]) => !reason.startsWith('on-failure:'))
      .reduce((n, [, v]) => n + v, 0);
    c.in('egress', egress);
    c.out('egress', egress);
    c.in('projections', egress);
    c.out('projections', processed - handlerDead);
    c.deadLetters('projections', this.projectionDeadLetters.counts);
    c.in('read-model', processed - handlerDead);
    c.out('read-model', processed - handlerDead);
    this.flinkCheckpointsSeen = recordCheckpoints(
      this.recorder.stage('eventsourced', 'functions'),
      this.flink?.metrics(),
      this.flinkCheckpointsSeen,
    );
    this.recorder.lag('eventsourced', 'functions', Math.max(0, ...this.taps.map((t) => t.lagMs())));
    this.recorder.lag(
      'eventsourced',
      'projections',
      Math.max(0, ...this.projections.flatMap((p) => p.poller.metrics().shards.map((s) => s.iteratorAgeMs))),
    );
    const table = this.provisioned?.tables[0];
    if (table) {
      const scan = await this.env
        .dynamodb()
        .send(new ScanCommand({ TableName: table.name, Select: 'COUNT' }))
        .catch(() => undefined);
      if (scan?.Count !== undefined) this.readModelItems = scan.Count;
    }
  }

  public async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled([
      ...this.projections.map((p) => p.poller.stop()),
      ...this.firehoses.map((f) => f.stop()),
      ...this.taps.map((t) => t.stop()),
      this.flink?.stop(),
    ]);
    await Promise.allSettled([
      ...this.projections.map((p) => p.runner.stop()),
      ...[...this.functions.values()].map((f) => f.stop()),
      this.api?.close(),
    ]);
  }

  public flinkJob(): LocalFlinkApplication | undefined {
    return this.flink;
  }

  public localNames(): LocalNames {
    return this.names;
  }

  public resources(): ProvisionedStack | undefined {
    return this.provisioned;
  }

  /** Invocation errors and retries of the projections' pollers, summed (fault tests check the faults bit). */
  public projectionRetries(): { errors: number; retries: number } {
    return this.projections.reduce(
      (sum, p) => {
        const m = p.poller.metrics();
        return { errors: sum.errors + m.errors, retries: sum.retries + m.retries };
      },
      { errors: 0, retries: 0 },
    );
  }

  /** The eventIds of the commands a function accepted (ingress messages answered 200 and not rejected). */
  public acceptedCommandIds(): ReadonlySet<string> {
    return this.acceptedIngress;
  }

  public readModelCount(): number {
    return this.readModelItems;
  }

  /** Status codes the functions API answered, for fault tests and the summary. */
  public apiStatusCounts(): ReadonlyMap<number, number> {
    return this.api?.statusCounts ?? new Map();
  }

  private async invokeFunction(functionId: string, event: APIGatewayProxyEvent): Promise<unknown> {
    const fault = this.options.functionFault?.(this.functionCalls++);
    if (fault === 'error') return { statusCode: 500, body: '{"error":"injected fault"}' };
    if (fault === 'timeout') {
      // Run the function, then answer after the integration timeout: the effect happened, the answer is lost.
      await this.functions.get(functionId)!.invoke(event);
      return new Promise(() => undefined);
    }
    const result = (await this.functions.get(functionId)!.invoke(event)) as { statusCode?: number; body?: string };
    if (result?.statusCode === 200 && event.body) {
      try {
        const request = JSON.parse(
          event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body,
        ) as { messages?: Array<{ id: string; from: unknown }> };
        const response = JSON.parse(result.body ?? '{}') as { rejected?: Array<{ messageId: string }> };
        const rejected = new Set((response.rejected ?? []).map((r) => r.messageId));
        for (const m of request.messages ?? []) {
          if (m.from === null && !rejected.has(m.id)) this.acceptedIngress.add(m.id);
        }
      } catch {
        // not a protocol request: nothing to count
      }
    }
    return result;
  }

  private async invokeProjection(projection: Projection, event: unknown): Promise<unknown> {
    const records = (event as { Records?: KinesisStreamRecord[] }).Records ?? [];
    const result = await projection.runner.invoke(event);
    const done = Date.now();
    const applied = recordsDone(records, result);
    if (applied.length > 0) this.lastProjectionAt = done;
    for (const record of applied) {
      projection.processed.add(`${record.eventID}`);
      try {
        const payload = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8')) as {
          occurredAt?: number;
        };
        if (typeof payload.occurredAt === 'number')
          this.recorder.latency('eventsourced', done - payload.occurredAt, done);
      } catch {
        // dead-lettered by the projection
      }
    }
    return result;
  }

  /**
   * The stateful-functions job's property groups pointed at the local servers: Kinesis for every stream group, s3rver
   * for the state export, and the functions' endpoints in `module.json` at the local functions API.
   */
  private localFlinkProperties(_group: string, properties: Readonly<Record<string, string>>): Record<string, string> {
    const out = { ...properties };
    if (out['stream.arn']) out['aws.endpoint'] = this.env.endpoint('kinesis');
    if (out['s3.bucket']) {
      out['s3.endpoint'] = this.env.endpoint('s3');
      out['s3.path.style'] = 'true';
    }
    if (out['module.json']) {
      const module = JSON.parse(out['module.json']) as { functions: Record<string, { endpoint: string }> };
      for (const fn of Object.values(module.functions)) {
        const url = new URL(fn.endpoint);
        fn.endpoint = `${this.api!.endpoint}${url.pathname}`;
      }
      out['module.json'] = JSON.stringify(module);
    }
    return out;
  }
}
