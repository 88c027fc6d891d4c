import * as http from 'http';
import { InfluxDB, Point } from '@influxdata/influxdb-client';
import * as fc from 'fast-check';
import {
  AggregatePoint,
  InfluxV1Writer,
  InfluxV2Writer,
  LineProtocolEncoder,
  MAX_KEY_BYTES,
  MAX_TIMESTAMP_MS,
  MEASUREMENT,
  PointRejection,
  toLineProtocol,
} from '../../../lambda/timeseries-calculator/time-series-writer';
import { LocalServer, startInfluxDb, createInfluxDatabase, queryInflux } from '../../support/local-servers';
import { propertyParameters } from '../../support/property';

const W1 = Date.UTC(2026, 10, 29, 8, 1, 0);
const FIELD = 'p95';

const point = (
  over: Partial<AggregatePoint> = {},
  summary: Partial<AggregatePoint['summary']> = {},
): AggregatePoint => ({
  deviceId: 'd1',
  metric: 'temperature',
  site: 'plant 1',
  windowStart: W1 - 60_000,
  windowEnd: W1,
  ...over,
  summary: { count: 3, min: 1, max: 3, mean: 2, stddev: 0.5, percentile: 2.9, ...summary },
});

// The official client's serialization, configured as a WriteApi with precision ms would use it.
const writeApi = new InfluxDB({ url: 'http://127.0.0.1:9' }).getWriteApi('org', 'bucket', 'ms');
function clientLine(p: AggregatePoint): string | undefined {
  const pt = new Point(MEASUREMENT).tag('deviceId', p.deviceId).tag('metric', p.metric);
  if (p.site !== undefined) pt.tag('site', p.site);
  pt.intField('count', p.summary.count);
  const s = p.summary;
  for (const [k, v] of Object.entries({
    min: s.min,
    max: s.max,
    mean: s.mean,
    stddev: s.stddev,
    [FIELD]: s.percentile,
  })) {
    // The client throws on non-finite floats; we leave them out.
    if (Number.isFinite(v)) pt.floatField(k, v);
  }
  pt.timestamp(new Date(p.windowEnd));
  return pt.toLineProtocol(writeApi);
}

/** What InfluxDB stores for a tag value written by the client: line breaks and tabs as `\n`, `\r`, `\t`. */
const stored = (v: string) => v.replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');

/** Every reason the spec gives for rejecting `p`, written independently of the implementation. */
function rejections(p: AggregatePoint): Set<string> {
  const out = new Set<string>();
  if (!p.deviceId || !p.metric) out.add(PointRejection.EMPTY_TAG);
  if ([p.deviceId, p.metric, p.site ?? ''].some((v) => v.endsWith('\\'))) out.add(PointRejection.TRAILING_BACKSLASH);
  if (!Number.isSafeInteger(p.summary.count) || p.summary.count < 0) out.add(PointRejection.INVALID_COUNT);
  if (!Number.isSafeInteger(p.windowEnd) || Math.abs(p.windowEnd) > MAX_TIMESTAMP_MS) {
    out.add(PointRejection.TIMESTAMP_OUT_OF_RANGE);
  }
  if (out.size === 0) {
    const line = clientLine(p)!;
    // The series key ends at the first unescaped space; the longest field key written is stddev (6) or count (5).
    const seriesKey = line.split(/(?<!\\) /)[0];
    const longestField = Number.isFinite(p.summary.stddev) ? 6 : 5;
    if (Buffer.byteLength(seriesKey) + 4 + longestField > MAX_KEY_BYTES) out.add(PointRejection.SERIES_KEY_TOO_LONG);
  }
  return out;
}

const hostileChar = fc.constantFrom('\\', ',', ' ', '=', '"', "'", '\n', '\r', '\t', 'a', 'é', '😀', '\u0000');
const hostile = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: hostileChar }),
  fc.constant(''),
  // Around the series-key limit.
  fc
    .tuple(fc.string({ unit: hostileChar, maxLength: 5 }), fc.integer({ min: 65_400, max: 65_600 }))
    .map(([s, n]) => s + 'x'.repeat(n)),
);
const double = fc.double();
const arbPoint = (strings: fc.Arbitrary<string>, time: fc.Arbitrary<number>) =>
  fc.record({
    deviceId: strings,
    metric: strings,
    site: fc.option(strings, { nil: undefined }),
    windowStart: fc.constant(0),
    windowEnd: time,
    summary: fc.record({
      count: fc.oneof(fc.nat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER, 2 ** 53, -1, 2.5, NaN)),
      min: double,
      max: double,
      mean: double,
      stddev: double,
      percentile: double,
    }),
  });

describe('line protocol agrees with @influxdata/influxdb-client', () => {
  const encoder = new LineProtocolEncoder(FIELD);

  test('property: every point is the official client line, or rejected for a reason the spec gives', () => {
    const time = fc.oneof(
      fc.integer({ min: -MAX_TIMESTAMP_MS, max: MAX_TIMESTAMP_MS }),
      fc.constantFrom(MAX_TIMESTAMP_MS + 1, -MAX_TIMESTAMP_MS - 1, 1.5),
    );
    fc.assert(
      fc.property(arbPoint(hostile, time), (p) => {
        const e = encoder.encode(p);
        const expected = rejections(p);
        if ('reason' in e) {
          expect(expected).toContain(e.reason);
        } else {
          expect(expected).toEqual(new Set());
          expect(e.line).toBe(clientLine(p));
          const s = p.summary;
          const floats = [s.min, s.max, s.mean, s.stddev, s.percentile];
          expect(e.omittedFields).toHaveLength(floats.filter((v) => !Number.isFinite(v)).length);
        }
      }),
      propertyParameters(100),
    );
  });

  // The cases the issue found; the old writer differed from the client on each.
  test.each([
    ['backslash before a comma', 'a\\,b', 'a\\\\,b'],
    ['backslash before a space', 'mid\\ space', 'mid\\\\ space'],
    ['backslash before =', 'x\\=y', 'x\\\\=y'],
    ['line feed', 'line\nbreak', 'line\\nbreak'],
    ['carriage return', 'cr\r\nlf', 'cr\\r\\nlf'],
    ['tab', 'tab\tx', 'tab\\tx'],
    // Not a defect of the old writer, but worth pinning: quotes are not special in tags.
    ['quotes', 'say "hi"', 'say\\ "hi"'],
  ])('%s is escaped as the client does', (_, site, escaped) => {
    const p = point({ site });
    expect(toLineProtocol([p], FIELD)).toContain(`site=${escaped} `);
    expect(toLineProtocol([p], FIELD)).toBe(clientLine(p));
  });

  test('fields are sorted by key like the client, count is an integer field', () => {
    expect(toLineProtocol([point({ deviceId: 'dev,1' }, { mean: 2.5 })], FIELD)).toBe(
      `telemetry,deviceId=dev\\,1,metric=temperature,site=plant\\ 1 count=3i,max=3,mean=2.5,min=1,p95=2.9,stddev=0.5 ${W1}`,
    );
  });

  test('a trailing backslash, which the client would let escape the next separator, is rejected', () => {
    // The client writes `site=ends\ count=3i...`: InfluxDB reads the space as escaped and refuses the line.
    expect(clientLine(point({ site: 'ends\\' }))).toContain('site=ends\\ count=3i');
    expect(encoder.encode(point({ site: 'ends\\' }))).toMatchObject({ reason: PointRejection.TRAILING_BACKSLASH });
    expect(encoder.encode(point({ deviceId: 'd\\\\' }))).toMatchObject({ reason: PointRejection.TRAILING_BACKSLASH });
  });

  test('NaN and ±Infinity are left out, never written as 0', () => {
    const e = encoder.encode(point({}, { mean: NaN, max: Infinity, min: -Infinity }));
    expect(e).toEqual({
      line: `telemetry,deviceId=d1,metric=temperature,site=plant\\ 1 count=3i,p95=2.9,stddev=0.5 ${W1}`,
      omittedFields: ['max', 'mean', 'min'],
    });
  });

  test('count must be a non-negative safe integer', () => {
    for (const count of [2.5, -1, 2 ** 53, NaN, Infinity]) {
      expect(encoder.encode(point({}, { count }))).toMatchObject({ reason: PointRejection.INVALID_COUNT });
    }
    expect(toLineProtocol([point({}, { count: Number.MAX_SAFE_INTEGER })], FIELD)).toContain(
      'count=9007199254740991i,',
    );
  });

  test('empty deviceId or metric is rejected; an empty site is left out as the client does', () => {
    expect(encoder.encode(point({ deviceId: '' }))).toMatchObject({ reason: PointRejection.EMPTY_TAG });
    expect(encoder.encode(point({ metric: '' }))).toMatchObject({ reason: PointRejection.EMPTY_TAG });
    expect(toLineProtocol([point({ site: '' })], FIELD)).toBe(clientLine(point({ site: '' })));
  });

  test('a percentile field key that would fail every point is refused up front', () => {
    for (const f of ['', 'time', 'mean', 'p\\']) expect(() => new LineProtocolEncoder(f)).toThrow(/percentile field/);
  });
});

const createDatabase = createInfluxDatabase;
const influxQuery = queryInflux;

describe('InfluxV1Writer against a local InfluxDB 1.6', () => {
  let influx: LocalServer;
  beforeAll(async () => {
    influx = await startInfluxDb();
  }, 60_000);
  afterAll(async () => {
    await influx?.stop();
  });
  const writer = (db: string) => new InfluxV1Writer({ url: influx.endpoint, database: db, percentileField: FIELD });

  test('property: what is read back equals what the client would have stored', async () => {
    await createDatabase(influx.endpoint, 'roundtrip');
    const w = writer('roundtrip');
    let run = 0;
    const short = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: hostileChar }), fc.constant(''));
    const key = (p: AggregatePoint) => JSON.stringify([stored(p.deviceId), stored(p.metric), stored(p.site ?? '')]);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(arbPoint(short, fc.constant(0)), { minLength: 1, maxLength: 8, selector: key }),
        async (generated) => {
          // One timestamp per run, so each run reads back only its own points.
          const t = W1 + ++run * 1000;
          const points = generated.map((p) => ({ ...p, windowEnd: t }));
          const result = await w.write(points);
          const accepted = points.filter((p) => rejections(p).size === 0);
          expect(result.written).toBe(accepted.length);
          expect(result.rejected.map((r) => r.point)).toEqual(points.filter((p) => rejections(p).size > 0));
          const rows = await influxQuery(
            influx.endpoint,
            'roundtrip',
            `SELECT * FROM telemetry WHERE time = ${t}ms GROUP BY *`,
          );
          expect(rows).toHaveLength(accepted.length);
          for (const p of accepted) {
            // A tag key no series has yet is missing from the result, not empty.
            const row = rows.find((r) => key(p) === JSON.stringify([r.deviceId, r.metric, r.site ?? '']));
            expect(row).toBeDefined();
            const s = p.summary;
            expect(row!.count).toBe(s.count);
            for (const [k, v] of Object.entries({
              min: s.min,
              max: s.max,
              mean: s.mean,
              stddev: s.stddev,
              [FIELD]: s.percentile,
            })) {
              // -0 comes back as 0; a non-finite value is absent, not 0.
              expect(row![k]).toBe(Number.isFinite(v) ? v + 0 : null);
            }
          }
        },
      ),
      propertyParameters(20),
    );
  }, 60_000);

  test('a 64 KB tag is rejected with a reason and the rest of the batch is stored; retrying does not fail', async () => {
    // Before, InfluxDB answered 400 `max key length exceeded` after storing the others, the writer threw, and the
    // final invoke failed on every retry: the shard stalled.
    await createDatabase(influx.endpoint, 'longtag');
    const points = [
      point({ deviceId: 'ok1' }),
      point({ deviceId: 'big', site: 'x'.repeat(64 * 1024) }),
      point({ deviceId: 'ok2' }),
    ];
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await writer('longtag').write(points);
      expect(result.written).toBe(2);
      expect(result.rejected).toEqual([
        {
          point: points[1],
          reason: PointRejection.SERIES_KEY_TOO_LONG,
          detail: expect.stringMatching(/^series key \+ field key is 65593 bytes, InfluxDB stores at most 65535/),
        },
      ]);
    }
    const rows = await influxQuery(influx.endpoint, 'longtag', 'SELECT * FROM telemetry GROUP BY *');
    expect(rows.map((r) => r.deviceId).sort()).toEqual(['ok1', 'ok2']);
  });

  test('the key limit is InfluxDB’s: the longest accepted key is stored, one byte more is refused by InfluxDB too', async () => {
    await createDatabase(influx.endpoint, 'keylimit');
    const base = `telemetry,deviceId=d1,metric=temperature,site=`.length + '#!~#stddev'.length;
    const atLimit = point({ site: 'x'.repeat(MAX_KEY_BYTES - base) });
    const over = point({ deviceId: 'd2', site: 'x'.repeat(MAX_KEY_BYTES - base + 1) });
    const result = await writer('keylimit').write([atLimit, over]);
    expect(result.written).toBe(1);
    expect(result.rejected.map((r) => r.reason)).toEqual([PointRejection.SERIES_KEY_TOO_LONG]);
    const raw = await fetch(`${influx.endpoint}/write?db=keylimit&precision=ms`, {
      method: 'POST',
      body: clientLine(over),
    });
    expect([raw.status, await raw.text()]).toEqual([
      400,
      expect.stringContaining('max key length exceeded: 65536 \\u003e 65535'),
    ]);
  });

  test('a 400 for points that passed validation is isolated by halving: only the refused points are rejected', async () => {
    // p95 once written as an integer in this shard (week): float p95 points in the same week conflict.
    await createDatabase(influx.endpoint, 'conflict');
    const res = await fetch(`${influx.endpoint}/write?db=conflict&precision=ms`, {
      method: 'POST',
      body: `telemetry,deviceId=old,metric=temperature p95=1i ${W1}`,
    });
    expect(res.status).toBe(204);
    const nextMonth = W1 + 30 * 86_400_000;
    const points = Array.from({ length: 10 }, (_, i) =>
      point({ deviceId: `d${i}`, windowEnd: i === 3 || i === 7 ? W1 : nextMonth }),
    );
    const posts = jest.spyOn(global, 'fetch');
    try {
      const result = await writer('conflict').write(points);
      expect(result.written).toBe(8);
      expect(result.rejected.map((r) => [r.point.deviceId, r.reason])).toEqual([
        ['d3', PointRejection.REFUSED],
        ['d7', PointRejection.REFUSED],
      ]);
      expect(result.rejected[0].detail).toMatch(/^HTTP 400 .*field type conflict/);
      // 10 → 5+5 → (3+2)+(3+2) → … : at most 2·10 − 1 requests.
      expect(posts.mock.calls.length).toBeLessThanOrEqual(19);
    } finally {
      posts.mockRestore();
    }
    const rows = await influxQuery(
      influx.endpoint,
      'conflict',
      `SELECT count, p95 FROM telemetry WHERE time = ${nextMonth}ms GROUP BY *`,
    );
    expect(rows.map((r) => r.deviceId).sort()).toEqual(['d0', 'd1', 'd2', 'd4', 'd5', 'd6', 'd8', 'd9']);
  });

  test('NaN and ±Infinity are stored as no value, not 0', async () => {
    await createDatabase(influx.endpoint, 'nonfinite');
    const result = await writer('nonfinite').write([
      point({ deviceId: 'finite' }),
      point({}, { mean: NaN, max: Infinity, min: -Infinity }),
    ]);
    expect(result).toEqual({ written: 2, rejected: [], omittedFields: 3 });
    const rows = await influxQuery(influx.endpoint, 'nonfinite', 'SELECT * FROM telemetry GROUP BY *');
    expect(rows.find((r) => r.deviceId === 'd1')).toMatchObject({
      count: 3,
      mean: null,
      max: null,
      min: null,
      stddev: 0.5,
      p95: 2.9,
    });
  });

  test('the escaping cases of the issue round-trip; a trailing backslash is rejected, not stored as /', async () => {
    await createDatabase(influx.endpoint, 'escapes');
    const sites = ['a\\,b', 'mid\\ space', 'x\\=y', 'line\nbreak', 'cr\r\nlf', 'tab\tx', 'two\\\\,', 'ends with\\'];
    const points = sites.map((site, i) => point({ deviceId: `d${i}`, site }));
    const result = await writer('escapes').write(points);
    expect(result.rejected.map((r) => [r.point.site, r.reason])).toEqual([
      ['ends with\\', PointRejection.TRAILING_BACKSLASH],
    ]);
    const rows = await influxQuery(influx.endpoint, 'escapes', 'SELECT * FROM telemetry GROUP BY *');
    expect(Object.fromEntries(rows.map((r) => [r.deviceId, r.site]))).toEqual({
      d0: 'a\\,b',
      d1: 'mid\\ space',
      d2: 'x\\=y',
      d3: 'line\\nbreak',
      d4: 'cr\\r\\nlf',
      d5: 'tab\\tx',
      d6: 'two\\\\,',
    });
  });

  test('timestamps at the edge of InfluxDB’s range are stored, beyond it rejected before sending', async () => {
    await createDatabase(influx.endpoint, 'time');
    const points = [MAX_TIMESTAMP_MS, -MAX_TIMESTAMP_MS, MAX_TIMESTAMP_MS + 1, W1 + 0.5].map((windowEnd, i) =>
      point({ deviceId: `d${i}`, windowEnd }),
    );
    const result = await writer('time').write(points);
    expect(result.written).toBe(2);
    expect(result.rejected.map((r) => [r.point.deviceId, r.reason])).toEqual([
      ['d2', PointRejection.TIMESTAMP_OUT_OF_RANGE],
      ['d3', PointRejection.TIMESTAMP_OUT_OF_RANGE],
    ]);
  });
});

/** A stand-in InfluxDB answering each write with `answer(body)`. */
async function fakeInflux(
  answer: (url: string, body: string) => [number, string],
): Promise<{ url: string; close: () => Promise<void> }> {
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url === '/api/v2/signin')
        return void res.writeHead(204, { 'Set-Cookie': 'influxdb-oss-session=s; Path=/' }).end();
      const [status, text] = answer(req.url!, body);
      res.writeHead(status).end(text);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as { port: number }).port}`,
    close: () => new Promise((r) => srv.close(() => r())),
  };
}

describe('transient failures stay retryable', () => {
  test('5xx and network errors throw; nothing is reported as rejected', async () => {
    const srv = await fakeInflux(() => [503, '{"error":"engine: cache maximum memory size exceeded"}']);
    try {
      await expect(
        new InfluxV1Writer({ url: srv.url, database: 'db', percentileField: FIELD }).write([point()]),
      ).rejects.toThrow(/InfluxDB write to db failed: HTTP 503/);
    } finally {
      await srv.close();
    }
    await expect(
      new InfluxV1Writer({ url: srv.url, database: 'db', percentileField: FIELD }).write([point()]),
    ).rejects.toThrow();
  });

  test('InfluxDB 2: a 422 for one point of a batch isolates that point (v2 answers schema conflicts with 422)', async () => {
    const bodies: string[] = [];
    const srv = await fakeInflux((_, body) => {
      bodies.push(body);
      return body.includes('deviceId=bad')
        ? [422, '{"code":"unprocessable entity","message":"field type conflict"}']
        : [204, ''];
    });
    try {
      const w = new InfluxV2Writer({
        url: srv.url,
        org: 'o',
        bucket: 'b',
        percentileField: FIELD,
        credentials: async () => ({ username: 'u', password: 'p' }),
      });
      const points = ['a', 'b', 'bad', 'c'].map((deviceId) => point({ deviceId }));
      const result = await w.write(points);
      expect(result.written).toBe(3);
      expect(result.rejected).toEqual([
        { point: points[2], reason: PointRejection.REFUSED, detail: expect.stringMatching(/^HTTP 422 /) },
      ]);
      // 4 → 2+2 → the half with bad → 1+1.
      expect(bodies).toHaveLength(5);
    } finally {
      await srv.close();
    }
  });
});
