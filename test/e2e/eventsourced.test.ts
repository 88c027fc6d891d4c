import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BatchWriteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LocalRunResult, runLocal } from '../../bin/local/run';
import { createProjectionHandler, itemFor, parseEgressEvent, ReadModelProjector } from '../../lambda/projection';
import { asLambdaEvents, readAll } from '../integration/event-sourcing-support';
import { MemoryDeadLetters } from '../lambda/projection/support';
import { shortRun, synthesizeApp } from './support';

/**
 * The event-sourced stack end to end on local servers, as `npm run local` runs it: generated commands (with
 * duplicates, malformed records, unknown types and invalid payloads) go into the event store; the stateful-functions
 * job (the stack's jar) calls the order and inventory functions (their bundles, behind the local functions API) and
 * writes the egress streams; the projections (their bundles, behind the template's mappings) build the read model.
 */
let dir: string;
let result: LocalRunResult;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-eventsourced-'));
  const assembly = synthesizeApp(path.join(dir, 'cdk.out'));
  result = await runLocal(shortRun(assembly, { stacks: ['eventsourced'], rate: 10, durationSeconds: 15 }));
}, 600000);

afterAll(async () => {
  await result?.pipelines.eventsourced?.stop();
  await result?.environment?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}, 60000);

async function scanReadModel(table: string): Promise<Map<string, Record<string, unknown>>> {
  const scan = await result.environment!.dynamodb().send(new ScanCommand({ TableName: table }));
  return new Map((scan.Items ?? []).map((i) => unmarshall(i)).map((i) => [`${i.pk}/${i.sk}`, i]));
}

async function egressEvents() {
  const pipeline = result.pipelines.eventsourced!;
  const kinesis = result.environment!.kinesis();
  const streams = pipeline.resources()!.streams.filter((s) => /OrderEvents|InventoryEvents/.test(s.logicalId));
  return (await Promise.all(streams.map((s) => readAll(kinesis, s.name)))).map((records, i) => ({
    stream: streams[i].name,
    records,
  }));
}

test('every command written is accounted for: applied, dead-lettered with a reason, or a dropped duplicate', () => {
  const stack = result.report.stacks.find((s) => s.name === 'eventsourced')!;
  for (const p of stack.conservation.paths) {
    expect({ path: p.name, missing: p.missing }).toEqual({ path: p.name, missing: 0 });
  }
  const produced = result.pipelines.eventsourced!.produced()!;
  expect(produced.sent).toBe(produced.generated);
  const functions = stack.stages.find((s) => s.name === 'functions')!;
  expect(functions.out).toBeGreaterThan(0);
  expect(functions.deadLettered).toBeGreaterThanOrEqual(produced.byKind.malformed + produced.byKind['unknown-type']);
});

test('the read model equals the newest view of every aggregate in the egress streams', async () => {
  const table = result.pipelines.eventsourced!.resources()!.tables[0].name;
  const expected = new Map<string, Record<string, unknown>>();
  for (const { records } of await egressEvents()) {
    for (const r of records) {
      const item = itemFor(parseEgressEvent(r)) as unknown as Record<string, unknown>;
      const key = `${item.pk}/${item.sk}`;
      if (!expected.has(key) || (expected.get(key)!.sequence as number) < (item.sequence as number)) {
        expected.set(key, item);
      }
    }
  }
  expect(expected.size).toBeGreaterThan(0);
  const actual = await scanReadModel(table);
  expect(Object.fromEntries(actual)).toEqual(JSON.parse(JSON.stringify(Object.fromEntries(expected))));
});

test('wiping the read model and replaying the egress streams gives an identical read model', async () => {
  const table = result.pipelines.eventsourced!.resources()!.tables[0].name;
  const before = await scanReadModel(table);
  const client = result.environment!.dynamodb();
  const keys = [...before.values()].map((i) => ({ pk: { S: String(i.pk) }, sk: { S: String(i.sk) } }));
  for (let i = 0; i < keys.length; i += 25) {
    await client.send(
      new BatchWriteItemCommand({
        RequestItems: { [table]: keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } })) },
      }),
    );
  }
  expect((await scanReadModel(table)).size).toBe(0);
  const deadLetters = new MemoryDeadLetters();
  const handler = createProjectionHandler(
    new ReadModelProjector(DynamoDBDocumentClient.from(client), table),
    deadLetters,
  );
  for (const { records } of await egressEvents()) {
    for (const event of asLambdaEvents(records, 100)) {
      expect((await handler(event)).batchItemFailures).toEqual([]);
    }
  }
  expect(deadLetters.entries).toEqual([]);
  expect(Object.fromEntries(await scanReadModel(table))).toEqual(Object.fromEntries(before));
});
