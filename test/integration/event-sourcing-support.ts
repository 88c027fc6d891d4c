import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { inventoryFunction } from '../../lambda/functions/inventory';
import { orderFunction } from '../../lambda/functions/order';
import type { Address, StatefulFunction } from '../../lambda/functions/sdk';
import type { EgressEvent } from '../../lambda/projection';
import { kinesisRecord } from '../lambda/projection/support';
import { createLocalStream } from '../support/local-servers';

/** An egress record in the brief's format together with the partition key the runtime writes it under. */
export interface EgressRecord {
  readonly partitionKey: string;
  readonly event: EgressEvent;
}

/**
 * Runs the example functions in-process the way the Flink runtime does for one message at a time: state per
 * address, messages routed FIFO, egress records numbered per address from 1. Used to produce realistic egress.
 */
export class InProcessRuntime {
  readonly egress: EgressRecord[] = [];
  readonly rejected: string[] = [];
  private readonly functions = new Map<string, StatefulFunction>([
    ['order', orderFunction],
    ['inventory', inventoryFunction],
  ]);
  private readonly states = new Map<string, { state: unknown; version: number; sequence: number }>();
  private nextMessage = 0;

  constructor(private clock: number) {}

  deliver(to: Address, type: string, payload: unknown): void {
    const queue = [{ to, type, payload, from: null as Address | null }];
    while (queue.length > 0) {
      const m = queue.shift()!;
      const key = `${m.to.type}/${m.to.id}`;
      const current = this.states.get(key) ?? { state: null, version: 0, sequence: 0 };
      const fn = this.functions.get(m.to.type)!;
      const res = fn.invoke({
        address: m.to,
        state: current.state,
        stateVersion: current.version,
        messages: [{ id: `msg-${this.nextMessage++}`, type: m.type, from: m.from, payload: m.payload }],
      });
      let sequence = current.sequence;
      for (const e of res.egress) {
        sequence += 1;
        this.clock += 1000;
        this.egress.push({
          partitionKey: e.partitionKey,
          event: {
            eventId: `${m.to.type}/${m.to.id}/${sequence}`,
            type: e.type,
            aggregateType: m.to.type,
            aggregateId: m.to.id,
            sequence,
            occurredAt: this.clock,
            payload: e.payload as Record<string, unknown>,
          },
        });
      }
      this.rejected.push(...res.rejected.map((r) => `${key}: ${r.reason}`));
      this.states.set(key, { state: res.state, version: current.version + 1, sequence });
      for (const out of res.messages) queue.push({ to: out.to, type: out.type, payload: out.payload, from: m.to });
    }
  }
}

/** A few orders and SKUs through every transition: shipped, cancelled by the customer, cancelled for lack of stock. */
export function exampleEgress(startMs: number): EgressRecord[] {
  const rt = new InProcessRuntime(startMs);
  const order = (id: string) => ({ type: 'order', id });
  const sku = (id: string) => ({ type: 'inventory', id });
  rt.deliver(sku('sku-1'), 'RestockItem', { quantity: 10 });
  rt.deliver(sku('sku-2'), 'RestockItem', { quantity: 5 });
  rt.deliver(sku('sku-3'), 'RestockItem', { quantity: 1 });
  const l = (s: string, quantity: number, unitPriceCents: number) => ({ sku: s, quantity, unitPriceCents });
  rt.deliver(order('o-1'), 'PlaceOrder', { customerId: 'c-1', lines: [l('sku-1', 2, 1000), l('sku-2', 1, 250)] });
  rt.deliver(order('o-2'), 'PlaceOrder', { customerId: 'c-2', lines: [l('sku-3', 2, 700)] });
  rt.deliver(order('o-3'), 'PlaceOrder', { customerId: 'c-1', lines: [l('sku-1', 1, 1000)] });
  rt.deliver(order('o-1'), 'PayOrder', { amountCents: 2250 });
  rt.deliver(order('o-3'), 'CancelOrder', { reason: 'changed mind' });
  rt.deliver(order('o-4'), 'PlaceOrder', { customerId: 'c-3', lines: [l('sku-2', 1, 250), l('sku-1', 3, 1000)] });
  rt.deliver(order('o-1'), 'ShipOrder', {});
  rt.deliver(order('o-4'), 'PayOrder', { amountCents: 3250 });
  rt.deliver(order('o-5'), 'PlaceOrder', { customerId: 'c-2', lines: [l('sku-3', 1, 700)] });
  if (rt.rejected.length > 0) throw new Error(`example scenario rejected messages: ${rt.rejected.join('; ')}`);
  return rt.egress;
}

export const createStream = createLocalStream;

export interface ReadRecord {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: Buffer;
  readonly arrivalMs: number;
}

/** Every record of every shard from TRIM_HORIZON, shard by shard, in shard order. */
export async function readAll(client: KinesisClient, stream: string): Promise<ReadRecord[]> {
  const shards = (await client.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  const out: ReadRecord[] = [];
  for (const shard of shards) {
    let iterator = (
      await client.send(
        new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      )
    ).ShardIterator;
    while (iterator) {
      const res = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      for (const r of res.Records ?? []) {
        out.push({
          shardId: shard.ShardId as string,
          sequenceNumber: r.SequenceNumber as string,
          partitionKey: r.PartitionKey as string,
          data: Buffer.from(r.Data ?? new Uint8Array()),
          arrivalMs: r.ApproximateArrivalTimestamp?.getTime() ?? 0,
        });
      }
      if ((res.Records ?? []).length === 0 && res.MillisBehindLatest === 0) break;
      iterator = res.NextShardIterator;
    }
  }
  return out;
}

/** What the Lambda event source mapping would deliver: one event per shard, records in shard order. */
export function asLambdaEvents(records: readonly ReadRecord[], batchSize = 7): KinesisStreamEvent[] {
  const byShard = new Map<string, ReadRecord[]>();
  for (const r of records) byShard.set(r.shardId, [...(byShard.get(r.shardId) ?? []), r]);
  const events: KinesisStreamEvent[] = [];
  for (const [shardId, list] of byShard) {
    for (let i = 0; i < list.length; i += batchSize) {
      events.push({
        Records: list
          .slice(i, i + batchSize)
          .map((r) => kinesisRecord(r.data, r.partitionKey, r.sequenceNumber, shardId, r.arrivalMs / 1000)),
      });
    }
  }
  return events;
}

/** The aggregate sequences per partition key, in the order a consumer of each shard sees them. */
export function sequencesByKey(records: readonly ReadRecord[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const r of records) {
    const e = JSON.parse(r.data.toString('utf8')) as EgressEvent;
    (out[r.partitionKey] ??= []).push(e.sequence);
  }
  return out;
}
