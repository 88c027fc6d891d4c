import { Duration, Token } from 'aws-cdk-lib';

/** Throws with the received value unless `value` is an unresolved token (checked at deploy time instead). */
export function validateRange(name: string, value: number | undefined, min: number, max: number, unit = ''): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be between ${min} and ${max}${unit ? ' ' + unit : ''}, got ${value}`);
  }
}

export function validateInteger(
  name: string,
  value: number | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, got ${value}`);
  }
}

/**
 * Throws with the received value unless `duration` lies between `min` and `max` (inclusive), or is a token.
 * A token duration (`Duration.hours(param.valueAsNumber)`) is never converted here: converting it to another unit
 * gives a meaningless number, and aws-cdk-lib checks the unit it needs itself.
 */
export function validateDuration(name: string, duration: Duration | undefined, min: Duration, max: Duration): void {
  if (duration === undefined || duration.isUnresolved()) return;
  const ms = duration.toMilliseconds({ integral: false });
  if (!Number.isFinite(ms) || ms < min.toMilliseconds() || ms > max.toMilliseconds()) {
    throw new Error(
      `${name} must be between ${min.toHumanString()} and ${max.toHumanString()}, got ${duration.toHumanString()}`,
    );
  }
}

/**
 * Throws with the received value unless `value` matches `pattern` and has `minLength` to `maxLength` characters,
 * or contains a token (checked at deploy time instead). `rule` describes the pattern for the message.
 */
export function validateName(
  name: string,
  value: string | undefined,
  pattern: RegExp,
  minLength: number,
  maxLength: number,
  rule: string,
): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (value.length < minLength || value.length > maxLength || !pattern.test(value)) {
    throw new Error(`${name} must be ${minLength}-${maxLength} characters of ${rule}, got '${value}'`);
  }
}

/**
 * Throws unless `value` (a string, number or Duration) is resolved: for inputs used at synth time (shard sizing, a
 * JSON key, a construct path part), where a deploy-time value cannot be used. `why` says where it is used.
 */
export function requireResolved(name: string, value: unknown, why: string): void {
  const unresolved = value instanceof Duration ? value.isUnresolved() : Token.isUnresolved(value);
  if (value !== undefined && unresolved) {
    throw new Error(`${name} must be a literal value, got an unresolved token: ${why}`);
  }
}

/** `toHumanString()` of a resolved duration; of a token, the text that resolves to its value at deploy time. */
export function describeDuration(duration: Duration): string {
  return duration.isUnresolved() ? duration.formatTokenToNumber() : duration.toHumanString();
}

/**
 * The construct id for a child named by `value`: `${prefix}${value}` when `value` is a literal (so ids stay as they
 * were), or `${prefix}${ordinal}` when it is a token, which must not appear in an id.
 */
export function idFor(prefix: string, value: string, ordinal: number): string {
  return Token.isUnresolved(value) ? `${prefix}${ordinal}` : `${prefix}${value}`;
}

/** Throws when props that configure a new resource are combined with an existing one. */
export function assertExclusive(existingName: string, existing: unknown, conflicting: Record<string, unknown>): void {
  if (existing === undefined) return;
  const given = Object.entries(conflicting)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
  if (given.length > 0) {
    throw new Error(
      `${existingName} cannot be combined with ${given.join(', ')}: those props configure a new resource`,
    );
  }
}
