import fc from 'fast-check';
import { CommandGenerator, runCommands } from '../../../bin/local/commands';
import { CommandSchemas } from '../../../lib/patterns';
import type { ProducerRecord, SendResult } from '../../../lambda/shared/producer';
import { InProcessRuntime } from '../../integration/event-sourcing-support';
import { propertyParameters } from '../../support/property';

const SCHEMAS: Record<string, ReturnType<typeof CommandSchemas.placeOrder>> = {
  PlaceOrder: CommandSchemas.placeOrder(),
  PayOrder: CommandSchemas.payOrder(),
  ShipOrder: CommandSchemas.shipOrder(),
  CancelOrder: CommandSchemas.cancelOrder(),
  RestockItem: CommandSchemas.restockItem(),
};

/** The subset of JSON schema draft-04 the command schemas use, enough to tell valid payloads from invalid ones. */
function valid(schema: Record<string, unknown>, value: unknown): boolean {
  const type = schema.type;
  if (type === 'object') {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    const o = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
    if (((schema.required as string[]) ?? []).some((k) => !(k in o))) return false;
    if (schema.additionalProperties === false && Object.keys(o).some((k) => !(k in props))) return false;
    return Object.entries(o).every(([k, v]) => !props[k] || valid(props[k], v));
  }
  if (type === 'array') {
    if (!Array.isArray(value)) return false;
    if (schema.minItems !== undefined && value.length < (schema.minItems as number)) return false;
    return value.every((v) => valid(schema.items as Record<string, unknown>, v));
  }
  if (type === 'string') return typeof value === 'string' && value.length >= ((schema.minLength as number) ?? 0);
  if (type === 'integer') {
    return (
      Number.isInteger(value) &&
      (schema.minimum === undefined || (value as number) >= (schema.minimum as number)) &&
      (schema.maximum === undefined || (value as number) <= (schema.maximum as number))
    );
  }
  return true;
}

test('the same seed gives the same commands', () => {
  const a = new CommandGenerator({ seed: 7, duplicateRate: 0.1, malformedRate: 0.05, startMs: 1e12 }).batch(500);
  const b = new CommandGenerator({ seed: 7, duplicateRate: 0.1, malformedRate: 0.05, startMs: 1e12 }).batch(500);
  expect(a.map((c) => c.data.toString())).toEqual(b.map((c) => c.data.toString()));
  const c = new CommandGenerator({ seed: 8, duplicateRate: 0.1, malformedRate: 0.05, startMs: 1e12 }).batch(500);
  expect(c.map((x) => x.data.toString())).not.toEqual(a.map((x) => x.data.toString()));
});

test('bad records come at the rates asked for, and only then', () => {
  const clean = new CommandGenerator({ seed: 1 });
  clean.batch(5000);
  expect(clean.byKind).toEqual({ command: 5000, duplicate: 0, malformed: 0, 'unknown-type': 0, 'invalid-payload': 0 });
  const dirty = new CommandGenerator({
    seed: 1,
    duplicateRate: 0.02,
    malformedRate: 0.01,
    unknownTypeRate: 0.01,
    invalidPayloadRate: 0.01,
  });
  dirty.batch(20000);
  expect(dirty.byKind.duplicate).toBeGreaterThan(300);
  expect(dirty.byKind.duplicate).toBeLessThan(500);
  for (const kind of ['malformed', 'unknown-type', 'invalid-payload'] as const) {
    expect(dirty.byKind[kind]).toBeGreaterThan(140);
    expect(dirty.byKind[kind]).toBeLessThan(260);
  }
  expect(() => new CommandGenerator({ seed: 1, malformedRate: 1.5 })).toThrow(
    /malformedRate must be between 0 and 1, got 1.5/,
  );
});

test('every valid command passes its ingestion schema; invalid payloads fail it; a malformed record is not JSON', () => {
  for (const c of new CommandGenerator({ seed: 3, invalidPayloadRate: 0.05, malformedRate: 0.05 }).batch(3000)) {
    if (c.kind === 'malformed') {
      expect(() => JSON.parse(c.data.toString())).toThrow();
      continue;
    }
    const envelope = JSON.parse(c.data.toString());
    expect(envelope).toEqual(c.envelope);
    expect(c.partitionKey).toBe(envelope.aggregateId);
    if (c.kind === 'command' || c.kind === 'duplicate')
      expect(valid(SCHEMAS[envelope.type], envelope.payload)).toBe(true);
    if (c.kind === 'invalid-payload') expect(valid(SCHEMAS[envelope.type], envelope.payload)).toBe(false);
    if (c.kind === 'unknown-type') expect(SCHEMAS[envelope.type]).toBeUndefined();
  }
});

test('applied by the real functions in order, the commands run orders through their whole lifecycle', () => {
  // For any seed: no valid command is rejected by the functions when applied in order, and orders end up placed,
  // paid, shipped and cancelled.
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
      const runtime = new InProcessRuntime(Date.parse('2026-12-02T00:00:00Z'));
      const generator = new CommandGenerator({ seed, skus: 5 });
      for (const c of generator.batch(400)) {
        const e = c.envelope!;
        const type = e.type === 'RestockItem' ? 'inventory' : 'order';
        runtime.deliver({ type, id: e.aggregateId }, e.type, e.payload);
      }
      expect(runtime.rejected).toEqual([]);
      const kinds = new Set(runtime.egress.map((r) => r.event.type));
      for (const t of ['OrderPlaced', 'OrderPaid', 'OrderShipped', 'OrderCancelled']) expect(kinds).toContain(t);
    }),
    propertyParameters(20),
  );
});

test('runCommands paces the writes and counts every record as sent or failed', async () => {
  const batches: ProducerRecord[][] = [];
  const sender = {
    send: async (records: readonly ProducerRecord[]): Promise<SendResult> => {
      batches.push([...records]);
      // Every 10th record is refused, as a throttled PutRecords entry would be.
      const failed = records
        .filter((_, i) => i % 10 === 0)
        .map((r) => ({ record: r, errorCode: 'ProvisionedThroughputExceededException', errorMessage: 'slow down' }));
      return { sent: records.length - failed.length, failed };
    },
  };
  const started = Date.now();
  const summary = await runCommands(sender, { seed: 5, ratePerSecond: 50, durationSeconds: 2 });
  expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  expect(batches.map((b) => b.length)).toEqual([50, 50]);
  expect(summary).toMatchObject({ generated: 100, sent: 90, failed: 10 });
  await expect(runCommands(sender, { seed: 5, ratePerSecond: 0, durationSeconds: 1 })).rejects.toThrow(
    /ratePerSecond must be a positive integer, got 0/,
  );
});
