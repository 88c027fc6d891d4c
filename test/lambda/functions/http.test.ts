import type { APIGatewayProxyEvent } from 'aws-lambda';
import { handler as orderHandler, orderFunction } from '../../../lambda/functions/order';
import { inventoryFunction } from '../../../lambda/functions/inventory';
import {
  Address,
  EgressMessage,
  InvocationMessage,
  InvocationResponse,
  LocalFunctionServer,
  serveLocally,
} from '../../../lambda/functions/sdk';
import { msg, request } from './support';

const lines = [{ sku: 'sku-1', quantity: 2, unitPriceCents: 100 }];
const place = () => request({ type: 'order', id: 'o-1' }, null, 0, [msg('PlaceOrder', { customerId: 'c', lines })]);

describe('serveLocally', () => {
  let order: LocalFunctionServer;
  let inventory: LocalFunctionServer;

  beforeAll(async () => {
    order = await serveLocally(orderFunction, 0);
    inventory = await serveLocally(inventoryFunction, 0);
  });
  afterAll(async () => {
    await order?.close();
    await inventory?.close();
  });

  const post = (url: string, body: string) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  test('binds to 127.0.0.1 on the port it reports', () => {
    expect(order.url).toBe(`http://127.0.0.1:${order.port}/`);
    expect(order.port).toBeGreaterThan(0);
  });

  test('answers a valid invocation with 200 and the response JSON', async () => {
    const res = await post(order.url, JSON.stringify(place()));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as InvocationResponse;
    expect(body).toEqual(orderFunction.invoke(place()));
    expect(body.egress.map((e) => e.type)).toEqual(['OrderPlaced']);
  });

  test.each([
    ['an empty body', '', 'request body is empty'],
    ['a body that is not JSON', '{"address":', 'request body is not JSON'],
    [
      'an invocation without messages',
      JSON.stringify({ ...place(), messages: [] }),
      'messages must be a non-empty array, got []',
    ],
    [
      'an address of the wrong function',
      JSON.stringify({ ...place(), address: { type: 'inventory', id: 'sku-1' } }),
      'this endpoint serves function type "order", got address.type "inventory"',
    ],
  ])('answers %s with 400 and the reason', async (_name, body, reason) => {
    const res = await post(order.url, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain(reason);
  });

  test('answers other methods with 405 and Allow: POST', async () => {
    const res = await fetch(order.url, { method: 'GET' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  test('order and inventory cooperate over HTTP until no message is left', async () => {
    // A minimal stand-in for the runtime: stores state per address, routes messages, collects egress.
    const endpoints: Record<string, string> = { order: order.url, inventory: inventory.url };
    const states = new Map<string, { state: unknown; version: number }>();
    const egress: EgressMessage[] = [];
    const queue: Array<{ to: Address; message: InvocationMessage }> = [];
    let nextId = 0;
    const enqueue = (to: Address, type: string, payload: unknown, from: Address | null) =>
      queue.push({ to, message: { id: `r-${nextId++}`, type, from, payload } });

    enqueue({ type: 'inventory', id: 'sku-1' }, 'RestockItem', { quantity: 3 }, null);
    enqueue({ type: 'order', id: 'o-1' }, 'PlaceOrder', { customerId: 'c', lines }, null);
    enqueue({ type: 'order', id: 'o-2' }, 'PlaceOrder', { customerId: 'c', lines }, null);
    while (queue.length > 0) {
      const { to, message } = queue.shift()!;
      const key = `${to.type}/${to.id}`;
      const current = states.get(key) ?? { state: null, version: 0 };
      const res = await post(
        endpoints[to.type],
        JSON.stringify(request(to, current.state, current.version, [message])),
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as InvocationResponse;
      expect(body.rejected).toEqual([]);
      states.set(key, { state: body.state, version: current.version + 1 });
      for (const m of body.messages) enqueue(m.to, m.type, m.payload, to);
      egress.push(...body.egress);
    }

    // o-1 got the stock; o-2 was rejected (only 1 left) and cancelled.
    expect(egress.map((e) => `${e.partitionKey}:${e.type}`)).toEqual([
      'sku-1:StockChanged',
      'o-1:OrderPlaced',
      'o-2:OrderPlaced',
      'sku-1:StockChanged',
      'o-2:OrderCancelled',
    ]);
    expect(states.get('inventory/sku-1')?.state).toEqual({ available: 1, reserved: 2, reservations: { 'o-1': 2 } });
    expect(states.get('order/o-2')?.state).toMatchObject({
      status: 'cancelled',
      cancelReason: 'stock rejected for sku-1: insufficient stock: requested 2, available 1',
    });
  });
});

describe('apiGatewayHandler', () => {
  const event = (body: string | null, extra: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent =>
    ({
      httpMethod: 'POST',
      path: '/order',
      resource: '/order',
      headers: { 'content-type': 'application/json' },
      body,
      isBase64Encoded: false,
      ...extra,
    }) as APIGatewayProxyEvent;

  test('answers a plain JSON body with 200 and the invocation response', async () => {
    const res = await orderHandler(event(JSON.stringify(place())));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual(orderFunction.invoke(place()));
  });

  test('decodes a base64 body', async () => {
    const body = Buffer.from(JSON.stringify(place()), 'utf8').toString('base64');
    const res = await orderHandler(event(body, { isBase64Encoded: true }));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual(orderFunction.invoke(place()));
  });

  test('answers a missing body with 400', async () => {
    const res = await orderHandler(event(null));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: 'request body is empty' });
  });

  test('answers a malformed invocation with 400 and the reason', async () => {
    const res = await orderHandler(event(JSON.stringify({ ...place(), stateVersion: 'one' })));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: 'stateVersion must be an integer >= 0, got "one"' });
  });

  test('answers GET with 405', async () => {
    const res = await orderHandler(event(null, { httpMethod: 'GET' }));
    expect(res.statusCode).toBe(405);
    expect(res.headers).toMatchObject({ allow: 'POST' });
  });
});
