import { randomUUID } from 'crypto';
import {
  _Record,
  GetRecordsCommand,
  GetShardIteratorCommand,
  GetShardIteratorCommandInput,
  KinesisClient,
  ListShardsCommand,
  Shard,
} from '@aws-sdk/client-kinesis';
import {
  EventSourceMappingProperties,
  FailureCondition,
  InvocationRecord,
  KinesisEventRecord,
  OnFailureSender,
  PollerMetrics,
  ShardMetrics,
} from './esm-types';

export * from './esm-types';

/**
 * A local Kinesis event source mapping: polls every shard of a stream on kinesis-local and invokes a handler the way
 * Lambda's event source mapping does (batching, partial batch responses, retries, bisection, record age, on-failure
 * destinations, tumbling windows, resharding, parallelization factor). The behaviour, with the AWS documentation
 * each point comes from and the test that checks it, is in docs/local-event-source-mapping.md.
 */
export interface KinesisEventSourceMappingOptions {
  /** The `Properties` of the `AWS::Lambda::EventSourceMapping` from the synthesized template. */
  readonly properties: EventSourceMappingProperties;
  /** The local stream the mapping's EventSourceArn (stream or consumer ARN) resolves to. */
  readonly streamName: string;
  /**
   * An SDK v3 client for kinesis-local. It must use `NodeHttpHandler` from `@smithy/node-http-handler` (HTTP/1.1):
   * kinesis-local does not speak the HTTP/2 the default Kinesis handler may negotiate.
   */
  readonly client: KinesisClient;
  /** Invokes the function (synchronously, as Lambda does): resolves with its response, rejects with its error. */
  readonly invoke: (event: unknown) => Promise<unknown>;
  /**
   * Maps `DestinationConfig.OnFailure.Destination` (as the template holds it: an ARN or a token) to a sender. Returning
   * undefined (or no resolver) discards records like a mapping without a destination.
   */
  readonly resolveOnFailure?: (destination: unknown) => OnFailureSender | undefined;
  /** `eventSourceARN` in events and `streamArn` in invocation records. Default: the local stream's ARN. */
  readonly eventSourceArn?: string;
  readonly functionArn?: string;
  readonly invokeIdentityArn?: string;
  readonly region?: string;
  /** Delay between GetRecords calls on a shard with nothing new. Lambda polls once per second. Default 1000. */
  readonly pollIntervalMs?: number;
  /** How often ListShards looks for new shards (resharding). Default 5000; a finished shard triggers it at once. */
  readonly shardDiscoveryIntervalMs?: number;
  /** First retry delay after a failed invocation, doubled on each retry up to 5 s. Default 100. */
  readonly retryBaseDelayMs?: number;
  readonly log?: (message: string) => void;
}

const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const MAX_STATE_BYTES = 1024 * 1024;
/** Per-record envelope of the event beyond data and partition key, for the 6 MB payload limit. */
const RECORD_OVERHEAD_BYTES = 400;

interface BufferedRecord {
  readonly seq: string;
  readonly partitionKey: string;
  readonly data: string;
  /** Approximate arrival, epoch ms. */
  readonly arrival: number;
  readonly receivedAt: number;
  readonly size: number;
  done: boolean;
}

interface Segment {
  records: BufferedRecord[];
  /** Failed invocations counted against MaximumRetryAttempts (bisection does not count). */
  retries: number;
  invokes: number;
}

interface Lane {
  queue: BufferedRecord[];
  running: boolean;
}

interface WindowState {
  start: number;
  end: number;
  state: Record<string, unknown>;
}

interface ShardRuntime {
  readonly shardId: string;
  readonly parents: string[];
  status: 'waiting-for-parent' | 'running' | 'finished';
  /** In fetch (= sequence) order; a done prefix is dropped as the checkpoint advances. */
  readonly inFlight: BufferedRecord[];
  lanes: Lane[];
  readerDone: boolean;
  checkpoint?: string;
  lastFetchedSeq?: string;
  iteratorAgeMs: number;
  window?: WindowState;
  startingPosition: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
}

type Outcome =
  | { kind: 'success'; state?: Record<string, unknown> }
  | { kind: 'partial'; index: number; state?: Record<string, unknown> }
  | { kind: 'error'; functionError?: string };

class Notifier {
  private waiters = new Set<() => void>();
  private timers = new Set<NodeJS.Timeout>();

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.timers.delete(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.timers.add(timer);
      this.waiters.add(done);
    });
  }

  notifyAll(): void {
    for (const w of [...this.waiters]) w();
  }
}

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');

/** The Kinesis event source mapping, run locally. */
export class KinesisEventSourceMapping {
  private readonly props: EventSourceMappingProperties;
  private readonly batchSize: number;
  private readonly batchingWindowMs: number;
  private readonly parallelization: number;
  private readonly windowMs: number;
  private readonly reportItemFailures: boolean;
  private readonly bisect: boolean;
  private readonly maxRetries: number;
  private readonly maxAgeMs: number;
  private readonly pollIntervalMs: number;
  private readonly discoveryIntervalMs: number;
  private readonly retryBaseDelayMs: number;
  private readonly region: string;
  private readonly functionArn: string;
  private readonly invokeIdentityArn: string;
  private readonly onFailure?: OnFailureSender;
  private eventSourceArn: string;
  private readonly shards = new Map<string, ShardRuntime>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly notifier = new Notifier();
  private started = false;
  private stopping = false;
  private initialListing = true;
  private counters = {
    recordsRead: 0,
    recordsDelivered: 0,
    invocations: 0,
    batchesInvoked: 0,
    errors: 0,
    retries: 0,
    bisections: 0,
    recordsSentToOnFailure: 0,
    recordsDiscarded: 0,
    onFailureDeliveryErrors: 0,
    windowsFinalized: 0,
  };

  constructor(private readonly options: KinesisEventSourceMappingOptions) {
    const p = options.properties;
    this.props = p;
    this.batchSize = p.BatchSize ?? 100;
    this.batchingWindowMs = (p.MaximumBatchingWindowInSeconds ?? 0) * 1000;
    this.parallelization = p.ParallelizationFactor ?? 1;
    this.windowMs = (p.TumblingWindowInSeconds ?? 0) * 1000;
    this.reportItemFailures = (p.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures');
    this.bisect = p.BisectBatchOnFunctionError === true;
    this.maxRetries = p.MaximumRetryAttempts ?? -1;
    this.maxAgeMs = (p.MaximumRecordAgeInSeconds ?? -1) * 1000;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.discoveryIntervalMs = options.shardDiscoveryIntervalMs ?? 5000;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 100;
    this.region = options.region ?? 'us-east-1';
    this.functionArn = options.functionArn ?? `arn:aws:lambda:${this.region}:000000000000:function:local`;
    this.invokeIdentityArn = options.invokeIdentityArn ?? `arn:aws:iam::000000000000:role/local`;
    this.eventSourceArn =
      options.eventSourceArn ?? `arn:aws:kinesis:${this.region}:000000000000:stream/${options.streamName}`;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 10000) {
      throw new Error(`BatchSize must be 1..10000, got ${p.BatchSize}`);
    }
    if (!Number.isInteger(this.parallelization) || this.parallelization < 1 || this.parallelization > 10) {
      throw new Error(`ParallelizationFactor must be 1..10, got ${p.ParallelizationFactor}`);
    }
    if (this.windowMs > 0 && this.parallelization > 1) {
      throw new Error('TumblingWindowInSeconds with ParallelizationFactor > 1 is not supported by the local mapping');
    }
    const start = p.StartingPosition ?? 'TRIM_HORIZON';
    if (!['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'].includes(start)) {
      throw new Error(`StartingPosition must be TRIM_HORIZON, LATEST or AT_TIMESTAMP, got ${start}`);
    }
    if (start === 'AT_TIMESTAMP' && p.StartingPositionTimestamp === undefined) {
      throw new Error('StartingPosition AT_TIMESTAMP needs StartingPositionTimestamp');
    }
    const destination = p.DestinationConfig?.OnFailure?.Destination;
    if (destination !== undefined) {
      this.onFailure = options.resolveOnFailure?.(destination);
      if (!this.onFailure) this.log(`no local sender for on-failure destination ${JSON.stringify(destination)}`);
    }
  }

  /** Starts polling. Resolves once the shards are listed (records are then read in the background). */
  async start(): Promise<void> {
    if (this.started) throw new Error('already started');
    if (this.props.Enabled === false) return;
    this.started = true;
    await this.discover();
    this.spawn(this.discoveryLoop());
  }

  /**
   * Stops polling: no new batch starts; the invocation in flight on each shard (or lane) completes, then this
   * resolves. Records not processed by then are not checkpointed. No timer is left behind.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.notifier.notifyAll();
    while (this.tasks.size > 0) {
      await Promise.allSettled([...this.tasks]);
    }
  }

  metrics(): PollerMetrics {
    const now = Date.now();
    const shards: ShardMetrics[] = [...this.shards.values()].map((s) => {
      const oldest = s.inFlight.find((r) => !r.done);
      return {
        shardId: s.shardId,
        status: s.status,
        checkpoint: s.checkpoint,
        iteratorAgeMs: s.iteratorAgeMs,
        lagMs: oldest ? Math.max(0, now - oldest.arrival) : 0,
        bufferedRecords: s.inFlight.filter((r) => !r.done).length,
      };
    });
    return { ...this.counters, shards };
  }

  private log(message: string): void {
    this.options.log?.(`[esm ${this.options.streamName}] ${message}`);
  }

  private spawn(task: Promise<void>): void {
    const tracked = task.catch((e) => this.log(`task failed: ${(e as Error).stack ?? e}`));
    this.tasks.add(tracked);
    void tracked.finally(() => this.tasks.delete(tracked));
  }

  // ---- shard discovery and lineage ----

  private async discoveryLoop(): Promise<void> {
    while (!this.stopping) {
      await this.notifier.wait(this.discoveryIntervalMs);
      if (this.stopping) break;
      try {
        await this.discover();
      } catch (e) {
        this.log(`ListShards failed: ${(e as Error).message}`);
      }
    }
  }

  private discovering?: Promise<void>;

  private discover(): Promise<void> {
    if (!this.discovering) {
      this.discovering = this.listAndStart().finally(() => (this.discovering = undefined));
    }
    return this.discovering;
  }

  private async listAndStart(): Promise<void> {
    const listed: Shard[] = [];
    let token: string | undefined;
    do {
      const res = await this.options.client.send(
        new ListShardsCommand(token ? { NextToken: token } : { StreamName: this.options.streamName }),
      );
      listed.push(...(res.Shards ?? []));
      token = res.NextToken;
    } while (token);
    const initial = this.initialListing;
    this.initialListing = false;
    const start = (this.props.StartingPosition ?? 'TRIM_HORIZON') as ShardRuntime['startingPosition'];
    for (const shard of listed) {
      const id = shard.ShardId!;
      if (this.shards.has(id)) continue;
      const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter((x): x is string => !!x);
      const rt: ShardRuntime = {
        shardId: id,
        parents,
        status: 'waiting-for-parent',
        inFlight: [],
        lanes: Array.from({ length: this.parallelization }, () => ({ queue: [], running: false })),
        readerDone: false,
        iteratorAgeMs: 0,
        // Shards created by resharding after the mapping started are read from their beginning.
        startingPosition: initial ? start : 'TRIM_HORIZON',
      };
      // LATEST on a shard closed before the mapping started: nothing will ever arrive on it.
      if (initial && start === 'LATEST' && closed) rt.status = 'finished';
      this.shards.set(id, rt);
    }
    this.startReadyShards();
  }

  private startReadyShards(): void {
    if (this.stopping) return;
    for (const s of this.shards.values()) {
      if (s.status !== 'waiting-for-parent') continue;
      // A parent no longer listed (trimmed) counts as finished.
      const ready = s.parents.every((p) => !this.shards.has(p) || this.shards.get(p)!.status === 'finished');
      if (!ready) continue;
      s.status = 'running';
      this.spawn(this.runShard(s));
    }
  }

  // ---- reading ----

  private async iterator(s: ShardRuntime): Promise<string | undefined> {
    const base = { StreamName: this.options.streamName, ShardId: s.shardId };
    let input: GetShardIteratorCommandInput;
    if (s.lastFetchedSeq) {
      input = { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: s.lastFetchedSeq };
    } else if (s.startingPosition === 'AT_TIMESTAMP') {
      input = {
        ...base,
        ShardIteratorType: 'AT_TIMESTAMP',
        Timestamp: new Date(this.props.StartingPositionTimestamp! * 1000),
      };
    } else {
      input = { ...base, ShardIteratorType: s.startingPosition };
    }
    const res = await this.options.client.send(new GetShardIteratorCommand(input));
    return res.ShardIterator;
  }

  private async runShard(s: ShardRuntime): Promise<void> {
    const lanes = s.lanes.map((lane) => this.runLane(s, lane));
    await this.readShard(s);
    await Promise.all(lanes);
    if (s.readerDone && s.inFlight.every((r) => r.done) && !s.window) {
      s.status = 'finished';
      this.log(`${s.shardId} finished`);
      if (!this.stopping) this.spawn(this.discover());
    }
  }

  private async readShard(s: ShardRuntime): Promise<void> {
    let iterator: string | undefined;
    const maxBuffered = Math.max(this.batchSize * this.parallelization * 2, 500);
    while (!this.stopping) {
      try {
        iterator ??= await this.iterator(s);
        if (!iterator) break;
        const buffered = s.inFlight.length;
        if (buffered >= maxBuffered) {
          await this.notifier.wait(this.pollIntervalMs);
          continue;
        }
        const res = await this.options.client.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.min(10000, maxBuffered - buffered) }),
        );
        s.iteratorAgeMs = res.MillisBehindLatest ?? 0;
        const records = res.Records ?? [];
        for (const r of records) this.accept(s, r);
        iterator = res.NextShardIterator;
        if (records.length > 0) this.notifier.notifyAll();
        if (!iterator) break; // closed and fully read (ChildShards in the response)
        if (records.length === 0) await this.notifier.wait(this.pollIntervalMs);
      } catch (e) {
        const name = (e as Error).name;
        this.log(`${s.shardId} GetRecords: ${name} ${(e as Error).message}`);
        iterator = undefined; // ExpiredIteratorException and others: get a new iterator after the last record read
        await this.notifier.wait(name === 'ProvisionedThroughputExceededException' ? 1000 : this.pollIntervalMs);
      }
    }
    if (!this.stopping) s.readerDone = true;
    this.notifier.notifyAll();
  }

  private accept(s: ShardRuntime, r: _Record): void {
    const data = Buffer.from(r.Data ?? new Uint8Array()).toString('base64');
    const rec: BufferedRecord = {
      seq: r.SequenceNumber!,
      partitionKey: r.PartitionKey!,
      data,
      arrival: r.ApproximateArrivalTimestamp?.getTime() ?? Date.now(),
      receivedAt: Date.now(),
      size: data.length + r.PartitionKey!.length + RECORD_OVERHEAD_BYTES,
      done: false,
    };
    s.lastFetchedSeq = rec.seq;
    s.inFlight.push(rec);
    s.lanes[this.laneOf(rec.partitionKey)].queue.push(rec);
    this.counters.recordsRead++;
  }

  /** Records of one partition key always go to the same lane, so per-key order holds with parallelization. */
  private laneOf(partitionKey: string): number {
    if (this.parallelization === 1) return 0;
    let h = 2166136261;
    for (let i = 0; i < partitionKey.length; i++) h = Math.imul(h ^ partitionKey.charCodeAt(i), 16777619);
    return (h >>> 0) % this.parallelization;
  }

  private markDone(s: ShardRuntime, records: readonly BufferedRecord[]): void {
    for (const r of records) r.done = true;
    while (s.inFlight.length > 0 && s.inFlight[0].done) s.checkpoint = s.inFlight.shift()!.seq;
  }

  // ---- batching ----

  private windowOf(arrival: number): number {
    return Math.floor(arrival / this.windowMs) * this.windowMs;
  }

  private async runLane(s: ShardRuntime, lane: Lane): Promise<void> {
    while (!this.stopping) {
      const now = Date.now();
      if (lane.queue.length === 0) {
        if (s.window && (s.readerDone || now >= s.window.end)) {
          await this.finalInvoke(s, false);
          continue;
        }
        if (s.readerDone) break;
        await this.notifier.wait(s.window ? Math.min(this.pollIntervalMs, s.window.end - now) : this.pollIntervalMs);
        continue;
      }
      const first = lane.queue[0];
      if (this.windowMs > 0) {
        const ws = this.windowOf(first.arrival);
        if (s.window && s.window.start !== ws) {
          await this.finalInvoke(s, false);
          continue;
        }
        s.window ??= { start: ws, end: ws + this.windowMs, state: {} };
      }
      const batch: BufferedRecord[] = [];
      let bytes = 0;
      let boundary = false;
      for (const r of lane.queue) {
        if (batch.length >= this.batchSize) break;
        if (s.window && this.windowOf(r.arrival) !== s.window.start) {
          boundary = true;
          break;
        }
        if (batch.length > 0 && bytes + r.size > MAX_PAYLOAD_BYTES) {
          boundary = true;
          break;
        }
        batch.push(r);
        bytes += r.size;
      }
      const deadline = first.receivedAt + this.batchingWindowMs;
      const full = batch.length >= this.batchSize || boundary || bytes >= MAX_PAYLOAD_BYTES;
      if (!full && !s.readerDone && now < deadline) {
        await this.notifier.wait(deadline - now);
        continue;
      }
      lane.queue.splice(0, batch.length);
      this.counters.batchesInvoked++;
      await this.processBatch(s, batch);
    }
  }

  // ---- invoking and error handling ----

  private toEventRecord(s: ShardRuntime, r: BufferedRecord): KinesisEventRecord {
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: r.partitionKey,
        sequenceNumber: r.seq,
        data: r.data,
        approximateArrivalTimestamp: r.arrival / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${s.shardId}:${r.seq}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: this.invokeIdentityArn,
      awsRegion: this.region,
      eventSourceARN: this.eventSourceArn,
    };
  }

  private event(s: ShardRuntime, records: readonly BufferedRecord[], final: boolean, early: boolean): unknown {
    const Records = records.map((r) => this.toEventRecord(s, r));
    if (!s.window) return { Records };
    return {
      Records,
      window: { start: isoSeconds(s.window.start), end: isoSeconds(s.window.end) },
      state: s.window.state,
      shardId: s.shardId,
      eventSourceARN: this.eventSourceArn,
      isFinalInvokeForWindow: final,
      isWindowTerminatedEarly: early,
    };
  }

  private async call(event: unknown, records: readonly BufferedRecord[]): Promise<Outcome> {
    this.counters.invocations++;
    let response: unknown;
    try {
      response = await this.options.invoke(event);
    } catch {
      return { kind: 'error', functionError: 'Unhandled' };
    }
    const body = (response ?? {}) as { state?: unknown; batchItemFailures?: unknown };
    let state: Record<string, unknown> | undefined;
    if (this.windowMs > 0) {
      // With tumbling windows, a response without a state is a failed invocation.
      if (typeof body !== 'object' || body.state === undefined || body.state === null) return { kind: 'error' };
      state = body.state as Record<string, unknown>;
    }
    if (!this.reportItemFailures) return { kind: 'success', state };
    const failures = body.batchItemFailures;
    if (failures === undefined || failures === null) return { kind: 'success', state };
    if (!Array.isArray(failures)) return { kind: 'error' };
    if (failures.length === 0) return { kind: 'success', state };
    let lowest = -1;
    for (const f of failures) {
      const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      // An empty, null or missing itemIdentifier (or one not in the batch) fails the whole batch.
      const index = typeof id === 'string' && id !== '' ? records.findIndex((r) => r.seq === id) : -1;
      if (index < 0) return { kind: 'error' };
      if (lowest < 0 || index < lowest) lowest = index;
    }
    return { kind: 'partial', index: lowest, state };
  }

  private async processBatch(s: ShardRuntime, batch: BufferedRecord[]): Promise<void> {
    const segments: Segment[] = [{ records: batch, retries: 0, invokes: 0 }];
    while (segments.length > 0) {
      const seg = segments[0];
      if (this.maxAgeMs >= 0) {
        const now = Date.now();
        const expired = seg.records.filter((r) => now - r.arrival > this.maxAgeMs);
        if (expired.length > 0) {
          seg.records = seg.records.filter((r) => !expired.includes(r));
          await this.sendOnFailure(s, expired, 'RecordAgeExceeded', seg.invokes, undefined);
          this.markDone(s, expired);
        }
      }
      if (seg.records.length === 0) {
        segments.shift();
        continue;
      }
      if (this.stopping && seg.invokes > 0) return; // stop between retries; records stay unprocessed
      seg.invokes++;
      const outcome = await this.call(this.event(s, seg.records, false, false), seg.records);
      if (outcome.kind === 'success') {
        if (s.window && outcome.state) s.window.state = outcome.state;
        this.counters.recordsDelivered += seg.records.length;
        this.markDone(s, seg.records);
        segments.shift();
        await this.checkStateSize(s);
        continue;
      }
      this.counters.errors++;
      if (outcome.kind === 'partial') {
        // Checkpoint before the lowest failed sequence number; retry from it (bisecting there, if enabled).
        const ok = seg.records.slice(0, outcome.index);
        if (s.window && outcome.state) s.window.state = outcome.state;
        this.counters.recordsDelivered += ok.length;
        this.markDone(s, ok);
        seg.records = seg.records.slice(outcome.index);
      } else if (this.bisect && seg.records.length > 1) {
        // Splitting a batch does not consume the retry quota.
        const mid = Math.ceil(seg.records.length / 2);
        this.counters.bisections++;
        segments.splice(
          0,
          1,
          { records: seg.records.slice(0, mid), retries: seg.retries, invokes: seg.invokes },
          { records: seg.records.slice(mid), retries: seg.retries, invokes: seg.invokes },
        );
        continue;
      }
      if (this.maxRetries >= 0 && seg.retries >= this.maxRetries) {
        await this.sendOnFailure(
          s,
          seg.records,
          'RetryAttemptsExhausted',
          seg.invokes,
          outcome.kind === 'error' ? outcome.functionError : undefined,
        );
        this.markDone(s, seg.records);
        segments.shift();
        continue;
      }
      if (this.stopping) return;
      seg.retries++;
      this.counters.retries++;
      await this.notifier.wait(Math.min(5000, this.retryBaseDelayMs * 2 ** (seg.retries - 1)));
    }
  }

  /** A state over 1 MB ends the window early: a final invoke, then the same window goes on with a fresh state. */
  private async checkStateSize(s: ShardRuntime): Promise<void> {
    if (!s.window) return;
    if (Buffer.byteLength(JSON.stringify(s.window.state)) <= MAX_STATE_BYTES) return;
    await this.finalInvoke(s, true);
  }

  private async finalInvoke(s: ShardRuntime, early: boolean): Promise<void> {
    const w = s.window!;
    let retries = 0;
    for (;;) {
      const outcome = await this.call(this.event(s, [], true, early), []);
      if (outcome.kind === 'success' || outcome.kind === 'partial') break;
      this.counters.errors++;
      // A failed final invoke holds up the shard until it succeeds or the retry quota is used up.
      if ((this.maxRetries >= 0 && retries >= this.maxRetries) || this.stopping) {
        this.log(`${s.shardId} final invoke of window ${isoSeconds(w.start)} failed; window dropped`);
        break;
      }
      retries++;
      this.counters.retries++;
      await this.notifier.wait(Math.min(5000, this.retryBaseDelayMs * 2 ** (retries - 1)));
    }
    this.counters.windowsFinalized++;
    s.window = early ? { ...w, state: {} } : undefined;
  }

  private async sendOnFailure(
    s: ShardRuntime,
    records: readonly BufferedRecord[],
    condition: FailureCondition,
    invokes: number,
    functionError: string | undefined,
  ): Promise<void> {
    const sender = this.onFailure;
    if (!sender) {
      this.counters.recordsDiscarded += records.length;
      this.log(`${s.shardId}: ${records.length} record(s) discarded (${condition}), no on-failure destination`);
      return;
    }
    const record: InvocationRecord = {
      requestContext: {
        requestId: randomUUID(),
        functionArn: this.functionArn,
        condition,
        approximateInvokeCount: invokes,
      },
      responseContext: {
        statusCode: 200,
        executedVersion: '$LATEST',
        ...(functionError ? { functionError } : {}),
      },
      version: '1.0',
      timestamp: new Date().toISOString(),
      KinesisBatchInfo: {
        shardId: s.shardId,
        startSequenceNumber: records[0].seq,
        endSequenceNumber: records[records.length - 1].seq,
        approximateArrivalOfFirstRecord: new Date(records[0].arrival).toISOString(),
        approximateArrivalOfLastRecord: new Date(records[records.length - 1].arrival).toISOString(),
        batchSize: records.length,
        streamArn: this.eventSourceArn,
      },
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await sender(record);
        this.counters.recordsSentToOnFailure += records.length;
        return;
      } catch (e) {
        this.counters.onFailureDeliveryErrors++;
        if (attempt >= 5 || this.stopping) {
          this.log(`${s.shardId}: on-failure delivery failed, ${records.length} record(s) dropped: ${e}`);
          this.counters.recordsDiscarded += records.length;
          return;
        }
        await this.notifier.wait(100 * attempt);
      }
    }
  }
}
