import * as http from 'http';
import {
  CreateDatabaseCommand,
  CreateTableCommand,
  RejectedRecordsException,
  TimestreamWriteClient,
} from '@aws-sdk/client-timestream-write';
import { isDeadLetterError } from '../../../lambda/shared/errors';
import { parseEnrichedTelemetry, parseTelemetry, TimeWindowCheck } from '../../../lambda/shared/telemetry';
import {
  AggregatePoint,
  InfluxV2Writer,
  TimestreamWriter,
} from '../../../lambda/timeseries-calculator/time-series-writer';
import { LOCAL_AWS, LocalServer, startMotoServer } from '../../support/local-servers';

const NOW = Date.UTC(2026, 10, 29, 8);
const ok = {
  eventId: 'e1',
  deviceId: 'device-00042',
  timestamp: NOW,
  metrics: { temperature: 21.4 },
  attributes: { fw: '1.2.0' },
};

function reasonOf(payload: string | Buffer, enriched = false, window?: TimeWindowCheck): [string, string] | 'ok' {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  try {
    if (enriched) parseEnrichedTelemetry(data, window);
    else parseTelemetry(data, window);
    return 'ok';
  } catch (e) {
    if (isDeadLetterError(e)) return [e.reason, e.detail];
    throw e;
  }
}

describe('telemetry record contract', () => {
  test.each([
    ['valid raw record', JSON.stringify(ok), 'ok'],
    ['broken JSON', '{"eventId":', 'MALFORMED_JSON'],
    ['empty payload', '', 'MALFORMED_JSON'],
    ['not an object', '[1]', 'SCHEMA'],
    ['missing eventId', JSON.stringify({ ...ok, eventId: undefined }), 'SCHEMA'],
    ['long eventId', JSON.stringify({ ...ok, eventId: 'x'.repeat(129) }), 'SCHEMA'],
    ['bad deviceId', JSON.stringify({ ...ok, deviceId: 'a b' }), 'SCHEMA'],
    ['fractional timestamp', JSON.stringify({ ...ok, timestamp: 1.5 }), 'SCHEMA'],
    ['string timestamp', JSON.stringify({ ...ok, timestamp: '2026-11-29' }), 'SCHEMA'],
    ['no metrics', JSON.stringify({ ...ok, metrics: {} }), 'SCHEMA'],
    ['bad metric name', JSON.stringify({ ...ok, metrics: { 'temp-c': 1 } }), 'SCHEMA'],
    ['string metric', JSON.stringify({ ...ok, metrics: { t: '1' } }), 'SCHEMA'],
    ['non-string attribute', JSON.stringify({ ...ok, attributes: { fw: 1 } }), 'SCHEMA'],
    ['metric too large for a double', JSON.stringify(ok).replace('21.4', '1e400'), 'OUT_OF_RANGE'],
    ['timestamp beyond 2^53', JSON.stringify(ok).replace(String(NOW), '99999999999999999999'), 'OUT_OF_RANGE'],
  ])('%s', (_, payload, expected) => {
    const got = reasonOf(payload);
    expect(got === 'ok' ? 'ok' : got[0]).toBe(expected);
  });

  test('details say what was received', () => {
    expect(reasonOf(JSON.stringify({ ...ok, metrics: { t: '1' } }))).toEqual([
      'SCHEMA',
      "metrics.t must be a number, got string '1'",
    ]);
    expect(reasonOf(JSON.stringify({ ...ok, deviceId: undefined }))).toEqual([
      'SCHEMA',
      'deviceId must be a string, got nothing (field missing)',
    ]);
  });

  test('invalid UTF-8 is malformed', () => {
    expect(reasonOf(Buffer.from([0x7b, 0xff, 0x7d]))).toEqual(['MALFORMED_JSON', 'payload is not valid UTF-8']);
  });

  test('time window checks', () => {
    const window = { nowMs: NOW, maxFutureSkewMs: 300_000, maxPastAgeMs: 86_400_000 };
    expect(reasonOf(JSON.stringify({ ...ok, timestamp: NOW + 300_001 }), false, window)[0]).toBe('TIMESTAMP_FUTURE');
    expect(reasonOf(JSON.stringify({ ...ok, timestamp: NOW - 86_400_001 }), false, window)[0]).toBe('TIMESTAMP_PAST');
    expect(reasonOf(JSON.stringify({ ...ok, timestamp: NOW + 300_000 }), false, window)).toBe('ok');
  });

  test('enriched records need metadata, enriched and processedAt', () => {
    const e = { ...ok, metadata: { site: 'plant-1' }, enriched: true, processedAt: NOW + 1 };
    expect(reasonOf(JSON.stringify(e), true)).toBe('ok');
    expect(reasonOf(JSON.stringify({ ...e, metadata: {}, enriched: false }), true)).toBe('ok');
    expect(reasonOf(JSON.stringify({ ...e, metadata: { site: 1 } }), true)).toEqual([
      'SCHEMA',
      'metadata.site must be a string, got number 1',
    ]);
    expect(reasonOf(JSON.stringify({ ...e, enriched: 'yes' }), true)[0]).toBe('SCHEMA');
    expect(reasonOf(JSON.stringify({ ...e, processedAt: undefined }), true)[0]).toBe('SCHEMA');
    expect(reasonOf(JSON.stringify(ok), true)[0]).toBe('SCHEMA');
  });
});

const point: AggregatePoint = {
  deviceId: 'd1',
  metric: 'temperature',
  site: 'plant-1',
  windowStart: NOW,
  windowEnd: NOW + 60_000,
  summary: { count: 2, min: 1, max: 3, mean: 2, stddev: 1, percentile: 3 },
};

describe('InfluxV2Writer (InfluxDB 2 sign-in and write API on 127.0.0.1)', () => {
  test('signs in with basic auth, writes with the session cookie, signs in again once after a 401', async () => {
    const log: string[] = [];
    let sessions = 0;
    const srv = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (req.url === '/api/v2/signin') {
          const ok = req.headers.authorization === `Basic ${Buffer.from('admin:secret').toString('base64')}`;
          log.push(`signin ${ok}`);
          if (!ok) return void res.writeHead(401).end('{"code":"unauthorized"}');
          sessions += 1;
          res.writeHead(204, { 'Set-Cookie': `influxdb-oss-session=s${sessions}; Path=/api/; HttpOnly` }).end();
          return;
        }
        log.push(`${req.url} ${req.headers.cookie} ${body}`);
        // The first session "expires" after one write.
        if (req.headers.cookie === 'influxdb-oss-session=s1' && log.filter((l) => l.startsWith('/api')).length > 1) {
          return void res.writeHead(401).end('{"code":"unauthorized"}');
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    try {
      const writer = new InfluxV2Writer({
        url,
        org: 'my org',
        bucket: 'telemetry',
        percentileField: 'p95',
        credentials: async () => ({ username: 'admin', password: 'secret' }),
      });
      await writer.write([point]);
      await writer.write([point]);
      const line = `telemetry,deviceId=d1,metric=temperature,site=plant-1 count=2i,max=3,mean=2,min=1,p95=3,stddev=1 ${NOW + 60_000}`;
      const path = '/api/v2/write?org=my%20org&bucket=telemetry&precision=ms';
      expect(log).toEqual([
        'signin true',
        `${path} influxdb-oss-session=s1 ${line}`,
        `${path} influxdb-oss-session=s1 ${line}`,
        'signin true',
        `${path} influxdb-oss-session=s2 ${line}`,
      ]);
      const bad = new InfluxV2Writer({
        url,
        org: 'o',
        bucket: 'b',
        percentileField: 'p95',
        credentials: async () => ({ username: 'admin', password: 'wrong' }),
      });
      await expect(bad.write([point])).rejects.toThrow(/InfluxDB sign-in as admin failed: HTTP 401/);
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });
});

describe('TimestreamWriter against moto', () => {
  let moto: LocalServer;
  let client: TimestreamWriteClient;
  beforeAll(async () => {
    moto = await startMotoServer();
    client = new TimestreamWriteClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
  });
  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  test('writes multi-measure records to an existing table and fails loudly for a missing one', async () => {
    await client.send(new CreateDatabaseCommand({ DatabaseName: 'iot' }));
    await client.send(new CreateTableCommand({ DatabaseName: 'iot', TableName: 'telemetry' }));
    const points = Array.from({ length: 150 }, (_, i) => ({ ...point, deviceId: `d${i}` }));
    await expect(
      new TimestreamWriter({ client, database: 'iot', table: 'telemetry', percentileField: 'p95' }).write(points),
    ).resolves.toEqual({ written: points.length, rejected: [], omittedFields: 0 });
    await expect(
      new TimestreamWriter({ client, database: 'iot', table: 'missing', percentileField: 'p95' }).write([point]),
    ).rejects.toThrow(/missing/i);
  });

  test('a non-finite measure is left out instead of sent as "NaN", which Timestream refuses', async () => {
    await client.send(new CreateDatabaseCommand({ DatabaseName: 'iot-nan' }));
    await client.send(new CreateTableCommand({ DatabaseName: 'iot-nan', TableName: 't' }));
    const sent: unknown[] = [];
    const recording = new (class extends TimestreamWriteClient {
      override send(command: never): never {
        sent.push((command as { input: unknown }).input);
        return super.send(command) as never;
      }
    })({ ...LOCAL_AWS, endpoint: moto.endpoint });
    const nan = { ...point, summary: { ...point.summary, stddev: Number.NaN, percentile: Infinity } };
    await expect(
      new TimestreamWriter({ client: recording, database: 'iot-nan', table: 't', percentileField: 'p95' }).write([nan]),
    ).resolves.toEqual({ written: 1, rejected: [], omittedFields: 2 });
    recording.destroy();
    const names = (sent[0] as { Records: { MeasureValues: { Name: string }[] }[] }).Records[0].MeasureValues.map(
      (m) => m.Name,
    );
    expect(names).toEqual(['count', 'min', 'max', 'mean']);
  });

  test('records Timestream rejects are reported for dead-lettering; the others count as written', async () => {
    // moto stores every record, so the rejection Timestream sends (e.g. outside memory retention) is replayed here.
    const rejecting = {
      send: async () => {
        throw new RejectedRecordsException({
          $metadata: {},
          message: 'One or more records have been rejected',
          RejectedRecords: [
            { RecordIndex: 1, Reason: 'The record timestamp is outside the time range of the memory store.' },
          ],
        });
      },
    } as unknown as TimestreamWriteClient;
    const points = [0, 1, 2].map((i) => ({ ...point, deviceId: `d${i}` }));
    const result = await new TimestreamWriter({
      client: rejecting,
      database: 'iot',
      table: 'telemetry',
      percentileField: 'p95',
    }).write(points);
    expect(result).toEqual({
      written: 2,
      omittedFields: 0,
      rejected: [
        {
          point: points[1],
          reason: 'TIMESTREAM_REJECTED',
          detail: 'The record timestamp is outside the time range of the memory store.',
        },
      ],
    });
  });
});
