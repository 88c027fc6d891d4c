/**
 * Writes the KPL aggregate fixtures that the Flink connector's tests decode (KplFixtureTest), so the Java
 * de-aggregator is checked against the encoder the producer really uses (lambda/shared/kpl.ts).
 *
 *   npx ts-node --transpile-only scripts/generate-kpl-fixtures.ts
 *
 * Deterministic (seeded PRNG): rerunning it without a change to kpl.ts rewrites the same file.
 * Each case has `records: null` when the consumer must pass the bytes on as one plain record.
 */
import { createHash } from 'crypto';
import { mkdirSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import { aggregate, deaggregate, isAggregated, KPL_MAGIC, UserRecord } from '../lambda/shared/kpl';

const OUT = join(
  __dirname,
  '..',
  'flink-apps',
  'kinesis-connector',
  'src',
  'test',
  'resources',
  'kpl',
  'aggregates.json',
);
const MAX_HASH_KEY = ((1n << 128n) - 1n).toString();

let seed = 0x5eed;
function random(): number {
  // mulberry32: small, seedable, good enough for fixture variety.
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function bytes(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
}
function hashKey(): string {
  let v = 0n;
  for (let i = 0; i < 4; i++) v = (v << 32n) | BigInt(Math.floor(random() * 2 ** 32));
  return v.toString();
}

interface Case {
  name: string;
  aggregate: Buffer;
  records: UserRecord[] | null;
}
const cases: Case[] = [];
function valid(name: string, records: UserRecord[]): void {
  cases.push({ name, aggregate: aggregate(records), records });
}
function passThrough(name: string, data: Buffer): void {
  cases.push({ name, aggregate: data, records: null });
}
function withDigest(body: Buffer): Buffer {
  return Buffer.concat([KPL_MAGIC, body, createHash('md5').update(body).digest()]);
}

valid('single record', [{ partitionKey: 'device-00001', data: Buffer.from('{"eventId":"e1"}') }]);
valid(
  'shared keys, explicit hash keys on some records only',
  Array.from({ length: 12 }, (_, i) => ({
    partitionKey: `device-${i % 3}`,
    explicitHashKey: i % 4 === 1 ? hashKey() : i % 4 === 3 ? '42' : undefined,
    data: Buffer.from(`{"n":${i}}`),
  })),
);
valid('unicode, long and empty partition keys; empty and binary data', [
  { partitionKey: 'Ünïcödé-ключ-鍵-🔑', data: Buffer.alloc(0) },
  { partitionKey: 'x'.repeat(256), data: Buffer.from(Array.from({ length: 256 }, (_, i) => i)) },
  { partitionKey: '', data: Buffer.from([0]) },
  { partitionKey: 'e\u0301 \t\n"\\', explicitHashKey: '0', data: Buffer.from('é') },
  { partitionKey: 'Ünïcödé-ключ-鍵-🔑', explicitHashKey: MAX_HASH_KEY, data: bytes(33) },
]);
valid(
  'three hundred small records',
  Array.from({ length: 300 }, () => ({
    partitionKey: `k${Math.floor(random() * 40)}`,
    explicitHashKey: random() < 0.2 ? hashKey() : undefined,
    data: bytes(Math.floor(random() * 40)),
  })),
);
valid('one large record', [{ partitionKey: 'big', data: bytes(20_000) }]);

const good = aggregate([
  { partitionKey: 'a', data: Buffer.from('one') },
  { partitionKey: 'b', data: Buffer.from('two') },
]);
const badDigest = Buffer.from(good);
badDigest[badDigest.length - 1] ^= 0x01;
passThrough('wrong MD5', badDigest);
const badBody = Buffer.from(good);
badBody[KPL_MAGIC.length + 1] ^= 0x40;
passThrough('body changed after hashing', badBody);
passThrough('truncated protobuf with a matching MD5', withDigest(good.subarray(KPL_MAGIC.length, good.length - 20)));
passThrough('magic and MD5 of an empty body', withDigest(Buffer.alloc(0)));
// partition_key_table = ["a"] only: an aggregate without user records.
passThrough('no user records', withDigest(Buffer.from([0x0a, 0x01, 0x61])));
// records { partition_key_index: 1, data: "x" } with a one-entry key table.
passThrough(
  'partition key index out of range',
  withDigest(Buffer.from([0x0a, 0x01, 0x61, 0x1a, 0x05, 0x08, 0x01, 0x1a, 0x01, 0x78])),
);
// records { data: "x" }: the required partition_key_index is missing.
passThrough('missing partition key index', withDigest(Buffer.from([0x0a, 0x01, 0x61, 0x1a, 0x03, 0x1a, 0x01, 0x78])));
passThrough('plain JSON record', Buffer.from('{"eventId":"plain"}'));

// The reference decoder must agree with every expectation written, or the fixture would test the wrong thing.
for (const c of cases) {
  let decoded: UserRecord[] | null;
  try {
    decoded = isAggregated(c.aggregate) ? deaggregate(c.aggregate) : null;
  } catch {
    decoded = null;
  }
  const norm = (rs: UserRecord[] | null) =>
    rs &&
    rs.map((r) => ({ pk: r.partitionKey, ehk: r.explicitHashKey ?? null, data: Buffer.from(r.data).toString('hex') }));
  if (JSON.stringify(norm(decoded)) !== JSON.stringify(norm(c.records))) {
    throw new Error(`kpl.ts disagrees with the expectation of fixture '${c.name}'`);
  }
}

const json = cases.map((c) => ({
  name: c.name,
  aggregate: c.aggregate.toString('base64'),
  records:
    c.records &&
    c.records.map((r) => ({
      partitionKey: r.partitionKey,
      ...(r.explicitHashKey === undefined ? {} : { explicitHashKey: r.explicitHashKey }),
      data: Buffer.from(r.data).toString('base64'),
    })),
}));
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(json, null, 1) + '\n');
console.log(`wrote ${cases.length} cases to ${OUT}`);
