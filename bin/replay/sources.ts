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

/**
 * A source record that could not be read, with where and why: `s3://bucket/key:line` for one archive line,
 * `s3://bucket/key` for a whole object that could not be fetched or decompressed (none of its records is replayed).
 */
export interface SourceProblem {
  readonly where: string;
  readonly reason: string;
  /** `object` when a whole archive object was unreadable; absent for a single record. */
  readonly kind?: 'object';
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

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const NEWLINE = 0x0a;

/**
 * Splits an archive object into its records. Firehose frames records by appending "\n" to each
 * (AppendDelimiterToRecord), so a record is the bytes between two newlines, kept as they are (a trailing "\r" too:
 * it is JSON whitespace). Returns the byte slices with their 1-based line numbers; empty lines are no records.
 */
export function archiveLines(body: Uint8Array): Array<{ readonly line: number; readonly bytes: Uint8Array }> {
  const out: Array<{ line: number; bytes: Uint8Array }> = [];
  let start = 0;
  let line = 1;
  while (start <= body.length) {
    let end = body.indexOf(NEWLINE, start);
    if (end === -1) end = body.length;
    if (end > start) out.push({ line, bytes: body.subarray(start, end) });
    start = end + 1;
    line += 1;
  }
  return out;
}

/**
 * Checks one archived line and returns its partition key and event time, or why it cannot be replayed. The line is
 * decoded strictly (JSON is UTF-8; invalid bytes are not replaced) only to read `aggregateId` and `occurredAt`;
 * undefined for a whitespace-only line, which is no record.
 */
export function readArchiveLine(
  bytes: Uint8Array,
): { readonly partitionKey: string; readonly occurredAt: number } | { readonly problem: string } | undefined {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return { problem: 'not UTF-8' };
  }
  // Whitespace only (e.g. the "\r" of an empty CRLF line): no record, skipped as empty lines are.
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { problem: `not JSON: ${(e as Error).message.slice(0, 200)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'not a JSON object' };
  const obj = value as Record<string, unknown>;
  const aggregateId = obj.aggregateId;
  if (typeof aggregateId !== 'string' || aggregateId.length === 0 || aggregateId.length > 256) {
    const got =
      typeof aggregateId === 'string' ? `a string of ${aggregateId.length} chars` : JSON.stringify(aggregateId);
    return { problem: `aggregateId must be a string of 1..256 chars, got ${String(got).slice(0, 80)}` };
  }
  const at = occurredAt(obj);
  if (at === undefined) {
    const got = JSON.stringify(obj.occurredAt);
    return { problem: `occurredAt must be epoch millis or ISO-8601, got ${String(got).slice(0, 80)}` };
  }
  return { partitionKey: aggregateId, occurredAt: at };
}

/** Gzip objects start with 1f 8b; a plain archive object starts with a record ("{") or whitespace. */
function isGzip(body: Uint8Array): boolean {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
}

/**
 * Reads the Firehose archive: lists the hour partitions that can hold [from, to], reads the objects in key order
 * (Firehose names objects by delivery time), splits them into lines and keeps the records whose occurredAt is in
 * range. The bytes of each line are replayed unchanged, byte for byte; the partition key is the record's
 * aggregateId. A line that is not a record (not UTF-8, not a JSON object, no aggregateId or occurredAt) is a
 * problem named `s3://bucket/key:line`; an object that cannot be fetched or decompressed (a truncated gzip) is a
 * problem named `s3://bucket/key`, none of its records is replayed, and the other objects are still read.
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
    const object = `s3://${bucket}/${key}`;
    let body: Uint8Array;
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      body = (await out.Body?.transformToByteArray()) ?? new Uint8Array();
    } catch (e) {
      problems.push({
        where: object,
        kind: 'object',
        reason: `cannot read the object: ${(e as Error).name}: ${(e as Error).message}`,
      });
      onProgress(records.length, key);
      continue;
    }
    if (isGzip(body)) {
      try {
        body = gunzipSync(body);
      } catch (e) {
        // A truncated or corrupt object: its records are not replayed (the part before the damage included, so
        // that replaying the repaired object later gives no duplicates); the other objects are still read.
        problems.push({ where: object, kind: 'object', reason: `not a readable gzip object: ${(e as Error).message}` });
        onProgress(records.length, key);
        continue;
      }
    }
    for (const { line, bytes } of archiveLines(body)) {
      const read = readArchiveLine(bytes);
      if (read === undefined) continue;
      if ('problem' in read) {
        problems.push({ where: `${object}:${line}`, reason: read.problem });
        continue;
      }
      if (read.occurredAt < fromMs || read.occurredAt > toMs) continue;
      // A copy of the archived bytes, not a re-encoding of the decoded text.
      records.push({ partitionKey: read.partitionKey, data: Uint8Array.from(bytes), rank, position: BigInt(line) });
    }
    onProgress(records.length, key);
  }
  return { records, problems };
}
