#!/usr/bin/env node
import { ShardCalculator, ShardCalculatorProps } from '../lib/storage/shard-calculator';

const FLAGS: Record<string, keyof ShardCalculatorProps> = {
  '--records-per-second': 'recordsPerSecond',
  '--record-bytes': 'averageRecordBytes',
  '--peak-factor': 'peakFactor',
  '--shared-consumers': 'sharedThroughputConsumers',
  '--efo-consumers': 'enhancedFanOutConsumers',
  '--headroom': 'targetHeadroom',
};

const USAGE = `usage: npm run plan -- --records-per-second <n> --record-bytes <n> [--peak-factor 2] [--shared-consumers 1] [--efo-consumers 0] [--headroom 0.2] [--predictable] [--json]`;

/** Parses CLI arguments into calculator props; throws with the offending value. */
export function parsePlanArgs(argv: readonly string[]): { props: ShardCalculatorProps; json: boolean } {
  const values: Partial<Record<keyof ShardCalculatorProps, number>> = {};
  let json = false;
  let predictable = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--json') {
      json = true;
      continue;
    }
    if (flag === '--predictable') {
      predictable = true;
      continue;
    }
    const key = FLAGS[flag];
    if (!key) throw new Error(`unknown argument '${flag}'\n${USAGE}`);
    const raw = argv[++i];
    const n = Number(raw);
    if (raw === undefined || raw.trim() === '' || !Number.isFinite(n)) {
      throw new Error(`${flag} needs a number, got '${raw ?? ''}'`);
    }
    values[key] = n;
  }
  if (values.recordsPerSecond === undefined || values.averageRecordBytes === undefined) {
    throw new Error(`--records-per-second and --record-bytes are required\n${USAGE}`);
  }
  return { props: { ...(values as unknown as ShardCalculatorProps), loadPredictable: predictable }, json };
}

export function main(argv: readonly string[], out: (s: string) => void = console.log): number {
  try {
    const { props, json } = parsePlanArgs(argv);
    const plan = ShardCalculator.calculate(props);
    out(json ? JSON.stringify(plan, null, 2) : ShardCalculator.formatPlan(plan));
    return 0;
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
