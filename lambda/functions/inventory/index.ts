import {
  apiGatewayHandler,
  asInteger,
  asObject,
  asRecord,
  asString,
  Context,
  createFunction,
  Message,
  PayloadError,
} from '../sdk';

/**
 * Stock of one SKU (the address id). `available` can be sold; `reserved` is held for orders until they ship
 * (CommitStock) or are cancelled (ReleaseStock). Every change is written to the `inventory-events` egress as
 * StockChanged carrying the full view (available, reserved), partition key = SKU.
 */
export const INVENTORY_FUNCTION = 'inventory';
export const INVENTORY_EGRESS = 'inventory-events';

export interface InventoryState {
  readonly available: number;
  readonly reserved: number;
  /** Quantity held per order id. */
  readonly reservations: { readonly [orderId: string]: number };
}

export interface RestockItem {
  readonly quantity: number;
}
export interface ReserveStock {
  readonly orderId: string;
  readonly quantity: number;
}
export interface ReleaseStock {
  readonly orderId: string;
}
export type CommitStock = ReleaseStock;

export interface InventoryMessages {
  RestockItem: RestockItem;
  ReserveStock: ReserveStock;
  ReleaseStock: ReleaseStock;
  CommitStock: CommitStock;
}

export type StockChange = 'restocked' | 'reserved' | 'released' | 'committed';

const MAX_QUANTITY = 1_000_000_000;

/**
 * The state a request carries must be an InventoryState: safe non-negative integers, a reservation map of positive
 * quantities whose sum is `reserved`, and `available + reserved` a safe integer (so no later change can overflow).
 */
export function checkInventoryState(state: unknown): void {
  const s = asObject(state, 'state');
  const available = asInteger(s.available, 'available', 0);
  const reserved = asInteger(s.reserved, 'reserved', 0);
  const reservations = asRecord(s.reservations, 'reservations', (q, what) => asInteger(q, what, 1, MAX_QUANTITY));
  const sum = Object.values(reservations).reduce((a, b) => a + b, 0);
  if (sum !== reserved) throw new PayloadError(`reserved is ${reserved} but the reservations add up to ${sum}`);
  if (!Number.isSafeInteger(available + reserved)) {
    throw new PayloadError(`available + reserved (${available} + ${reserved}) is not a safe integer`);
  }
}

/** The quantity `orderId` holds, looking at own entries only: `constructor` or `__proto__` are ordinary order ids. */
function heldBy(s: InventoryState, orderId: string): number | undefined {
  return Object.hasOwn(s.reservations, orderId) ? s.reservations[orderId] : undefined;
}

/** `{...reservations}` with `orderId` set or (value undefined) removed; own data properties for every id. */
function withReservation(
  reservations: InventoryState['reservations'],
  orderId: string,
  quantity: number | undefined,
): Record<string, number> {
  const next: Record<string, number> = { ...reservations };
  if (quantity === undefined) delete next[orderId];
  else Object.defineProperty(next, orderId, { value: quantity, enumerable: true, writable: true, configurable: true });
  return next;
}

function changed(
  ctx: Context<InventoryState>,
  next: InventoryState,
  change: StockChange,
  quantity: number,
  orderId?: string,
): void {
  ctx.state.set(next);
  ctx.egress(INVENTORY_EGRESS, ctx.self.id, 'StockChanged', {
    sku: ctx.self.id,
    available: next.available,
    reserved: next.reserved,
    change,
    quantity,
    ...(orderId === undefined ? {} : { orderId }),
  });
}

/** ReleaseStock and CommitStock both end a reservation; a release puts it back on sale, a commit ships it. */
function endReservation(ctx: Context<InventoryState>, { id, payload }: Message<ReleaseStock>, change: StockChange) {
  const s = ctx.state.get();
  const held = heldBy(s, payload.orderId);
  if (held === undefined) return ctx.reject(id, `order ${payload.orderId} holds no reservation of ${ctx.self.id}`);
  const reservations = withReservation(s.reservations, payload.orderId, undefined);
  changed(
    ctx,
    {
      available: change === 'released' ? s.available + held : s.available,
      reserved: s.reserved - held,
      reservations,
    },
    change,
    held,
    payload.orderId,
  );
}

const parseOrderRef = (payload: unknown): ReleaseStock => ({ orderId: asString(asObject(payload).orderId, 'orderId') });

export const inventoryFunction = createFunction<InventoryState, InventoryMessages>({
  type: INVENTORY_FUNCTION,
  initialState: { available: 0, reserved: 0, reservations: {} },
  checkState: checkInventoryState,
  payloads: {
    RestockItem: (payload) => ({ quantity: asInteger(asObject(payload).quantity, 'quantity', 1, MAX_QUANTITY) }),
    ReserveStock: (payload) => {
      const p = asObject(payload);
      return { orderId: asString(p.orderId, 'orderId'), quantity: asInteger(p.quantity, 'quantity', 1, MAX_QUANTITY) };
    },
    ReleaseStock: parseOrderRef,
    CommitStock: parseOrderRef,
  },
  handlers: {
    RestockItem: (ctx, { id, payload }) => {
      const s = ctx.state.get();
      // available + reserved is the stock in the warehouse; reserving moves units between the two.
      if (s.available + s.reserved + payload.quantity > Number.MAX_SAFE_INTEGER) {
        return ctx.reject(
          id,
          `restocking ${payload.quantity} would overflow the stock (available ${s.available}, reserved ${s.reserved})`,
        );
      }
      changed(ctx, { ...s, available: s.available + payload.quantity }, 'restocked', payload.quantity);
    },

    ReserveStock: (ctx, { id, from, payload }) => {
      if (from === null || from.type !== 'order' || from.id !== payload.orderId) {
        return ctx.reject(
          id,
          `ReserveStock must come from order/${payload.orderId}, got ${from ? `${from.type}/${from.id}` : 'ingress'}`,
        );
      }
      const s = ctx.state.get();
      if (heldBy(s, payload.orderId) !== undefined) {
        return ctx.reject(id, `order ${payload.orderId} already holds a reservation of ${ctx.self.id}`);
      }
      if (s.available < payload.quantity) {
        ctx.send(from, 'StockRejected', {
          orderId: payload.orderId,
          sku: ctx.self.id,
          reason: `insufficient stock: requested ${payload.quantity}, available ${s.available}`,
        });
        return;
      }
      changed(
        ctx,
        {
          available: s.available - payload.quantity,
          reserved: s.reserved + payload.quantity,
          reservations: withReservation(s.reservations, payload.orderId, payload.quantity),
        },
        'reserved',
        payload.quantity,
        payload.orderId,
      );
      ctx.send(from, 'StockReserved', { orderId: payload.orderId, sku: ctx.self.id, quantity: payload.quantity });
    },

    ReleaseStock: (ctx, message) => endReservation(ctx, message, 'released'),
    CommitStock: (ctx, message) => endReservation(ctx, message, 'committed'),
  },
});

/** API Gateway REST proxy handler: POST body = invocation request. */
export const handler = apiGatewayHandler(inventoryFunction);
