import { apiGatewayHandler, asInteger, asObject, asString, Context, createFunction, Message } from '../sdk';

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
  const held = s.reservations[payload.orderId];
  if (held === undefined) return ctx.reject(id, `order ${payload.orderId} holds no reservation of ${ctx.self.id}`);
  const reservations = { ...s.reservations };
  delete reservations[payload.orderId];
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
      if (s.available + payload.quantity > Number.MAX_SAFE_INTEGER) {
        return ctx.reject(id, `restocking ${payload.quantity} would overflow the available stock ${s.available}`);
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
      if (s.reservations[payload.orderId] !== undefined) {
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
          reservations: { ...s.reservations, [payload.orderId]: payload.quantity },
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
