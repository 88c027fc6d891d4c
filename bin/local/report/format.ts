import { LagStats, Percentiles, RunReport, StackReport, StageReport } from './model';

/** 60000 → '60,000'. */
export function fmtCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Milliseconds for people: '8 ms', '147 ms', '1.38 s', '12.4 s', '2:05'. */
export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 10) return `${Math.round(ms * 10) / 10} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return fmtDuration(ms);
}

/** A duration as m:ss or h:mm:ss. */
export function fmtDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export function fmtPercentiles(p: Percentiles): string {
  return `p50 ${fmtMs(p.p50)}  p95 ${fmtMs(p.p95)}  p99 ${fmtMs(p.p99)}`;
}

export function fmtLag(lag: LagStats | null): string {
  return lag === null ? '-' : fmtMs(lag.lastMs);
}

export function fmtCheckpoints(stage: StageReport): string {
  const c = stage.checkpoints;
  if (c === null) return '-';
  const failed = c.failures > 0 ? `, ${c.failures} failed` : '';
  return `${c.count} ok${failed}, last ${fmtMs(c.lastDurationMs)}`;
}

export function fmtDeadLetters(deadLetters: Readonly<Record<string, number>>): string {
  return Object.entries(deadLetters)
    .map(([reason, n]) => `${printable(reason)} ${fmtCount(n)}`)
    .join(' · ');
}

/** The dead letters of every stage of a stack, by reason, most first. */
export function stackDeadLetters(stack: StackReport): Array<[string, number]> {
  const byReason = new Map<string, number>();
  for (const st of stack.stages) {
    for (const [r, n] of Object.entries(st.deadLetters)) byReason.set(r, (byReason.get(r) ?? 0) + n);
  }
  return [...byReason.entries()].sort((a, b) => b[1] - a[1]);
}

export function verdict(stack: StackReport): string {
  const c = stack.conservation;
  if (c.paths.length === 0) return 'no records';
  if (c.ok) return `OK ${fmtCount(c.accounted)}/${fmtCount(c.produced)}`;
  const missing = c.produced - c.accounted;
  return missing > 0 ? `MISSING ${fmtCount(missing)}` : `SURPLUS ${fmtCount(-missing)}`;
}

/** The stage whose `in` counts the stack's produced records. */
export function totals(stack: StackReport): { in: number; out: number; dead: number; dedup: number } {
  let dead = 0;
  let dedup = 0;
  for (const st of stack.stages) {
    dead += st.deadLettered;
    dedup += st.deduplicated;
  }
  const first = stack.stages[0];
  const lastPath = stack.conservation.paths[0];
  return { in: first?.in ?? 0, out: lastPath?.out ?? 0, dead, dedup };
}

/** Control characters (a terminal escape in a reason or a device id) made visible and harmless. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function truncate(s: string, width: number): string {
  return s.length <= width ? s : s.slice(0, Math.max(0, width - 1)) + '…';
}

export function runLabel(report: RunReport): string {
  return `${report.finished ? 'finished' : 'running'} ${fmtDuration(report.durationMs)}`;
}
