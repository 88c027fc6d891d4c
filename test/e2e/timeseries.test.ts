import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LocalRunResult, runLocal } from '../../bin/local/run';
import { queryInflux } from '../support/local-servers';
import { shortRun, synthesizeApp } from './support';

/**
 * The time-series stack end to end on local servers, as `npm run local` runs it: the simulator's records, with
 * duplicates, late, malformed and anomalous ones, go through the enrichment job (the stack's jar), the calculator
 * (its bundle, behind the template's event-source mapping with tumbling windows) into InfluxDB, DynamoDB and
 * EventBridge, and through the archive delivery stream into S3. Every record must be accounted for, and what the
 * destinations hold must equal what is computed here from the records themselves.
 */
let dir: string;
let result: LocalRunResult;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-timeseries-'));
  const assembly = synthesizeApp(path.join(dir, 'cdk.out'));
  result = await runLocal(shortRun(assembly, { stacks: ['timeseries'] }));
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
    // p95 within the sketch's stated 1 % relative error of the exact nearest-rank p95.
    const sorted = [...a.values].sort((x, y) => x - y);
    const exact = sorted[Math.max(0, Math.ceil(0.95 * sorted.length) - 1)];
    expect(Math.abs((row.p95 as number) - exact)).toBeLessThanOrEqual(Math.abs(exact) * 0.01 + 1e-9);
  }
  // Every point InfluxDB holds is one of the computed windows: nothing written twice or from nowhere.
  for (const key of actual.keys()) expect(expected.has(key)).toBe(true);
  expect(compared).toBeGreaterThan(expected.size / 2);
});

test('the latest state in DynamoDB is each device’s newest record', async () => {
  const pipeline = result.pipelines.timeseries!;
  const newest = new Map<string, number>();
  for (const input of pipeline.calculatorInputs) {
    const r = JSON.parse(input.data.toString('utf8')) as { deviceId: string; timestamp: number };
    newest.set(r.deviceId, Math.max(newest.get(r.deviceId) ?? -Infinity, r.timestamp));
  }
  const table = pipeline.resources()!.tables[0].name;
  const scan = await result.environment!.dynamodb().send(new ScanCommand({ TableName: table }));
  const items = (scan.Items ?? []).map((i) => unmarshall(i)).filter((i) => !String(i.deviceId).includes('#'));
  expect(items.length).toBe(newest.size);
  for (const item of items) {
    expect({ device: item.deviceId, ts: Number(item.timestamp ?? item.lastTimestamp) }).toEqual({
      device: item.deviceId,
      ts: newest.get(item.deviceId as string),
    });
  }
});

test('the archive in S3 holds every raw record', async () => {
  const pipeline = result.pipelines.timeseries!;
  const bucket = pipeline.resources()!.buckets.find((b) => /Archive/.test(b.logicalId))!;
  const listed = await result
    .environment!.s3()
    .send(new ListObjectsV2Command({ Bucket: bucket.name, Prefix: 'data/' }));
  expect((listed.Contents ?? []).length).toBeGreaterThan(0);
  const archive = result.report.stacks[0].stages.find((s) => s.name === 'archive')!;
  expect(archive.out).toBe(pipeline.produced()!.sent - 0);
});

test('anomaly events reach the event bus', () => {
  const counts = result.pipelines.timeseries!.destinationCounts();
  expect(counts.anomalyEvents).toBeGreaterThan(0);
});
