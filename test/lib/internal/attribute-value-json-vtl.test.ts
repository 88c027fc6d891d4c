import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { convertToAttr, convertToNative, marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import * as fc from 'fast-check';
import { ATTRIBUTE_VALUE_JSON_MAX_DEPTH, attributeValueJsonVtl } from '../../../lib/internal/attribute-value-json-vtl';
import { propertyParameters } from '../../support/property';
import { renderJson, renderTemplate } from '../ingestion/vtl';

// The integration response body is the attribute value itself, as DynamoDB's JSON API sends it.
const INPUT = "$input.path('$')";

/** DynamoDB's JSON API form of an attribute value: util-dynamodb's, with binary as base64 strings. */
type WireValue = { [type: string]: unknown };

function toWire(value: AttributeValue): WireValue {
  if (value.B) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.M) return { M: Object.fromEntries(Object.entries(value.M).map(([k, v]) => [k, toWire(v)])) };
  if (value.L) return { L: value.L.map(toWire) };
  return { ...value } as WireValue;
}

/** What the read API promises for a native value: sets as arrays, binary as base64, the rest as is. */
function toPlainJson(value: unknown): unknown {
  if (value instanceof Set) return [...value].map(toPlainJson);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toPlainJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlainJson(v)]));
  }
  return value;
}

/** Renders the walker over `wire` (the root value at depth 0) and parses its output. */
function render(wire: unknown, options: { maxDepth?: number; value?: string } = {}): unknown {
  return renderJson(attributeValueJsonVtl({ value: options.value ?? INPUT, maxDepth: options.maxDepth }), {
    body: JSON.stringify(wire),
  }).json;
}

// util-dynamodb turns numbers beyond the safe integers into BigInt (or refuses them), which plain JSON has not.
const safeNumber = fc.oneof(
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  fc.double({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, noNaN: true }),
);
// Any code point, with the characters JSON and VTL escaping treat specially drawn more often.
const text = fc.string({
  unit: fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.constantFrom("'", '"', '\\', '/', '\n', '\u0000', '\u007f', '\u2028', '\ud800', '😀', '$', '#'),
  ),
  maxLength: 20,
});
const { json } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', maxDepth: 6 },
    fc.constant(null),
    fc.boolean(),
    safeNumber,
    text,
    fc.array(tie('json'), { maxLength: 5 }),
    fc.dictionary(text, tie('json'), { maxKeys: 5 }),
  ),
}));
// Everything util-dynamodb marshals: JSON plus non-empty string, number and binary sets, and binary.
const { native } = fc.letrec<{ native: unknown }>((tie) => ({
  native: fc.oneof(
    { depthSize: 'small', maxDepth: 5 },
    fc.constant(null),
    fc.boolean(),
    safeNumber,
    text,
    fc.uint8Array({ maxLength: 12 }),
    fc.uniqueArray(text, { minLength: 1, maxLength: 4 }).map((a) => new Set(a)),
    fc.uniqueArray(safeNumber, { minLength: 1, maxLength: 4, comparator: 'SameValueZero' }).map((a) => new Set(a)),
    fc
      .uniqueArray(fc.uint8Array({ maxLength: 6 }), {
        minLength: 1,
        maxLength: 3,
        selector: (b) => Buffer.from(b).toString('hex'),
      })
      .map((a) => new Set(a)),
    fc.array(tie('native'), { maxLength: 4 }),
    fc.dictionary(text, tie('native'), { maxKeys: 4 }),
  ),
}));

/** Nesting of maps and lists in a JSON or native value (a scalar is 0). */
function nesting(value: unknown): number {
  if (value instanceof Set || value instanceof Uint8Array || value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(nesting));
}

/** The documented contract: plain JSON down to `maxDepth`, the AttributeValue JSON of anything deeper. */
function expected(value: AttributeValue, depth: number, maxDepth: number): unknown {
  if (depth > maxDepth) return toWire(value);
  if (value.M)
    return Object.fromEntries(Object.entries(value.M).map(([k, v]) => [k, expected(v, depth + 1, maxDepth)]));
  if (value.L) return value.L.map((v) => expected(v, depth + 1, maxDepth));
  return toPlainJson(convertToNative(value));
}

describe('attributeValueJsonVtl', () => {
  test('an item (a map of attributes) renders as util-dynamodb unmarshalls it', () => {
    fc.assert(
      fc.property(fc.dictionary(text, json, { maxKeys: 6 }), (item) => {
        const attributes = marshall(item);
        expect(render(toWire({ M: attributes }))).toEqual(unmarshall(attributes));
      }),
      propertyParameters(200),
    );
  });

  test('any JSON value renders as util-dynamodb converts it back', () => {
    fc.assert(
      fc.property(json, (value) => {
        const attribute = convertToAttr(value);
        expect(render(toWire(attribute))).toEqual(convertToNative(attribute));
      }),
      propertyParameters(200),
    );
  });

  test('sets and binary render as arrays and base64 strings, in their order', () => {
    fc.assert(
      fc.property(native, (value) => {
        const attribute = convertToAttr(value);
        expect(render(toWire(attribute))).toEqual(toPlainJson(convertToNative(attribute)));
      }),
      propertyParameters(200),
    );
  });

  test('values deeper than maxDepth come back whole as their AttributeValue JSON', () => {
    fc.assert(
      fc.property(native, fc.integer({ min: 0, max: 3 }), (value, maxDepth) => {
        fc.pre(nesting(value) > maxDepth);
        const attribute = convertToAttr(value);
        expect(render(toWire(attribute), { maxDepth })).toEqual(expected(attribute, 0, maxDepth));
      }),
      propertyParameters(200),
    );
  });

  test(`converts ${ATTRIBUTE_VALUE_JSON_MAX_DEPTH} levels by default; deeper ones stay AttributeValue JSON`, () => {
    // { a: [ { a: [ ... 'leaf' ] } ] } as an item: maps and lists alternate, `a` of the root map is at depth 1.
    let value: unknown = 'leaf';
    for (let level = 40; level >= 1; level--) value = level % 2 === 1 ? { a: value } : [value];
    const attribute = convertToAttr(value);
    const child = (v: unknown) => (Array.isArray(v) ? v[0] : (v as Record<string, unknown>).a);
    const childAttribute = (v: AttributeValue) => (v.M ? v.M.a : v.L![0]);
    let out = render(toWire(attribute));
    let deep = attribute;
    for (let depth = 1; depth <= ATTRIBUTE_VALUE_JSON_MAX_DEPTH; depth++) {
      out = child(out);
      deep = childAttribute(deep);
      expect(typeof out === 'object' && !('M' in (out as object)) && !('L' in (out as object))).toBe(true);
    }
    expect(child(out)).toEqual(toWire(childAttribute(deep)));
    expect(render(toWire(attribute))).toEqual(expected(attribute, 0, ATTRIBUTE_VALUE_JSON_MAX_DEPTH));
  });

  test('strings and keys with quotes, backslashes, unicode and control characters stay exact', () => {
    const tricky = [
      `it's "quoted"`,
      "\\'",
      '\\',
      "\\\\''",
      '</script>',
      'tab\tnew\nline\rcr\bbs\fff',
      '\u0000\u0001\u001f\u007f',
      'é ü ß 日本 😀 \u2028\u2029',
      '\ud800 lone surrogate',
      '$dollar #hash ${x} #{y}',
      '',
    ];
    const item = Object.fromEntries(tricky.map((s, i) => [s || 'empty', { s, list: [s], set: new Set([s, `${i}`]) }]));
    const attributes = marshall(item);
    expect(render(toWire({ M: attributes }))).toEqual(toPlainJson(unmarshall(attributes)));
  });

  test('binary and binary sets render as base64 strings', () => {
    const wire = { M: { b: { B: 'AAEC/w==' }, bs: { BS: ['AA==', '/w=='] }, ns: { NS: ['1', '-2.5', '1E+3'] } } };
    expect(render(wire)).toEqual({ b: 'AAEC/w==', bs: ['AA==', '/w=='], ns: [1, -2.5, 1000] });
    expect(render(wire, { maxDepth: 0 })).toEqual(wire.M);
  });

  test('a value of an unknown type renders as null', () => {
    expect(render({ M: { future: { X: 'y' }, known: { S: 'z' } } })).toEqual({ future: null, known: 'z' });
  });

  test('walks elements past one step loop of 1,000 (wide lists and maps)', () => {
    const value = {
      list: Array.from({ length: 2500 }, (_, i) => i),
      map: Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`k${i}`, { i }])),
    };
    expect(render(toWire(convertToAttr(value)))).toEqual(value);
  });

  test('the template is a few KB and does not grow with maxDepth', () => {
    const small = attributeValueJsonVtl({ value: INPUT, maxDepth: 1 });
    const large = attributeValueJsonVtl({ value: INPUT, maxDepth: 1000 });
    expect(small.length).toBeLessThan(5000);
    expect(large.length - small.length).toBeLessThanOrEqual(6);
  });

  test('prints no whitespace of its own', () => {
    const { output } = renderTemplate(attributeValueJsonVtl({ value: INPUT }), {
      body: JSON.stringify(toWire({ M: marshall({ a: [1, { b: 'c d' }], e: {} }) })),
    });
    expect(output).toBe('{"a":[1,{"b":"c d"}],"e":{}}');
  });

  test('depth -1 puts the attributes of a list of items at depth 1, as for a single item', () => {
    const items = [marshall({ a: { b: 1 } }), marshall({ a: { b: 2 } })];
    const wire = { L: items.map((m) => ({ M: m })) };
    const template = attributeValueJsonVtl({ value: INPUT, depth: -1, maxDepth: 1 });
    expect(renderJson(template, { body: JSON.stringify(wire) }).json).toEqual([
      { a: { b: { N: '1' } } },
      { a: { b: { N: '2' } } },
    ]);
  });

  test.each([
    ['depth', { depth: 0.5 }, /depth must be an integer, got 0.5/],
    ['maxDepth', { maxDepth: Number.NaN }, /maxDepth must be an integer, got NaN/],
  ])('rejects a non-integer %s with the received value', (_name, options, message) => {
    expect(() => attributeValueJsonVtl({ value: INPUT, ...options })).toThrow(message);
  });
});
