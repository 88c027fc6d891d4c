import * as fs from 'fs';
import * as path from 'path';
import {
  fmtCheckpoints,
  fmtCount,
  fmtDeadLetters,
  fmtDuration,
  fmtMs,
  fmtPercentiles,
  printable,
  verdict,
} from './format';
import { RunReport, StackReport } from './model';

type Align = 'left' | 'right';

/** Rows of cells as aligned text: every column as wide as its widest cell, two spaces between columns. */
export function alignTable(rows: ReadonlyArray<readonly string[]>, align: readonly Align[]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) =>
    r
      .map((c, i) => (align[i] === 'right' ? c.padStart(widths[i]) : i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

function stackSummary(stack: StackReport, durationMs: number): string[] {
  const c = stack.conservation;
  const lines: string[] = [];
  lines.push(
    `${stack.name}  ·  ${fmtCount(stack.stages[0]?.in ?? 0)} produced in ${fmtDuration(durationMs)}` +
      ` (${stack.producedPerSecond} rec/s)  ·  conservation ${c.ok ? 'OK' : 'FAILED'} (${verdict(stack)})`,
  );
  const header = ['stage', 'in', 'out', 'dead-lettered', 'deduplicated', 'lag max', 'checkpoints', 'dead letters'];
  const rows = stack.stages.map((st) => [
    printable(st.name),
    fmtCount(st.in),
    fmtCount(st.out),
    fmtCount(st.deadLettered),
    fmtCount(st.deduplicated),
    st.lag === null ? '-' : fmtMs(st.lag.maxMs),
    fmtCheckpoints(st),
    st.deadLettered === 0 ? '-' : fmtDeadLetters(st.deadLetters),
  ]);
  const align: Align[] = ['left', 'right', 'right', 'right', 'right', 'right', 'left', 'left'];
  lines.push(...alignTable([header, ...rows], align).map((l) => '  ' + l));
  const lat = stack.latency.overall;
  lines.push(`  latency  ${fmtPercentiles(lat)}  max ${fmtMs(lat.max)}  (${fmtCount(lat.count)} samples, end to end)`);
  for (const p of c.paths) {
    lines.push(
      `  ${p.ok ? 'ok     ' : 'FAILED '} ${printable(p.name)}: ${fmtCount(p.produced)} in = ${fmtCount(p.out)} out` +
        ` + ${fmtCount(p.deadLettered)} dead-lettered + ${fmtCount(p.deduplicated)} deduplicated` +
        (p.ok ? '' : `  (${p.missing > 0 ? 'missing' : 'surplus'} ${fmtCount(Math.abs(p.missing))})`),
    );
  }
  return lines;
}

/** The end-of-run summary: per stack, one aligned row per stage, then latency and the conservation check. */
export function summaryTable(report: RunReport): string {
  const out: string[] = [
    `${printable(report.title)}  ·  ${report.finished ? 'finished' : 'running'} after ${fmtDuration(report.durationMs)}` +
      `  ·  started ${new Date(report.startedAt).toISOString()}`,
  ];
  for (const stack of report.stacks) {
    out.push('');
    out.push(...stackSummary(stack, report.durationMs));
  }
  return out.join('\n') + '\n';
}

/** Whether every stack's records are accounted for. */
export function allConserved(report: RunReport): boolean {
  return report.stacks.every((s) => s.conservation.ok);
}

/** Writes the report as JSON (creating the folder), atomically: a reader never sees half a file. */
export function writeJson(report: RunReport, file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(report, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

export function readJson(file: string): RunReport {
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as RunReport;
  if (parsed.version !== 1) throw new Error(`${file}: not a run report of version 1`);
  return parsed;
}
