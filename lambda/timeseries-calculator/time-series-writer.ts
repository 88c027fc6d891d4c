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
 */
export interface TimeSeriesWriter {
  write(points: readonly AggregatePoint[]): Promise<void>;
}

export const MEASUREMENT = 'telemetry';

/** InfluxDB line protocol: measurement `telemetry`, tags deviceId/metric/site, fields count (integer) and floats. */
export function toLineProtocol(points: readonly AggregatePoint[], percentileField: string): string {
  return points
    .map((p) => {
      const tags = [`deviceId=${escapeTag(p.deviceId)}`, `metric=${escapeTag(p.metric)}`];
      if (p.site) tags.push(`site=${escapeTag(p.site)}`);
      // Tags sorted by key, as InfluxDB recommends for write performance.
      tags.sort();
      const s = p.summary;
      const fields = [
        `count=${s.count}i`,
        `min=${num(s.min)}`,
        `max=${num(s.max)}`,
        `mean=${num(s.mean)}`,
        `stddev=${num(s.stddev)}`,
        `${percentileField}=${num(s.percentile)}`,
      ];
      return `${MEASUREMENT},${tags.join(',')} ${fields.join(',')} ${p.windowEnd}`;
    })
    .join('\n');
}

/**
 * Tag values as InfluxDB's parser reads them: `,`, `=` and space are escaped with a backslash; any other backslash
 * is taken literally, so it must not be escaped (it would be stored doubled). Line protocol cannot carry a line
 * break in a tag (it would split the line and fail the whole write), nor a backslash right before a separator or at
 * the end (it would escape the separator): those become a space and a `/`.
 */
export function escapeTag(v: string): string {
  return v
    .replace(/[\r\n]/g, ' ')
    .replace(/\\(?=[,= ]|$)/g, '/')
    .replace(/[,= ]/g, (c) => `\\${c}`);
}

function num(v: number): string {
  // Line protocol floats: plain decimal or exponent notation; JS's String(number) produces both correctly.
  return Number.isFinite(v) ? String(v) : '0';
}

const LINES_PER_REQUEST = 5000;

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
  constructor(private readonly options: InfluxV1WriterOptions) {}

  async write(points: readonly AggregatePoint[]): Promise<void> {
    const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8' };
    if (this.options.credentials) {
      const c = await this.options.credentials();
      headers.Authorization = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
    }
    const url = `${trimSlash(this.options.url)}/write?db=${encodeURIComponent(this.options.database)}&precision=ms`;
    for (let i = 0; i < points.length; i += LINES_PER_REQUEST) {
      const body = toLineProtocol(points.slice(i, i + LINES_PER_REQUEST), this.options.percentileField);
      const res = await fetch(url, { method: 'POST', headers, body });
      if (res.status !== 204 && res.status !== 200) {
        throw new Error(`InfluxDB write to ${this.options.database} failed: HTTP ${res.status} ${await res.text()}`);
      }
    }
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

  constructor(private readonly options: InfluxV2WriterOptions) {}

  async write(points: readonly AggregatePoint[]): Promise<void> {
    const base = trimSlash(this.options.url);
    const url =
      `${base}/api/v2/write?org=${encodeURIComponent(this.options.org)}` +
      `&bucket=${encodeURIComponent(this.options.bucket)}&precision=ms`;
    for (let i = 0; i < points.length; i += LINES_PER_REQUEST) {
      const body = toLineProtocol(points.slice(i, i + LINES_PER_REQUEST), this.options.percentileField);
      for (let attempt = 0; ; attempt++) {
        const cookie = await this.signIn(base, attempt > 0);
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain; charset=utf-8', Cookie: cookie },
          body,
        });
        if (res.status === 204 || res.status === 200) break;
        if (res.status === 401 && attempt === 0) continue;
        throw new Error(
          `InfluxDB write to ${this.options.org}/${this.options.bucket} failed: HTTP ${res.status} ${await res.text()}`,
        );
      }
    }
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

  async write(points: readonly AggregatePoint[]): Promise<void> {
    const version = Date.now();
    for (let i = 0; i < points.length; i += TIMESTREAM_BATCH) {
      const records: _Record[] = points.slice(i, i + TIMESTREAM_BATCH).map((p) => ({
        Dimensions: [
          { Name: 'deviceId', Value: p.deviceId },
          { Name: 'metric', Value: p.metric },
          ...(p.site ? [{ Name: 'site', Value: p.site }] : []),
        ],
        MeasureName: MEASUREMENT,
        MeasureValueType: 'MULTI',
        MeasureValues: [
          { Name: 'count', Value: String(p.summary.count), Type: 'BIGINT' },
          { Name: 'min', Value: String(p.summary.min), Type: 'DOUBLE' },
          { Name: 'max', Value: String(p.summary.max), Type: 'DOUBLE' },
          { Name: 'mean', Value: String(p.summary.mean), Type: 'DOUBLE' },
          { Name: 'stddev', Value: String(p.summary.stddev), Type: 'DOUBLE' },
          { Name: this.options.percentileField, Value: String(p.summary.percentile), Type: 'DOUBLE' },
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
      } catch (e) {
        if (e instanceof RejectedRecordsException) {
          const why = (e.RejectedRecords ?? []).map((r) => `#${r.RecordIndex}: ${r.Reason}`).join('; ');
          throw new Error(`Timestream rejected records of ${this.options.database}.${this.options.table}: ${why}`);
        }
        throw e;
      }
    }
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
