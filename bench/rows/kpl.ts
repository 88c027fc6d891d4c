/**
 * Rows of the KPL aggregation path: the producer's CPU, the consumer's de-aggregation CPU (both against the
 * `aws-kinesis-agg` npm package on the same records) and the bytes Kinesis bills for aggregated records.
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import { KinesisClient, ListShardsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import * as kinesisAgg from 'aws-kinesis-agg';
import { BenchMode, BenchRow, interleave, Measurement } from '../harness';
import { KinesisProducer, ProducerRecord } from '../../lambda/shared/producer';
import { decodeRecord } from '../../lambda/shared/records';

/** Deterministic PRNG (mulberry32), so every run measures the same records. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RECORD_BYTES = 100;

/**
 * Telemetry like the device fleet simulator sends: a JSON payload of exactly RECORD_BYTES bytes, keyed by device id.
 * One device in ten is pinned to a hash key of its own (explicit hash key), the others route by partition key.
 */
export function telemetry(
  count: number,
  devices: number,
  opts: { seed?: number; buffers?: boolean; distinctKeys?: boolean } = {},
): ProducerRecord[] {
  const rnd = prng(opts.seed ?? 1);
  const out: ProducerRecord[] = [];
  for (let i = 0; i < count; i++) {
    const device = opts.distinctKeys ? i : Math.floor(rnd() * devices);
    const partitionKey = `device-${String(device).padStart(6, '0')}`;
    const head = `{"deviceId":"${partitionKey}","ts":${1764403200000 + i},"temperature":${(15 + rnd() * 20).toFixed(3)},"pad":"`;
    const json = head + '.'.repeat(Math.max(0, RECORD_BYTES - head.length - 2)) + '"}';
    const explicitHashKey =
      device % 10 === 0 ? ((BigInt(device) * 0x9e3779b97f4a7c15n) % (1n << 128n)).toString() : undefined;
    out.push({ partitionKey, data: opts.buffers ? Buffer.from(json, 'utf8') : json, explicitHashKey });
  }
  return out;
}

/** Equal-width hash key ranges, as CreateStream makes them. */
function shardRanges(count: number): Array<{ id: string; start: string; end: string }> {
  const width = (1n << 128n) / BigInt(count);
  return Array.from({ length: count }, (_, i) => ({
    id: `shardId-${String(i).padStart(12, '0')}`,
    start: (width * BigInt(i)).toString(),
    end: (i === count - 1 ? (1n << 128n) - 1n : width * BigInt(i + 1) - 1n).toString(),
  }));
}

interface PutTally {
  entries: number;
  /** Data plus partition key of every entry, as Kinesis counts a record's size. */
  sizes: number[];
}

/**
 * A Kinesis client that answers in-process: ListShards with `shards` equal ranges, PutRecords with every entry a
 * success. It measures the caller's CPU and nothing of the network or the service.
 */
function inProcessKinesis(shards: number, tally?: PutTally): KinesisClient {
  const ranges = shardRanges(shards);
  const ok = { SequenceNumber: '49590338271490256608559692538361571095921575989136588898' };
  const send = async (command: unknown): Promise<unknown> => {
    if (command instanceof ListShardsCommand) {
      return {
        Shards: ranges.map((r) => ({
          ShardId: r.id,
          HashKeyRange: { StartingHashKey: r.start, EndingHashKey: r.end },
          SequenceNumberRange: { StartingSequenceNumber: '0' },
        })),
      };
    }
    if (command instanceof PutRecordsCommand) {
      const records = command.input.Records ?? [];
      if (tally) {
        for (const r of records) {
          tally.entries++;
          tally.sizes.push((r.Data?.length ?? 0) + Buffer.byteLength(r.PartitionKey ?? '', 'utf8'));
        }
      }
      return { FailedRecordCount: 0, Records: records.map(() => ok) };
    }
    throw new Error(`in-process Kinesis: unexpected command ${(command as object).constructor.name}`);
  };
  return { send } as unknown as KinesisClient;
}

/** aws-kinesis-agg's aggregate(), each encoded record put with PutRecords on the same in-process client. */
function aggAggregateAndPut(client: KinesisClient, records: ProducerRecord[]): Promise<number> {
  return new Promise((resolve, reject) => {
    let puts = 0;
    kinesisAgg.aggregate(
      records,
      (encoded, done) => {
        const e = encoded as { partitionKey: string; data: Buffer; ExplicitHashKey?: string };
        client
          .send(
            new PutRecordsCommand({
              StreamName: 'bench',
              Records: [{ Data: e.data, PartitionKey: e.partitionKey, ExplicitHashKey: e.ExplicitHashKey }],
            }),
          )
          .then(() => {
            puts++;
            done();
          }, done);
      },
      () => resolve(puts),
      (err) => reject(err),
    );
  });
}

function copies(records: ProducerRecord[], n: number): ProducerRecord[][] {
  return Array.from({ length: n }, () => records.map((r) => ({ ...r })));
}

const producerAggregate: BenchRow = {
  id: 'producer-aggregate',
  figure: 'producer `send` with KPL aggregation, CPU',
  baseline:
    '`aws-kinesis-agg` (npm) aggregate() of the same records, each encoded record put with PutRecords; both sides ' +
    'use a Kinesis client that answers in-process (ListShards: 4 equal shards; PutRecords: every entry a success), ' +
    'so only CPU is measured. Ours does more: validation against the Kinesis limits, grouping by shard (MD5 of each ' +
    'new partition key, explicit hash keys honoured), batching within PutRecords limits and per-record accounting',
  target: { op: '<=', value: 1.2 },
  async measure(mode: BenchMode): Promise<Measurement[]> {
    const count = mode === 'smoke' ? 500 : 10_000;
    const rounds = mode === 'smoke' ? 1 : 25;
    const warmup = mode === 'smoke' ? 1 : 3;
    const variants: Array<{ name: string; records: ProducerRecord[]; freshProducer: boolean }> = [
      {
        name: `${count} records of 100 B, 1,000 devices, string payloads`,
        records: telemetry(count, 1000),
        freshProducer: false,
      },
      {
        name: `${count} records of 100 B, 1,000 devices, Buffer payloads`,
        records: telemetry(count, 1000, { buffers: true }),
        freshProducer: false,
      },
      {
        name: `${count} records of 100 B, a new partition key each, new producer per send`,
        records: telemetry(count, count, { distinctKeys: true }),
        freshProducer: true,
      },
    ];
    const out: Measurement[] = [];
    for (const v of variants) {
      const client = inProcessKinesis(4);
      const calls = warmup + rounds;
      const ours = copies(v.records, calls);
      const theirs = copies(v.records, calls);
      const longLived = new KinesisProducer({ client, streamName: 'bench', aggregate: true });
      let sent = 0;
      const t = await interleave(
        async () => {
          const producer = v.freshProducer
            ? new KinesisProducer({ client, streamName: 'bench', aggregate: true })
            : longLived;
          const r = await producer.send(ours.pop()!);
          sent += r.sent;
          if (r.failed.length > 0) throw new Error(`producer failed ${r.failed.length} records`);
        },
        () => aggAggregateAndPut(client, theirs.pop()!),
        { rounds, warmup },
      );
      if (sent !== calls * v.records.length) throw new Error(`producer sent ${sent} of ${calls * v.records.length}`);
      out.push({
        variant: v.name,
        unit: 'ms per send',
        subject: t.subject,
        baseline: t.baseline,
        ratio: 'cost',
      });
    }
    return out;
  },
};

/** Lambda's view of a Kinesis record carrying `data`. */
function lambdaRecord(data: Buffer, i: number): KinesisStreamRecord {
  const sequenceNumber = String(49590338271490256608559692538361571095921575989136588898n + BigInt(i));
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: 'device-000001',
      sequenceNumber,
      data: data.toString('base64'),
      approximateArrivalTimestamp: 1764403200.123 + i / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `shardId-000000000000:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::111122223333:role/bench',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:kinesis:us-east-1:111122223333:stream/bench',
  };
}

/** The aggregates our producer puts for `records`, as a Lambda event's records. */
async function aggregatedEvent(records: ProducerRecord[], maxAggregateBytes: number): Promise<KinesisStreamRecord[]> {
  const tally: PutTally = { entries: 0, sizes: [] };
  const blobs: Buffer[] = [];
  const client = inProcessKinesis(1, tally);
  const capture = {
    send: (command: unknown) => {
      if (command instanceof PutRecordsCommand) {
        for (const r of command.input.Records ?? []) blobs.push(Buffer.from(r.Data!));
      }
      return client.send(command as PutRecordsCommand);
    },
  } as unknown as KinesisClient;
  const r = await new KinesisProducer({
    client: capture,
    streamName: 'bench',
    aggregate: true,
    maxAggregateBytes,
  }).send(records);
  if (r.failed.length > 0) throw new Error(`producer failed ${r.failed.length} records`);
  return blobs.map(lambdaRecord);
}

const decodeAggregates: BenchRow = {
  id: 'decode-aggregates',
  figure: 'consumer `decodeRecord` of KPL aggregates',
  baseline:
    '`aws-kinesis-agg` (npm) deaggregateSync of the same Lambda Kinesis records, checksums verified like ours. Its ' +
    'user records carry the payload re-encoded as base64 (a consumer decodes it again, not counted); ours carry ' +
    'Buffers and the shard id and arrival time',
  target: { op: '<=', value: 1.2 },
  async measure(mode: BenchMode): Promise<Measurement[]> {
    const smoke = mode === 'smoke';
    const variants = [
      // The KPL's default aggregate limit, 50 KiB.
      { name: 'records of 100 B in aggregates of up to 50 KiB', users: smoke ? 1_000 : 10_000, maxBytes: 50 * 1024 },
      // Our producer's default, 1 MiB: about 4 MiB of them fit in Lambda's 6 MB invocation payload as base64.
      { name: 'records of 100 B in aggregates of up to 1 MiB', users: smoke ? 2_000 : 38_000, maxBytes: 1024 * 1024 },
    ];
    const rounds = smoke ? 1 : 25;
    const out: Measurement[] = [];
    for (const v of variants) {
      const event = await aggregatedEvent(telemetry(v.users, 1000, { seed: 7 }), v.maxBytes);
      let ours = 0;
      let theirs = 0;
      const t = await interleave(
        () => {
          for (const r of event) ours += decodeRecord(r).length;
        },
        () => {
          for (const r of event) {
            kinesisAgg.deaggregateSync(r.kinesis, true, (err, users) => {
              if (err) throw err;
              theirs += users!.length;
            });
          }
        },
        { rounds, warmup: smoke ? 1 : 3 },
      );
      if (ours !== theirs || ours % v.users !== 0) throw new Error(`decoded ${ours} user records, reference ${theirs}`);
      out.push({
        variant: `${v.users.toLocaleString('en-US')} ${v.name}`,
        unit: 'ms per event',
        subject: t.subject,
        baseline: t.baseline,
        ratio: 'cost',
        notes: [`${event.length} Kinesis records, ${v.users} user records per event`],
      });
    }
    return out;
  },
};

const KIB = 1024;
const PUT_PAYLOAD_UNIT = 25 * KIB;

/** What Kinesis bills for `total` records put by our producer in sends of `perSend`, and what perfect packing bills. */
async function billing(total: number, perSend: number) {
  const tally: PutTally = { entries: 0, sizes: [] };
  const producer = new KinesisProducer({ client: inProcessKinesis(4, tally), streamName: 'bench', aggregate: true });
  let recordBytes = 0;
  let dataBytes = 0;
  let plainKib = 0;
  let plainUnits = 0;
  for (let sent = 0; sent < total; sent += perSend) {
    const records = telemetry(Math.min(perSend, total - sent), 1000, { seed: 1 + sent });
    for (const r of records) {
      const data = Buffer.byteLength(r.data as string, 'utf8');
      const size = data + Buffer.byteLength(r.partitionKey, 'utf8');
      dataBytes += data;
      recordBytes += size;
      plainKib += Math.ceil(size / KIB);
      plainUnits += Math.ceil(size / PUT_PAYLOAD_UNIT);
    }
    const r = await producer.send(records);
    if (r.failed.length > 0) throw new Error(`producer failed ${r.failed.length} records`);
  }
  const units = (unit: number) => tally.sizes.reduce((n, s) => n + Math.ceil(s / unit), 0);
  return {
    entries: tally.entries,
    recordBytes,
    aggregatedKib: units(KIB),
    aggregatedUnits: units(PUT_PAYLOAD_UNIT),
    idealKib: Math.ceil(recordBytes / KIB),
    idealUnits: Math.ceil(recordBytes / PUT_PAYLOAD_UNIT),
    dataOnlyKib: Math.ceil(dataBytes / KIB),
    plainKib,
    plainUnits,
  };
}

const billedKib: BenchRow = {
  id: 'billed-kib',
  figure: 'billed KiB per million 100 B records, aggregated vs one record per entry',
  baseline:
    'the physical limit: the records\u2019 total bytes (data plus partition key, as Kinesis sizes a record) in whole ' +
    'billing units, i.e. perfect packing. Subject: the units Kinesis bills for what our producer puts (each record ' +
    'rounded up to 1 KiB on demand, to 25 KiB PUT payload units when provisioned), sends of 10,000 records to a ' +
    '4-shard stream. The ratio is billed / limit, so "within 5 % of the limit" reads \u2264 1.05',
  target: { op: '<=', value: 1.05 },
  async measure(mode: BenchMode): Promise<Measurement[]> {
    const total = mode === 'smoke' ? 20_000 : 1_000_000;
    const b = await billing(total, 10_000);
    const perMillion = 1_000_000 / total;
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    const common = [
      `${fmt(b.entries)} Kinesis records for ${fmt(total)} user records (${(b.recordBytes / total).toFixed(1)} B each with the partition key); an aggregate stores each partition key once, which is how it bills less than the limit`,
      `against data bytes alone (no partition key) the on-demand ratio is ${(b.aggregatedKib / b.dataOnlyKib).toFixed(3)}`,
    ];
    // Smaller sends leave a partly filled aggregate per shard per send: on demand that costs under 1 KiB each, in
    // 25 KiB units up to a whole unit each.
    const bySend: string[] = [];
    for (const perSend of mode === 'smoke' ? [1_000] : [500, 1_000, 100_000]) {
      const s = await billing(mode === 'smoke' ? 20_000 : 200_000, perSend);
      bySend.push(
        `sends of ${fmt(perSend)}: on-demand ${(s.aggregatedKib / s.idealKib).toFixed(3)}, provisioned ${(s.aggregatedUnits / s.idealUnits).toFixed(3)} of the limit`,
      );
    }
    return [
      {
        variant: 'on-demand, 1 KiB per record',
        unit: 'KiB per million records',
        subject: [b.aggregatedKib * perMillion],
        baseline: [b.idealKib * perMillion],
        ratio: 'cost',
        notes: [
          `one record per entry bills ${fmt(b.plainKib * perMillion)} KiB per million; aggregated / one-per-entry = ${(b.aggregatedKib / b.plainKib).toFixed(4)}, limit / one-per-entry = ${(b.idealKib / b.plainKib).toFixed(4)}`,
          ...common,
        ],
      },
      {
        variant: 'provisioned, 25 KiB PUT payload units',
        unit: 'PUT payload units per million records',
        subject: [b.aggregatedUnits * perMillion],
        baseline: [b.idealUnits * perMillion],
        ratio: 'cost',
        notes: [
          `one record per entry bills ${fmt(b.plainUnits * perMillion)} units per million; aggregated / one-per-entry = ${(b.aggregatedUnits / b.plainUnits).toFixed(5)}, limit / one-per-entry = ${(b.idealUnits / b.plainUnits).toFixed(5)}`,
          ...common,
          ...bySend,
        ],
      },
    ];
  },
};

export const rows: BenchRow[] = [producerAggregate, decodeAggregates, billedKib];
