import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LocalRunResult, runLocal } from '../../bin/local/run';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { CommandGenerator } from '../../bin/local/commands';
import { queryInflux } from '../support/local-servers';
import { shortRun, synthesizeApp } from './support';

/**
 * Faults during end-to-end runs, each of which must end with nothing lost and nothing applied twice: the enrichment
 * job killed mid-stream and restarted from its last checkpoint, a poison record that makes the calculator throw,
 * remote functions answering 500 or timing out, DynamoDB away for a while, and the Kinesis server restarted.
 */
let dir: string;
let assembly: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-faults-'));
  assembly = synthesizeApp(path.join(dir, 'cdk.out'));
}, 300000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function stop(result: LocalRunResult | undefined): Promise<void> {
  await Promise.allSettled([result?.pipelines.timeseries?.stop(), result?.pipelines.eventsourced?.stop()]);
  await result?.environment?.stop();
}

describe('time-series: the Flink job killed mid-stream, and a poison record', () => {
  let result: LocalRunResult;
  let poisoned: string | undefined;
  let restoredFrom: string | undefined;

  beforeAll(async () => {
    result = await runLocal(
      shortRun(assembly, {
        stacks: ['timeseries'],
        devices: 5,
        durationSeconds: 20,
        // Longer than the sink's 5 s buffer time, so the sink writes between two checkpoints.
        checkpointIntervalMs: 9000,
        // The first eventId ending in 7 is the poison: every invocation holding it fails.
        poison: (id) => {
          if (poisoned === undefined && id.endsWith('7')) poisoned = id;
          return id === poisoned;
        },
        during: async ({ pipelines }) => {
          const job = pipelines.timeseries!.flinkJob()!;
          await new Promise((r) => setTimeout(r, 5000));
          await job.waitForCheckpoint();
          // Killed well after the checkpoint, as a crash would be, and after the sink wrote (it writes every 5 s at
          // the latest): what the job wrote since the checkpoint is written again.
          await new Promise((r) => setTimeout(r, 6500));
          restoredFrom = await job.restartFromLatestCheckpoint();
        },
      }),
    );
  }, 600000);

  afterAll(() => stop(result), 60000);

  test('the job restarted from a checkpoint and every record is still accounted for', () => {
    expect(restoredFrom).toMatch(/chk-\d+/);
    expect(result.pipelines.timeseries!.flinkJob()!.metrics().runs).toBe(2);
    const stack = result.report.stacks.find((s) => s.name === 'timeseries')!;
    for (const p of stack.conservation.paths) {
      expect({ path: p.name, missing: p.missing }).toEqual({ path: p.name, missing: 0 });
    }
  });

  test('the poison record went to the on-failure destination alone, and the shard went on', () => {
    expect(poisoned).toBeDefined();
    const calculator = result.report.stacks[0].stages.find((s) => s.name === 'calculator')!;
    expect(calculator.deadLetters).toMatchObject({ 'on-failure:RetryAttemptsExhausted': 1 });
    expect(calculator.out).toBeGreaterThan(100);
  });

  test('records the job wrote again after the restore were not counted twice in any window', async () => {
    const pipeline = result.pipelines.timeseries!;
    // The restore did write records again (so this checks something).
    expect(pipeline.replayedRecords).toBeGreaterThan(0);
    const expected = new Map<string, number>();
    for (const input of pipeline.calculatorInputs) {
      const r = JSON.parse(input.data.toString('utf8')) as { deviceId: string; metrics: Record<string, number> };
      for (const metric of Object.keys(r.metrics)) {
        const key = `${r.deviceId}|${metric}|${input.windowEnd}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
    }
    const rows = await queryInflux(result.environment!.endpoint('influxdb'), 'telemetry', 'SELECT * FROM "telemetry"');
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      const key = `${row.deviceId}|${row.metric}|${row.time}`;
      expect({ key, count: row.count }).toEqual({ key, count: expected.get(key) });
    }
  });
});

describe('event-sourced: remote functions answering 500 and timing out', () => {
  let result: LocalRunResult;

  beforeAll(async () => {
    result = await runLocal(
      shortRun(assembly, {
        stacks: ['eventsourced'],
        rate: 10,
        durationSeconds: 15,
        functionFault: (call) => (call % 7 === 3 ? 'error' : call % 23 === 11 ? 'timeout' : undefined),
      }),
    );
  }, 600000);

  afterAll(() => stop(result), 60000);

  test('the faults happened, the runtime retried, and every command is accounted for', () => {
    const statuses = result.pipelines.eventsourced!.apiStatusCounts();
    expect(statuses.get(500)).toBeGreaterThan(0);
    expect(statuses.get(504)).toBeGreaterThan(0);
    const stack = result.report.stacks.find((s) => s.name === 'eventsourced')!;
    for (const p of stack.conservation.paths) {
      expect({ path: p.name, missing: p.missing }).toEqual({ path: p.name, missing: 0 });
    }
    const functions = stack.stages.find((s) => s.name === 'functions')!;
    // Retries are bounded (maxAttempts 5) and the faults are sparse: no batch exhausts them.
    expect(functions.deadLetters.HTTP_STATUS ?? 0).toBe(0);
  });

  test('nothing was applied twice: every SKU’s stock adds up to the restocks the functions accepted', async () => {
    const pipeline = result.pipelines.eventsourced!;
    const produced = pipeline.produced()!;
    // The same seed and rates give the same commands: the quantity of every restock by its eventId.
    const commands = new CommandGenerator({
      seed: 7,
      duplicateRate: 0.02,
      malformedRate: 0.02,
      unknownTypeRate: 0.02,
      invalidPayloadRate: 0.02,
    }).batch(produced.generated);
    const restocked = new Map<string, number>();
    const accepted = pipeline.acceptedCommandIds();
    for (const c of commands) {
      const e = c.envelope;
      if (c.kind !== 'command' || e?.type !== 'RestockItem' || !accepted.has(e.eventId)) continue;
      restocked.set(e.aggregateId, (restocked.get(e.aggregateId) ?? 0) + (e.payload.quantity as number));
    }
    const table = pipeline.resources()!.tables[0].name;
    const scan = await result.environment!.dynamodb().send(new ScanCommand({ TableName: table }));
    const items = (scan.Items ?? []).map((i) => unmarshall(i));
    const shipped = new Map<string, number>();
    for (const order of items.filter((i) => i.pk === 'order' && i.view.status === 'shipped')) {
      for (const line of order.view.lines as Array<{ sku: string; quantity: number }>) {
        shipped.set(line.sku, (shipped.get(line.sku) ?? 0) + line.quantity);
      }
    }
    const inventory = items.filter((i) => i.pk === 'inventory');
    expect(inventory.length).toBeGreaterThan(0);
    for (const item of inventory) {
      const sku = String(item.sk);
      // Restocks in = available + reserved + shipped out: a command applied twice would break the sum.
      expect({ sku, stock: item.view.available + item.view.reserved + (shipped.get(sku) ?? 0) }).toEqual({
        sku,
        stock: restocked.get(sku),
      });
    }
  });
});

describe('event-sourced: DynamoDB unavailable for a while', () => {
  let result: LocalRunResult;
  let outage: { from: number; to: number } | undefined;

  beforeAll(async () => {
    result = await runLocal(
      shortRun(assembly, {
        stacks: ['eventsourced'],
        rate: 10,
        durationSeconds: 15,
        during: async ({ environment, pipelines }) => {
          // Once the projections are at work (a fixed delay missed them on a loaded machine): the outage must meet
          // invocations.
          const deadline = Date.now() + 90000;
          while (!(pipelines.eventsourced!.lastProjectionAt > 0) && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 200));
          }
          const from = Date.now();
          await environment.restart('dynamodb', 2000);
          outage = { from, to: Date.now() };
        },
      }),
    );
  }, 600000);

  afterAll(() => stop(result), 60000);

  test('the projections retried through the outage, recovered, and lost nothing: applied or on-failure', async () => {
    expect(outage).toBeDefined();
    const stack = result.report.stacks.find((s) => s.name === 'eventsourced')!;
    for (const p of stack.conservation.paths) {
      expect({ path: p.name, missing: p.missing }).toEqual({ path: p.name, missing: 0 });
    }
    const projections = stack.stages.find((s) => s.name === 'projections')!;
    // The outage was felt (invocations failed and were retried). The template allows 3 retries: a batch that
    // exhausts them during the outage goes to the on-failure destination with its position (counted above as
    // dead-lettered, so still accounted for); the rest is applied, and projecting went on after the outage.
    expect(result.pipelines.eventsourced!.projectionRetries().retries).toBeGreaterThan(0);
    expect(projections.out).toBeGreaterThan(0);
    for (const reason of Object.keys(projections.deadLetters)) expect(reason).toMatch(/^on-failure:/);
    expect(result.pipelines.eventsourced!.lastProjectionAt).toBeGreaterThan(outage!.to);
    const table = result.pipelines.eventsourced!.resources()!.tables[0].name;
    const scan = await result.environment!.dynamodb().send(new ScanCommand({ TableName: table }));
    expect((scan.Items ?? []).length).toBeGreaterThan(0);
  });
});

describe('time-series: the local Kinesis server restarted mid-stream', () => {
  let result: LocalRunResult;
  let outage: { from: number; to: number; loadStillRunning: boolean } | undefined;

  beforeAll(async () => {
    result = await runLocal(
      shortRun(assembly, {
        stacks: ['timeseries'],
        devices: 5,
        durationSeconds: 20,
        during: async ({ pipelines, environment }) => {
          await new Promise((r) => setTimeout(r, 8000));
          const from = Date.now();
          // Every Kinesis client loses its connections: the producer, the Flink source and sink, the pollers.
          await environment.restart('kinesis', 2000);
          outage = { from, to: Date.now(), loadStillRunning: pipelines.timeseries!.produced() === undefined };
        },
      }),
    );
  }, 600000);

  afterAll(() => stop(result), 60000);

  test('the restart came while the load ran, and every record is accounted for, none failed at the producer', () => {
    expect(outage).toMatchObject({ loadStillRunning: true });
    expect(outage!.to - outage!.from).toBeGreaterThanOrEqual(2000);
    const stack = result.report.stacks.find((s) => s.name === 'timeseries')!;
    for (const p of stack.conservation.paths) {
      expect({ path: p.name, missing: p.missing }).toEqual({ path: p.name, missing: 0 });
    }
    const produced = result.pipelines.timeseries!.produced()!;
    expect(produced.failed).toBe(0);
    expect(produced.sent).toBe(produced.generated);
  });

  test('the enrichment job rode out the outage without a failover (a failover re-emits what followed its checkpoint)', () => {
    const metrics = result.pipelines.timeseries!.flinkJob()!.metrics();
    expect({ runs: metrics.runs, jobRestarts: metrics.jobRestarts }).toEqual({ runs: 1, jobRestarts: 0 });
  });

  test('records read or written again after the outage were not counted twice in any window', async () => {
    const pipeline = result.pipelines.timeseries!;
    const expected = new Map<string, number>();
    for (const input of pipeline.calculatorInputs) {
      const r = JSON.parse(input.data.toString('utf8')) as { deviceId: string; metrics: Record<string, number> };
      for (const metric of Object.keys(r.metrics)) {
        const key = `${r.deviceId}|${metric}|${input.windowEnd}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
    }
    const rows = await queryInflux(result.environment!.endpoint('influxdb'), 'telemetry', 'SELECT * FROM "telemetry"');
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      const key = `${row.deviceId}|${row.metric}|${row.time}`;
      expect({ key, count: row.count }).toEqual({ key, count: expected.get(key) });
    }
  });
});
