import { Token } from 'aws-cdk-lib';

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
