import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LocalRunResult, runLocal } from '../../bin/local/run';
import { METRIC_PROFILES, TelemetryGenerator } from '../../lambda/device-fleet-simulator/generator';
import { queryInflux } from '../support/local-servers';
import { shortRun, synthesizeApp } from './support';

/**
 * The time-series stack end to end on local servers, as `npm run local` runs it: the simulator's records (KPL
 * aggregates), with duplicates, late, malformed and anomalous ones, go through the enrichment job (the stack's jar), the calculator
 * (its bundle, behind the template's event-source mapping with tumbling windows) into InfluxDB, DynamoDB and
 * EventBridge, and through the archive delivery stream into S3. Every record must be accounted for, and what the
 * destinations hold must equal what is computed here from the records themselves.
 */
let dir: string;
let result: LocalRunResult;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-timeseries-'));
  const assembly = synthesizeApp(path.join(dir, 'cdk.out'));
  // Few devices, so each one's baseline passes the 50 values anomaly detection needs within the run; KPL-aggregated,
  // so the enrichment job, the archive and the taps de-aggregate (the fault tests write plain records).
  result = await runLocal(
    shortRun(assembly, {
      stacks: ['timeseries'],
      devices: 3,
      rate: 20,
      durationSeconds: 20,
      anomalyRate: 0.03,
      aggregate: true,
    }),
  );
}, 600000);

afterAll(async () => {
  await result?.pipelines.timeseries?.stop();
  await result?.environment?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}, 60000);

test('every record produced is accounted for on both paths (enriched and archived)', () => {
  const stack = result.report.stacks.find((s) => s.name === 'timeseries')!;
  for (const p of stack.conservation.paths) {
    expect({ path: p.name, missing: p.missing }).toEqual({ path: p.name, missing: 0 });
  }
  expect(stack.conservation.ok).toBe(true);
  const produced = result.pipelines.timeseries!.produced()!;
  expect(produced.sent).toBe(produced.generated);
  expect(produced.byKind.malformed + produced.byKind.duplicate + produced.byKind.late).toBeGreaterThan(0);
  const enrichment = stack.stages.find((s) => s.name === 'enrichment')!;
  // Malformed records are dead-lettered with their reason; duplicates are dropped, not dead-lettered.
  expect(enrichment.deadLettered).toBeGreaterThanOrEqual(produced.byKind.malformed);
  expect(enrichment.deduplicated).toBe(produced.byKind.duplicate);
});

test('the window aggregates in InfluxDB equal the ones computed from the records the calculator read', async () => {
  const pipeline = result.pipelines.timeseries!;
  const expected = new Map<string, { count: number; min: number; max: number; sum: number; values: number[] }>();
  for (const input of pipeline.calculatorInputs) {
    const r = JSON.parse(input.data.toString('utf8')) as { deviceId: string; metrics: Record<string, number> };
    for (const [metric, value] of Object.entries(r.metrics)) {
      const key = `${r.deviceId}|${metric}|${input.windowEnd}`;
      const a = expected.get(key) ?? { count: 0, min: Infinity, max: -Infinity, sum: 0, values: [] };
      a.count += 1;
      a.min = Math.min(a.min, value);
      a.max = Math.max(a.max, value);
      a.sum += value;
      a.values.push(value);
      expected.set(key, a);
    }
  }
  expect(expected.size).toBeGreaterThan(0);
  const rows = await queryInflux(result.environment!.endpoint('influxdb'), 'telemetry', 'SELECT * FROM "telemetry"');
  const actual = new Map(rows.map((row) => [`${row.deviceId}|${row.metric}|${row.time}`, row]));
  let compared = 0;
  for (const [key, a] of expected) {
    const row = actual.get(key);
    // A window still open when the run ended has not been written yet; every closed one must match.
    if (!row) continue;
    compared += 1;
    expect({ key, count: row.count, min: row.min, max: row.max }).toEqual({
      key,
      count: a.count,
      min: a.min,
      max: a.max,
    });
    expect(row.mean as number).toBeCloseTo(a.sum / a.count, 9);
    // p95 within the sketch's stated 1 % relative error of the exact value at its rank, floor(0.95 * (n - 1)).
    const sorted = [...a.values].sort((x, y) => x - y);
    const exact = sorted[Math.floor(0.95 * (sorted.length - 1))];
    expect(Math.abs((row.p95 as number) - exact)).toBeLessThanOrEqual(Math.abs(exact) * 0.01 + 1e-9);
  }
  // Every point InfluxDB holds is one of the computed windows: nothing written twice or from nowhere.
  for (const key of actual.keys()) expect(expected.has(key)).toBe(true);
  expect(compared).toBeGreaterThan(expected.size / 2);
});

test('the latest state in DynamoDB is each device’s newest closed window, with its aggregates', async () => {
  const pipeline = result.pipelines.timeseries!;
  const rows = await queryInflux(result.environment!.endpoint('influxdb'), 'telemetry', 'SELECT * FROM "telemetry"');
  const newest = new Map<string, number>();
  for (const row of rows)
    newest.set(String(row.deviceId), Math.max(newest.get(String(row.deviceId)) ?? 0, Number(row.time)));
  const table = pipeline.resources()!.tables[0].name;
  const scan = await result.environment!.dynamodb().send(new ScanCommand({ TableName: table }));
  const items = (scan.Items ?? []).map((i) => unmarshall(i)).filter((i) => !String(i.deviceId).includes('#'));
  expect(items.map((i) => i.deviceId).sort()).toEqual([...newest.keys()].sort());
  for (const item of items) {
    expect({ device: item.deviceId, windowEnd: item.windowEnd }).toEqual({
      device: item.deviceId,
      windowEnd: newest.get(String(item.deviceId)),
    });
    const metrics = item.metrics as Record<string, { count: number; min: number; max: number }>;
    for (const [metric, m] of Object.entries(metrics)) {
      const row = rows.find((r) => r.deviceId === item.deviceId && r.metric === metric && r.time === item.windowEnd)!;
      expect({ metric, count: m.count, min: m.min, max: m.max }).toEqual({
        metric,
        count: row.count,
        min: row.min,
        max: row.max,
      });
    }
  }
});

test('the archive in S3 holds every raw record', async () => {
  const pipeline = result.pipelines.timeseries!;
  const bucket = pipeline.resources()!.buckets.find((b) => /^ArchiveBucket[0-9A-F]{8}$/.test(b.logicalId))!;
  const listed = await result
    .environment!.s3()
    .send(new ListObjectsV2Command({ Bucket: bucket.name, Prefix: 'data/' }));
  expect((listed.Contents ?? []).length).toBeGreaterThan(0);
  const archive = result.report.stacks[0].stages.find((s) => s.name === 'archive')!;
  // Converted to Parquet under data/, or (records Parquet conversion refuses) written whole under errors/.
  expect(archive.out + archive.deadLettered).toBe(pipeline.produced()!.sent);
  if (archive.deadLettered > 0) {
    const errors = await result
      .environment!.s3()
      .send(new ListObjectsV2Command({ Bucket: bucket.name, Prefix: 'errors/' }));
    expect((errors.Contents ?? []).length).toBeGreaterThan(0);
  }
});

test('every injected spike, once its device’s baseline has 50 values, reaches the bus as an anomaly event', async () => {
  const pipeline = result.pipelines.timeseries!;
  const generator = new TelemetryGenerator({ deviceCount: 3, seed: 7 });
  // Anomalies are published when their window closes: only windows InfluxDB holds are closed.
  const rows = await queryInflux(result.environment!.endpoint('influxdb'), 'telemetry', 'SELECT * FROM "telemetry"');
  const closed = new Set(rows.map((row) => `${row.deviceId}|${row.time}`));
  const seen = new Map<string, number>();
  const injected: string[] = [];
  for (const input of pipeline.calculatorInputs) {
    const r = JSON.parse(input.data.toString('utf8')) as {
      eventId: string;
      deviceId: string;
      timestamp: number;
      metrics: Record<string, number>;
    };
    for (const [metric, value] of Object.entries(r.metrics)) {
      const key = `${r.deviceId}|${metric}`;
      const before = seen.get(key) ?? 0;
      seen.set(key, before + 1);
      // A spike is 12 to 20 noise deviations from the device's expected value; noise alone never gets near 10.
      const deviation =
        Math.abs(value - generator.expected(r.deviceId, metric, r.timestamp)) / METRIC_PROFILES[metric].noise;
      if (deviation > 10 && before >= 50 && closed.has(`${r.deviceId}|${input.windowEnd}`)) {
        injected.push(`${r.eventId}|${metric}`);
      }
    }
  }
  expect(injected.length).toBeGreaterThan(0);
  const events = new Set(pipeline.anomalies.map((a) => `${a.eventId}|${a.metric}`));
  expect(injected.filter((k) => !events.has(k))).toEqual([]);
});
