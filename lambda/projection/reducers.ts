import { DeadLetterError } from '../shared';
import type { EgressEvent } from './events';

/**
 * Pure reducers from egress events to read-model views, one per aggregate type.
 *
 * Rule: every egress event of the example domain carries the aggregate's full view (event-carried state), so a view
 * is computed from the newest event alone and the projection keeps the event with the highest `sequence`
 * (conditional write `sequence < :sequence`). That makes the projection correct under redelivery (equal sequence:
 * skipped), out-of-order delivery (older sequence: skipped) and gaps (a missing event is superseded by any later
 * one), and a rebuild needs no read-before-write. The alternative, applying only `sequence = stored + 1` deltas,
 * would block an aggregate forever on one lost event. `historyCount` is the sequence of the applied event: the number
 * of events the aggregate had emitted when the view was taken, whether or not each of them reached this projection.
 */
export interface OrderLineView {
  readonly sku: string;
  readonly quantity: number;
  readonly unitPriceCents: number;
}

export interface OrderView {
  readonly status: 'placed' | 'paid' | 'shipped' | 'cancelled';
  readonly customerId: string;
  readonly lines: readonly OrderLineView[];
  readonly totalCents: number;
  readonly cancelReason?: string;
  readonly lastEventType: string;
  readonly historyCount: number;
}

export interface InventoryView {
  readonly available: number;
  readonly reserved: number;
  readonly lastEventType: string;
  readonly historyCount: number;
}

export type Reducer = (event: EgressEvent) => object;

function schema(event: EgressEvent, detail: string): DeadLetterError {
  return new DeadLetterError('SCHEMA', `${event.aggregateType} ${event.type} ${event.eventId}: ${detail}`);
}

function count(event: EgressEvent, key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw schema(event, `${key} must be an integer >= 0, got ${JSON.stringify(v)}`);
  }
  return v;
}

function str(event: EgressEvent, key: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0)
    throw schema(event, `${key} must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

const ORDER_EVENTS: Record<string, OrderView['status']> = {
  OrderPlaced: 'placed',
  OrderPaid: 'paid',
  OrderShipped: 'shipped',
  OrderCancelled: 'cancelled',
};

export function reduceOrder(event: EgressEvent): OrderView {
  const expected = ORDER_EVENTS[event.type];
  if (expected === undefined || !Object.prototype.hasOwnProperty.call(ORDER_EVENTS, event.type)) {
    throw new DeadLetterError(
      'UNKNOWN_EVENT_TYPE',
      `order aggregates emit ${Object.keys(ORDER_EVENTS).join(', ')}, got ${event.type}`,
    );
  }
  const p = event.payload;
  if (p.orderId !== event.aggregateId) {
    throw schema(event, `payload.orderId ${JSON.stringify(p.orderId)} differs from aggregateId ${event.aggregateId}`);
  }
  if (p.status !== expected) throw schema(event, `payload.status must be ${expected}, got ${JSON.stringify(p.status)}`);
  if (!Array.isArray(p.lines) || p.lines.length === 0) throw schema(event, 'payload.lines must be a non-empty array');
  const lines = p.lines.map((raw: unknown, i: number): OrderLineView => {
    const l = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    return {
      sku: str(event, `payload.lines[${i}].sku`, l.sku),
      quantity: count(event, `payload.lines[${i}].quantity`, l.quantity),
      unitPriceCents: count(event, `payload.lines[${i}].unitPriceCents`, l.unitPriceCents),
    };
  });
  const view: OrderView = {
    status: expected,
    customerId: str(event, 'payload.customerId', p.customerId),
    lines,
    totalCents: count(event, 'payload.totalCents', p.totalCents),
    lastEventType: event.type,
    historyCount: event.sequence,
  };
  return expected === 'cancelled'
    ? { ...view, cancelReason: str(event, 'payload.cancelReason', p.cancelReason) }
    : view;
}

export function reduceInventory(event: EgressEvent): InventoryView {
  if (event.type !== 'StockChanged') {
    throw new DeadLetterError('UNKNOWN_EVENT_TYPE', `inventory aggregates emit StockChanged, got ${event.type}`);
  }
  const p = event.payload;
  if (p.sku !== event.aggregateId) {
    throw schema(event, `payload.sku ${JSON.stringify(p.sku)} differs from aggregateId ${event.aggregateId}`);
  }
  return {
    available: count(event, 'payload.available', p.available),
    reserved: count(event, 'payload.reserved', p.reserved),
    lastEventType: event.type,
    historyCount: event.sequence,
  };
}

/** Reducer per `aggregateType` (the function type that emitted the event). */
export const REDUCERS: Readonly<Record<string, Reducer>> = {
  order: reduceOrder,
  inventory: reduceInventory,
};

export function reducerFor(event: EgressEvent, reducers: Readonly<Record<string, Reducer>> = REDUCERS): Reducer {
  if (!Object.prototype.hasOwnProperty.call(reducers, event.aggregateType)) {
    throw new DeadLetterError(
      'UNKNOWN_AGGREGATE_TYPE',
      `no view for aggregate type ${JSON.stringify(event.aggregateType)} (known: ${Object.keys(reducers).join(', ')})`,
    );
  }
  return reducers[event.aggregateType];
}
