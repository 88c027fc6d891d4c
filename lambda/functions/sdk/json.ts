/**
 * Bounds and safe helpers for the JSON the SDK receives and produces. Every check here is iterative, so no input
 * can exhaust the call stack (V8's `JSON.parse` is iterative too; `JSON.stringify` is not, which is why values are
 * measured before they are serialised).
 */

/**
 * Deepest nesting of objects and arrays allowed in a state, a message payload and the payload of a sent message or
 * egress record. A scalar has depth 0, `{}` and `[]` depth 1, `{"a":[1]}` depth 2.
 */
export const MAX_NESTING_DEPTH = 64;

/** Largest state, as UTF-8 JSON, that a request may carry and a handler may set (1 MiB). */
export const MAX_STATE_BYTES = 1024 * 1024;

/** Whether `value` nests objects/arrays deeper than `limit` levels. Stops at the first path over the limit. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: Array<[object, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [object, number];
    if (depth > limit) return true;
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** JSON text of `value` cut to `max` characters, for error messages; never throws. */
export function preview(value: unknown, max: number): string {
  if (value === undefined) return 'undefined';
  if (nestsDeeperThan(value, MAX_NESTING_DEPTH)) return `a value nested deeper than ${MAX_NESTING_DEPTH} levels`;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    return `an unprintable value (${(e as Error).message})`;
  }
  if (text === undefined) return typeof value;
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strict UTF-8 decoding: returns undefined for invalid sequences, overlong forms, surrogates, > U+10FFFF. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether a string is well-formed UTF-16, i.e. could have come from decoding UTF-8. A body handed over as a string
 * with a lone surrogate code unit was not UTF-8 text. (Escapes such as `"\ud800"` inside JSON strings are JSON, and
 * are not affected.)
 */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}
