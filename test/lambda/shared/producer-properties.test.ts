import { createHash } from 'crypto';
import { KinesisClient, ListShardsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import fc from 'fast-check';
import { deaggregate, isAggregated } from '../../../lambda/shared/kpl';
import {
  decimalToHashKey,
  hashKeyOf,
  KINESIS_MAX_BYTES_PER_PUT,
  KINESIS_MAX_RECORDS_PER_PUT,
  KinesisProducer,
  md5Of,
  ProducerRecord,
} from '../../../lambda/shared/producer';

const MAX_HASH = (1n << 128n) - 1n;
const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('utf8');
const bytesOf = (d: Uint8Array | string) => (typeof d === 'string' ? Buffer.from(d, 'utf8') : Buffer.from(d));

interface Shard {
  id: string;
  start: bigint;
  end: bigint;
}

/** Open shards covering the hash key space, split at the given points. */
function shardsAt(splits: bigint[]): Shard[] {
  const points = [...new Set(splits)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).filter((p) => p > 0n);
  const starts = [0n, ...points];
  return starts.map((start, i) => ({
    id: `shardId-${String(i).padStart(12, '0')}`,
    start,
    end: i + 1 < starts.length ? starts[i + 1] - 1n : MAX_HASH,
  }));
}

const shardOf = (shards: Shard[], hash: bigint) => shards.find((s) => hash >= s.start && hash <= s.end)!.id;

interface Put {
  data: Buffer;
  partitionKey: string;
  explicitHashKey?: string;
  shardId: string;
}

/**
 * Kinesis in-process, for properties that need thousands of sends: ListShards answers `shards` (or fails), PutRecords
 * puts every entry on the shard its hash key falls in, as Kinesis does, and records what it was given.
 */
function inProcessKinesis(shards: Shard[], listShardsFails: boolean): { client: KinesisClient; calls: Put[][] } {
  const calls: Put[][] = [];
  const send = async (command: unknown): Promise<unknown> => {
    if (command instanceof ListShardsCommand) {
      if (listShardsFails) throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
      return {
        Shards: shards.map((s) => ({
          ShardId: s.id,
          HashKeyRange: { StartingHashKey: s.start.toString(), EndingHashKey: s.end.toString() },
          SequenceNumberRange: { StartingSequenceNumber: '0' },
        })),
      };
    }
    if (command instanceof PutRecordsCommand) {
      const puts = (command.input.Records ?? []).map((r) => {
        const hash = hashKeyOf({ partitionKey: r.PartitionKey!, explicitHashKey: r.ExplicitHashKey });
        return {
          data: Buffer.from(r.Data!),
          partitionKey: r.PartitionKey!,
          explicitHashKey: r.ExplicitHashKey,
          shardId: shardOf(shards, hash),
        };
      });
      calls.push(puts);
      return { FailedRecordCount: 0, Records: puts.map((p, i) => ({ SequenceNumber: String(i), ShardId: p.shardId })) };
    }
    throw new Error(`unexpected command ${(command as object).constructor.name}`);
  };
  return { client: { send } as unknown as KinesisClient, calls };
}

const hashKey = fc.bigInt({ min: 0n, max: MAX_HASH }).map(String);
const record: fc.Arbitrary<ProducerRecord> = fc.record({
  partitionKey: fc.oneof(
    fc.constantFrom('device-1', 'device-2', 'device-3', 'device-4'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
  ),
  explicitHashKey: fc.option(fc.oneof(hashKey, fc.constantFrom('0', '00042', MAX_HASH.toString())), {
    nil: undefined,
    freq: 4,
  }),
  data: fc.oneof(fc.uint8Array({ maxLength: 400 }), fc.string({ unit: 'binary', maxLength: 200 })),
});

describe('KinesisProducer aggregation properties (Kinesis answered in-process)', () => {
  test('every record arrives exactly once, on its own shard, in order per key, within the size limits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { minLength: 1, maxLength: 150 }),
        fc.array(fc.bigInt({ min: 1n, max: MAX_HASH }), { maxLength: 5 }),
        fc.integer({ min: 64, max: 20_000 }),
        fc.boolean(),
        async (records, splits, maxAggregateBytes, listShardsFails) => {
          const shards = shardsAt(splits);
          const kinesis = inProcessKinesis(shards, listShardsFails);
          const producer = new KinesisProducer({
            client: kinesis.client,
            streamName: 's',
            aggregate: true,
            maxAggregateBytes,
          });
          expect(await producer.send(records)).toEqual({ sent: records.length, failed: [] });

          const arrived: Array<{ pk: string; ehk?: string; data: Buffer; shard: string }> = [];
          for (const call of kinesis.calls) {
            expect(call.length).toBeLessThanOrEqual(KINESIS_MAX_RECORDS_PER_PUT);
            const bytes = call.reduce((n, p) => n + p.data.length + Buffer.byteLength(p.partitionKey, 'utf8'), 0);
            expect(bytes).toBeLessThanOrEqual(KINESIS_MAX_BYTES_PER_PUT);
            for (const put of call) {
              if (!isAggregated(put.data)) {
                arrived.push({ pk: put.partitionKey, ehk: put.explicitHashKey, data: put.data, shard: put.shardId });
                continue;
              }
              expect(put.data.length + Buffer.byteLength(put.partitionKey, 'utf8')).toBeLessThanOrEqual(
                maxAggregateBytes,
              );
              for (const u of deaggregate(put.data)) {
                // Each user record is on the shard it would have reached alone.
                const own = hashKeyOf({ partitionKey: u.partitionKey, explicitHashKey: u.explicitHashKey });
                expect(shardOf(shards, own)).toBe(put.shardId);
                arrived.push({ pk: u.partitionKey, ehk: u.explicitHashKey, data: u.data, shard: put.shardId });
              }
            }
          }
          const key = (r: { pk: string; ehk?: string; data: Buffer }) =>
            JSON.stringify([r.pk, r.ehk === undefined ? null : BigInt(r.ehk).toString(), r.data.toString('hex')]);
          const sent = records.map((r) => ({
            pk: utf8(r.partitionKey),
            ehk: r.explicitHashKey,
            data: bytesOf(r.data),
          }));
          expect(arrived.map(key).sort()).toEqual(sent.map(key).sort());
          // Records of one partition key (and no explicit hash key) keep their relative order.
          const perKey = (list: ReadonlyArray<{ pk: string; ehk?: string; data: Buffer }>) => {
            const m = new Map<string, string[]>();
            for (const r of list) if (r.ehk === undefined) m.set(r.pk, [...(m.get(r.pk) ?? []), key(r)]);
            return m;
          };
          expect(perKey(arrived)).toEqual(perKey(sent));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('one long-lived producer routes the same as a fresh one, send after send', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(record, { minLength: 1, maxLength: 40 }), { minLength: 2, maxLength: 5 }),
        async (sends) => {
          const shards = shardsAt([1n << 126n, 1n << 127n, 3n << 126n]);
          const long = inProcessKinesis(shards, false);
          const producer = new KinesisProducer({ client: long.client, streamName: 's', aggregate: true });
          for (const batch of sends) {
            const fresh = inProcessKinesis(shards, false);
            await new KinesisProducer({ client: fresh.client, streamName: 's', aggregate: true }).send(batch);
            const before = long.calls.length;
            await producer.send(batch);
            expect(long.calls.slice(before)).toEqual(fresh.calls);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('hash keys without BigInt', () => {
  test('md5Of agrees with node crypto on any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        expect(md5Of(s).toString('hex')).toBe(createHash('md5').update(s, 'utf8').digest('hex'));
      }),
      { numRuns: 2000 },
    );
    for (const n of [0, 1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 256]) {
      const s = 'k'.repeat(n);
      expect(md5Of(s).toString('hex')).toBe(createHash('md5').update(s).digest('hex'));
    }
  });

  test('decimalToHashKey is the 16-byte big-endian value of the decimal', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_HASH }), fc.nat({ max: 3 }), (n, zeros) => {
        const hex = n.toString(16).padStart(32, '0');
        expect(decimalToHashKey('0'.repeat(zeros) + n.toString()).toString('hex')).toBe(hex);
      }),
    );
  });

  test('hash keys above 2^128 - 1 are rejected without BigInt', async () => {
    const kinesis = inProcessKinesis(shardsAt([]), false);
    const producer = new KinesisProducer({ client: kinesis.client, streamName: 's', aggregate: true });
    const over = (MAX_HASH + 1n).toString();
    const result = await producer.send([
      { partitionKey: 'a', data: 'x', explicitHashKey: over },
      { partitionKey: 'b', data: 'y', explicitHashKey: MAX_HASH.toString() },
      { partitionKey: 'c', data: 'z', explicitHashKey: '0'.repeat(39) },
    ]);
    expect(result.sent).toBe(2);
    expect(result.failed.map((f) => f.record.partitionKey)).toEqual(['a']);
  });
});
