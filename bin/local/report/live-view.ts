import {
  fmtCheckpoints,
  fmtCount,
  fmtDeadLetters,
  fmtLag,
  fmtMs,
  fmtPercentiles,
  printable,
  runLabel,
  stackDeadLetters,
  totals,
  truncate,
  verdict,
} from './format';
import { RunReport, StackReport } from './model';

export interface LiveViewOptions {
  readonly out: NodeJS.WritableStream;
  /** A refreshing block (true) or plain timestamped lines (false, e.g. CI or a pipe). */
  readonly isTTY: boolean;
  /** The current state of the run, e.g. `() => recorder.snapshot()`. */
  readonly source: () => RunReport;
  /** TTY: the least time between two frames (default 500 ms). */
  readonly refreshMs?: number;
  /** Non-TTY: time between two status lines (default 10 s). */
  readonly lineEveryMs?: number;
  /** Columns of the block (default 100). */
  readonly width?: number;
  readonly now?: () => number;
}

const ESC = '\x1b[';
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;
const CLEAR_LINE = `${ESC}2K`;
const CLEAR_BELOW = `${ESC}J`;

const COLS = { stage: 17, in: 11, out: 11, dead: 8, dedup: 7, lag: 9 };

function row(cells: readonly string[]): string {
  const [stage, nin, nout, dead, dedup, lag, ck] = cells;
  return (
    '  ' +
    stage.padEnd(COLS.stage) +
    nin.padStart(COLS.in) +
    nout.padStart(COLS.out) +
    dead.padStart(COLS.dead) +
    dedup.padStart(COLS.dedup) +
    lag.padStart(COLS.lag) +
    '   ' +
    ck
  );
}

/** The lines of one frame of the live view, each at most `width` columns. */
export function frameLines(report: RunReport, width = 100): string[] {
  const lines: string[] = [];
  const verdicts = report.stacks.map((s) => `${s.name} ${verdict(s)}`).join('  ·  ');
  lines.push(`${printable(report.title)}  ·  ${runLabel(report)}  ·  ${verdicts}`);
  for (const stack of report.stacks) {
    lines.push('');
    lines.push(...stackLines(stack));
  }
  return lines.map((l) => truncate(l, width));
}

function stackLines(stack: StackReport): string[] {
  const lines: string[] = [];
  const lat = stack.latency;
  const last = lat.buckets[lat.buckets.length - 1];
  const recent =
    last === undefined ? '' : `   (last ${Math.round((last.end - last.start) / 1000)} s p95 ${fmtMs(last.p95)})`;
  lines.push(
    `${stack.name.toUpperCase()}  ${stack.producedPerSecond} rec/s   latency ${fmtPercentiles(lat.overall)}${recent}`,
  );
  lines.push(row(['stage', 'in', 'out', 'dead', 'dedup', 'lag', 'checkpoints']));
  for (const st of stack.stages) {
    lines.push(
      row([
        printable(st.name),
        fmtCount(st.in),
        fmtCount(st.out),
        fmtCount(st.deadLettered),
        fmtCount(st.deduplicated),
        fmtLag(st.lag),
        fmtCheckpoints(st),
      ]),
    );
  }
  const dl = stackDeadLetters(stack);
  lines.push(`  dead letters  ${dl.length === 0 ? 'none' : fmtDeadLetters(Object.fromEntries(dl))}`);
  return lines;
}

/** One plain status line per stack, for logs. */
export function statusLines(report: RunReport): string[] {
  const at = new Date(report.endedAt).toISOString();
  return report.stacks.map((stack) => {
    const t = totals(stack);
    const lagMax = Math.max(0, ...stack.stages.map((s) => s.lag?.lastMs ?? 0));
    const ck = stack.stages.reduce(
      (a, s) => [a[0] + (s.checkpoints?.count ?? 0), a[1] + (s.checkpoints?.failures ?? 0)],
      [0, 0],
    );
    const p = stack.latency.overall;
    return (
      `${at} ${runLabel(report)} ${stack.name} in ${t.in} out ${t.out} dead ${t.dead} dedup ${t.dedup}` +
      ` lag ${fmtMs(lagMax)} checkpoints ${ck[0]} ok ${ck[1]} failed` +
      ` latency p50 ${fmtMs(p.p50)} p95 ${fmtMs(p.p95)} p99 ${fmtMs(p.p99)} conservation ${verdict(stack)}`
    );
  });
}

/**
 * The live view of a run. In a TTY one block redrawn in place (cursor up, each line cleared and rewritten in a single
 * write, nothing drawn when nothing changed), at most every `refreshMs`; otherwise one timestamped line per stack
 * every `lineEveryMs`. `stop()` draws the final frame and leaves it.
 */
export class LiveView {
  private readonly out: NodeJS.WritableStream;
  private readonly isTTY: boolean;
  private readonly source: () => RunReport;
  private readonly refreshMs: number;
  private readonly lineEveryMs: number;
  private readonly width: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;
  private drawnLines = 0;
  private lastFrame = '';
  private lastDrawAt = -Infinity;
  private stopped = false;

  constructor(options: LiveViewOptions) {
    this.out = options.out;
    this.isTTY = options.isTTY;
    this.source = options.source;
    this.refreshMs = options.refreshMs ?? 500;
    this.lineEveryMs = options.lineEveryMs ?? 10000;
    this.width = options.width ?? 100;
    this.now = options.now ?? Date.now;
  }

  start(): this {
    if (this.timer !== undefined || this.stopped) return this;
    if (this.isTTY) this.out.write(HIDE_CURSOR);
    this.draw();
    this.timer = setInterval(() => this.draw(), this.isTTY ? this.refreshMs : this.lineEveryMs);
    this.timer.unref();
    return this;
  }

  /** Asks for a redraw soon: drawn now if the last frame is older than refreshMs, else once when it is. */
  refresh(): void {
    if (this.stopped || !this.isTTY) return;
    const wait = this.lastDrawAt + this.refreshMs - this.now();
    if (wait <= 0) {
      this.draw();
    } else if (this.pending === undefined) {
      this.pending = setTimeout(() => {
        this.pending = undefined;
        this.draw();
      }, wait);
      this.pending.unref();
    }
  }

  /** Draws the final frame (TTY) or the final lines, and leaves them. */
  stop(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.pending !== undefined) clearTimeout(this.pending);
    this.timer = undefined;
    this.pending = undefined;
    this.draw();
    if (this.isTTY) this.out.write(SHOW_CURSOR);
    this.stopped = true;
  }

  private draw(): void {
    if (this.stopped) return;
    const report = this.source();
    this.lastDrawAt = this.now();
    if (!this.isTTY) {
      this.out.write(statusLines(report).join('\n') + '\n');
      return;
    }
    const lines = frameLines(report, this.width);
    const frame = lines.join('\n');
    if (frame === this.lastFrame) return;
    let buf = this.drawnLines > 0 ? `\r${ESC}${this.drawnLines}A` : '';
    for (const line of lines) buf += CLEAR_LINE + line + '\n';
    buf += CLEAR_BELOW;
    this.out.write(buf);
    this.drawnLines = lines.length;
    this.lastFrame = frame;
  }
}
