import * as fc from 'fast-check';

/**
 * Parameters for fast-check properties. `npm test` keeps the number of runs bounded; set FAST_CHECK_RUNS for a
 * longer local run (e.g. FAST_CHECK_RUNS=10000 npx jest test/lambda) and FAST_CHECK_SEED to replay a failure that a
 * run printed. A failing seed worth keeping becomes a regression test of its own, with the counterexample spelled out.
 */
export function propertyParameters<T>(defaultRuns: number): fc.Parameters<T> {
  const runs = process.env.FAST_CHECK_RUNS ? Number(process.env.FAST_CHECK_RUNS) : defaultRuns;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`FAST_CHECK_RUNS must be a positive integer, got ${runs}`);
  const seed = process.env.FAST_CHECK_SEED ? Number(process.env.FAST_CHECK_SEED) : undefined;
  return { numRuns: runs, ...(seed !== undefined ? { seed } : {}) };
}
