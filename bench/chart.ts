import type { BenchResults } from './run';

/**
 * The bench chart, as a standalone SVG (no browser needed): one bar per measurement, drawn as the share of its
 * target it uses on a log scale, so rows of different units and directions read the same way. Left of the 1×
 * line meets the target, right of it does not; each bar is labelled with its ratio, min–max and target.
 */
export function renderChart(results: BenchResults): string {
  const bars: Array<{ label: string; share: number; min: number; max: number; text: string; met: boolean }> = [];
  for (const r of results.rows) {
    for (const m of r.measurements) {
      // Cost targets are upper bounds (ratio / target ≤ 1 meets), speed targets lower bounds (target / ratio ≤ 1).
      const share = (x: number) => (r.target.op === '<=' ? x / r.target.value : r.target.value / Math.max(x, 1e-9));
      const [a, b] = [share(m.ratio.min), share(m.ratio.max)].sort((x, y) => x - y);
      bars.push({
        // The row id and variant: the figures are long, the table (results.md) has them.
        label: m.variant ? `${r.id} — ${m.variant}` : r.id,
        share: share(m.ratio.median),
        min: a,
        max: b,
        text: `${num(m.ratio.median)}× (${num(m.ratio.min)}–${num(m.ratio.max)}), target ${r.target.op} ${r.target.value}×`,
        met: m.met,
      });
    }
  }
  const rowH = 30;
  const labelW = 430;
  const plotW = 360;
  const textW = 300;
  const top = 52;
  const width = labelW + plotW + textW + 20;
  const height = top + bars.length * rowH + 40;
  // log2 scale from 1/16 to 16 of the target.
  const lo = -4;
  const hi = 4;
  const x = (share: number) => {
    const l = Math.min(hi, Math.max(lo, Math.log2(Math.max(share, 1e-9))));
    return labelW + ((l - lo) / (hi - lo)) * plotW;
  };
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(title(results))}</text>`,
    `<text x="10" y="38" fill="#555">Share of each target used (log scale): left of the 1× line meets it. Bars: median; whiskers: min–max of the rounds.</text>`,
  ];
  for (let l = lo; l <= hi; l++) {
    const gx = x(2 ** l);
    out.push(
      `<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${top + bars.length * rowH}" stroke="${l === 0 ? '#222' : '#e3e3e3'}" stroke-width="${l === 0 ? 1.5 : 1}"/>`,
      `<text x="${gx}" y="${top + bars.length * rowH + 16}" text-anchor="middle" fill="#555">${l >= 0 ? 2 ** l : `1/${2 ** -l}`}×</text>`,
    );
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const x0 = x(2 ** lo);
    const colour = b.met ? '#2e7d32' : '#c62828';
    out.push(
      `<text x="${labelW - 8}" y="${y + 19}" text-anchor="end">${esc(truncate(b.label, 68))}</text>`,
      `<rect x="${x0}" y="${y + 7}" width="${Math.max(1, x(b.share) - x0)}" height="16" fill="${colour}" fill-opacity="0.75"/>`,
      `<line x1="${x(b.min)}" y1="${y + 15}" x2="${x(b.max)}" y2="${y + 15}" stroke="#111" stroke-width="1.2"/>`,
      `<line x1="${x(b.min)}" y1="${y + 10}" x2="${x(b.min)}" y2="${y + 20}" stroke="#111"/>`,
      `<line x1="${x(b.max)}" y1="${y + 10}" x2="${x(b.max)}" y2="${y + 20}" stroke="#111"/>`,
      `<text x="${labelW + plotW + 10}" y="${y + 19}" fill="${colour}">${esc(b.text)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function title(r: BenchResults): string {
  const day = r.date.slice(0, 10);
  return `npm run bench (${r.mode}), ${day}: ${r.machine.cpus} × ${r.machine.cpu}, Node.js ${r.machine.node}`;
}

function num(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
