import * as fc from 'fast-check';
import { inventoryFunction } from '../../../lambda/functions/inventory';
import { orderFunction } from '../../../lambda/functions/order';
import {
  answer,
  createFunction,
  HttpAnswer,
  InvocationResponse,
  StatefulFunction,
} from '../../../lambda/functions/sdk';
import { propertyParameters } from '../../support/property';

/**
 * Properties of the HTTP answer: any body gets a well-formed protocol answer (200 with a response, or 400/413 with
 * `{"error"}`), never a throw or a 500; valid invocations round-trip state exactly as JSON carries it.
 */
const echo: StatefulFunction = createFunction<unknown, { Set: unknown }>({
  type: 'echo',
  payloads: { Set: (p) => p },
  handlers: { Set: (ctx, { payload }) => ctx.state.set(payload) },
});
const functions = [echo, orderFunction, inventoryFunction];

function wellFormed(a: HttpAnswer): void {
  expect([200, 400, 413]).toContain(a.statusCode);
  const body = JSON.parse(a.body) as Record<string, unknown>;
  if (a.statusCode === 200) {
    expect(Object.keys(body)).toEqual(['state', 'messages', 'egress', 'rejected']);
  } else {
    expect(Object.keys(body)).toEqual(['error']);
    expect(typeof body.error).toBe('string');
    expect((body.error as string).length).toBeLessThan(2048);
  }
}

const envelope = (type: string, state: unknown, payload: unknown, stateVersion = 1) => ({
  address: { type, id: 'a-1' },
  state,
  stateVersion,
  messages: [{ id: 'm-1', type: 'Set', from: null, payload }],
});

/** JSON text of a value nested `depth` levels deep (alternating arrays and objects around a JSON leaf), built as
 * text because JSON.stringify itself cannot serialise 5000 levels. */
const deepText = fc
  .record({ depth: fc.integer({ min: 0, max: 5000 }), leaf: fc.jsonValue({ maxDepth: 1 }) })
  .map(({ depth, leaf }) => {
    const open: string[] = [];
    const close: string[] = [];
    for (let i = 0; i < depth; i++) {
      open.push(i % 2 === 0 ? '[' : '{"k":');
      close.unshift(i % 2 === 0 ? ']' : '}');
    }
    return open.join('') + JSON.stringify(leaf) + close.join('');
  });
const jsonText = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  deepText,
);

describe('SDK answers (properties)', () => {
  test('arbitrary bytes get a well-formed answer', () => {
    fc.assert(
      fc.property(fc.constantFrom(...functions), fc.uint8Array({ maxLength: 200 }), (fn, bytes) => {
        wellFormed(answer(fn, 'POST', bytes));
      }),
      propertyParameters(100),
    );
  });

  test('arbitrary strings (lone surrogates included) and JSON documents get a well-formed answer', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...functions),
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 100 }),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (fn, body) => wellFormed(answer(fn, 'POST', body)),
      ),
      propertyParameters(100),
    );
  });

  test('arbitrary JSON as state or payload of an otherwise valid request gets a well-formed answer', () => {
    fc.assert(
      fc.property(fc.constantFrom(...functions), jsonText, jsonText, fc.boolean(), (fn, state, payload, rightType) => {
        const body =
          `{"address":{"type":${JSON.stringify(rightType ? fn.type : 'other')},"id":"a-1"},"state":${state},` +
          `"stateVersion":1,"messages":[{"id":"m-1","type":"Set","from":null,"payload":${payload}}]}`;
        wellFormed(answer(fn, 'POST', body));
      }),
      propertyParameters(100),
    );
  });

  test('huge strings in state or payload get a well-formed answer (400 over the state limit)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 * 1024 * 1024 }), fc.boolean(), (length, inState) => {
        const big = 'é'.repeat(Math.floor(length / 2));
        const a = answer(
          echo,
          'POST',
          JSON.stringify(inState ? envelope('echo', big, 1) : envelope('echo', null, big, 0)),
        );
        wellFormed(a);
        const stateBytes = Buffer.byteLength(JSON.stringify(big));
        if (inState) expect(a.statusCode).toBe(stateBytes > 1024 * 1024 ? 400 : 200);
      }),
      propertyParameters(20),
    );
  });

  test('a payload set as state comes back as its JSON form, and round-trips through the next request', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const wire = JSON.parse(JSON.stringify(value)) as unknown;
        const first = answer(echo, 'POST', JSON.stringify(envelope('echo', null, value, 0)));
        expect(first.statusCode).toBe(200);
        const res = JSON.parse(first.body) as InvocationResponse;
        expect(JSON.stringify(res.state)).toBe(JSON.stringify(wire));
        if (res.state === null) return;
        // The stored state comes back unchanged when the next message sets it again.
        const second = answer(echo, 'POST', JSON.stringify(envelope('echo', res.state, res.state, 1)));
        expect(JSON.parse(second.body)).toEqual(res);
      }),
      propertyParameters(100),
    );
  });
});
