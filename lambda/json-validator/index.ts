import { DeadLetterError, DecodedRecord, kinesisHandler, parseJson } from '../shared';

/**
 * Example stream handler used by the foundation's example stack: accepts JSON objects that carry every field
 * named in `REQUIRED_FIELDS` (comma-separated) and dead-letters anything else with the reason.
 */
export function validateRecord(record: DecodedRecord, requiredFields: readonly string[]): Record<string, unknown> {
  const value = parseJson(record);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DeadLetterError('SCHEMA', `expected a JSON object, got ${Array.isArray(value) ? 'array' : typeof value}`);
  }
  const obj = value as Record<string, unknown>;
  const missing = requiredFields.filter((f) => obj[f] === undefined || obj[f] === null);
  if (missing.length > 0) {
    throw new DeadLetterError('SCHEMA', `missing required field(s): ${missing.join(', ')}`);
  }
  return obj;
}

const required = (process.env.REQUIRED_FIELDS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

export const handler = kinesisHandler('json-validator', (record) => {
  validateRecord(record, required);
});
