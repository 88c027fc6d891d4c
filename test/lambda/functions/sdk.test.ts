import {
  asInteger,
  asObject,
  createFunction,
  InvalidInvocationError,
  parseInvocation,
  StatefulFunction,
} from '../../../lambda/functions/sdk';
import { msg, request } from './support';

interface Counter {
  readonly count: number;
}
interface CounterMessages {
  Add: { readonly by: number };
  Reset: Record<string, never>;
  Forward: { readonly to: string };
  Explode: Record<string, never>;
  RejectOther: { readonly otherId: string };
}

const empty = () => ({});

/** A counter that exercises every context operation. */
const counter: StatefulFunction = createFunction<Counter, CounterMessages>({
  type: 'counter',
  initialState: { count: 0 },
  payloads: {
    Add: (p) => ({ by: asInteger(asObject(p).by, 'by', 1, 100) }),
    Reset: empty,
    Forward: (p) => ({ to: String(asObject(p).to) }),
    Explode: empty,
    RejectOther: (p) => ({ otherId: String(asObject(p).otherId) }),
  },
  handlers: {
    Add: (ctx, { id, payload }) => {
      const s = ctx.state.get();
      ctx.state.set({ count: s.count + payload.by });
      ctx.egress('counter-events', ctx.self.id, 'Added', { count: s.count + payload.by });
      if (s.count + payload.by > 10) ctx.reject(id, `count would exceed 10 (is ${s.count})`);
    },
    Reset: (ctx) => ctx.state.delete(),
    Forward: (ctx, { payload }) => ctx.send({ type: 'counter', id: payload.to }, 'Add', { by: ctx.state.get().count }),
    Explode: (ctx) => {
      ctx.state.set({ count: 999 });
      throw new Error('boom');
    },
    RejectOther: (ctx, { payload }) => ctx.reject(payload.otherId, 'nope'),
  },
});

const self = { type: 'counter', id: 'c-1' };

describe('parseInvocation', () => {
  const valid = () => ({ address: self, state: null, stateVersion: 0, messages: [msg('Add', { by: 1 })] });

  test('accepts a valid request and defaults a missing from/payload to null', () => {
    const parsed = parseInvocation({ ...valid(), messages: [{ id: 'a', type: 'Reset' }] });
    expect(parsed.messages).toEqual([{ id: 'a', type: 'Reset', from: null, payload: null }]);
  });

  test.each([
    ['a non-object', [1, 2], /request must be a JSON object, got \[1,2\]/],
    ['a missing address', { ...valid(), address: undefined }, /address must be an object \{type, id\}, got undefined/],
    [
      'an empty address id',
      { ...valid(), address: { type: 'counter', id: '' } },
      /address.id must be a non-empty string.*got ""/,
    ],
    ['a missing state', { address: self, stateVersion: 0, messages: valid().messages }, /state is required/],
    ['a negative stateVersion', { ...valid(), stateVersion: -1 }, /stateVersion must be an integer >= 0, got -1/],
    ['a fractional stateVersion', { ...valid(), stateVersion: 1.5 }, /stateVersion must be an integer >= 0, got 1.5/],
    [
      'state on version 0',
      { ...valid(), state: { count: 1 } },
      /stateVersion 0 means a new address, but state is \{"count":1\}/,
    ],
    ['no messages', { ...valid(), messages: [] }, /messages must be a non-empty array, got \[\]/],
    [
      'a message without id',
      { ...valid(), messages: [{ type: 'Add' }] },
      /messages\[0\].id must be a non-empty string/,
    ],
    [
      'a message without type',
      { ...valid(), messages: [{ id: 'x' }] },
      /messages\[0\].type must be a non-empty string/,
    ],
    [
      'a bad from',
      { ...valid(), messages: [{ id: 'x', type: 'Add', from: 'order' }] },
      /messages\[0\].from must be an object/,
    ],
    [
      'duplicate ids',
      { ...valid(), messages: [msg('Reset', {}, null, 'd'), msg('Reset', {}, null, 'd')] },
      /messages\[1\].id "d" appears more than once/,
    ],
  ])('rejects %s', (_name, body, message) => {
    expect(() => parseInvocation(body)).toThrow(InvalidInvocationError);
    expect(() => parseInvocation(body)).toThrow(message);
  });
});

describe('createFunction', () => {
  test('refuses an address of another function type', () => {
    const body = request({ type: 'order', id: 'o-1' }, null, 0, [msg('Add', { by: 1 })]);
    expect(() => counter.invoke(body)).toThrow(/serves function type "counter", got address.type "order"/);
  });

  test('applies messages in order against the state left by the previous ones', () => {
    const res = counter.invoke(request(self, { count: 2 }, 3, [msg('Add', { by: 3 }), msg('Add', { by: 4 })]));
    expect(res.state).toEqual({ count: 9 });
    expect(res.egress.map((e) => e.payload)).toEqual([{ count: 5 }, { count: 9 }]);
    expect(res.rejected).toEqual([]);
  });

  test('starts a new address from initialState', () => {
    const res = counter.invoke(request(self, null, 0, [msg('Add', { by: 1 })]));
    expect(res.state).toEqual({ count: 1 });
    expect(res.egress).toEqual([
      { egress: 'counter-events', partitionKey: 'c-1', type: 'Added', payload: { count: 1 } },
    ]);
  });

  test('a rejected message leaves no state change and no egress; later messages still apply', () => {
    const add = msg('Add', { by: 5 });
    const res = counter.invoke(request(self, { count: 8 }, 1, [add, msg('Reset', {})]));
    expect(res.rejected).toEqual([{ messageId: add.id, reason: 'count would exceed 10 (is 8)' }]);
    expect(res.egress).toEqual([]);
    expect(res.state).toBeNull();
  });

  test('unknown message types are rejected, not thrown, including Object.prototype names', () => {
    const a = msg('Multiply', { by: 2 });
    const b = msg('constructor', {});
    const res = counter.invoke(request(self, { count: 1 }, 1, [a, b]));
    expect(res.rejected).toEqual([
      { messageId: a.id, reason: 'function counter has no handler for message type "Multiply"' },
      { messageId: b.id, reason: 'function counter has no handler for message type "constructor"' },
    ]);
    expect(res.state).toEqual({ count: 1 });
  });

  test('a payload that fails its parser is rejected with the parser reason', () => {
    const m = msg('Add', { by: 0 });
    const res = counter.invoke(request(self, null, 0, [m]));
    expect(res.rejected).toEqual([
      { messageId: m.id, reason: 'invalid Add payload: by must be an integer between 1 and 100, got 0' },
    ]);
    expect(res.state).toBeNull();
  });

  test('a handler that throws rejects its message and rolls back its state change', () => {
    const m = msg('Explode', {});
    const res = counter.invoke(request(self, { count: 4 }, 2, [m]));
    expect(res.rejected).toEqual([{ messageId: m.id, reason: 'Explode handler failed: boom' }]);
    expect(res.state).toEqual({ count: 4 });
  });

  test('only the message being handled can be rejected', () => {
    const m = msg('RejectOther', { otherId: 'someone-else' });
    const res = counter.invoke(request(self, { count: 1 }, 1, [m]));
    expect(res.rejected[0].reason).toMatch(
      /reject\(\) can only reject the message being handled \(.+\), got someone-else/,
    );
  });

  test('send addresses another function with a JSON payload', () => {
    const res = counter.invoke(request(self, { count: 7 }, 1, [msg('Forward', { to: 'c-2' })]));
    expect(res.messages).toEqual([{ to: { type: 'counter', id: 'c-2' }, type: 'Add', payload: { by: 7 } }]);
  });

  test('state.get returns a copy: mutating it without set changes nothing', () => {
    interface Box {
      readonly items: string[];
    }
    const fn = createFunction<Box, { Push: { item: string } }>({
      type: 'box',
      initialState: { items: [] },
      payloads: { Push: (p) => ({ item: String(asObject(p).item) }) },
      handlers: {
        Push: (ctx, { payload }) => {
          ctx.state.get().items.push('lost');
          const s = ctx.state.get();
          ctx.state.set({ items: [...s.items, payload.item] });
        },
      },
    });
    const res = fn.invoke(request({ type: 'box', id: 'b' }, null, 0, [msg('Push', { item: 'a' })]));
    expect(res.state).toEqual({ items: ['a'] });
  });

  test('state that JSON cannot carry rejects the message instead of being altered', () => {
    const fn = createFunction<{ v: number }, { Set: Record<string, never> }>({
      type: 'bad',
      initialState: { v: 0 },
      payloads: { Set: empty },
      handlers: { Set: (ctx) => ctx.state.set({ v: Number.NaN }) },
    });
    const m = msg('Set', {});
    const res = fn.invoke(request({ type: 'bad', id: 'x' }, null, 0, [m]));
    expect(res.rejected).toEqual([
      { messageId: m.id, reason: 'Set handler failed: state contains the non-finite number NaN' },
    ]);
  });

  test('the same request gives the same response (determinism per address and stateVersion)', () => {
    const body = request(self, { count: 1 }, 5, [
      msg('Add', { by: 2 }),
      msg('Forward', { to: 'c-9' }),
      msg('Nope', {}),
    ]);
    const first = JSON.stringify(counter.invoke(body));
    const second = JSON.stringify(counter.invoke(JSON.parse(JSON.stringify(body))));
    expect(second).toBe(first);
  });

  test('refuses a spec whose handler has no payload parser', () => {
    expect(() =>
      createFunction<{ n: number }, { A: unknown }>({
        type: 't',
        initialState: { n: 0 },
        payloads: {} as { A: (p: unknown) => unknown },
        handlers: { A: () => undefined },
      }),
    ).toThrow(/function t: message type A has no payload parser/);
  });
});
