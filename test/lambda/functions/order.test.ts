import { OrderState, orderFunction } from '../../../lambda/functions/order';
import type { InvocationResponse } from '../../../lambda/functions/sdk';
import { msg, request } from './support';

const self = { type: 'order', id: 'order-1' };
const inv = (sku: string) => ({ type: 'inventory', id: sku });
const lines = [
  { sku: 'sku-1', quantity: 2, unitPriceCents: 1250 },
  { sku: 'sku-2', quantity: 1, unitPriceCents: 500 },
];

function placed(overrides: Partial<OrderState> = {}): OrderState {
  return {
    status: 'placed',
    customerId: 'cust-1',
    lines,
    totalCents: 3000,
    stock: { 'sku-1': 'pending', 'sku-2': 'pending' },
    ...overrides,
  };
}

function invoke(state: OrderState | null, ...messages: ReturnType<typeof msg>[]): InvocationResponse {
  return orderFunction.invoke(request(self, state, state === null ? 0 : 1, messages));
}

const view = (s: OrderState) => ({
  orderId: 'order-1',
  customerId: s.customerId,
  status: s.status,
  lines: s.lines,
  totalCents: s.totalCents,
  ...(s.cancelReason ? { cancelReason: s.cancelReason } : {}),
});

describe('order: PlaceOrder', () => {
  test('places the order, reserves stock per line and emits OrderPlaced keyed by order id', () => {
    const res = invoke(null, msg('PlaceOrder', { customerId: 'cust-1', lines }));
    expect(res.state).toEqual(placed());
    expect(res.messages).toEqual([
      { to: inv('sku-1'), type: 'ReserveStock', payload: { orderId: 'order-1', quantity: 2 } },
      { to: inv('sku-2'), type: 'ReserveStock', payload: { orderId: 'order-1', quantity: 1 } },
    ]);
    expect(res.egress).toEqual([
      { egress: 'order-events', partitionKey: 'order-1', type: 'OrderPlaced', payload: view(placed()) },
    ]);
    expect(res.rejected).toEqual([]);
  });

  test('is rejected for an order that exists', () => {
    const m = msg('PlaceOrder', { customerId: 'cust-1', lines });
    const res = invoke(placed({ status: 'paid' }), m);
    expect(res.rejected).toEqual([{ messageId: m.id, reason: 'order order-1 already exists (status paid)' }]);
    expect(res.state).toEqual(placed({ status: 'paid' }));
    expect(res.messages).toEqual([]);
  });

  test.each([
    [{ customerId: 'c', lines: [] }, /lines must be an array of 1 to 100 items, got \[\]/],
    [{ lines }, /customerId must be a non-empty string/],
    [
      { customerId: 'c', lines: [{ sku: 'a', quantity: 0, unitPriceCents: 1 }] },
      /lines\[0\].quantity must be an integer between 1/,
    ],
    [{ customerId: 'c', lines: [lines[0], lines[0]] }, /lines\[1\].sku sku-1 appears on more than one line/],
  ])('rejects an invalid payload %j', (payload, reason) => {
    const res = invoke(null, msg('PlaceOrder', payload));
    expect(res.rejected[0].reason).toMatch(reason);
    expect(res.state).toBeNull();
  });
});

describe('order: stock replies', () => {
  test('StockReserved from the line inventory marks the line reserved, without egress', () => {
    const res = invoke(placed(), msg('StockReserved', { orderId: 'order-1', sku: 'sku-1', quantity: 2 }, inv('sku-1')));
    expect(res.state).toEqual(placed({ stock: { 'sku-1': 'reserved', 'sku-2': 'pending' } }));
    expect(res.egress).toEqual([]);
    expect(res.rejected).toEqual([]);
  });

  test.each([
    [
      'from ingress',
      null,
      { orderId: 'order-1', sku: 'sku-1', quantity: 2 },
      /must come from inventory\/sku-1, got ingress/,
    ],
    ['from another sku', inv('sku-2'), { orderId: 'order-1', sku: 'sku-1', quantity: 2 }, /got inventory\/sku-2/],
    [
      'for another order',
      inv('sku-1'),
      { orderId: 'order-9', sku: 'sku-1', quantity: 2 },
      /reply is for order order-9/,
    ],
    ['for an unknown line', inv('sku-7'), { orderId: 'order-1', sku: 'sku-7', quantity: 2 }, /has no line for sku-7/],
    [
      'with a wrong quantity',
      inv('sku-1'),
      { orderId: 'order-1', sku: 'sku-1', quantity: 3 },
      /reserved 3 of sku-1, the line asks for 2/,
    ],
  ])('StockReserved %s is rejected', (_name, from, payload, reason) => {
    const m = msg('StockReserved', payload, from);
    const res = invoke(placed(), m);
    expect(res.rejected).toEqual([{ messageId: m.id, reason: expect.stringMatching(reason) }]);
    expect(res.state).toEqual(placed());
  });

  test('a duplicate StockReserved is rejected', () => {
    const state = placed({ stock: { 'sku-1': 'reserved', 'sku-2': 'pending' } });
    const res = invoke(state, msg('StockReserved', { orderId: 'order-1', sku: 'sku-1', quantity: 2 }, inv('sku-1')));
    expect(res.rejected[0].reason).toBe('stock for sku-1 is already reserved');
  });

  test('StockReserved for a cancelled order gives the stock back', () => {
    const state = placed({ status: 'cancelled', cancelReason: 'changed mind' });
    const res = invoke(state, msg('StockReserved', { orderId: 'order-1', sku: 'sku-2', quantity: 1 }, inv('sku-2')));
    expect(res.messages).toEqual([{ to: inv('sku-2'), type: 'ReleaseStock', payload: { orderId: 'order-1' } }]);
    expect(res.state).toEqual({ ...state, stock: { 'sku-1': 'pending', 'sku-2': 'released' } });
    expect(res.egress).toEqual([]);
  });

  test('StockRejected cancels the order and releases lines already reserved', () => {
    const state = placed({ status: 'paid', stock: { 'sku-1': 'reserved', 'sku-2': 'pending' } });
    const res = invoke(
      state,
      msg('StockRejected', { orderId: 'order-1', sku: 'sku-2', reason: 'insufficient' }, inv('sku-2')),
    );
    const cancelled = placed({
      status: 'cancelled',
      stock: { 'sku-1': 'released', 'sku-2': 'rejected' },
      cancelReason: 'stock rejected for sku-2: insufficient',
    });
    expect(res.state).toEqual(cancelled);
    expect(res.messages).toEqual([{ to: inv('sku-1'), type: 'ReleaseStock', payload: { orderId: 'order-1' } }]);
    expect(res.egress).toEqual([
      { egress: 'order-events', partitionKey: 'order-1', type: 'OrderCancelled', payload: view(cancelled) },
    ]);
  });

  test('StockRejected for an already cancelled order only records the line', () => {
    const state = placed({ status: 'cancelled', cancelReason: 'x' });
    const res = invoke(state, msg('StockRejected', { orderId: 'order-1', sku: 'sku-1', reason: 'none' }, inv('sku-1')));
    expect(res.state).toEqual({ ...state, stock: { 'sku-1': 'rejected', 'sku-2': 'pending' } });
    expect(res.messages).toEqual([]);
    expect(res.egress).toEqual([]);
  });
});

describe('order: lifecycle transitions', () => {
  const reserved = { 'sku-1': 'reserved', 'sku-2': 'reserved' } as const;

  test('PayOrder moves placed -> paid when the amount matches the total', () => {
    const res = invoke(placed(), msg('PayOrder', { amountCents: 3000 }));
    expect(res.state).toEqual(placed({ status: 'paid' }));
    expect(res.egress).toEqual([
      { egress: 'order-events', partitionKey: 'order-1', type: 'OrderPaid', payload: view(placed({ status: 'paid' })) },
    ]);
  });

  test('PayOrder with a wrong amount is rejected', () => {
    const res = invoke(placed(), msg('PayOrder', { amountCents: 2999 }));
    expect(res.rejected[0].reason).toBe('payment of 2999 does not match the order total 3000');
    expect(res.state).toEqual(placed());
  });

  test('ShipOrder moves paid -> shipped once every line is reserved and commits the stock', () => {
    const res = invoke(placed({ status: 'paid', stock: reserved }), msg('ShipOrder', {}));
    const shipped = placed({ status: 'shipped', stock: { 'sku-1': 'committed', 'sku-2': 'committed' } });
    expect(res.state).toEqual(shipped);
    expect(res.messages).toEqual([
      { to: inv('sku-1'), type: 'CommitStock', payload: { orderId: 'order-1' } },
      { to: inv('sku-2'), type: 'CommitStock', payload: { orderId: 'order-1' } },
    ]);
    expect(res.egress.map((e) => e.type)).toEqual(['OrderShipped']);
  });

  test('ShipOrder waits for every reservation', () => {
    const res = invoke(placed({ status: 'paid' }), msg('ShipOrder', null));
    expect(res.rejected[0].reason).toBe('stock not reserved yet for sku-1, sku-2');
  });

  test('CancelOrder from placed and from paid releases reserved lines', () => {
    for (const status of ['placed', 'paid'] as const) {
      const res = invoke(placed({ status, stock: reserved }), msg('CancelOrder', { reason: 'customer request' }));
      expect(res.state).toEqual(
        placed({
          status: 'cancelled',
          stock: { 'sku-1': 'released', 'sku-2': 'released' },
          cancelReason: 'customer request',
        }),
      );
      expect(res.messages.map((m) => [m.type, m.to.id])).toEqual([
        ['ReleaseStock', 'sku-1'],
        ['ReleaseStock', 'sku-2'],
      ]);
      expect(res.egress.map((e) => e.type)).toEqual(['OrderCancelled']);
    }
  });

  test.each([
    ['PayOrder', null, { amountCents: 1 }, 'order order-1 does not exist'],
    ['ShipOrder', null, {}, 'order order-1 does not exist'],
    ['CancelOrder', null, {}, 'order order-1 does not exist'],
    ['PayOrder', 'paid', { amountCents: 3000 }, 'cannot pay an order that is paid'],
    ['PayOrder', 'shipped', { amountCents: 3000 }, 'cannot pay an order that is shipped'],
    ['PayOrder', 'cancelled', { amountCents: 3000 }, 'cannot pay an order that is cancelled'],
    ['ShipOrder', 'placed', {}, 'cannot ship an order that is placed'],
    ['ShipOrder', 'shipped', {}, 'cannot ship an order that is shipped'],
    ['ShipOrder', 'cancelled', {}, 'cannot ship an order that is cancelled'],
    ['CancelOrder', 'shipped', {}, 'cannot cancel an order that is shipped'],
    ['CancelOrder', 'cancelled', {}, 'cannot cancel an order that is cancelled'],
  ] as const)('%s on a %s order is rejected', (type, status, payload, reason) => {
    const state = status === null ? null : placed({ status });
    const m = msg(type, payload);
    const res = invoke(state, m);
    expect(res.rejected).toEqual([{ messageId: m.id, reason }]);
    expect(res.state).toEqual(state);
    expect(res.messages).toEqual([]);
    expect(res.egress).toEqual([]);
  });

  test('a whole lifecycle in one request applies in order', () => {
    const res = invoke(
      null,
      msg('PlaceOrder', { customerId: 'cust-1', lines }),
      msg('StockReserved', { orderId: 'order-1', sku: 'sku-1', quantity: 2 }, inv('sku-1')),
      msg('PayOrder', { amountCents: 3000 }),
      msg('StockReserved', { orderId: 'order-1', sku: 'sku-2', quantity: 1 }, inv('sku-2')),
      msg('ShipOrder', {}),
    );
    expect(res.rejected).toEqual([]);
    expect(res.egress.map((e) => e.type)).toEqual(['OrderPlaced', 'OrderPaid', 'OrderShipped']);
    expect((res.state as OrderState).status).toBe('shipped');
  });

  test('is deterministic: the same request gives the same response', () => {
    const body = request(self, null, 0, [
      msg('PlaceOrder', { customerId: 'cust-1', lines }),
      msg('StockRejected', { orderId: 'order-1', sku: 'sku-1', reason: 'none left' }, inv('sku-1')),
      msg('PayOrder', { amountCents: 3000 }),
    ]);
    expect(JSON.stringify(orderFunction.invoke(body))).toBe(
      JSON.stringify(orderFunction.invoke(structuredClone(body))),
    );
  });
});
