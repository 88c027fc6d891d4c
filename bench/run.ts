/**
 * `npm run bench`: measures every row in `bench/rows/` against its baseline, prints the table, and writes
 * `results.json`, `results.md` and `results.svg` (the chart the README shows).
 *
 *   npm run bench                      every row, full sizes, results in bench/
 *   npm run bench -- --only calculator,kpl-decode
 *   npm run bench -- --smoke --out /tmp/x   every row once on tiny inputs (npm test runs this)
 *
 * A figure never fails the run: the exit code is 1 only when a row could not be measured (it threw).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BenchMode, BenchRow, meets, Measurement, ratios, summarize, Target } from './harness';
import { renderChart } from './chart';

export interface RowResult {
  readonly id: string;
  readonly figure: string;
  readonly baseline: string;
  readonly target: Target;
  readonly measurements: ReadonlyArray<{
    readonly variant: string;
    readonly unit: string;
    readonly ratioKind: Measurement['ratio'];
    readonly rounds: number;
    readonly ratio: { median: number; min: number; max: number };
    readonly subject: { median: number; min: number; max: number };
    readonly baseline: { median: number; min: number; max: number };
    readonly met: boolean;
    readonly notes: readonly string[];
  }>;
  readonly error?: string;
  readonly seconds: number;
}

export interface BenchResults {
  readonly date: string;
  readonly mode: BenchMode;
  readonly machine: { cpus: number; cpu: string; memoryGiB: number; os: string; node: string; loadAverage: number[] };
  readonly rows: readonly RowResult[];
}

interface Args {
  mode: BenchMode;
  only?: Set<string>;
  out: string;
}

export function parseArgs(argv: readonly string[]): Args {
  let mode: BenchMode = 'full';
  let only: Set<string> | undefined;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--smoke') mode = 'smoke';
    else if (a === '--only') only = new Set((argv[++i] ?? '').split(',').filter(Boolean));
    else if (a === '--out') out = argv[++i];
    else throw new Error(`unknown argument '${a}' (expected --smoke, --only <ids>, --out <dir>)`);
  }
  if (out === '' || (out === undefined && argv.includes('--out'))) throw new Error('--out needs a directory');
  return { mode, only, out: out ?? path.join(__dirname) };
}

/** Every row of `bench/rows/*.ts`, in file order, ids unique. */
export function loadRows(dir = path.join(__dirname, 'rows')): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'))
    .sort()) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(dir, file)) as { rows?: BenchRow[] };
    if (!Array.isArray(mod.rows)) throw new Error(`bench/rows/${file} exports no 'rows' array`);
    rows.push(...mod.rows);
  }
  const seen = new Set<string>();
  for (const r of rows) {
    if (seen.has(r.id)) throw new Error(`two bench rows have the id '${r.id}'`);
    seen.add(r.id);
  }
  return rows;
}

export async function measureRow(row: BenchRow, mode: BenchMode): Promise<RowResult> {
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  const base = { id: row.id, figure: row.figure, baseline: row.baseline, target: row.target };
  try {
    const measured = await row.measure(mode);
    if (measured.length === 0) throw new Error('measured nothing');
    return {
      ...base,
      measurements: measured.map((m) => {
        const ratio = ratios(m);
        return {
          variant: m.variant,
          unit: m.unit,
          ratioKind: m.ratio,
          rounds: m.subject.length,
          ratio,
          subject: summarize(m.subject),
          baseline: summarize(m.baseline),
          met: meets(ratio.median, row.target),
          notes: m.notes ?? [],
        };
      }),
      seconds: seconds(),
    };
  } catch (e) {
    return { ...base, measurements: [], error: (e as Error).stack ?? String(e), seconds: seconds() };
  }
}

/**
 * A run of some rows (`--only`) over earlier results of the same mode: the rows measured now replace theirs, the
 * others stay, in the order of `bench/rows/`. Earlier results of another mode are dropped.
 */
export function mergeRows(
  earlier: BenchResults,
  now: readonly RowResult[],
  mode: BenchMode,
  order: readonly string[] = loadRows().map((r) => r.id),
): RowResult[] {
  const byId = new Map<string, RowResult>();
  if (earlier.mode === mode) for (const r of earlier.rows) byId.set(r.id, r);
  for (const r of now) byId.set(r.id, r);
  const rank = (id: string) => (order.includes(id) ? order.indexOf(id) : order.length);
  return [...byId.values()].filter((r) => order.includes(r.id)).sort((a, b) => rank(a.id) - rank(b.id));
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2));

/** The Markdown table of the README's performance section. */
export function markdown(results: BenchResults): string {
  const lines = [
    '| figure | baseline | ratio (median, min–max) | target | met | notes |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results.rows) {
    if (r.error) {
      lines.push(`| ${r.figure} | ${r.baseline} | failed to measure | ${r.target.op} ${r.target.value} | | |`);
      continue;
    }
    for (const m of r.measurements) {
      const figure = m.variant ? `${r.figure} — ${m.variant}` : r.figure;
      const ratio = `${fmt(m.ratio.median)}× (${fmt(m.ratio.min)}–${fmt(m.ratio.max)})`;
      lines.push(
        `| ${figure} | ${r.baseline} | ${ratio} | ${r.target.op} ${r.target.value}× | ${m.met ? 'yes' : '**no**'} | ${m.notes.join('; ')} |`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

function machine(): BenchResults['machine'] {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpu: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (!(globalThis as { gc?: unknown }).gc) {
    process.stderr.write(
      'note: node runs without --expose-gc, so rounds are not separated by a GC (npm run bench is)\n',
    );
  }
  const rows = loadRows().filter((r) => !args.only || args.only.has(r.id));
  if (args.only) {
    const unknown = [...args.only].filter((id) => !rows.some((r) => r.id === id));
    if (unknown.length) throw new Error(`no bench row with id ${unknown.join(', ')}`);
  }
  const results: RowResult[] = [];
  for (const row of rows) {
    process.stdout.write(`${row.id}: ${row.figure} …\n`);
    const r = await measureRow(row, args.mode);
    results.push(r);
    if (r.error) process.stdout.write(`  FAILED to measure: ${r.error}\n`);
    for (const m of r.measurements) {
      process.stdout.write(
        `  ${m.variant || '-'}: ${fmt(m.ratio.median)}× (${fmt(m.ratio.min)}–${fmt(m.ratio.max)}, ${m.rounds} rounds)` +
          ` target ${row.target.op} ${row.target.value}× ${m.met ? 'met' : 'NOT met'}` +
          `; subject ${fmt(m.subject.median)} ${m.unit}, baseline ${fmt(m.baseline.median)} ${m.unit}` +
          (m.notes.length ? `\n    ${m.notes.join('\n    ')}` : '') +
          '\n',
      );
    }
    process.stdout.write(`  (${r.seconds.toFixed(1)} s)\n`);
  }
  fs.mkdirSync(args.out, { recursive: true });
  const file = path.join(args.out, 'results.json');
  const rowsOut =
    args.only && fs.existsSync(file)
      ? mergeRows(JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults, results, args.mode)
      : results;
  const out: BenchResults = { date: new Date().toISOString(), mode: args.mode, machine: machine(), rows: rowsOut };
  fs.writeFileSync(path.join(args.out, 'results.json'), JSON.stringify(out, null, 2) + '\n');
  fs.writeFileSync(path.join(args.out, 'results.md'), markdown(out));
  fs.writeFileSync(path.join(args.out, 'results.svg'), renderChart(out));
  process.stdout.write(`\n${markdown(out)}\nwrote results.json, results.md, results.svg to ${args.out}\n`);
  return results.some((r) => r.error) ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(2);
    },
  );
}
