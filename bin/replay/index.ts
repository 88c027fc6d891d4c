import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { KinesisProducer } from '../../lambda/shared/producer';
import type { ReplayOptions } from './args';
import { orderByPartitionKey, PublishFailure, publishInOrder, RecordSink } from './publish';
import { readArchive, readStream, SourceProblem, SourceResult } from './sources';
import { Clock, systemClock, TokenBucket } from './token-bucket';

export * from './args';
export * from './publish';
export * from './sources';
export * from './token-bucket';

export interface ReplaySummary {
  readonly read: number;
  readonly written: number;
  readonly failed: number;
  /**
   * Source problems: archive lines that are not valid records, and archive objects that could not be fetched or
   * decompressed (each counts once; none of their records is read).
   */
  readonly unreadable: number;
  readonly aggregates: number;
  readonly elapsedMs: number;
  readonly problems: SourceProblem[];
  readonly failures: PublishFailure[];
}

export interface ReplayDependencies {
  readonly kinesis: KinesisClient;
  readonly s3?: S3Client;
  /** Where records go; defaults to a KinesisProducer on `options.target`. */
  readonly sink?: RecordSink;
  readonly clock?: Clock;
  /** Progress lines (to stderr in the CLI). */
  readonly log?: (line: string) => void;
  /** Minimum time between two progress lines. @default 1000 */
  readonly progressIntervalMs?: number;
}

export function kinesisClientFor(options: Pick<ReplayOptions, 'endpoint' | 'region'>): KinesisClient {
  // HTTP/1.1: local Kinesis servers do not speak the SDK's default HTTP/2 for these calls.
  return new KinesisClient({
    endpoint: options.endpoint,
    region: options.region,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 3000, requestTimeout: 30000 }),
    maxAttempts: 5,
  });
}

export function s3ClientFor(options: Pick<ReplayOptions, 's3Endpoint' | 'region'>): S3Client {
  return new S3Client({
    endpoint: options.s3Endpoint,
    forcePathStyle: options.s3Endpoint !== undefined,
    region: options.region,
    maxAttempts: 5,
  });
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Reads the time range from the source, then writes it to the target in per-partition-key order at the given rate.
 * Records are held in memory between the two phases (grouping by key needs the whole range), so the range should
 * fit in memory: roughly the size of its records.
 */
export async function runReplay(options: ReplayOptions, deps: ReplayDependencies): Promise<ReplaySummary> {
  const clock = deps.clock ?? systemClock;
  const log = deps.log ?? (() => undefined);
  const interval = deps.progressIntervalMs ?? 1000;
  const started = clock.now();
  let lastLog = Number.NEGATIVE_INFINITY;
  const throttled = (line: () => string, force = false) => {
    const now = clock.now();
    if (force || now - lastLog >= interval) {
      lastLog = now;
      log(line());
    }
  };

  const range = `${options.from.toISOString()} .. ${options.to.toISOString()}`;
  let source: SourceResult;
  if (options.source === 'stream') {
    log(`reading stream ${options.sourceStream} for ${range}`);
    source = await readStream(deps.kinesis, options.sourceStream as string, options.from, options.to, (read, where) =>
      throttled(() => `read ${read} records (${where})`),
    );
  } else {
    if (!deps.s3) throw new Error('an S3 client is needed for --source archive');
    log(`reading s3://${options.archiveBucket}/${options.archivePrefix} for ${range}`);
    source = await readArchive(
      deps.s3,
      options.archiveBucket as string,
      options.archivePrefix,
      options.from,
      options.to,
      (read, where) => throttled(() => `read ${read} records (${where})`),
    );
  }
  for (const p of source.problems.slice(0, 20)) log(`unreadable ${p.kind ?? 'record'} ${p.where}: ${p.reason}`);
  if (source.problems.length > 20) log(`... and ${source.problems.length - 20} more unreadable records`);

  const total = source.records.length;
  const groups = orderByPartitionKey(source.records);
  throttled(
    () =>
      `read ${total} records of ${groups.size} partition keys; writing to ${options.target} at up to ${options.rate} records/s`,
    true,
  );

  const sink =
    deps.sink ??
    new KinesisProducer({
      client: deps.kinesis,
      ...(options.target.startsWith('arn:') ? { streamArn: options.target } : { streamName: options.target }),
    });
  const bucket = new TokenBucket(options.rate, Math.max(1, Math.min(500, Math.floor(options.rate))), clock);
  const writeStart = clock.now();
  const result = await publishInOrder(groups, sink, bucket, (written, failed) =>
    throttled(() => {
      const elapsed = Math.max(1, clock.now() - writeStart);
      const rate = (written * 1000) / elapsed;
      const left = total - written - failed;
      const eta = rate > 0 ? seconds((left / rate) * 1000) : 'unknown';
      return `written ${written}/${total}, failed ${failed}, ${rate.toFixed(0)} records/s, ETA ${eta}`;
    }),
  );
  return {
    read: total,
    written: result.written,
    failed: result.failed,
    unreadable: source.problems.length,
    aggregates: groups.size,
    elapsedMs: clock.now() - started,
    problems: source.problems,
    failures: result.failures,
  };
}

/** One-line summary plus the first failures, for the CLI's last words. */
export function formatSummary(s: ReplaySummary): string[] {
  const rate = s.elapsedMs > 0 ? ((s.written * 1000) / s.elapsedMs).toFixed(0) : String(s.written);
  const lines = [
    `replay ${s.failed + s.unreadable === 0 ? 'complete' : 'INCOMPLETE'}: read ${s.read} records of ${s.aggregates} partition keys, ` +
      `written ${s.written}, failed ${s.failed}, unreadable ${s.unreadable}, in ${seconds(s.elapsedMs)} (${rate} records/s)`,
  ];
  // Every unreadable object is named (there are few); single lines are in the progress log.
  for (const p of s.problems) if (p.kind === 'object') lines.push(`unreadable object ${p.where}: ${p.reason}`);
  for (const f of s.failures.slice(0, 20))
    lines.push(`failed ${f.records} record(s) of ${f.partitionKey}: ${f.reason}`);
  if (s.failures.length > 20) lines.push(`... and ${s.failures.length - 20} more failed partition keys`);
  return lines;
}
