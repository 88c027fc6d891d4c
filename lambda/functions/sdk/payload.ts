/**
 * Small checks for writing payload parsers. Each throws `PayloadError` naming the field and the value received;
 * the SDK turns it into a rejection of the message.
 */
export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
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

/** An integer in [min, max]. */
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
