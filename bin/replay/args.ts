/** Command-line options of the replay CLI (`bin/replay/main.ts`). */
export interface ReplayOptions {
  /** Start of the time range, inclusive. */
  readonly from: Date;
  /** End of the time range, inclusive. */
  readonly to: Date;
  readonly source: 'stream' | 'archive';
  /** Stream name or ARN the replayed records are written to. */
  readonly target: string;
  /** Stream name or ARN to read (source `stream`). */
  readonly sourceStream?: string;
  /** Bucket of the Firehose archive (source `archive`). */
  readonly archiveBucket?: string;
  /** Key prefix in front of the `year=/month=/day=/hour=` partitions; empty or ending with `/`. */
  readonly archivePrefix: string;
  /** Kinesis endpoint override (local servers). */
  readonly endpoint?: string;
  /** S3 endpoint override (local servers); path-style addressing is used when set. */
  readonly s3Endpoint?: string;
  /** Records per second written to the target. */
  readonly rate: number;
  readonly region?: string;
}

export const DEFAULT_RATE = 1000;

export const USAGE = `Usage: npm run replay -- --from <ISO> [--to <ISO>] --source stream|archive --target <stream name|ARN>
         [--source-stream <name|ARN>] [--archive-bucket <bucket> [--archive-prefix <prefix>]]
         [--endpoint <url>] [--s3-endpoint <url>] [--rate <records/s>] [--region <region>]

Re-publishes the events of a time range to a target stream, keeping the order of each partition key.
  --from, --to        ISO-8601 timestamps; --to defaults to now. Stream: arrival time; archive: the record's occurredAt.
  --source stream     reads every shard of --source-stream from --from (AT_TIMESTAMP) until --to or the shard's end.
  --source archive    reads the Firehose archive s3://<--archive-bucket>/<--archive-prefix>year=YYYY/month=MM/day=DD/hour=HH/
                      (newline-delimited JSON, gzip allowed); the partition key is each record's aggregateId.
  --endpoint          Kinesis endpoint (local servers); --s3-endpoint is the S3 one (path-style addressing).
  --rate              records per second written to the target (default ${DEFAULT_RATE}).
Exit code: 0 when every record was written, 1 when anything failed, 2 for invalid arguments.`;

/** An invalid command line; the message names the option and the value received. */
export class ArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgumentError';
  }
}

const OPTIONS = new Set([
  'from',
  'to',
  'source',
  'target',
  'source-stream',
  'archive-bucket',
  'archive-prefix',
  'endpoint',
  's3-endpoint',
  'rate',
  'region',
]);

const STREAM_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const STREAM_ARN = /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/[A-Za-z0-9_.-]{1,128}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function splitArgs(argv: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new ArgumentError(`unexpected argument "${arg}": options start with --`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!OPTIONS.has(name)) throw new ArgumentError(`unknown option --${name}`);
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new ArgumentError(`--${name} needs a value`);
      i++;
    }
    if (values.has(name)) throw new ArgumentError(`--${name} given twice ("${values.get(name)}" and "${value}")`);
    values.set(name, value);
  }
  return values;
}

function time(name: string, value: string): Date {
  const ms = ISO.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new ArgumentError(`--${name} must be an ISO-8601 timestamp such as 2026-11-29T08:00:00Z, got "${value}"`);
  }
  return new Date(ms);
}

function stream(name: string, value: string): string {
  if (!STREAM_NAME.test(value) && !STREAM_ARN.test(value)) {
    throw new ArgumentError(`--${name} must be a Kinesis stream name or ARN, got "${value}"`);
  }
  return value;
}

function url(name: string, value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ArgumentError(`--${name} must be an http(s) URL, got "${value}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ArgumentError(`--${name} must be an http(s) URL, got "${value}"`);
  }
  return value;
}

/** The stream name in a name-or-ARN reference, so a stream given both ways is recognised as the same. */
export function streamName(ref: string): string {
  return ref.startsWith('arn:') ? ref.slice(ref.lastIndexOf('/') + 1) : ref;
}

/** Parses and validates the command line (without the node and script arguments). */
export function parseReplayArgs(argv: readonly string[], now: Date = new Date()): ReplayOptions {
  const v = splitArgs(argv);
  const required = (name: string) => {
    const value = v.get(name);
    if (value === undefined || value === '') throw new ArgumentError(`--${name} is required`);
    return value;
  };

  const from = time('from', required('from'));
  const to = v.has('to') ? time('to', v.get('to') as string) : now;
  if (to.getTime() <= from.getTime()) {
    throw new ArgumentError(`--to (${to.toISOString()}) must be after --from (${from.toISOString()})`);
  }

  const source = required('source');
  if (source !== 'stream' && source !== 'archive') {
    throw new ArgumentError(`--source must be "stream" or "archive", got "${source}"`);
  }
  const target = stream('target', required('target'));

  let sourceStream: string | undefined;
  let archiveBucket: string | undefined;
  let archivePrefix = '';
  if (source === 'stream') {
    for (const name of ['archive-bucket', 'archive-prefix']) {
      if (v.has(name)) throw new ArgumentError(`--${name} applies to --source archive, not --source stream`);
    }
    sourceStream = stream('source-stream', required('source-stream'));
    if (streamName(sourceStream) === streamName(target)) {
      throw new ArgumentError(`--target must differ from --source-stream (both are "${streamName(target)}")`);
    }
  } else {
    if (v.has('source-stream'))
      throw new ArgumentError('--source-stream applies to --source stream, not --source archive');
    archiveBucket = required('archive-bucket');
    if (!BUCKET.test(archiveBucket))
      throw new ArgumentError(`--archive-bucket must be an S3 bucket name, got "${archiveBucket}"`);
    archivePrefix = v.get('archive-prefix') ?? '';
    if (archivePrefix.startsWith('/')) {
      throw new ArgumentError(`--archive-prefix is a key prefix and must not start with /, got "${archivePrefix}"`);
    }
    if (archivePrefix !== '' && !archivePrefix.endsWith('/')) archivePrefix += '/';
  }

  let rate = DEFAULT_RATE;
  if (v.has('rate')) {
    const raw = v.get('rate') as string;
    rate = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(rate) || rate <= 0 || rate > 1_000_000) {
      throw new ArgumentError(`--rate must be a number of records per second in (0, 1000000], got "${raw}"`);
    }
  }

  const region = v.get('region');
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    throw new ArgumentError(`--region must be an AWS region such as eu-west-1, got "${region}"`);
  }

  return {
    from,
    to,
    source,
    target,
    sourceStream,
    archiveBucket,
    archivePrefix,
    endpoint: v.has('endpoint') ? url('endpoint', v.get('endpoint') as string) : undefined,
    s3Endpoint: v.has('s3-endpoint') ? url('s3-endpoint', v.get('s3-endpoint') as string) : undefined,
    rate,
    region,
  };
}
