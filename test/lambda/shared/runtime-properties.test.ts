import type { KinesisStreamRecord } from 'aws-lambda';
import * as fc from 'fast-check';
import { processKinesisBatch } from '../../../lambda/shared/batch';
import { DeadLetterEntry, DeadLetterSink } from '../../../lambda/shared/dead-letter';
import { DeadLetterError } from '../../../lambda/shared/errors';
import { aggregate, KPL_MAGIC } from '../../../lambda/shared/kpl';
import { compareSequenceNumbers, DecodedRecord } from '../../../lambda/shared/records';
import { processKinesisWindow, WindowProcessor, WindowRetryError } from '../../../lambda/shared/window';
import { propertyParameters } from '../../support/property';
import { windowEvent } from '../timeseries-calculator/events';

/**
 * The conservation law of both runtimes, on arbitrary batches driven the way Lambda's event source mapping drives
 * them (a shard with a reported failure is redelivered from its lowest failed sequence number; a failed final
 * invoke is retried with the state it started from):
 * - every invocation: received = processed + dead-lettered + failed (+ skipped as redelivery);
 * - every record that can never succeed is dead-lettered exactly once, with its reason;
 * - every other record is applied: exactly once by the window runtime, at least once by the batch runtime (whose
 *   handlers must be idempotent), and exactly once there too unless it shares a KPL aggregate with a later record
 *   that failed transiently;
 * - no shard stalls: transient failures and a flaky dead-letter sink end, and the run terminates.
 */

type Behaviour = { kind: 'ok' } | { kind: 'bad' } | { kind: 'transient'; failures: number };

interface UserSpec {
  readonly id: string;
  readonly behaviour: Behaviour;
  readonly partitionKey: string;
}

type RecordSpec =
  | { readonly type: 'plain'; readonly user: UserSpec }
  | { readonly type: 'aggregate'; readonly users: readonly UserSpec[] }
  | { readonly type: 'undecodable'; readonly id: string; readonly bytes: Uint8Array };

const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Behaviour>({ kind: 'ok' }) },
  { weight: 2, arbitrary: fc.constant<Behaviour>({ kind: 'bad' }) },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 1, max: 3 }).map<Behaviour>((failures) => ({ kind: 'transient', failures })),
  },
);

// Arbitrary partition keys, long (KPL allows more than Kinesis's 256) and hostile ones included.
const partitionKey = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), fc.constant('k'.repeat(300)));

let ids = 0;
const user: fc.Arbitrary<UserSpec> = fc.record({ behaviour, partitionKey }).map((u) => ({ ...u, id: `u${ids++}` }));

const recordSpec: fc.Arbitrary<RecordSpec> = fc.oneof(
  { weight: 4, arbitrary: user.map((u) => ({ type: 'plain' as const, user: u })) },
  {
    weight: 3,
    arbitrary: fc.array(user, { minLength: 1, maxLength: 5 }).map((users) => ({ type: 'aggregate' as const, users })),
  },
  {
    weight: 1,
    // The KPL magic followed by bytes that are not an aggregate: undecodable, a dead letter of its own.
    arbitrary: fc
      .uint8Array({ maxLength: 30 })
      .map((b) => ({ type: 'undecodable' as const, id: `x${ids++}`, bytes: b })),
  },
);

interface Batch {
  /** Per shard, records in sequence order. */
  readonly shards: readonly (readonly RecordSpec[])[];
  /** Deliver each shard's records in a shuffled order (an out-of-order event). */
  readonly shuffle: boolean;
  /** Dead-letter sink calls (0-based) that fail. */
  readonly sinkFailures: readonly number[];
}

const batch: fc.Arbitrary<Batch> = fc.record({
  shards: fc.array(fc.array(recordSpec, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
  shuffle: fc.boolean(),
  sinkFailures: fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }),
});

const payload = (u: UserSpec) => Buffer.from(JSON.stringify({ id: u.id, behaviour: u.behaviour }), 'utf8');

/** Builds the Lambda records of a batch: sequence numbers are large decimals, increasing per shard. Lambda sends
 * one shard per batch; several shards in one event (hand-made ones) are handled shard by shard and tested too. */
function lambdaRecords(b: Batch): { records: KinesisStreamRecord[]; bySeq: Map<string, RecordSpec> } {
  const records: KinesisStreamRecord[] = [];
  const bySeq = new Map<string, RecordSpec>();
  b.shards.forEach((specs, shard) => {
    const shardId = `shardId-00000000000${shard}`;
    specs.forEach((spec, i) => {
      // Unique across shards as Kinesis's are: batchItemFailures names a record by sequence number alone.
      const sequenceNumber = String(
        49590338271490256608559692538361571095921575989136588898n + BigInt(i * 1000 + shard),
      );
      const data =
        spec.type === 'plain'
          ? payload(spec.user)
          : spec.type === 'aggregate'
            ? aggregate(spec.users.map((u) => ({ partitionKey: u.partitionKey, data: payload(u) })))
            : Buffer.concat([KPL_MAGIC, Buffer.from(spec.bytes)]);
      bySeq.set(`${shardId}:${sequenceNumber}`, spec);
      records.push({
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: spec.type === 'plain' ? spec.user.partitionKey : 'aggregate',
          sequenceNumber,
          data: data.toString('base64'),
          approximateArrivalTimestamp: 1764403200.123,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `${shardId}:${sequenceNumber}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: 'arn:aws:iam::000000000000:role/r',
        awsRegion: 'us-east-1',
        eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
      });
    });
  });
  return { records, bySeq };
}

/** A dead-letter sink that stores in memory and fails the calls it is told to. */
class FlakySink implements DeadLetterSink {
  readonly entries: DeadLetterEntry[] = [];
  private calls = 0;
  constructor(private readonly failing: readonly number[]) {}
  async send(entries: readonly DeadLetterEntry[]): Promise<void> {
    if (this.failing.includes(this.calls++)) throw new Error('sink unavailable');
    this.entries.push(...entries);
  }
}

/** The handler of the model: applies `ok`, rejects `bad`, fails `transient` ones their first attempts. */
function model() {
  const attempts = new Map<string, number>();
  const applied = new Map<string, number>();
  const apply = (r: DecodedRecord) => {
    let parsed: { id: string; behaviour: Behaviour };
    try {
      parsed = JSON.parse(r.data.toString('utf8'));
    } catch (e) {
      // Bytes that only look like an aggregate reach the handler as a plain record: a dead letter, as with parseJson.
      throw new DeadLetterError('MALFORMED_JSON', (e as Error).message);
    }
    const { id, behaviour: b } = parsed;
    const n = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, n);
    if (b.kind === 'bad') throw new DeadLetterError('SCHEMA', `record ${id} is bad`);
    if (b.kind === 'transient' && n <= b.failures) throw new Error(`record ${id}: transient failure ${n}`);
    return id;
  };
  return { apply, applied };
}

/** What a batch must end as: per user record id, dead-lettered or applied. */
function expectedOutcome(b: Batch): { dead: Set<string>; live: Set<string>; aggregateMembers: Map<string, string[]> } {
  const dead = new Set<string>();
  const live = new Set<string>();
  const aggregateMembers = new Map<string, string[]>();
  for (const spec of b.shards.flat()) {
    if (spec.type === 'undecodable') dead.add(spec.id);
    else {
      const users = spec.type === 'plain' ? [spec.user] : spec.users;
      for (const u of users) (u.behaviour.kind === 'bad' ? dead : live).add(u.id);
      if (spec.type === 'aggregate')
        for (const u of users)
          aggregateMembers.set(
            u.id,
            users.map((x) => x.id),
          );
    }
  }
  return { dead, live, aggregateMembers };
}

/** Which user record a dead letter is for: the id in its payload, or the undecodable record's. */
function deadLetterIds(entries: readonly DeadLetterEntry[], bySeq: Map<string, RecordSpec>): string[] {
  return entries.map((e) => {
    const spec = bySeq.get(`${e.shardId}:${e.sequenceNumber}`);
    if (spec?.type === 'undecodable') return spec.id;
    return (JSON.parse(e.payload) as { id: string }).id;
  });
}

/** Delivers the records still pending, shard by shard from its lowest failed sequence number, as Lambda would. */
function redeliver(
  pending: Map<string, KinesisStreamRecord[]>,
  failures: readonly { itemIdentifier: string }[],
): Map<string, KinesisStreamRecord[]> {
  const next = new Map<string, KinesisStreamRecord[]>();
  for (const [shard, records] of pending) {
    const failed = records
      .filter((r) => failures.some((f) => f.itemIdentifier === r.kinesis.sequenceNumber))
      .map((r) => r.kinesis.sequenceNumber)
      .sort(compareSequenceNumbers);
    if (failed.length === 0) continue;
    next.set(
      shard,
      records.filter((r) => compareSequenceNumbers(r.kinesis.sequenceNumber, failed[0]) >= 0),
    );
  }
  return next;
}

function byShard(records: readonly KinesisStreamRecord[]): Map<string, KinesisStreamRecord[]> {
  const out = new Map<string, KinesisStreamRecord[]>();
  for (const r of records) {
    const shard = r.eventID.split(':')[0];
    out.set(shard, [...(out.get(shard) ?? []), r]);
  }
  return out;
}

function deliveryOrder(pending: Map<string, KinesisStreamRecord[]>, shuffle: boolean): KinesisStreamRecord[] {
  const all = [...pending.values()].flatMap((rs) => (shuffle ? [...rs].reverse() : rs));
  return shuffle ? all.reverse() : all;
}

describe('processKinesisBatch conservation law (property)', () => {
  test('every record ends processed or dead-lettered once; no shard stalls', async () => {
    await fc.assert(
      fc.asyncProperty(batch, async (b) => {
        const { records, bySeq } = lambdaRecords(b);
        const sink = new FlakySink(b.sinkFailures);
        const m = model();
        const handler = (r: DecodedRecord) => {
          const id = m.apply(r);
          m.applied.set(id, (m.applied.get(id) ?? 0) + 1);
        };
        let pending = byShard(records);
        let invocations = 0;
        while (pending.size > 0) {
          if (++invocations > 50) throw new Error('a shard stalled: still failing after 50 invocations');
          const report = await processKinesisBatch({ Records: deliveryOrder(pending, b.shuffle) }, handler, {
            stage: 'property',
            deadLetters: sink,
          });
          expect(report.received).toBe(report.processed + report.deadLettered + report.failed);
          pending = redeliver(pending, report.response.batchItemFailures);
        }
        const { dead, live, aggregateMembers } = expectedOutcome(b);
        const lettered = deadLetterIds(sink.entries, bySeq);
        expect([...lettered].sort()).toEqual([...dead].sort());
        for (const id of live) {
          const n = m.applied.get(id) ?? 0;
          expect(n).toBeGreaterThanOrEqual(1);
          // Applied more than once only by the whole-aggregate redelivery a later transient member causes.
          if (n > 1) expect(aggregateMembers.has(id)).toBe(true);
        }
        for (const id of dead) expect(m.applied.has(id)).toBe(false);
      }),
      propertyParameters(100),
    );
  });
});

interface Applied {
  ids: string[];
}

describe('processKinesisWindow conservation law (property)', () => {
  test('every record is applied or dead-lettered exactly once, across redeliveries and final-invoke retries', async () => {
    await fc.assert(
      fc.asyncProperty(batch, fc.boolean(), async (b, recordsInFinal) => {
        const { records, bySeq } = lambdaRecords(b);
        const sink = new FlakySink(b.sinkFailures);
        const m = model();
        let finished: string[] | undefined;
        const processor: WindowProcessor<Applied> = {
          initialState: () => ({ ids: [] }),
          fromJson: (json) => ({ ids: [...(json as Applied).ids] }),
          toJson: (s) => s,
          apply: (s, r) => {
            s.ids.push(m.apply(r));
          },
          finish: async (s) => {
            finished = [...s.ids];
          },
        };
        let state: Record<string, unknown> | undefined;
        let pending = byShard(records);
        let invocations = 0;
        const invoke = async (rs: KinesisStreamRecord[], final: boolean) => {
          if (++invocations > 60) throw new Error('a shard stalled: still failing after 60 invocations');
          const report = await processKinesisWindow(windowEvent(rs, state, { final }), processor, {
            stage: 'property',
            deadLetters: sink,
          });
          expect(report.received).toBe(report.processed + report.deadLettered + report.failed + report.skipped);
          state = report.response.state;
          return report;
        };
        // Regular invocations until every shard got through (the last one may be the final invoke itself).
        while (pending.size > 0 && !recordsInFinal) {
          const report = await invoke(deliveryOrder(pending, b.shuffle), false);
          pending = redeliver(pending, report.response.batchItemFailures ?? []);
        }
        // The final invoke, retried with the state it started from until it succeeds.
        for (;;) {
          const before = state;
          try {
            await invoke(recordsInFinal ? deliveryOrder(pending, b.shuffle) : [], true);
            break;
          } catch (e) {
            expect(e).toBeInstanceOf(WindowRetryError);
            state = before;
          }
        }
        const { dead, live } = expectedOutcome(b);
        expect([...deadLetterIds(sink.entries, bySeq)].sort()).toEqual([...dead].sort());
        expect([...finished!].sort()).toEqual([...live].sort());
      }),
      propertyParameters(100),
    );
  });
});
