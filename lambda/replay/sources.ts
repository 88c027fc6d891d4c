import { gunzipSync } from 'node:zlib';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  Shard,
} from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

/** A record to replay, with its position in the source so each partition key's order can be restored. */
export interface SourceRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /**
   * Original order: records of one partition key compare by `rank` then `position`.
   * Stream: rank = shard generation (parents before children after a reshard), position = sequence number.
   * Archive: rank = object index in key order, position = line number.
   */
  readonly rank: number;
  readonly position: bigint;
}

/** A source record that could not be read, with where and why. */
export interface SourceProblem {
  readonly where: string;
  readonly reason: string;
}

export interface SourceResult {
  readonly records: SourceRecord[];
  readonly problems: SourceProblem[];
}

export type ReadProgress = (read: number, where: string) => void;

export function streamRef(ref: string): { StreamARN: string } | { StreamName: string } {
  return ref.startsWith('arn:') ? { StreamARN: ref } : { StreamName: ref };
}

const GET_RECORDS_LIMIT = 10000;
// GetRecords allows 5 calls per second per shard; an empty answer before the tip is worth a short pause.
const EMPTY_POLL_PAUSE_MS = 200;

async function listAllShards(client: KinesisClient, stream: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    const out = await client.send(new ListShardsCommand(token ? { NextToken: token } : { ...streamRef(stream) }));
    shards.push(...(out.Shards ?? []));
    token = out.NextToken;
  } while (token);
  return shards;
}

/** Generation of each shard: 0 without a listed parent, else 1 + the highest parent generation. */
export function shardGenerations(
  shards: readonly Pick<Shard, 'ShardId' | 'ParentShardId' | 'AdjacentParentShardId'>[],
): Map<string, number> {
  const byId = new Map(shards.map((s) => [s.ShardId as string, s]));
  const depth = new Map<string, number>();
  const visit = (id: string, seen: Set<string>): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    const shard = byId.get(id);
    if (!shard || seen.has(id)) return -1;
    seen.add(id);
    const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => !!p && byId.has(p));
    const d = parents.length === 0 ? 0 : 1 + Math.max(...parents.map((p) => visit(p, seen)));
    depth.set(id, d);
    return d;
  };
  for (const id of byId.keys()) visit(id, new Set());
  return depth;
}

/**
 * Reads every shard of `stream` (open and closed) from `from` (AT_TIMESTAMP iterators) until a record arrived
 * after `to`, the shard is caught up (MillisBehindLatest 0) or it ends (closed shard).
 */
export async function readStream(
  client: KinesisClient,
  stream: string,
  from: Date,
  to: Date,
  onProgress: ReadProgress = () => undefined,
  pause: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<SourceResult> {
  const shards = await listAllShards(client, stream);
  const generations = shardGenerations(shards);
  const records: SourceRecord[] = [];
  const toMs = to.getTime();
  for (const shard of shards) {
    const shardId = shard.ShardId as string;
    const rank = generations.get(shardId) ?? 0;
    const it = await client.send(
      new GetShardIteratorCommand({
        ...streamRef(stream),
        ShardId: shardId,
        ShardIteratorType: 'AT_TIMESTAMP',
        Timestamp: from,
      }),
    );
    let iterator = it.ShardIterator;
    while (iterator) {
      const out = await client.send(
        new GetRecordsCommand({
          // GetRecords takes no stream name; the ARN only serves IAM and routing when the stream was given as one.
          ...(stream.startsWith('arn:') ? { StreamARN: stream } : {}),
          ShardIterator: iterator,
          Limit: GET_RECORDS_LIMIT,
        }),
      );
      const batch = out.Records ?? [];
      let passedEnd = false;
      for (const r of batch) {
        if ((r.ApproximateArrivalTimestamp?.getTime() ?? 0) > toMs) {
          passedEnd = true;
          break;
        }
        records.push({
          partitionKey: r.PartitionKey as string,
          data: r.Data ?? new Uint8Array(),
          rank,
          position: BigInt(r.SequenceNumber as string),
        });
      }
      onProgress(records.length, shardId);
      const caughtUp = out.MillisBehindLatest === 0 && batch.length < GET_RECORDS_LIMIT;
      if (passedEnd || caughtUp) break;
      iterator = out.NextShardIterator;
      if (batch.length === 0 && iterator) await pause(EMPTY_POLL_PAUSE_MS);
    }
  }
  return { records, problems: [] };
}

const pad = (n: number) => String(n).padStart(2, '0');
const HOUR_MS = 3600_000;
/** Firehose buffers up to 900 s before writing an object, so a record can land in the hour after it occurred. */
const FIREHOSE_LATENESS_MS = HOUR_MS;

/** The `year=/month=/day=/hour=` prefixes (UTC) that can hold records that occurred in [from, to]. */
export function archivePartitions(prefix: string, from: Date, to: Date): string[] {
  const out: string[] = [];
  const first = Math.floor(from.getTime() / HOUR_MS) * HOUR_MS;
  const last = to.getTime() + FIREHOSE_LATENESS_MS;
  for (let t = first; t <= last; t += HOUR_MS) {
    const d = new Date(t);
    out.push(
      `${prefix}year=${d.getUTCFullYear()}/month=${pad(d.getUTCMonth() + 1)}/day=${pad(d.getUTCDate())}/hour=${pad(d.getUTCHours())}/`,
    );
  }
  return out;
}

/** Event time of an archived record: `occurredAt` as epoch millis or an ISO-8601 string. */
function occurredAt(value: Record<string, unknown>): number | undefined {
  const v = value.occurredAt;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/**
 * Reads the Firehose archive: lists the hour partitions that can hold [from, to], reads the objects in key order
 * (Firehose names objects by delivery time), splits them into lines and keeps the records whose occurredAt is in
 * range. The bytes of each line are replayed unchanged; the partition key is the record's aggregateId.
 */
export async function readArchive(
  client: S3Client,
  bucket: string,
  prefix: string,
  from: Date,
  to: Date,
  onProgress: ReadProgress = () => undefined,
): Promise<SourceResult> {
  const keys: string[] = [];
  for (const partition of archivePartitions(prefix, from, to)) {
    let token: string | undefined;
    do {
      const out = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: partition, ContinuationToken: token }),
      );
      for (const o of out.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) keys.push(o.Key);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }
  keys.sort();

  const records: SourceRecord[] = [];
  const problems: SourceProblem[] = [];
  const fromMs = from.getTime();
  const toMs = to.getTime();
  for (let rank = 0; rank < keys.length; rank++) {
    const key = keys[rank];
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    let body = Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
    if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) body = gunzipSync(body);
    const lines = body.toString('utf8').split('\n');
    lines.forEach((line, i) => {
      const text = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (text.trim() === '') return;
      const where = `s3://${bucket}/${key}:${i + 1}`;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        problems.push({ where, reason: `not JSON: ${(e as Error).message}` });
        return;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        problems.push({ where, reason: 'not a JSON object' });
        return;
      }
      const obj = value as Record<string, unknown>;
      const aggregateId = obj.aggregateId;
      if (typeof aggregateId !== 'string' || aggregateId.length === 0 || aggregateId.length > 256) {
        problems.push({
          where,
          reason: `aggregateId must be a string of 1..256 chars, got ${JSON.stringify(aggregateId)}`,
        });
        return;
      }
      const at = occurredAt(obj);
      if (at === undefined) {
        problems.push({
          where,
          reason: `occurredAt must be epoch millis or ISO-8601, got ${JSON.stringify(obj.occurredAt)}`,
        });
        return;
      }
      if (at < fromMs || at > toMs) return;
      records.push({ partitionKey: aggregateId, data: Buffer.from(text, 'utf8'), rank, position: BigInt(i) });
    });
    onProgress(records.length, key);
  }
  return { records, problems };
}
