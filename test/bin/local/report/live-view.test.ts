import { PassThrough } from 'stream';
import { frameLines, LiveView, statusLines } from '../../../../bin/local/report/live-view';
import { Recorder } from '../../../../bin/local/report/model';
import { generateRun, START } from './fixture';

function capture(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  return { out, text: () => chunks.join('') };
}

const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

describe('frameLines', () => {
  const { report } = generateRun({ seconds: 60 });

  test('shows per stage in/out, dead letters by reason, checkpoints, lag and latency, within 100 columns', () => {
    const lines = frameLines(report);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(100);
    const text = lines.join('\n');
    expect(lines[0]).toContain('finished 1:00');
    expect(lines[0]).toContain('timeseries OK 12,000/12,000');
    expect(text).toMatch(/TIMESERIES\s+200 rec\/s\s+latency p50 \d+ ms {2}p95 \d+ ms {2}p99 [\d.]+ (ms|s)/);
    expect(text).toMatch(/^ {2}enrichment\s+12,000\s+11,99\d\s+\d+\s+0\s+\d+ ms\s+5 ok, 1 failed, last \d+ ms$/m);
    expect(text).toMatch(/dead letters {2}schema-invalid \d+ · unknown-device \d+ · late-arrival \d+/);
    expect(text).toMatch(/dead letters {2}rejected-by-aggregate \d+ · version-conflict \d+/);
  });

  test('a narrow terminal truncates rather than wraps', () => {
    for (const l of frameLines(report, 60)) expect(l.length).toBeLessThanOrEqual(60);
  });

  test('a terminal escape in a reason is shown, not obeyed', () => {
    const rec = new Recorder({ now: () => START, startedAt: START });
    rec.stage('timeseries', 'ingest').in(1).deadLetter('evil\x1b[2J', 1);
    expect(frameLines(rec.snapshot()).join('\n')).toContain('evil\\x1b[2J');
  });
});

describe('LiveView', () => {
  test('TTY: one block redrawn in place, nothing drawn when nothing changed, the final frame left', () => {
    let now = START;
    const rec = new Recorder({ now: () => now, startedAt: START });
    const { out, text } = capture();
    const view = new LiveView({ out, isTTY: true, source: () => rec.snapshot(), now: () => now, refreshMs: 500 });
    view.start();
    const first = text();
    expect(first.startsWith('\x1b[?25l')).toBe(true); // cursor hidden
    expect(first).not.toContain('\x1b[' + '0A');
    const frameHeight = frameLines(rec.snapshot()).length;

    view.refresh(); // nothing changed, same clock: throttled and unchanged
    expect(text()).toBe(first);

    now += 600;
    rec.stage('timeseries', 'ingest').in(500).out(500);
    view.refresh();
    const second = text().slice(first.length);
    // Cursor up over the previous frame, every line cleared and rewritten, the rest below cleared, in one write.
    expect(second.startsWith(`\r\x1b[${frameHeight}A\x1b[2K`)).toBe(true);
    expect(second.endsWith('\x1b[J')).toBe(true);
    expect(stripAnsi(second)).toContain('ingest');

    view.stop();
    const all = text();
    expect(all.endsWith('\x1b[?25h')).toBe(true); // cursor shown again, final frame not cleared
    expect(stripAnsi(all.slice(all.lastIndexOf('\x1b[J') - 2000))).toContain('ingest');
    const after = text();
    view.stop();
    view.refresh();
    expect(text()).toBe(after);
  });

  test('TTY: refreshes are throttled to one frame per refreshMs', async () => {
    // Fake timers: on a loaded machine a real 160 ms sleep can span a second interval tick and a third frame.
    jest.useFakeTimers({ now: Date.parse('2026-12-02T00:00:00Z') });
    const rec = new Recorder({ startedAt: Date.now() });
    const { out, text } = capture();
    const view = new LiveView({ out, isTTY: true, source: () => rec.snapshot(), refreshMs: 100 });
    view.start();
    const frames = () => (text().match(/\x1b\[J/g) ?? []).length;
    for (let i = 0; i < 50; i++) {
      rec.stage('timeseries', 'ingest').in(1);
      view.refresh();
    }
    expect(frames()).toBe(1); // the refreshes within 100 ms wait for one pending frame
    jest.advanceTimersByTime(100);
    expect(frames()).toBe(2);
    view.stop();
    jest.useRealTimers();
  });

  test('non-TTY: plain timestamped lines, no escapes, one per stack per tick', async () => {
    const { report } = generateRun({ seconds: 30 });
    const { out, text } = capture();
    const view = new LiveView({ out, isTTY: false, source: () => report, lineEveryMs: 50 });
    view.start();
    await new Promise((r) => setTimeout(r, 130));
    view.stop();
    const lines = text().trimEnd().split('\n');
    expect(text()).not.toContain('\x1b');
    expect(lines.length % 2).toBe(0);
    expect(lines.length).toBeGreaterThanOrEqual(6); // start, two ticks, stop
    expect(lines[0]).toMatch(
      /^2026-12-01T10:00:30\.000Z finished 0:30 timeseries in 6000 out \d+ dead \d+ dedup \d+ lag \d+ ms checkpoints 2 ok 1 failed latency p50 \d+ ms p95 \d+ ms p99 [\d.]+ m?s conservation OK 6,000\/6,000$/,
    );
    expect(lines[1]).toMatch(/ eventsourced in 1500 /);
    expect(statusLines(report)).toEqual(lines.slice(-2));
  });
});
