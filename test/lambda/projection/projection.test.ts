import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  createProjectionHandler,
  documentClient,
  ReadModelProjector,
  projectorFromEnv,
} from '../../../lambda/projection';
import { LOCAL_AWS, LocalServer, startDynalite } from '../../support/local-servers';
import { createReadModelTable, kinesisEvent, kinesisRecord, MemoryDeadLetters, scanAll } from './support';

const lines = [{ sku: 'sku-1', quantity: 2, unitPriceCents: 150 }];

function orderRecord(orderId: string, sequence: number, type: string, status: string, extra: object = {}) {
  return JSON.stringify({
    eventId: `order/${orderId}/${sequence}`,
    type,
    aggregateType: 'order',
    aggregateId: orderId,
    sequence,
    occurredAt: 1764403200000 + sequence * 1000,
    payload: { orderId, customerId: 'c-1', status, lines, totalCents: 300, ...extra },
  });
}

function stockRecord(sku: string, sequence: number, available: number, reserved: number) {
  return JSON.stringify({
    eventId: `inventory/${sku}/${sequence}`,
    type: 'StockChanged',
    aggregateType: 'inventory',
    aggregateId: sku,
    sequence,
    occurredAt: 1764403300000 + sequence,
    payload: { sku, available, reserved, change: 'restocked', quantity: 1 },
  });
}

describe('projection handler against dynalite', () => {
  let dynalite: LocalServer;
  let raw: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  let tableCount = 0;

  beforeAll(async () => {
    dynalite = await startDynalite();
    raw = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynalite.endpoint });
    doc = documentClient(raw);
  });
  afterAll(async () => {
    raw?.destroy();
    await dynalite?.stop();
  });

  async function setup() {
    const table = `read-model-${++tableCount}`;
    await createReadModelTable(raw, table);
    const projector = new ReadModelProjector(doc, table);
    const deadLetters = new MemoryDeadLetters();
    return { table, projector, deadLetters, handler: createProjectionHandler(projector, deadLetters) };
  }

  let seq = 0;
  const rec = (data: string, pk: string) =>
    kinesisRecord(data, pk, String(49600000000000000000000000000n + BigInt(++seq)));

  test('applies events into views keyed by aggregate type and id', async () => {
    const { table, projector, deadLetters, handler } = await setup();
    const res = await handler(
      kinesisEvent([
        rec(orderRecord('o-1', 1, 'OrderPlaced', 'placed'), 'o-1'),
        rec(stockRecord('sku-1', 1, 10, 0), 'sku-1'),
        rec(orderRecord('o-1', 2, 'OrderPaid', 'paid'), 'o-1'),
      ]),
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(projector.stats).toEqual({ applied: 3, skipped: 0 });
    expect(deadLetters.entries).toEqual([]);
    expect(await scanAll(doc, table)).toEqual([
      {
        pk: 'inventory',
        sk: 'sku-1',
        sequence: 1,
        updatedAt: 1764403300001,
        view: { available: 10, reserved: 0, lastEventType: 'StockChanged', historyCount: 1 },
      },
      {
        pk: 'order',
        sk: 'o-1',
        sequence: 2,
        updatedAt: 1764403202000,
        view: {
          status: 'paid',
          customerId: 'c-1',
          lines,
          totalCents: 300,
          lastEventType: 'OrderPaid',
          historyCount: 2,
        },
      },
    ]);
  });

  test('a redelivered batch applies nothing twice and counts the skips', async () => {
    const { table, projector, handler } = await setup();
    const batch = kinesisEvent([
      rec(orderRecord('o-1', 1, 'OrderPlaced', 'placed'), 'o-1'),
      rec(orderRecord('o-1', 2, 'OrderPaid', 'paid'), 'o-1'),
    ]);
    await handler(batch);
    const before = await scanAll(doc, table);
    const res = await handler(batch);
    expect(res.batchItemFailures).toEqual([]);
    expect(projector.stats).toEqual({ applied: 2, skipped: 2 });
    expect(await scanAll(doc, table)).toEqual(before);
  });

  test('an older sequence arriving late is ignored; a gap is bridged by the newer event', async () => {
    const { table, projector, handler } = await setup();
    await handler(
      kinesisEvent([
        rec(orderRecord('o-1', 3, 'OrderShipped', 'shipped'), 'o-1'),
        rec(orderRecord('o-1', 1, 'OrderPlaced', 'placed'), 'o-1'),
        rec(orderRecord('o-1', 2, 'OrderPaid', 'paid'), 'o-1'),
      ]),
    );
    expect(projector.stats).toEqual({ applied: 1, skipped: 2 });
    const item = await doc.send(new GetCommand({ TableName: table, Key: { pk: 'order', sk: 'o-1' } }));
    expect(item.Item).toMatchObject({ sequence: 3, view: { status: 'shipped', historyCount: 3 } });
  });

  test('bad records are dead-lettered with their reason; received = applied + skipped + dead-lettered', async () => {
    const { table, projector, deadLetters, handler } = await setup();
    const records = [
      rec(orderRecord('o-1', 1, 'OrderPlaced', 'placed'), 'o-1'),
      rec('not json', 'x'),
      rec(JSON.stringify({ type: 'OrderPlaced' }), 'o-2'),
      rec(orderRecord('o-3', 1, 'OrderTeleported', 'placed'), 'o-3'),
      rec(JSON.stringify({ ...JSON.parse(stockRecord('sku-1', 1, 1, 0)), aggregateType: 'payment' }), 'sku-1'),
      rec(orderRecord('o-1', 1, 'OrderPlaced', 'placed'), 'o-1'),
      rec(stockRecord('sku-1', 1, 5, 0), 'sku-1'),
    ];
    const res = await handler(kinesisEvent(records));
    expect(res.batchItemFailures).toEqual([]);
    expect(deadLetters.entries.map((e) => e.reason)).toEqual([
      'MALFORMED_JSON',
      'SCHEMA',
      'UNKNOWN_EVENT_TYPE',
      'UNKNOWN_AGGREGATE_TYPE',
    ]);
    expect(deadLetters.entries[1]).toMatchObject({
      stage: 'projection',
      detail: 'sequence must be an integer >= 1, got undefined',
      payload: '{"type":"OrderPlaced"}',
      partitionKey: 'o-2',
    });
    expect(projector.stats).toEqual({ applied: 2, skipped: 1 });
    expect(records.length).toBe(projector.stats.applied + projector.stats.skipped + deadLetters.entries.length);
    expect((await scanAll(doc, table)).map((i) => `${i.pk}/${i.sk}`)).toEqual(['inventory/sku-1', 'order/o-1']);
  });

  test('a DynamoDB failure stops the shard for a retry instead of losing the record', async () => {
    const deadLetters = new MemoryDeadLetters();
    const projector = new ReadModelProjector(doc, 'no-such-table');
    const handler = createProjectionHandler(projector, deadLetters);
    const first = rec(orderRecord('o-1', 1, 'OrderPlaced', 'placed'), 'o-1');
    const second = rec(orderRecord('o-1', 2, 'OrderPaid', 'paid'), 'o-1');
    const res = await handler(kinesisEvent([first, second]));
    expect(res.batchItemFailures).toEqual([
      { itemIdentifier: first.kinesis.sequenceNumber },
      { itemIdentifier: second.kinesis.sequenceNumber },
    ]);
    expect(deadLetters.entries).toEqual([]);
    expect(projector.stats).toEqual({ applied: 0, skipped: 0 });
  });

  test('projectorFromEnv requires READ_MODEL_TABLE', () => {
    expect(() => projectorFromEnv({})).toThrow(/READ_MODEL_TABLE is not set/);
    expect(projectorFromEnv({ READ_MODEL_TABLE: 'views' })).toBeInstanceOf(ReadModelProjector);
  });

  test('a view too large for DynamoDB is dead-lettered VIEW_TOO_LARGE, and the shard goes on', async () => {
    const { table, deadLetters, handler } = await setup();
    // 9,000 order lines make a view of ~450 KB, over DynamoDB's 400 KB item limit.
    const many = Array.from({ length: 9000 }, (_, i) => ({ sku: `sku-${i}-padding`, quantity: 1, unitPriceCents: 1 }));
    const res = await handler(
      kinesisEvent([
        rec(orderRecord('o-big', 1, 'OrderPlaced', 'placed', { lines: many, totalCents: 9000 }), 'o-big'),
        rec(stockRecord('sku-1', 1, 5, 0), 'sku-1'),
      ]),
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(deadLetters.entries.map((e) => e.reason)).toEqual(['VIEW_TOO_LARGE']);
    expect((await scanAll(doc, table)).map((it) => it.sk)).toEqual(['sku-1']);
  });
});
