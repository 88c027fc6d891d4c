import { preview } from './json';

/**
 * Small checks for writing payload parsers and state checks. Each throws `PayloadError` naming the field and the
 * value received; the SDK turns it into a rejection of the message (or a 400 for a stored state). They never coerce:
 * the string `"10"` is not an integer, `1.5` is not an integer, `1e300` is not a safe integer.
 */
export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

function show(v: unknown): string {
  return preview(v, 60);
}

export function asObject(v: unknown, what = 'payload'): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new PayloadError(`${what} must be an object, got ${show(v)}`);
  return v as Record<string, unknown>;
}

export function asString(v: unknown, what: string, maxLength = 256): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > maxLength) {
    throw new PayloadError(`${what} must be a non-empty string of at most ${maxLength} chars, got ${show(v)}`);
  }
  return v;
}

export function asOptionalString(v: unknown, what: string, maxLength = 256): string | undefined {
  return v === undefined || v === null ? undefined : asString(v, what, maxLength);
}

/** A safe integer (`Number.isSafeInteger`) in [min, max]: pass `min` 0 for counts that may be zero, 1 for quantities. */
export function asInteger(v: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new PayloadError(`${what} must be an integer between ${min} and ${max}, got ${show(v)}`);
  }
  return v;
}

/** A finite number in [min, max]. */
export function asNumber(v: unknown, what: string, min: number, max = Number.MAX_VALUE): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new PayloadError(`${what} must be a number between ${min} and ${max}, got ${show(v)}`);
  }
  return v;
}

export function asArray(v: unknown, what: string, minLength: number, maxLength: number): unknown[] {
  if (!Array.isArray(v) || v.length < minLength || v.length > maxLength) {
    throw new PayloadError(`${what} must be an array of ${minLength} to ${maxLength} items, got ${show(v)}`);
  }
  return v;
}

/** One of the listed strings. */
export function asOneOf<T extends string>(v: unknown, what: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new PayloadError(`${what} must be one of ${allowed.join(', ')}, got ${show(v)}`);
  }
  return v as T;
}

/**
 * An object used as a map (`{[key]: value}`) of at most `maxEntries` own entries, each value checked by `value`.
 * Keys are any strings, `__proto__` and `constructor` included: the result is built with own data properties, so
 * look entries up with `Object.hasOwn(map, key)`, never with `map[key] !== undefined` (inherited names would match).
 */
export function asRecord<T>(
  v: unknown,
  what: string,
  value: (entry: unknown, what: string) => T,
  maxEntries = 10_000,
): Record<string, T> {
  const obj = asObject(v, what);
  const keys = Object.keys(obj);
  if (keys.length > maxEntries)
    throw new PayloadError(`${what} must have at most ${maxEntries} entries, got ${keys.length}`);
  const out: Record<string, T> = {};
  for (const key of keys) {
    Object.defineProperty(out, key, {
      value: value(obj[key], `${what}[${preview(key, 40)}]`),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
