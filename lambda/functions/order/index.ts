import {
  Address,
  apiGatewayHandler,
  asArray,
  asInteger,
  asObject,
  asOneOf,
  asOptionalString,
  asRecord,
  asString,
  Context,
  createFunction,
  PayloadError,
} from '../sdk';

/**
 * Order lifecycle: placed -> paid -> shipped, or cancelled from placed or paid. Cooperates with `inventory`:
 * PlaceOrder reserves stock per line (ReserveStock), a StockRejected reply cancels the order, cancelling releases
 * reserved stock (ReleaseStock) and shipping takes it out of the warehouse (CommitStock).
 * The address id is the order id; every egress record carries the order's full view (status, lines, total), so a
 * read model can be built from the latest record alone.
 */
export const ORDER_FUNCTION = 'order';
export const INVENTORY_FUNCTION = 'inventory';
export const ORDER_EGRESS = 'order-events';

export type OrderStatus = 'placed' | 'paid' | 'shipped' | 'cancelled';
/** Where the stock of one line stands with the inventory function. */
export type LineStock = 'pending' | 'reserved' | 'rejected' | 'released' | 'committed';

export interface OrderLine {
  readonly sku: string;
  readonly quantity: number;
  /** Price per unit in minor currency units (cents), so totals are exact. */
  readonly unitPriceCents: number;
}

export interface OrderState {
  readonly status: OrderStatus;
  readonly customerId: string;
  readonly lines: readonly OrderLine[];
  readonly totalCents: number;
  readonly stock: { readonly [sku: string]: LineStock };
  readonly cancelReason?: string;
}

export interface PlaceOrder {
  readonly customerId: string;
  readonly lines: readonly OrderLine[];
}
export interface PayOrder {
  readonly amountCents: number;
}
export type ShipOrder = Record<string, never>;
export interface CancelOrder {
  readonly reason: string;
}
export interface StockReserved {
  readonly orderId: string;
  readonly sku: string;
  readonly quantity: number;
}
export interface StockRejected {
  readonly orderId: string;
  readonly sku: string;
  readonly reason: string;
}

export interface OrderMessages {
  PlaceOrder: PlaceOrder;
  PayOrder: PayOrder;
  ShipOrder: ShipOrder;
  CancelOrder: CancelOrder;
  StockReserved: StockReserved;
  StockRejected: StockRejected;
}

const MAX_LINES = 100;
const MAX_QUANTITY = 1_000_000;
const MAX_UNIT_PRICE_CENTS = 100_000_000;

const STATUSES: readonly OrderStatus[] = ['placed', 'paid', 'shipped', 'cancelled'];
const LINE_STOCKS: readonly LineStock[] = ['pending', 'reserved', 'rejected', 'released', 'committed'];

/** Lines of an order: 1..100, distinct SKUs, integer quantities and prices in range, a total that is a safe integer. */
function parseLines(v: unknown, what: string): OrderLine[] {
  const seen = new Set<string>();
  const lines = asArray(v, what, 1, MAX_LINES).map((raw, i): OrderLine => {
    const line = asObject(raw, `${what}[${i}]`);
    const sku = asString(line.sku, `${what}[${i}].sku`, 128);
    if (seen.has(sku)) throw new PayloadError(`${what}[${i}].sku ${sku} appears on more than one line`);
    seen.add(sku);
    return {
      sku,
      quantity: asInteger(line.quantity, `${what}[${i}].quantity`, 1, MAX_QUANTITY),
      unitPriceCents: asInteger(line.unitPriceCents, `${what}[${i}].unitPriceCents`, 0, MAX_UNIT_PRICE_CENTS),
    };
  });
  // 100 lines of 1e6 units at 1e8 cents can reach 1e16, past 2^53: such a total could not be paid exactly.
  const total = totalOf(lines);
  if (!Number.isSafeInteger(total)) throw new PayloadError(`the order total ${total} cents is not a safe integer`);
  return lines;
}

function totalOf(lines: readonly OrderLine[]): number {
  return lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
}

function parsePlaceOrder(payload: unknown): PlaceOrder {
  const p = asObject(payload);
  return { customerId: asString(p.customerId, 'customerId'), lines: parseLines(p.lines, 'lines') };
}

/** The state a request carries must be an OrderState: known status, valid lines, their total, stock per line SKU. */
export function checkOrderState(state: unknown): void {
  const s = asObject(state, 'state');
  asOneOf(s.status, 'status', STATUSES);
  asString(s.customerId, 'customerId');
  const lines = parseLines(s.lines, 'lines');
  const total = asInteger(s.totalCents, 'totalCents', 0);
  if (total !== totalOf(lines)) throw new PayloadError(`totalCents ${total} is not the total of the lines`);
  const stock = asRecord(s.stock, 'stock', (v, what) => asOneOf(v, what, LINE_STOCKS), MAX_LINES);
  const skus = lines.map((l) => l.sku);
  const keys = Object.keys(stock);
  if (keys.length !== skus.length || !skus.every((sku) => Object.hasOwn(stock, sku))) {
    throw new PayloadError(`stock must have one entry per line SKU (${skus.join(', ')}), got ${keys.join(', ')}`);
  }
  if (s.cancelReason !== undefined) asString(s.cancelReason, 'cancelReason', 4096);
}

function parseStockReply(payload: unknown): { orderId: string; sku: string; p: Record<string, unknown> } {
  const p = asObject(payload);
  return { orderId: asString(p.orderId, 'orderId'), sku: asString(p.sku, 'sku', 128), p };
}

/** The view every egress record carries. */
function view(orderId: string, s: OrderState) {
  return {
    orderId,
    customerId: s.customerId,
    status: s.status,
    lines: s.lines,
    totalCents: s.totalCents,
    ...(s.cancelReason === undefined ? {} : { cancelReason: s.cancelReason }),
  };
}

function inventory(sku: string): Address {
  return { type: INVENTORY_FUNCTION, id: sku };
}

/** Cancels an order: releases every reserved line; pending lines are released when their reply arrives. */
function cancel(ctx: Context<OrderState | undefined>, order: OrderState, reason: string, stock = order.stock): void {
  const nextStock: Record<string, LineStock> = { ...stock };
  for (const line of order.lines) {
    if (nextStock[line.sku] === 'reserved') {
      ctx.send(inventory(line.sku), 'ReleaseStock', { orderId: ctx.self.id });
      nextStock[line.sku] = 'released';
    }
  }
  const next: OrderState = { ...order, status: 'cancelled', stock: nextStock, cancelReason: reason };
  ctx.state.set(next);
  ctx.egress(ORDER_EGRESS, ctx.self.id, 'OrderCancelled', view(ctx.self.id, next));
}

/** Checks that a stock reply comes from the inventory function of a line of this order. */
function checkReply(
  ctx: Context<OrderState | undefined>,
  from: Address | null,
  orderId: string,
  sku: string,
): OrderState | string {
  const order = ctx.state.get();
  if (!order) return `order ${ctx.self.id} does not exist`;
  if (from === null || from.type !== INVENTORY_FUNCTION || from.id !== sku) {
    return `stock replies must come from ${INVENTORY_FUNCTION}/${sku}, got ${from ? `${from.type}/${from.id}` : 'ingress'}`;
  }
  if (orderId !== ctx.self.id) return `reply is for order ${orderId}, not ${ctx.self.id}`;
  if (!order.lines.some((l) => l.sku === sku)) return `order ${ctx.self.id} has no line for ${sku}`;
  if (order.stock[sku] !== 'pending') return `stock for ${sku} is already ${order.stock[sku]}`;
  return order;
}

export const orderFunction = createFunction<OrderState | undefined, OrderMessages>({
  type: ORDER_FUNCTION,
  checkState: checkOrderState,
  payloads: {
    PlaceOrder: parsePlaceOrder,
    PayOrder: (payload) => ({ amountCents: asInteger(asObject(payload).amountCents, 'amountCents', 0) }),
    ShipOrder: (payload) => {
      if (payload !== null) asObject(payload);
      return {};
    },
    CancelOrder: (payload) => ({
      reason: asOptionalString(payload === null ? undefined : asObject(payload).reason, 'reason', 1024) ?? 'cancelled',
    }),
    StockReserved: (payload) => {
      const { orderId, sku, p } = parseStockReply(payload);
      return { orderId, sku, quantity: asInteger(p.quantity, 'quantity', 1, MAX_QUANTITY) };
    },
    StockRejected: (payload) => {
      const { orderId, sku, p } = parseStockReply(payload);
      return { orderId, sku, reason: asOptionalString(p.reason, 'reason', 1024) ?? 'stock rejected' };
    },
  },
  handlers: {
    PlaceOrder: (ctx, { id, payload }) => {
      const existing = ctx.state.get();
      if (existing) return ctx.reject(id, `order ${ctx.self.id} already exists (status ${existing.status})`);
      const order: OrderState = {
        status: 'placed',
        customerId: payload.customerId,
        lines: payload.lines,
        totalCents: totalOf(payload.lines),
        stock: Object.fromEntries(payload.lines.map((l) => [l.sku, 'pending' as LineStock])),
      };
      ctx.state.set(order);
      for (const line of order.lines) {
        ctx.send(inventory(line.sku), 'ReserveStock', { orderId: ctx.self.id, quantity: line.quantity });
      }
      ctx.egress(ORDER_EGRESS, ctx.self.id, 'OrderPlaced', view(ctx.self.id, order));
    },

    PayOrder: (ctx, { id, payload }) => {
      const order = ctx.state.get();
      if (!order) return ctx.reject(id, `order ${ctx.self.id} does not exist`);
      if (order.status !== 'placed') return ctx.reject(id, `cannot pay an order that is ${order.status}`);
      if (payload.amountCents !== order.totalCents) {
        return ctx.reject(id, `payment of ${payload.amountCents} does not match the order total ${order.totalCents}`);
      }
      const next: OrderState = { ...order, status: 'paid' };
      ctx.state.set(next);
      ctx.egress(ORDER_EGRESS, ctx.self.id, 'OrderPaid', view(ctx.self.id, next));
    },

    ShipOrder: (ctx, { id }) => {
      const order = ctx.state.get();
      if (!order) return ctx.reject(id, `order ${ctx.self.id} does not exist`);
      if (order.status !== 'paid') return ctx.reject(id, `cannot ship an order that is ${order.status}`);
      const missing = order.lines.filter((l) => order.stock[l.sku] !== 'reserved').map((l) => l.sku);
      if (missing.length > 0) return ctx.reject(id, `stock not reserved yet for ${missing.join(', ')}`);
      for (const line of order.lines) ctx.send(inventory(line.sku), 'CommitStock', { orderId: ctx.self.id });
      const next: OrderState = {
        ...order,
        status: 'shipped',
        stock: Object.fromEntries(order.lines.map((l) => [l.sku, 'committed' as LineStock])),
      };
      ctx.state.set(next);
      ctx.egress(ORDER_EGRESS, ctx.self.id, 'OrderShipped', view(ctx.self.id, next));
    },

    CancelOrder: (ctx, { id, payload }) => {
      const order = ctx.state.get();
      if (!order) return ctx.reject(id, `order ${ctx.self.id} does not exist`);
      if (order.status !== 'placed' && order.status !== 'paid') {
        return ctx.reject(id, `cannot cancel an order that is ${order.status}`);
      }
      cancel(ctx, order, payload.reason);
    },

    StockReserved: (ctx, { id, from, payload }) => {
      const checked = checkReply(ctx, from, payload.orderId, payload.sku);
      if (typeof checked === 'string') return ctx.reject(id, checked);
      const line = checked.lines.find((l) => l.sku === payload.sku) as OrderLine;
      if (line.quantity !== payload.quantity) {
        return ctx.reject(id, `reserved ${payload.quantity} of ${payload.sku}, the line asks for ${line.quantity}`);
      }
      if (checked.status === 'cancelled') {
        // The order was cancelled while the reservation was in flight: give the stock back.
        ctx.send(inventory(payload.sku), 'ReleaseStock', { orderId: ctx.self.id });
        ctx.state.set({ ...checked, stock: { ...checked.stock, [payload.sku]: 'released' } });
        return;
      }
      ctx.state.set({ ...checked, stock: { ...checked.stock, [payload.sku]: 'reserved' } });
    },

    StockRejected: (ctx, { id, from, payload }) => {
      const checked = checkReply(ctx, from, payload.orderId, payload.sku);
      if (typeof checked === 'string') return ctx.reject(id, checked);
      const stock = { ...checked.stock, [payload.sku]: 'rejected' as LineStock };
      if (checked.status === 'cancelled') {
        ctx.state.set({ ...checked, stock });
        return;
      }
      cancel(ctx, checked, `stock rejected for ${payload.sku}: ${payload.reason}`, stock);
    },
  },
});

/** API Gateway REST proxy handler: POST body = invocation request. */
export const handler = apiGatewayHandler(orderFunction);
