import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BenchRow, interleave, meets, ratios, summarize } from '../../bench/harness';
import { BenchResults, loadRows, markdown, measureRow, mergeRows, parseArgs, RowResult } from '../../bench/run';
import { renderChart } from '../../bench/chart';

const row = (measure: BenchRow['measure'], target: BenchRow['target'] = { op: '<=', value: 1.5 }): BenchRow => ({
  id: 'r',
  figure: 'a figure',
  baseline: 'a floor',
  target,
  measure,
});

describe('bench harness', () => {
  test('summarize gives median, min and max; ratios are per round', () => {
    expect(summarize([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
    expect(summarize([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4 });
    expect(() => summarize([])).toThrow(/no values/);
    const m = { variant: '', unit: 'ms', ratio: 'cost' as const, subject: [2, 6, 3], baseline: [1, 2, 3] };
    expect(ratios(m)).toEqual({ median: 2, min: 1, max: 3 });
    expect(() => ratios({ ...m, baseline: [1] })).toThrow(/3 subject rounds, 1 baseline/);
  });

  test('meets reads <= as an upper bound and >= as a lower one', () => {
    expect(meets(1.5, { op: '<=', value: 1.5 })).toBe(true);
    expect(meets(1.51, { op: '<=', value: 1.5 })).toBe(false);
    expect(meets(50, { op: '>=', value: 50 })).toBe(true);
    expect(meets(49, { op: '>=', value: 50 })).toBe(false);
  });

  test('interleave alternates which side goes first and times each round', async () => {
    const order: string[] = [];
    const out = await interleave(
      () => order.push('s'),
      () => order.push('b'),
      { rounds: 4, warmup: 1 },
    );
    expect(order).toEqual(['s', 'b', 's', 'b', 'b', 's', 's', 'b', 'b', 's']);
    expect(out.subject).toHaveLength(4);
    expect(out.baseline).toHaveLength(4);
    for (const t of [...out.subject, ...out.baseline]) expect(t).toBeGreaterThanOrEqual(0);
  });

  test('interleave measures: a side doing ten times the work takes longer', async () => {
    const spin = (n: number) => () => {
      let x = 0;
      for (let i = 0; i < n; i++) x += Math.sqrt(i);
      return x;
    };
    const out = await interleave(spin(2_000_000), spin(200_000), { rounds: 5 });
    expect(ratios({ variant: '', unit: 'ms', ratio: 'cost', ...out }).median).toBeGreaterThan(3);
  });
});

describe('bench runner', () => {
  test('parses its flags and refuses unknown ones', () => {
    expect(parseArgs([])).toMatchObject({ mode: 'full', only: undefined });
    expect(parseArgs(['--smoke', '--only', 'a,b', '--out', '/tmp/x'])).toEqual({
      mode: 'smoke',
      only: new Set(['a', 'b']),
      out: '/tmp/x',
    });
    expect(() => parseArgs(['--fast'])).toThrow(/unknown argument '--fast'/);
    expect(() => parseArgs(['--out'])).toThrow(/--out needs a directory/);
  });

  test('a row that throws is reported with its error, not thrown', async () => {
    const r = await measureRow(
      row(async () => {
        throw new Error('no java');
      }),
      'smoke',
    );
    expect(r.error).toMatch(/no java/);
    expect(r.measurements).toEqual([]);
    const empty = await measureRow(
      row(async () => []),
      'smoke',
    );
    expect(empty.error).toMatch(/measured nothing/);
  });

  test('every measurement gets its ratio, summaries and verdict; markdown and chart show them', async () => {
    const r = await measureRow(
      row(async () => [
        { variant: '100 devices', unit: 'ms', ratio: 'cost', subject: [1.2, 1.4, 1.3], baseline: [1, 1, 1] },
        {
          variant: '1,000 devices',
          unit: 'ms',
          ratio: 'cost',
          subject: [2, 2, 2],
          baseline: [1, 1, 1],
          notes: ['2 MB'],
        },
      ]),
      'full',
    );
    expect(r.measurements.map((m) => [m.variant, m.ratio.median, m.met])).toEqual([
      ['100 devices', 1.3, true],
      ['1,000 devices', 2, false],
    ]);
    const results: BenchResults = {
      date: '2026-12-02T00:00:00.000Z',
      mode: 'full',
      machine: { cpus: 2, cpu: 'cpu <x>', memoryGiB: 24, os: 'Linux', node: 'v20', loadAverage: [1] },
      rows: [r],
    };
    const md = markdown(results);
    expect(md).toContain('| a figure — 100 devices | a floor | 1.30× (1.20–1.40) | <= 1.5× | yes |');
    expect(md).toContain('| a figure — 1,000 devices | a floor | 2.00× (2.00–2.00) | <= 1.5× | **no** | 2 MB |');
    const svg = renderChart(results);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('cpu &lt;x&gt;');
    // One bar per measurement, green when met, red when not.
    expect(svg.match(/<rect x=/g)).toHaveLength(2);
    expect(svg).toContain('fill="#2e7d32"');
    expect(svg).toContain('fill="#c62828"');
  });

  test('loads every rows file, and refuses a file without rows or two rows with one id', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-rows-'));
    try {
      const file = (name: string, ids: string[]) =>
        fs.writeFileSync(path.join(dir, name), `exports.rows = ${JSON.stringify(ids.map((id) => ({ id })))};\n`);
      file('a.ts', ['x']);
      file('b.ts', ['y', 'z']);
      expect(loadRows(dir).map((r) => r.id)).toEqual(['x', 'y', 'z']);
      file('c.ts', ['x']);
      expect(() => loadRows(dir)).toThrow(/two bench rows have the id 'x'/);
      fs.rmSync(path.join(dir, 'c.ts'));
      fs.writeFileSync(path.join(dir, 'd.ts'), 'exports.other = 1;\n');
      expect(() => loadRows(dir)).toThrow(/d.ts exports no 'rows' array/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the rows on disk load, and each has a target and a figure', () => {
    const rows = loadRows();
    for (const r of rows) {
      expect(r.figure.length).toBeGreaterThan(0);
      expect(['<=', '>=']).toContain(r.target.op);
      expect(r.target.value).toBeGreaterThan(0);
    }
  });
});

describe('bench results of a partial run', () => {
  const result = (id: string, seconds: number): RowResult => ({
    id,
    figure: id,
    baseline: 'b',
    target: { op: '<=', value: 1 },
    measurements: [],
    seconds,
  });
  const earlier = (mode: 'full' | 'smoke'): BenchResults => ({
    date: 'd',
    mode,
    machine: { cpus: 2, cpu: 'c', memoryGiB: 1, os: 'o', node: 'n', loadAverage: [] },
    rows: [result('a', 1), result('b', 1), result('gone', 1)],
  });

  test('rows measured now replace theirs, the others stay in row order, rows no longer defined go', () => {
    const merged = mergeRows(earlier('full'), [result('b', 2), result('c', 2)], 'full', ['c', 'a', 'b']);
    expect(merged.map((r) => [r.id, r.seconds])).toEqual([
      ['c', 2],
      ['a', 1],
      ['b', 2],
    ]);
  });

  test('earlier results of another mode are not mixed in', () => {
    expect(mergeRows(earlier('smoke'), [result('b', 2)], 'full', ['a', 'b']).map((r) => r.id)).toEqual(['b']);
  });
});
