import type { APIGatewayProxyEvent } from 'aws-lambda';
import {
  checkInventoryState,
  handler as inventoryHandler,
  inventoryFunction,
} from '../../../lambda/functions/inventory';
import { orderFunction } from '../../../lambda/functions/order';
import {
  answer,
  asObject,
  createFunction,
  InvocationResponse,
  LocalFunctionServer,
  MAX_NESTING_DEPTH,
  MAX_STATE_BYTES,
  serveLocally,
  StatefulFunction,
} from '../../../lambda/functions/sdk';
import { msg, request } from './support';

/** Stores the payload of `Set` as the state; `Emit` and `Send` wrap their payload one and two levels deeper. */
const echo: StatefulFunction = createFunction<unknown, { Set: unknown; Emit: unknown; Send: unknown }>({
  type: 'echo',
  payloads: { Set: (p) => p, Emit: (p) => p, Send: (p) => p },
  handlers: {
    Set: (ctx, { payload }) => ctx.state.set(payload),
    Emit: (ctx, { payload }) => {
      const p = asObject(payload);
      ctx.egress('echo-events', String(p.key), 'Emitted', { wrapped: [p.value] });
    },
    Send: (ctx, { payload }) => ctx.send({ type: 'echo', id: 'other' }, 'Set', [payload]),
  },
});
const self = { type: 'echo', id: 'e-1' };

/** `depth` nested arrays around null: depth 0 is null, 1 is [null]. */
const nested = (depth: number): unknown => {
  let v: unknown = null;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};
const nestedText = (depth: number) => '['.repeat(depth) + 'null' + ']'.repeat(depth);

const post = (fn: StatefulFunction, body: unknown) => answer(fn, 'POST', JSON.stringify(body));
const ok = (fn: StatefulFunction, body: unknown): InvocationResponse => {
  const a = post(fn, body);
  expect(a.statusCode).toBe(200);
  return JSON.parse(a.body) as InvocationResponse;
};
const error = (a: { statusCode: number; body: string }) => (JSON.parse(a.body) as { error: string }).error;

describe('nesting and size limits', () => {
  test('a state nested 10,000 levels deep gets 400 with the limit, not 500 "Maximum call stack size exceeded"', () => {
    // Regression: the old SDK answered 500 `function inventory failed: Maximum call stack size exceeded`.
    const body =
      `{"address":{"type":"inventory","id":"sku-1"},"state":${nestedText(10_000)},"stateVersion":1,` +
      `"messages":[{"id":"m-1","type":"RestockItem","payload":{"quantity":1}}]}`;
    const a = answer(inventoryFunction, 'POST', body);
    expect(a.statusCode).toBe(400);
    expect(error(a)).toBe('state of inventory/sku-1 nests deeper than 64 levels (objects/arrays)');
  });

  test('state depth: 64 levels are accepted, 65 are refused', () => {
    expect(MAX_NESTING_DEPTH).toBe(64);
    const set = ok(echo, request(self, nested(64), 3, [msg('Set', 1)]));
    expect(set.state).toBe(1);
    const a = post(echo, request(self, nested(65), 3, [msg('Set', 1)]));
    expect(a.statusCode).toBe(400);
    expect(error(a)).toContain('nests deeper than 64 levels');
  });

  test('a payload nested deeper than 64 levels rejects only its message; the batch goes on', () => {
    const deep = msg('Set', nested(65), null, 'deep');
    const res = ok(echo, request(self, null, 0, [deep, msg('Set', nested(64))]));
    expect(res.rejected).toEqual([
      { messageId: 'deep', reason: 'invalid Set payload: nests deeper than 64 levels (objects/arrays)' },
    ]);
    expect(res.state).toEqual(nested(64));
  });

  test('a payload 100,000 levels deep inside a 200 KB body is still a rejection, not a 500', () => {
    const body =
      `{"address":{"type":"echo","id":"e-1"},"state":null,"stateVersion":0,` +
      `"messages":[{"id":"deep","type":"Set","payload":${nestedText(100_000)}}]}`;
    const a = answer(echo, 'POST', body);
    expect(a.statusCode).toBe(200);
    expect((JSON.parse(a.body) as InvocationResponse).rejected[0].reason).toContain('nests deeper than 64 levels');
  });

  test('a deep value in a field the protocol checks is described, not stringified', () => {
    const a = answer(echo, 'POST', `{"address":${nestedText(50_000)}}`);
    expect(a.statusCode).toBe(400);
    expect(error(a)).toBe('address must be an object {type, id}, got a value nested deeper than 64 levels');
  });

  test('handlers cannot set, send or emit values nested deeper than 64 levels (nor cyclic ones)', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const res = ok(
      echo,
      request(self, null, 0, [
        msg('Send', nested(64), null, 'send'),
        msg('Emit', { key: 'k', value: nested(63) }, null, 'emit'),
        msg('Emit', { key: 'k', value: nested(62) }, null, 'fits'),
      ]),
    );
    expect(res.rejected).toEqual([
      { messageId: 'send', reason: 'Send handler failed: payload of Set nests deeper than 64 levels (objects/arrays)' },
      {
        messageId: 'emit',
        reason: 'Emit handler failed: payload of Emitted nests deeper than 64 levels (objects/arrays)',
      },
    ]);
    expect(res.egress).toHaveLength(1);
    const cycler = createFunction<unknown, { Loop: null }>({
      type: 'echo',
      payloads: { Loop: () => null },
      handlers: { Loop: (ctx) => ctx.state.set(cyclic) },
    });
    const direct = cycler.invoke(request(self, null, 0, [msg('Loop', null, null, 'cyclic')]));
    expect(direct.rejected[0].reason).toBe('Loop handler failed: state nests deeper than 64 levels (objects/arrays)');
  });

  test('state is at most 1 MiB of JSON, in requests (400) and when set (rejection)', () => {
    expect(MAX_STATE_BYTES).toBe(1_048_576);
    const fits = 'x'.repeat(MAX_STATE_BYTES - 2); // plus the two quotes
    expect(ok(echo, request(self, fits, 1, [msg('Set', 1)])).state).toBe(1);
    const a = post(echo, request(self, fits + 'x', 1, [msg('Set', 1)]));
    expect(a.statusCode).toBe(400);
    expect(error(a)).toBe('state of echo/e-1 is 1048577 bytes as JSON, over the limit of 1048576');
    const res = ok(echo, request(self, null, 0, [msg('Set', fits + 'é', null, 'big')]));
    expect(res.rejected).toEqual([
      { messageId: 'big', reason: 'Set handler failed: state is 1048578 bytes as JSON, over the limit of 1048576' },
    ]);
  });

  test('egress partition keys longer than Kinesis allows (256) reject the message instead of the whole response', () => {
    const res = ok(echo, request(self, null, 0, [msg('Emit', { key: 'k'.repeat(257), value: 1 }, null, 'long')]));
    expect(res.rejected[0].reason).toBe(
      'Emit handler failed: egress partition key must have at most 256 chars, got 257',
    );
    expect(ok(echo, request(self, null, 0, [msg('Emit', { key: 'k'.repeat(256), value: 1 })])).egress).toHaveLength(1);
  });

  test('bodies over 10 MiB get 413 from answer() too', () => {
    const a = answer(echo, 'POST', new Uint8Array(10 * 1024 * 1024 + 1));
    expect(a.statusCode).toBe(413);
  });
});

describe('strict UTF-8 request bodies', () => {
  let server: LocalFunctionServer;
  beforeAll(async () => {
    server = await serveLocally(echo, 0);
  });
  afterAll(async () => server?.close());

  const withString = (raw: Buffer) =>
    Buffer.concat([
      Buffer.from(
        '{"address":{"type":"echo","id":"e-1"},"state":null,"stateVersion":0,"messages":[{"id":"m","type":"Set","payload":"',
      ),
      raw,
      Buffer.from('"}]}'),
    ]);

  test.each([
    ['a lone continuation byte', [0x80]],
    ['an invalid byte', [0xff]],
    ['a truncated sequence', [0xe2, 0x82]],
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['an encoded surrogate (CESU-8)', [0xed, 0xa0, 0x80]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ])('a body with %s gets 400 over HTTP instead of being stored with U+FFFD', async (_name, bytes) => {
    // Regression: the old server decoded with Buffer#toString('utf8') and stored "\ufffd".
    const res = await fetch(server.url, { method: 'POST', body: withString(Buffer.from(bytes)) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'request body is not valid UTF-8' });
  });

  test('valid multi-byte UTF-8 and escaped surrogates are accepted and kept', async () => {
    const res = await fetch(server.url, { method: 'POST', body: withString(Buffer.from('é€😀\\ud800', 'utf8')) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as InvocationResponse).state).toBe('é€😀\ud800');
  });

  test('a byte order mark is not skipped: the body is not JSON', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), withString(Buffer.from('a'))]);
    const res = await fetch(server.url, { method: 'POST', body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('request body is not JSON');
  });

  const event = (body: string, isBase64Encoded: boolean) =>
    ({ httpMethod: 'POST', body, isBase64Encoded }) as unknown as APIGatewayProxyEvent;

  test('apiGatewayHandler refuses a base64 body that is not UTF-8 and a string body with a lone surrogate', async () => {
    const bytes = Buffer.from(
      JSON.stringify(request({ type: 'inventory', id: 's' }, null, 0, [msg('RestockItem', { quantity: 1 })])).replace(
        '"s"',
        '"s\u0001"',
      ),
    );
    bytes[bytes.indexOf(0x01)] = 0xff;
    const res = await inventoryHandler(event(bytes.toString('base64'), true));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: 'request body is not valid UTF-8' });
    const lone = JSON.stringify(
      request({ type: 'inventory', id: 'X' }, null, 0, [msg('RestockItem', { quantity: 1 })]),
    );
    const res2 = await inventoryHandler(event(lone.replace('"X"', '"\ud800"'), false));
    expect(res2.statusCode).toBe(400);
  });
});

describe('typed state and payloads in the examples', () => {
  const sku = { type: 'inventory', id: 'sku-1' };
  const restock = (state: unknown) =>
    answer(inventoryFunction, 'POST', JSON.stringify(request(sku, state, 1, [msg('RestockItem', { quantity: 5 })])));

  test('a stored count that is the string "10" is refused with the reason instead of becoming "105"', () => {
    // Regression: the old inventory function answered state {"available":"105",...}.
    const a = restock({ available: '10', reserved: 0, reservations: {} });
    expect(a.statusCode).toBe(400);
    expect(error(a)).toBe(
      'state of inventory/sku-1 is invalid: available must be an integer between 0 and 9007199254740991, got "10"',
    );
  });

  test.each([
    [{ available: 1.5, reserved: 0, reservations: {} }, 'available must be an integer'],
    [{ available: -1, reserved: 0, reservations: {} }, 'available must be an integer between 0'],
    [{ available: 2 ** 53, reserved: 0, reservations: {} }, 'available must be an integer'],
    [{ available: 1, reserved: 2, reservations: { o: 1 } }, 'reserved is 2 but the reservations add up to 1'],
    [{ available: 1, reserved: 1, reservations: { o: '1' } }, 'reservations["o"] must be an integer'],
    [{ available: 2 ** 52, reserved: 2 ** 52, reservations: { o: 1 } }, 'reserved is 4503599627370496 but'],
    [[], 'state must be an object'],
  ])('inventory state %j is refused (%s)', (state, reason) => {
    const a = restock(state);
    expect(a.statusCode).toBe(400);
    expect(error(a)).toContain(reason);
  });

  test('string, fractional, negative and unsafe quantities in payloads are rejected with the reason', () => {
    const res = inventoryFunction.invoke(
      request(sku, null, 0, [
        msg('RestockItem', { quantity: '10' }, null, 'a'),
        msg('RestockItem', { quantity: 1.5 }, null, 'b'),
        msg('RestockItem', { quantity: -1 }, null, 'c'),
        msg('RestockItem', { quantity: 2 ** 53 }, null, 'd'),
      ]),
    );
    expect(res.state).toBeNull();
    expect(res.rejected.map((r) => r.reason)).toEqual([
      'invalid RestockItem payload: quantity must be an integer between 1 and 1000000000, got "10"',
      'invalid RestockItem payload: quantity must be an integer between 1 and 1000000000, got 1.5',
      'invalid RestockItem payload: quantity must be an integer between 1 and 1000000000, got -1',
      'invalid RestockItem payload: quantity must be an integer between 1 and 1000000000, got 9007199254740992',
    ]);
  });

  test('restocking cannot push available + reserved past 2^53 - 1', () => {
    const state = { available: Number.MAX_SAFE_INTEGER - 10, reserved: 10, reservations: { o: 10 } };
    expect(() => checkInventoryState(state)).not.toThrow();
    const res = inventoryFunction.invoke(request(sku, state, 1, [msg('RestockItem', { quantity: 1 }, null, 'r')]));
    expect(res.rejected[0].reason).toContain('would overflow the stock');
  });

  test('an order whose total would pass 2^53 is rejected at PlaceOrder', () => {
    const lines = Array.from({ length: 100 }, (_, i) => ({
      sku: `s-${i}`,
      quantity: 1_000_000,
      unitPriceCents: 100_000_000,
    }));
    const res = orderFunction.invoke(
      request({ type: 'order', id: 'o' }, null, 0, [msg('PlaceOrder', { customerId: 'c', lines }, null, 'p')]),
    );
    expect(res.rejected[0].reason).toBe(
      'invalid PlaceOrder payload: the order total 10000000000000000 cents is not a safe integer',
    );
  });

  test('an order state of the wrong shape is refused with the reason', () => {
    const a = post(
      orderFunction,
      request({ type: 'order', id: 'o' }, { status: 'lost' }, 1, [msg('PayOrder', { amountCents: 1 })]),
    );
    expect(a.statusCode).toBe(400);
    expect(error(a)).toBe(
      'state of order/o is invalid: status must be one of placed, paid, shipped, cancelled, got "lost"',
    );
  });
});

describe('prototype names in state and payloads', () => {
  test('__proto__, constructor and toString keys survive the request, get/set and the response as own keys', () => {
    const state = JSON.parse(
      '{"__proto__":{"polluted":true},"constructor":1,"toString":"x","nested":{"__proto__":[1]}}',
    );
    const fn = createFunction<Record<string, unknown>, { Add: { key: string } }>({
      type: 'echo',
      initialState: {},
      payloads: { Add: (p) => ({ key: String(asObject(p).key) }) },
      handlers: {
        Add: (ctx, { payload }) => {
          const s = ctx.state.get();
          expect(Object.keys(s)).toEqual(['__proto__', 'constructor', 'toString', 'nested']);
          ctx.state.set({ ...s, [payload.key]: 'added' });
        },
      },
    });
    const a = answer(
      fn,
      'POST',
      JSON.stringify(request(self, state, 1, [msg('Add', JSON.parse('{"key":"__proto__"}'))])),
    );
    expect(a.statusCode).toBe(200);
    expect(a.body).toBe(
      '{"state":{"__proto__":"added","constructor":1,"toString":"x","nested":{"__proto__":[1]}},"messages":[],"egress":[],"rejected":[]}',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'inventory: order id %s is an ordinary order id',
    (orderId) => {
      const sku = { type: 'inventory', id: 'sku-1' };
      // Regression: ReleaseStock {orderId:"constructor"} found Object.prototype.constructor as a reservation.
      const none = inventoryFunction.invoke(
        request(sku, { available: 5, reserved: 0, reservations: {} }, 1, [msg('ReleaseStock', { orderId }, null, 'r')]),
      );
      expect(none.rejected).toEqual([{ messageId: 'r', reason: `order ${orderId} holds no reservation of sku-1` }]);
      const reserved = inventoryFunction.invoke(
        request(sku, { available: 5, reserved: 0, reservations: {} }, 1, [
          msg('ReserveStock', { orderId, quantity: 2 }, { type: 'order', id: orderId }),
        ]),
      );
      expect(reserved.rejected).toEqual([]);
      const wire = JSON.parse(JSON.stringify(reserved.state)) as { reservations: Record<string, number> };
      expect(Object.entries(wire.reservations)).toEqual([[orderId, 2]]);
      const released = inventoryFunction.invoke(request(sku, wire, 2, [msg('ReleaseStock', { orderId })]));
      expect(released.rejected).toEqual([]);
      expect(released.state).toEqual({ available: 5, reserved: 0, reservations: {} });
    },
  );
});
