/**
 * Thrown by a record handler for a record that can never succeed (malformed, out of range, rejected by business
 * rules). The runtime dead-letters the record with `reason` and `detail` and moves on; retrying would not help.
 * Any other error is treated as transient: the record is reported as a batch item failure and retried by Lambda.
 */
export class DeadLetterError extends Error {
  constructor(
    public readonly reason: string,
    public readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'DeadLetterError';
  }
}

export function isDeadLetterError(e: unknown): e is DeadLetterError {
  return e instanceof DeadLetterError;
}
