import { DeadLetterError } from '../../../lambda/shared';
import { EgressEvent, itemFor, parseEgressEvent, reduceInventory, reduceOrder } from '../../../lambda/projection';

const lines = [{ sku: 'sku-1', quantity: 2, unitPriceCents: 100 }];
const orderEvent = (type: string, sequence: number, payload: Record<string, unknown> = {}): EgressEvent => ({
  eventId: `order/o-1/${sequence}`,
  type,
  aggregateType: 'order',
  aggregateId: 'o-1',
  sequence,
  occurredAt: 1764403200000 + sequence,
  payload: { orderId: 'o-1', customerId: 'c-1', status: 'placed', lines, totalCents: 200, ...payload },
});

function deadLetter(fn: () => unknown): DeadLetterError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DeadLetterError) return e;
    throw e;
  }
  throw new Error('expected a DeadLetterError');
}

describe('parseEgressEvent', () => {
  const record = (v: unknown) => ({ data: Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)) });
  const valid = {
    eventId: 'order/o-1/1',
    type: 'OrderPlaced',
    aggregateType: 'order',
    aggregateId: 'o-1',
    sequence: 1,
    occurredAt: 1764403200000,
    payload: {},
  };

  test('accepts the brief format', () => {
    expect(parseEgressEvent(record(valid))).toEqual(valid);
  });

  test.each([
    ['not JSON', '{"eventId":', 'MALFORMED_JSON', /JSON/],
    ['an array', [valid], 'SCHEMA', /must be a JSON object, got \[/],
    ['sequence 0', { ...valid, sequence: 0 }, 'SCHEMA', /sequence must be an integer >= 1, got 0/],
    ['a string sequence', { ...valid, sequence: '3' }, 'SCHEMA', /sequence must be an integer >= 1, got "3"/],
    [
      'an ISO occurredAt',
      { ...valid, occurredAt: '2026-11-29T08:00:00Z' },
      'SCHEMA',
      /occurredAt must be epoch milliseconds/,
    ],
    [
      'a missing aggregateId',
      { ...valid, aggregateId: undefined },
      'SCHEMA',
      /aggregateId must be a non-empty string.*undefined/,
    ],
    ['a null payload', { ...valid, payload: null }, 'SCHEMA', /payload must be a JSON object, got null/],
  ])('dead-letters %s', (_name, value, reason, detail) => {
    const e = deadLetter(() => parseEgressEvent(record(value)));
    expect(e.reason).toBe(reason);
    expect(e.detail).toMatch(detail);
  });
});

describe('reducers', () => {
  test.each([
    ['OrderPlaced', 'placed'],
    ['OrderPaid', 'paid'],
    ['OrderShipped', 'shipped'],
  ])('%s gives an order view with status %s and the history count from the sequence', (type, status) => {
    expect(reduceOrder(orderEvent(type, 3, { status }))).toEqual({
      status,
      customerId: 'c-1',
      lines,
      totalCents: 200,
      lastEventType: type,
      historyCount: 3,
    });
  });

  test('OrderCancelled keeps the cancel reason', () => {
    const view = reduceOrder(orderEvent('OrderCancelled', 2, { status: 'cancelled', cancelReason: 'no stock' }));
    expect(view).toMatchObject({ status: 'cancelled', cancelReason: 'no stock', historyCount: 2 });
  });

  test('StockChanged gives an inventory view', () => {
    const event: EgressEvent = {
      eventId: 'inventory/sku-1/4',
      type: 'StockChanged',
      aggregateType: 'inventory',
      aggregateId: 'sku-1',
      sequence: 4,
      occurredAt: 1,
      payload: { sku: 'sku-1', available: 7, reserved: 3, change: 'reserved', quantity: 3 },
    };
    expect(reduceInventory(event)).toEqual({
      available: 7,
      reserved: 3,
      lastEventType: 'StockChanged',
      historyCount: 4,
    });
  });

  test.each([
    ['an unknown order event', () => reduceOrder(orderEvent('OrderLost', 1)), 'UNKNOWN_EVENT_TYPE', /got OrderLost/],
    [
      'a status that contradicts the type',
      () => reduceOrder(orderEvent('OrderPaid', 1)),
      'SCHEMA',
      /payload.status must be paid, got "placed"/,
    ],
    [
      'a payload of another order',
      () => reduceOrder(orderEvent('OrderPlaced', 1, { orderId: 'o-2' })),
      'SCHEMA',
      /payload.orderId "o-2" differs from aggregateId o-1/,
    ],
    [
      'a negative total',
      () => reduceOrder(orderEvent('OrderPlaced', 1, { totalCents: -1 })),
      'SCHEMA',
      /totalCents must be an integer >= 0, got -1/,
    ],
    [
      'an unknown aggregate type',
      () => itemFor({ ...orderEvent('OrderPlaced', 1), aggregateType: 'payment' }),
      'UNKNOWN_AGGREGATE_TYPE',
      /"payment"/,
    ],
  ])('dead-letter %s', (_name, fn, reason, detail) => {
    const e = deadLetter(fn);
    expect(e.reason).toBe(reason);
    expect(e.detail).toMatch(detail);
  });

  test('itemFor keys the view by aggregate type and id and stamps it with the event time', () => {
    expect(itemFor(orderEvent('OrderPlaced', 1))).toEqual({
      pk: 'order',
      sk: 'o-1',
      sequence: 1,
      updatedAt: 1764403200001,
      view: expect.objectContaining({ status: 'placed', historyCount: 1 }),
    });
  });
});
