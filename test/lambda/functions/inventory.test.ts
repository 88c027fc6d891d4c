import { InventoryState, inventoryFunction } from '../../../lambda/functions/inventory';
import type { InvocationResponse } from '../../../lambda/functions/sdk';
import { msg, request } from './support';

const self = { type: 'inventory', id: 'sku-1' };
const order = (id: string) => ({ type: 'order', id });

function invoke(state: InventoryState | null, ...messages: ReturnType<typeof msg>[]): InvocationResponse {
  return inventoryFunction.invoke(request(self, state, state === null ? 0 : 4, messages));
}

const stock = (available: number, reserved: number, reservations: Record<string, number> = {}): InventoryState => ({
  available,
  reserved,
  reservations,
});

const changed = (available: number, reserved: number, change: string, quantity: number, orderId?: string) => ({
  egress: 'inventory-events',
  partitionKey: 'sku-1',
  type: 'StockChanged',
  payload: { sku: 'sku-1', available, reserved, change, quantity, ...(orderId ? { orderId } : {}) },
});

describe('inventory', () => {
  test('RestockItem on a new SKU starts from zero and emits StockChanged keyed by SKU', () => {
    const res = invoke(null, msg('RestockItem', { quantity: 10 }));
    expect(res.state).toEqual(stock(10, 0));
    expect(res.egress).toEqual([changed(10, 0, 'restocked', 10)]);
  });

  test('ReserveStock with enough stock reserves and replies StockReserved to the order', () => {
    const res = invoke(stock(10, 0), msg('ReserveStock', { orderId: 'o-1', quantity: 4 }, order('o-1')));
    expect(res.state).toEqual(stock(6, 4, { 'o-1': 4 }));
    expect(res.messages).toEqual([
      { to: order('o-1'), type: 'StockReserved', payload: { orderId: 'o-1', sku: 'sku-1', quantity: 4 } },
    ]);
    expect(res.egress).toEqual([changed(6, 4, 'reserved', 4, 'o-1')]);
  });

  test('ReserveStock beyond availability replies StockRejected and changes nothing', () => {
    const res = invoke(stock(3, 5, { 'o-0': 5 }), msg('ReserveStock', { orderId: 'o-1', quantity: 4 }, order('o-1')));
    expect(res.state).toEqual(stock(3, 5, { 'o-0': 5 }));
    expect(res.messages).toEqual([
      {
        to: order('o-1'),
        type: 'StockRejected',
        payload: { orderId: 'o-1', sku: 'sku-1', reason: 'insufficient stock: requested 4, available 3' },
      },
    ]);
    expect(res.egress).toEqual([]);
    expect(res.rejected).toEqual([]);
  });

  test('ReserveStock twice for one order is rejected', () => {
    const m = msg('ReserveStock', { orderId: 'o-1', quantity: 1 }, order('o-1'));
    const res = invoke(stock(5, 1, { 'o-1': 1 }), m);
    expect(res.rejected).toEqual([{ messageId: m.id, reason: 'order o-1 already holds a reservation of sku-1' }]);
    expect(res.messages).toEqual([]);
  });

  test.each([
    ['from ingress', null, 'ReserveStock must come from order/o-1, got ingress'],
    ['from another order', order('o-2'), 'ReserveStock must come from order/o-1, got order/o-2'],
  ])('ReserveStock %s is rejected', (_name, from, reason) => {
    const m = msg('ReserveStock', { orderId: 'o-1', quantity: 1 }, from);
    expect(invoke(stock(5, 0), m).rejected).toEqual([{ messageId: m.id, reason }]);
  });

  test('ReleaseStock puts the reservation back on sale', () => {
    const res = invoke(stock(6, 4, { 'o-1': 4 }), msg('ReleaseStock', { orderId: 'o-1' }, order('o-1')));
    expect(res.state).toEqual(stock(10, 0));
    expect(res.egress).toEqual([changed(10, 0, 'released', 4, 'o-1')]);
  });

  test('CommitStock removes the reservation from the warehouse', () => {
    const res = invoke(stock(6, 4, { 'o-1': 4 }), msg('CommitStock', { orderId: 'o-1' }, order('o-1')));
    expect(res.state).toEqual(stock(6, 0));
    expect(res.egress).toEqual([changed(6, 0, 'committed', 4, 'o-1')]);
  });

  test.each(['ReleaseStock', 'CommitStock'])('%s without a reservation is rejected', (type) => {
    const m = msg(type, { orderId: 'o-9' }, order('o-9'));
    const res = invoke(stock(6, 4, { 'o-1': 4 }), m);
    expect(res.rejected).toEqual([{ messageId: m.id, reason: 'order o-9 holds no reservation of sku-1' }]);
    expect(res.state).toEqual(stock(6, 4, { 'o-1': 4 }));
  });

  test.each([
    ['RestockItem', { quantity: -1 }, /quantity must be an integer between 1/],
    ['ReserveStock', { orderId: '', quantity: 1 }, /orderId must be a non-empty string/],
    ['ReleaseStock', 'o-1', /payload must be an object, got "o-1"/],
  ])('%s with an invalid payload is rejected', (type, payload, reason) => {
    expect(invoke(stock(1, 0), msg(type, payload, order('o-1'))).rejected[0].reason).toMatch(reason);
  });

  test('is deterministic: the same request gives the same response', () => {
    const body = request(self, stock(2, 0), 9, [
      msg('ReserveStock', { orderId: 'o-1', quantity: 2 }, order('o-1')),
      msg('ReserveStock', { orderId: 'o-2', quantity: 1 }, order('o-2')),
      msg('RestockItem', { quantity: 5 }),
      msg('ReleaseStock', { orderId: 'o-1' }, order('o-1')),
    ]);
    const first = inventoryFunction.invoke(body);
    expect(first.state).toEqual(stock(7, 0));
    expect(JSON.stringify(inventoryFunction.invoke(structuredClone(body)))).toBe(JSON.stringify(first));
  });
});
