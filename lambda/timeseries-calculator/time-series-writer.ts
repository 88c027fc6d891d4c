import {
  TimestreamWriteClient,
  WriteRecordsCommand,
  _Record,
  RejectedRecordsException,
} from '@aws-sdk/client-timestream-write';
import type { MetricSummary } from './aggregate';

/** One window's aggregate of one metric of one device. */
export interface AggregatePoint {
  readonly deviceId: string;
  readonly metric: string;
  readonly site?: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly summary: MetricSummary;
}

/**
 * Writes window aggregates to a time-series database. Points are stamped with `windowEnd`, so writing the same
 * window again (a retried final invoke) overwrites the same points instead of adding new ones.
 *
 * `write` resolves once every point is either stored or listed in `rejected`. It throws only for failures worth
 * retrying (network, 5xx, authentication, a missing database); repeating the whole call is then safe.
 */
export interface TimeSeriesWriter {
  write(points: readonly AggregatePoint[]): Promise<TimeSeriesWriteResult>;
}

export const MEASUREMENT = 'telemetry';

/** A point the database can never store as it is. Retrying fails the same way: dead-letter it with the reason. */
export interface RejectedPoint {
  readonly point: AggregatePoint;
  /** One of `PointRejection`. */
  readonly reason: string;
  readonly detail: string;
}

export interface TimeSeriesWriteResult {
  /** Points stored. */
  readonly written: number;
  /** Points not stored, and why; nothing else was lost. */
  readonly rejected: readonly RejectedPoint[];
  /** NaN and ±Infinity fields left out of the stored points (InfluxDB has no such value; 0 would be a lie). */
  readonly omittedFields: number;
}

/** Why a point was rejected (`RejectedPoint.reason`). */
export const PointRejection = {
  /** deviceId or metric is empty: the official client would drop the tag and merge the point into another series. */
  EMPTY_TAG: 'INFLUX_EMPTY_TAG',
  /** A tag value ends with a backslash: line protocol reads it as escaping the separator after it. */
  TRAILING_BACKSLASH: 'INFLUX_TRAILING_BACKSLASH',
  /** Series key + `#!~#` + field key over `MAX_KEY_BYTES`: InfluxDB answers `max key length exceeded`. */
  SERIES_KEY_TOO_LONG: 'INFLUX_SERIES_KEY_TOO_LONG',
  /** windowEnd is not an integer of milliseconds within InfluxDB's int64-nanosecond range. */
  TIMESTAMP_OUT_OF_RANGE: 'INFLUX_TIMESTAMP_OUT_OF_RANGE',
  /** count is not a non-negative safe integer (it is written as `<n>i`). */
  INVALID_COUNT: 'INFLUX_INVALID_COUNT',
  /** InfluxDB refused this point alone with 400/413/422 (e.g. a field type conflict). */
  REFUSED: 'INFLUX_REFUSED',
  /** Timestream for LiveAnalytics rejected the record (RejectedRecordsException, e.g. outside memory retention). */
  TIMESTREAM_REJECTED: 'TIMESTREAM_REJECTED',
} as const;

/**
 * InfluxDB stores each field under "<series key>#!~#<field key>" and refuses the point when that exceeds 65535
 * bytes of line protocol (escaped). Measured on 1.6: a 65525-byte series key with field `stddev` is stored, 65526 is not.
 */
export const MAX_KEY_BYTES = 65535;
const FIELD_KEY_SEPARATOR_BYTES = '#!~#'.length;

/** Largest |windowEnd| in ms whose nanoseconds fit InfluxDB's time range (±9223372036854775806 ns). */
export const MAX_TIMESTAMP_MS = 9_223_372_036_854;

/** A point as a line, or why it cannot be one. */
export type EncodedPoint =
  | { readonly line: string; readonly omittedFields: readonly string[] }
  | { readonly reason: string; readonly detail: string };

/**
 * InfluxDB line protocol for aggregate points: measurement `telemetry`, tags deviceId/metric/site (site left out when
 * empty), fields count (`<n>i`) and the floats min/max/mean/stddev/<percentile>, timestamp windowEnd in ms. The line
 * is byte for byte what `@influxdata/influxdb-client`'s `Point` writes with precision ms (tags and fields sorted by
 * key), except that non-finite floats are left out (the client throws on them) and points the client would write
 * wrongly or InfluxDB would refuse are rejected instead (see `PointRejection`).
 */
export class LineProtocolEncoder {
  private readonly fieldKeys: readonly string[];
  private readonly percentileField: string;
  private readonly measurement = escapeMeasurement(MEASUREMENT);

  constructor(percentileField: string) {
    const fixed = ['count', 'min', 'max', 'mean', 'stddev'];
    // A bad field key would fail every point: refuse the configuration instead.
    if (
      !percentileField ||
      percentileField === 'time' ||
      percentileField.endsWith('\\') ||
      fixed.includes(percentileField)
    ) {
      throw new Error(
        `percentile field must be a non-empty field key other than time and ${fixed.join(', ')}, got '${percentileField}'`,
      );
    }
    // The client sorts field keys (String order).
    this.fieldKeys = [...fixed, percentileField].sort();
    this.percentileField = percentileField;
  }

  encode(p: AggregatePoint): EncodedPoint {
    if (!p.deviceId || !p.metric) {
      return {
        reason: PointRejection.EMPTY_TAG,
        detail: `deviceId '${p.deviceId}' and metric '${p.metric}' must not be empty`,
      };
    }
    // Keys in sorted order, as the client writes them; an empty site is left out, as the client does.
    const tags: [string, string][] = [
      ['deviceId', p.deviceId],
      ['metric', p.metric],
    ];
    if (p.site) tags.push(['site', p.site]);
    for (const [k, v] of tags) {
      if (v.endsWith('\\')) {
        return { reason: PointRejection.TRAILING_BACKSLASH, detail: `${k} ends with a backslash: ${clip(v)}` };
      }
    }
    const s = p.summary;
    if (!Number.isSafeInteger(s.count) || s.count < 0) {
      return {
        reason: PointRejection.INVALID_COUNT,
        detail: `count must be a non-negative safe integer, got ${s.count}`,
      };
    }
    if (!Number.isSafeInteger(p.windowEnd) || Math.abs(p.windowEnd) > MAX_TIMESTAMP_MS) {
      return {
        reason: PointRejection.TIMESTAMP_OUT_OF_RANGE,
        detail: `windowEnd must be an integer of ms within ±${MAX_TIMESTAMP_MS}, got ${p.windowEnd}`,
      };
    }
    const seriesKey = this.measurement + tags.map(([k, v]) => `,${escapeTag(k)}=${escapeTag(v)}`).join('');
    const values: Record<string, number> = {
      min: s.min,
      max: s.max,
      mean: s.mean,
      stddev: s.stddev,
      [this.percentileField]: s.percentile,
    };
    const fields: string[] = [];
    const omittedFields: string[] = [];
    let longestFieldKey = 0;
    for (const k of this.fieldKeys) {
      let value: string;
      if (k === 'count') value = `${s.count}i`;
      else if (Number.isFinite(values[k])) value = String(values[k]);
      else {
        omittedFields.push(k);
        continue;
      }
      const key = escapeTag(k);
      longestFieldKey = Math.max(longestFieldKey, Buffer.byteLength(key, 'utf8'));
      fields.push(`${key}=${value}`);
    }
    const keyBytes = Buffer.byteLength(seriesKey, 'utf8') + FIELD_KEY_SEPARATOR_BYTES + longestFieldKey;
    if (keyBytes > MAX_KEY_BYTES) {
      return {
        reason: PointRejection.SERIES_KEY_TOO_LONG,
        detail: `series key + field key is ${keyBytes} bytes, InfluxDB stores at most ${MAX_KEY_BYTES}: ${clip(seriesKey)}`,
      };
    }
    return { line: `${seriesKey} ${fields.join(',')} ${p.windowEnd}`, omittedFields };
  }
}

/** Lines of the given points; throws on a point that `LineProtocolEncoder` rejects. */
export function toLineProtocol(points: readonly AggregatePoint[], percentileField: string): string {
  const encoder = new LineProtocolEncoder(percentileField);
  return points
    .map((p) => {
      const e = encoder.encode(p);
      if ('reason' in e) throw new Error(`${e.reason}: ${e.detail}`);
      return e.line;
    })
    .join('\n');
}

/**
 * Tag keys, tag values and field keys, escaped as the official client's `escape.tag` does: `,`, space and `=` get a
 * backslash; line feed, carriage return and tab become the two characters `\n`, `\r`, `\t`, which InfluxDB stores
 * as they are (line protocol cannot carry a line break). Backslashes stay as they are: InfluxDB reads them
 * literally, also right before an escaped separator (`\\,` is stored as `\,`). A trailing backslash cannot be
 * carried (it would escape the separator after it), hence `PointRejection.TRAILING_BACKSLASH`.
 */
export function escapeTag(v: string): string {
  return v.replace(/[, =\n\r\t]/g, (c) => TAG_ESCAPES[c]);
}

/** The measurement, as the client's `escape.measurement`: like tags, but `=` stays as it is. */
export function escapeMeasurement(v: string): string {
  return v.replace(/[, \n\r\t]/g, (c) => TAG_ESCAPES[c]);
}

const TAG_ESCAPES: Record<string, string> = {
  ',': '\\,',
  ' ': '\\ ',
  '=': '\\=',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}… (${s.length} characters)` : s;
}

const LINES_PER_REQUEST = 5000;

/**
 * Statuses with which InfluxDB refuses some points of a request while storing the others: 400 (line protocol it
 * cannot parse, `partial write`), 422 (InfluxDB 2 schema conflicts), 413 (body too large; halving helps).
 */
const POINT_LEVEL_STATUSES = new Set([400, 413, 422]);

type Post = (body: string) => Promise<{ readonly status: number; readonly text: string }>;

interface Encoded {
  readonly point: AggregatePoint;
  readonly line: string;
  readonly omittedFields: number;
}

/**
 * Encodes, sends in requests of 5000 lines, and isolates what InfluxDB refuses: a request refused with a point-level
 * status is halved until the refused points are alone, so one bad point costs about 2·log2(5000) ≈ 26 extra requests
 * and never the batch. Resending halves is safe: InfluxDB stored the good points of a refused request, and writing
 * the same point (same series and time) again overwrites it with the same values.
 */
async function writeIsolating(
  points: readonly AggregatePoint[],
  encoder: LineProtocolEncoder,
  post: Post,
  target: string,
): Promise<TimeSeriesWriteResult> {
  const rejected: RejectedPoint[] = [];
  const encoded: Encoded[] = [];
  for (const point of points) {
    const e = encoder.encode(point);
    if ('reason' in e) rejected.push({ point, reason: e.reason, detail: e.detail });
    else encoded.push({ point, line: e.line, omittedFields: e.omittedFields.length });
  }
  const refused = new Set<Encoded>();
  const send = async (batch: readonly Encoded[]): Promise<void> => {
    const res = await post(batch.map((b) => b.line).join('\n'));
    if (res.status === 204 || res.status === 200) return;
    if (!POINT_LEVEL_STATUSES.has(res.status)) {
      throw new Error(`InfluxDB write to ${target} failed: HTTP ${res.status} ${res.text}`);
    }
    if (batch.length === 1) {
      refused.add(batch[0]);
      rejected.push({
        point: batch[0].point,
        reason: PointRejection.REFUSED,
        detail: `HTTP ${res.status} ${clip(res.text)}`,
      });
      return;
    }
    const mid = Math.ceil(batch.length / 2);
    await send(batch.slice(0, mid));
    await send(batch.slice(mid));
  };
  for (let i = 0; i < encoded.length; i += LINES_PER_REQUEST) await send(encoded.slice(i, i + LINES_PER_REQUEST));
  const stored = encoded.filter((e) => !refused.has(e));
  return { written: stored.length, rejected, omittedFields: stored.reduce((n, e) => n + e.omittedFields, 0) };
}

export interface InfluxCredentials {
  readonly username: string;
  readonly password: string;
}

export interface InfluxV1WriterOptions {
  /** e.g. http://127.0.0.1:8086 */
  readonly url: string;
  readonly database: string;
  readonly percentileField: string;
  /** Basic-auth credentials, when the server requires authentication. */
  readonly credentials?: () => Promise<InfluxCredentials>;
}

/** InfluxDB 1.x API (`POST /write?db=&precision=ms`), also served by InfluxDB 2/3 for compatibility. */
export class InfluxV1Writer implements TimeSeriesWriter {
  private readonly encoder: LineProtocolEncoder;

  constructor(private readonly options: InfluxV1WriterOptions) {
    this.encoder = new LineProtocolEncoder(options.percentileField);
  }

  async write(points: readonly AggregatePoint[]): Promise<TimeSeriesWriteResult> {
    const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8' };
    if (this.options.credentials) {
      const c = await this.options.credentials();
      headers.Authorization = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
    }
    const url = `${trimSlash(this.options.url)}/write?db=${encodeURIComponent(this.options.database)}&precision=ms`;
    const post: Post = async (body) => {
      const res = await fetch(url, { method: 'POST', headers, body });
      return { status: res.status, text: await res.text() };
    };
    return writeIsolating(points, this.encoder, post, this.options.database);
  }
}

export interface InfluxV2WriterOptions {
  /** e.g. https://abc.timestream-influxdb.eu-west-1.on.aws:8086 */
  readonly url: string;
  readonly org: string;
  readonly bucket: string;
  readonly percentileField: string;
  readonly credentials: () => Promise<InfluxCredentials>;
}

/**
 * InfluxDB 2 API as Timestream for InfluxDB serves it: `POST /api/v2/signin` with basic auth returns a session
 * cookie, then `POST /api/v2/write?org=&bucket=&precision=ms`. A 401 on write signs in again once (session expired).
 */
export class InfluxV2Writer implements TimeSeriesWriter {
  private session?: string;
  private readonly encoder: LineProtocolEncoder;

  constructor(private readonly options: InfluxV2WriterOptions) {
    this.encoder = new LineProtocolEncoder(options.percentileField);
  }

  async write(points: readonly AggregatePoint[]): Promise<TimeSeriesWriteResult> {
    const base = trimSlash(this.options.url);
    const url =
      `${base}/api/v2/write?org=${encodeURIComponent(this.options.org)}` +
      `&bucket=${encodeURIComponent(this.options.bucket)}&precision=ms`;
    const post: Post = async (body) => {
      for (let attempt = 0; ; attempt++) {
        const cookie = await this.signIn(base, attempt > 0);
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain; charset=utf-8', Cookie: cookie },
          body,
        });
        if (res.status === 401 && attempt === 0) continue;
        return { status: res.status, text: await res.text() };
      }
    };
    return writeIsolating(points, this.encoder, post, `${this.options.org}/${this.options.bucket}`);
  }

  private async signIn(base: string, force: boolean): Promise<string> {
    if (this.session && !force) return this.session;
    const c = await this.options.credentials();
    const res = await fetch(`${base}/api/v2/signin`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` },
    });
    if (res.status !== 204 && res.status !== 200) {
      throw new Error(`InfluxDB sign-in as ${c.username} failed: HTTP ${res.status} ${await res.text()}`);
    }
    const cookies = res.headers.getSetCookie?.() ?? [res.headers.get('set-cookie') ?? ''];
    const session = cookies
      .map((c) => c.split(';')[0])
      .filter(Boolean)
      .join('; ');
    if (!session) throw new Error('InfluxDB sign-in returned no session cookie');
    this.session = session;
    return session;
  }
}

export interface TimestreamWriterOptions {
  readonly client: TimestreamWriteClient;
  readonly database: string;
  readonly table: string;
  readonly percentileField: string;
}

const TIMESTREAM_BATCH = 100;

/**
 * Timestream for LiveAnalytics: one multi-measure record per point (measure name `telemetry`), dimensions
 * deviceId/metric/site, time = windowEnd. `Version` = write time makes a rewrite of the same window an upsert.
 */
export class TimestreamWriter implements TimeSeriesWriter {
  constructor(private readonly options: TimestreamWriterOptions) {}

  async write(points: readonly AggregatePoint[]): Promise<TimeSeriesWriteResult> {
    const version = Date.now();
    let omittedFields = 0;
    let written = 0;
    const rejected: RejectedPoint[] = [];
    // Timestream refuses "NaN" and "Infinity" as DOUBLE values, as InfluxDB does: such a measure is left out.
    const double = (Name: string, v: number) => {
      if (Number.isFinite(v)) return [{ Name, Value: String(v), Type: 'DOUBLE' as const }];
      omittedFields += 1;
      return [];
    };
    for (let i = 0; i < points.length; i += TIMESTREAM_BATCH) {
      const batch = points.slice(i, i + TIMESTREAM_BATCH);
      const records: _Record[] = batch.map((p) => ({
        Dimensions: [
          { Name: 'deviceId', Value: p.deviceId },
          { Name: 'metric', Value: p.metric },
          ...(p.site ? [{ Name: 'site', Value: p.site }] : []),
        ],
        MeasureName: MEASUREMENT,
        MeasureValueType: 'MULTI',
        MeasureValues: [
          { Name: 'count', Value: String(p.summary.count), Type: 'BIGINT' },
          ...double('min', p.summary.min),
          ...double('max', p.summary.max),
          ...double('mean', p.summary.mean),
          ...double('stddev', p.summary.stddev),
          ...double(this.options.percentileField, p.summary.percentile),
        ],
        Time: String(p.windowEnd),
        TimeUnit: 'MILLISECONDS',
        Version: version,
      }));
      try {
        await this.options.client.send(
          new WriteRecordsCommand({
            DatabaseName: this.options.database,
            TableName: this.options.table,
            Records: records,
          }),
        );
        written += batch.length;
      } catch (e) {
        if (!(e instanceof RejectedRecordsException)) throw e;
        // The other records of the request are stored; the rejected ones never will be (retention, schema, size):
        // they are reported for dead-lettering instead of failing the final invoke on every retry.
        const refused = e.RejectedRecords ?? [];
        for (const r of refused) {
          const point = batch[r.RecordIndex ?? -1];
          if (point)
            rejected.push({ point, reason: PointRejection.TIMESTREAM_REJECTED, detail: r.Reason ?? 'rejected' });
        }
        written += batch.length - refused.length;
      }
    }
    return { written, rejected, omittedFields };
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
