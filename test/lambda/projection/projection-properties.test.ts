import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as fc from 'fast-check';
import {
  createProjectionHandler,
  documentClient,
  ReadModelProjector,
  reduceInventory,
} from '../../../lambda/projection';
import type { EgressEvent } from '../../../lambda/projection';
import { LOCAL_AWS, LocalServer, startDynalite } from '../../support/local-servers';
import { propertyParameters } from '../../support/property';
import { createReadModelTable, kinesisRecord, MemoryDeadLetters, scanAll } from './support';

/**
 * The projection's law on arbitrary egress streams, against a real DynamoDB API (dynalite): whatever the order,
 * duplication and batching of deliveries, each aggregate's item ends as the view of its highest-sequence valid event;
 * every delivery of a valid event is applied or skipped (already reflected), every delivery of a bad one is
 * dead-lettered with its reason, and nothing fails for good.
 */
const TABLE = 'read-model-properties';
// Aggregate ids include prototype names: they are DynamoDB key values, not map keys.
const aggregateId = fc.constantFrom('sku-1', 'sku-2', '__proto__', 'constructor');

type Delivery = { kind: 'valid'; event: EgressEvent } | { kind: 'bad'; data: string; reason: string };

const stock = fc.record({ available: fc.nat(), reserved: fc.nat() });

const stream = fc
  .array(fc.record({ id: aggregateId, versions: fc.array(stock, { minLength: 1, maxLength: 4 }) }), {
    minLength: 1,
    maxLength: 4,
  })
  .chain((aggregates) => {
    const valid: Delivery[] = [];
    const seen = new Set<string>();
    for (const a of aggregates) {
      if (seen.has(a.id)) continue;
      seen.add(a.id);
      a.versions.forEach((v, i) =>
        valid.push({
          kind: 'valid',
          event: {
            eventId: `${a.id}-${i + 1}`,
            type: 'StockChanged',
            aggregateType: 'inventory',
            aggregateId: a.id,
            sequence: i + 1,
            occurredAt: 1764403200000 + i,
            payload: { sku: a.id, ...v },
          },
        }),
      );
    }
    const bad = fc.constantFrom<Delivery>(
      { kind: 'bad', data: '{"not json', reason: 'MALFORMED_JSON' },
      {
        kind: 'bad',
        data: JSON.stringify({ ...(valid[0] as { event: EgressEvent }).event, type: 'StockVanished' }),
        reason: 'UNKNOWN_EVENT_TYPE',
      },
      {
        kind: 'bad',
        data: JSON.stringify({ ...(valid[0] as { event: EgressEvent }).event, sequence: '2' }),
        reason: 'SCHEMA',
      },
    );
    // Deliveries: every valid event at least once, some twice (redeliveries), some bad ones, in any order.
    return fc
      .tuple(
        fc.subarray(valid),
        fc.array(bad, { maxLength: 3 }),
        fc.integer({ min: 1, max: 5 }),
        fc.infiniteStream(fc.nat()),
      )
      .map(([again, bads, batchSize, order]) => {
        const all = [...valid, ...again, ...bads];
        const keys = all.map(() => order.next().value as number);
        const shuffled = all
          .map((d, i) => ({ d, k: keys[i] }))
          .sort((x, y) => x.k - y.k)
          .map((x) => x.d);
        return { valid, deliveries: shuffled, batchSize };
      });
  });

describe('projection (property, against dynalite)', () => {
  let dynalite: LocalServer;
  let raw: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  beforeAll(async () => {
    dynalite = await startDynalite();
    raw = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynalite.endpoint });
    doc = documentClient(raw);
    await createReadModelTable(raw, TABLE);
  });
  afterAll(async () => {
    raw?.destroy();
    await dynalite?.stop();
  });

  test('each item is the view of its newest valid event; bad deliveries are dead-lettered once each', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(stream, async ({ valid, deliveries, batchSize }) => {
        run += 1;
        // A clean table per run.
        const stale = await scanAll(doc, TABLE);
        for (let i = 0; i < stale.length; i += 25) {
          await doc.send(
            new BatchWriteCommand({
              RequestItems: {
                [TABLE]: stale.slice(i, i + 25).map((it) => ({ DeleteRequest: { Key: { pk: it.pk, sk: it.sk } } })),
              },
            }),
          );
        }
        const sink = new MemoryDeadLetters();
        const projector = new ReadModelProjector(doc, TABLE);
        const handler = createProjectionHandler(projector, sink);
        const records = deliveries.map((d, i) =>
          kinesisRecord(d.kind === 'valid' ? JSON.stringify(d.event) : d.data, 'pk', String(1000 * run + i)),
        );
        for (let i = 0; i < records.length; i += batchSize) {
          const out = await handler({ Records: records.slice(i, i + batchSize) });
          expect(out.batchItemFailures).toEqual([]);
        }
        const validDeliveries = deliveries.filter((d) => d.kind === 'valid').length;
        expect(projector.stats.applied + projector.stats.skipped).toBe(validDeliveries);
        expect(sink.entries.map((e) => e.reason).sort()).toEqual(
          deliveries
            .filter((d): d is Extract<Delivery, { kind: 'bad' }> => d.kind === 'bad')
            .map((d) => d.reason)
            .sort(),
        );
        const newest = new Map<string, EgressEvent>();
        for (const d of valid) {
          const e = (d as { event: EgressEvent }).event;
          if ((newest.get(e.aggregateId)?.sequence ?? 0) < e.sequence) newest.set(e.aggregateId, e);
        }
        const items = await scanAll(doc, TABLE);
        expect(items.map((it) => it.sk).sort()).toEqual([...newest.keys()].sort());
        for (const it of items) {
          const e = newest.get(it.sk as string)!;
          expect(it).toEqual({
            pk: 'inventory',
            sk: e.aggregateId,
            sequence: e.sequence,
            view: reduceInventory(e),
            updatedAt: e.occurredAt,
          });
        }
      }),
      propertyParameters(40),
    );
  });
});
