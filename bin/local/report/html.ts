import * as fs from 'fs';
import * as path from 'path';
import { fmtCount, fmtDuration, fmtMs, stackDeadLetters } from './format';
import { RunReport, StackReport } from './model';

/**
 * The end-of-run report as ONE self-contained HTML file: Chart.js (its minified UMD build, read from node_modules) and
 * the data are inlined, nothing is fetched. Every string of the data reaches the page either HTML-escaped in the
 * markup, or inside the JSON data block with `<`, `>` and `&` escaped (so `</script>` in a reason cannot close it),
 * and the page's script writes it with textContent or onto a canvas, never as markup.
 */

let chartJsSource: string | undefined;

function chartJs(): string {
  if (chartJsSource === undefined) {
    const file = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');
    // The library holds no `</script`, but a future build must not be able to close the inline script either.
    chartJsSource = fs.readFileSync(file, 'utf8').replace(/<\/(script)/gi, '<\\/$1');
  }
  return chartJsSource;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** JSON that is safe inside a <script> element: no `<`, `>`, `&` or line separators survive as themselves. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** What the page's script draws: the report without its sketches, times relative to the start in seconds. */
function chartData(report: RunReport) {
  const rel = (t: number) => Math.round((t - report.startedAt) / 10) / 100;
  return {
    startedAt: report.startedAt,
    stacks: report.stacks.map((s) => ({
      name: s.name,
      stages: s.stages.map((st) => ({
        name: st.name,
        in: st.in,
        out: st.out,
        deadLettered: st.deadLettered,
        deduplicated: st.deduplicated,
        lag: st.lag === null ? null : st.lag.series.map(([t, v]) => [rel(t), v]),
      })),
      latency: s.latency.buckets.map((b) => [rel(b.end), b.p50, b.p95, b.p99]),
      deadLetters: stackDeadLetters(s),
    })),
    devices: report.devices.map((d) => ({
      deviceId: d.deviceId,
      metric: d.metric,
      unit: d.unit,
      raw: d.raw.map(([t, v]) => [rel(t), v]),
      windows: d.windows.map((w) => [rel(w.start), rel(w.end), w.min, w.max, w.mean, w.p95, w.count]),
      anomalies: d.anomalies.map((a) => [rel(a.t), a.value, a.reason]),
    })),
  };
}

function stackCard(s: StackReport): string {
  const c = s.conservation;
  const missing = c.produced - c.accounted;
  const status = c.paths.length === 0 ? 'none' : c.ok ? 'ok' : 'bad';
  const headline =
    status === 'none'
      ? 'No records'
      : c.ok
        ? 'Every record accounted for'
        : `${fmtCount(Math.abs(missing))} records ${missing > 0 ? 'missing' : 'counted twice'}`;
  const dead = s.stages.reduce((a, st) => a + st.deadLettered, 0);
  const dedup = s.stages.reduce((a, st) => a + st.deduplicated, 0);
  const paths = c.paths
    .map(
      (p) =>
        `<li class="${p.ok ? 'ok' : 'bad'}"><span class="mark">${p.ok ? '✓' : '✗'}</span> ${escapeHtml(p.name)}: ` +
        `${fmtCount(p.produced)} in = ${fmtCount(p.out)} out + ${fmtCount(p.deadLettered)} dead + ` +
        `${fmtCount(p.deduplicated)} dedup</li>`,
    )
    .join('');
  const lat = s.latency.overall;
  return `<section class="card stack-card ${status}" data-stack="${escapeHtml(s.name)}">
  <div class="card-head"><h2>${escapeHtml(s.name)}</h2><span class="badge ${status}">${status === 'ok' ? '✓ Conserved' : status === 'bad' ? '✗ Not conserved' : '–'}</span></div>
  <p class="verdict ${status}">${escapeHtml(headline)}</p>
  <dl class="facts">
    <div><dt>produced</dt><dd>${fmtCount(s.stages[0]?.in ?? 0)}</dd></div>
    <div><dt>rate</dt><dd>${s.producedPerSecond} rec/s</dd></div>
    <div><dt>latency p50 / p95 / p99</dt><dd>${fmtMs(lat.p50)} / ${fmtMs(lat.p95)} / ${fmtMs(lat.p99)}</dd></div>
    <div><dt>dead-lettered · deduplicated</dt><dd>${fmtCount(dead)} · ${fmtCount(dedup)}</dd></div>
  </dl>
  <ul class="paths">${paths}</ul>
</section>`;
}

function chartBox(id: string, title: string, sub: string, height = 300): string {
  return `<figure class="card chart">
  <figcaption><h3>${escapeHtml(title)}</h3><p>${escapeHtml(sub)}</p></figcaption>
  <div class="canvas-box" style="height:${height}px"><canvas id="${id}" role="img" aria-label="${escapeHtml(title)}"></canvas></div>
</figure>`;
}

function deadLetterTable(report: RunReport): string {
  const rows: string[] = [];
  for (const s of report.stacks) {
    for (const st of s.stages) {
      for (const [reason, n] of Object.entries(st.deadLetters)) {
        rows.push(
          `<tr><td>${escapeHtml(s.name)}</td><td>${escapeHtml(st.name)}</td><td class="reason">${escapeHtml(reason)}</td><td class="num">${fmtCount(n)}</td></tr>`,
        );
      }
    }
  }
  if (rows.length === 0) return '<p class="empty">No dead letters.</p>';
  return `<table class="dl"><thead><tr><th>stack</th><th>stage</th><th>reason</th><th class="num">records</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function renderHtml(report: RunReport): string {
  const started = new Date(report.startedAt)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  const total = report.stacks.reduce((a, s) => a + (s.stages[0]?.in ?? 0), 0);
  const rate = report.durationMs > 0 ? Math.round((total / report.durationMs) * 1000) : 0;
  const allOk = report.stacks.every((s) => s.conservation.ok);
  const hasDead = report.stacks.some((s) => s.stages.some((st) => st.deadLettered > 0));

  const sections: string[] = [];
  sections.push(`<h2 class="section">Records per stage</h2><div class="grid">`);
  report.stacks.forEach((s, i) =>
    sections.push(chartBox(`stages-${i}`, s.name, 'records in, out, dead-lettered and deduplicated per stage', 320)),
  );
  sections.push(`</div><h2 class="section">End-to-end latency</h2><div class="grid">`);
  report.stacks.forEach((s, i) =>
    sections.push(
      chartBox(
        `latency-${i}`,
        s.name,
        `producer timestamp → write in the destination; p50 / p95 / p99 per ${report.bucketMs / 1000} s`,
      ),
    ),
  );
  sections.push(`</div><h2 class="section">Iterator lag and dead letters</h2><div class="grid">`);
  sections.push(chartBox('lag', 'Iterator lag', 'age of the oldest unread record per consuming stage'));
  if (hasDead) sections.push(chartBox('dead-letters', 'Dead letters by reason', 'records, per stack'));
  sections.push(`</div><div class="card">${deadLetterTable(report)}</div>`);
  if (report.devices.length > 0) {
    sections.push(`<h2 class="section">Devices</h2>`);
    report.devices.forEach((d, i) => {
      const sub =
        `${d.metric}${d.unit ? ` (${d.unit})` : ''}: raw points, window mean (steps), min–max band, p95; ` +
        `${d.anomalies.length} ${d.anomalies.length === 1 ? 'anomaly' : 'anomalies'}`;
      sections.push(chartBox(`device-${i}`, d.deviceId, sub, 300));
    });
  }

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(report.title)} · ${allOk ? 'conserved' : 'NOT conserved'}</title>
<style>${CSS}</style>
</head>
<body>
<header class="run">
  <div class="run-title">
    <h1>${escapeHtml(report.title)}</h1>
    <p class="run-facts"><span>started ${escapeHtml(started)}</span><span>${report.finished ? 'ran' : 'running for'} ${fmtDuration(report.durationMs)}</span><span>${fmtCount(total)} records produced</span><span>${fmtCount(rate)} rec/s</span></p>
  </div>
  <div class="overall ${allOk ? 'ok' : 'bad'}">${allOk ? '✓ All records accounted for' : '✗ Records not accounted for'}</div>
</header>
<main>
<div class="grid stacks">${report.stacks.map(stackCard).join('\n')}</div>
${sections.join('\n')}
</main>
<footer>Generated from the run report (version ${report.version}); latency percentiles within ${report.relativeAccuracy * 100} % relative error.</footer>
<script type="application/json" id="report-data">${scriptSafeJson(chartData(report))}</script>
<script>${chartJs()}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/** Writes the HTML report next to the JSON one (creating the folder). */
export function writeHtml(report: RunReport, file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, renderHtml(report));
}

const CSS = `
:root { --ink:#0f172a; --muted:#64748b; --line:#e2e8f0; --bg:#f8fafc; --card:#fff; --ok:#15803d; --okbg:#dcfce7; --bad:#b91c1c; --badbg:#fee2e2; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink); font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
header.run { display:flex; gap:24px; align-items:center; justify-content:space-between; padding:28px 40px; background:var(--card); border-bottom:1px solid var(--line); }
h1 { margin:0 0 4px; font-size:28px; letter-spacing:-0.01em; }
.run-facts { margin:0; color:var(--muted); display:flex; flex-wrap:wrap; gap:6px 18px; }
.overall { font-size:22px; font-weight:700; padding:12px 20px; border-radius:10px; white-space:nowrap; }
.overall.ok { color:var(--ok); background:var(--okbg); } .overall.bad { color:var(--bad); background:var(--badbg); }
main { max-width:1240px; margin:0 auto; padding:24px 32px 8px; }
.grid { display:grid; grid-template-columns:repeat(auto-fit,minmax(520px,1fr)); gap:20px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:18px 20px; margin:0 0 20px; }
.grid > .card { margin:0; }
h2.section { font-size:18px; margin:32px 0 12px; }
.card-head { display:flex; justify-content:space-between; align-items:center; }
.card-head h2 { margin:0; font-size:20px; }
.badge { font-weight:700; font-size:14px; padding:4px 10px; border-radius:999px; }
.badge.ok { color:var(--ok); background:var(--okbg); } .badge.bad { color:var(--bad); background:var(--badbg); } .badge.none { color:var(--muted); background:var(--line); }
.verdict { font-size:24px; font-weight:700; margin:10px 0 12px; } .verdict.ok { color:var(--ok); } .verdict.bad { color:var(--bad); }
.facts { display:flex; flex-wrap:wrap; gap:8px 28px; margin:0 0 10px; }
.facts dt { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; } .facts dd { margin:0; white-space:nowrap; font-size:17px; font-weight:600; font-variant-numeric:tabular-nums; }
.paths { list-style:none; padding:0; margin:0; color:var(--muted); font-size:13px; font-variant-numeric:tabular-nums; }
.paths .mark { font-weight:700; } .paths .ok .mark { color:var(--ok); } .paths .bad { color:var(--bad); }
figure.chart figcaption h3 { margin:0; font-size:16px; } figure.chart figcaption p { margin:2px 0 10px; color:var(--muted); font-size:13px; }
.canvas-box { position:relative; width:100%; }
table.dl { width:100%; border-collapse:collapse; font-size:14px; font-variant-numeric:tabular-nums; }
table.dl th, table.dl td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); } table.dl th { color:var(--muted); font-weight:600; }
table.dl .num { text-align:right; } table.dl .reason { font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:13px; word-break:break-all; }
.empty { color:var(--muted); margin:0; }
footer { max-width:1240px; margin:0 auto; padding:8px 32px 32px; color:var(--muted); font-size:12px; }
`;

/** The page's own script: plain ES2017, reads the JSON block and draws every chart with animations off. */
const PAGE_SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var C = { in: '#94a3b8', out: '#2563eb', dead: '#dc2626', dedup: '#9333ea', p50: '#2563eb', p95: '#d97706', p99: '#dc2626', raw: '#94a3b8', grid: '#eef2f7' };
  var LAG = ['#2563eb', '#0d9488', '#d97706', '#9333ea', '#db2777', '#4b5563'];
  Chart.defaults.font.family = 'system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif';
  Chart.defaults.font.size = 12;
  Chart.defaults.color = '#334155';
  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;
  function mmss(s) { s = Math.round(s); var m = Math.floor(s / 60), r = s % 60; return m + ':' + (r < 10 ? '0' : '') + r; }
  function ms(v) { return v >= 1000 ? (v / 1000).toFixed(v >= 10000 ? 0 : 1) + ' s' : Math.round(v) + ' ms'; }
  function count(v) { return Number(v).toLocaleString('en-US'); }
  function timeAxis(max) { return { type: 'linear', min: 0, max: max, title: { display: true, text: 'elapsed (m:ss)' }, ticks: { callback: mmss, maxTicksLimit: 12 }, grid: { color: C.grid } }; }
  function valueAxis(title, cb) { return { title: { display: true, text: title }, ticks: cb ? { callback: cb } : {}, grid: { color: C.grid }, beginAtZero: true }; }
  function xy(pairs, i) { return pairs.map(function (p) { return { x: p[0], y: p[i] }; }); }
  var charts = [];
  function make(id, config) { var el = document.getElementById(id); if (el) charts.push(new Chart(el, config)); }
  var tEnd = 0;
  data.stacks.forEach(function (s) { s.latency.forEach(function (b) { tEnd = Math.max(tEnd, b[0]); }); });

  data.stacks.forEach(function (s, i) {
    make('stages-' + i, {
      type: 'bar',
      data: {
        labels: s.stages.map(function (st) { return st.name; }),
        datasets: [
          { label: 'in', data: s.stages.map(function (st) { return st.in; }), backgroundColor: C.in },
          { label: 'out', data: s.stages.map(function (st) { return st.out; }), backgroundColor: C.out },
          { label: 'dead-lettered', data: s.stages.map(function (st) { return st.deadLettered; }), backgroundColor: C.dead },
          { label: 'deduplicated', data: s.stages.map(function (st) { return st.deduplicated; }), backgroundColor: C.dedup }
        ]
      },
      options: {
        indexAxis: 'y',
        scales: { x: { type: 'logarithmic', title: { display: true, text: 'records (log scale)' }, ticks: { callback: function (v) { var l = Math.log10(v); return Math.abs(l - Math.round(l)) < 1e-9 ? count(v) : ''; } }, grid: { color: C.grid } }, y: { grid: { display: false } } },
        plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ': ' + count(c.parsed.x); } } } }
      }
    });
    make('latency-' + i, {
      type: 'line',
      data: { datasets: [
        { label: 'p50', data: xy(s.latency, 1), borderColor: C.p50, backgroundColor: C.p50, borderWidth: 2, pointRadius: 0 },
        { label: 'p95', data: xy(s.latency, 2), borderColor: C.p95, backgroundColor: C.p95, borderWidth: 2, pointRadius: 0 },
        { label: 'p99', data: xy(s.latency, 3), borderColor: C.p99, backgroundColor: C.p99, borderWidth: 1.5, borderDash: [5, 3], pointRadius: 0 }
      ] },
      options: { interaction: { mode: 'index', intersect: false }, scales: { x: timeAxis(tEnd), y: valueAxis('latency (ms)', ms) },
        plugins: { tooltip: { callbacks: { title: function (c) { return mmss(c[0].parsed.x); }, label: function (c) { return c.dataset.label + ': ' + ms(c.parsed.y); } } } } }
    });
  });

  var lagSets = [];
  data.stacks.forEach(function (s) { s.stages.forEach(function (st) { if (st.lag) lagSets.push({ label: s.name + ' · ' + st.name, data: xy(st.lag, 1) }); }); });
  lagSets.forEach(function (d, k) { var c = LAG[k % LAG.length]; d.borderColor = c; d.backgroundColor = c; d.borderWidth = 1.5; d.pointRadius = 0; d.stepped = 'before'; });
  make('lag', { type: 'line', data: { datasets: lagSets }, options: { scales: { x: timeAxis(tEnd), y: valueAxis('iterator age (ms)', ms) } } });

  var reasons = [];
  data.stacks.forEach(function (s) { s.deadLetters.forEach(function (r) { if (reasons.indexOf(r[0]) < 0) reasons.push(r[0]); }); });
  make('dead-letters', {
    type: 'bar',
    data: { labels: reasons, datasets: data.stacks.map(function (s, k) {
      var by = {}; s.deadLetters.forEach(function (r) { by[r[0]] = r[1]; });
      return { label: s.name, data: reasons.map(function (r) { return by[r] || 0; }), backgroundColor: k === 0 ? '#dc2626' : '#f97316' };
    }) },
    options: { indexAxis: 'y', scales: { x: { stacked: true, title: { display: true, text: 'records' }, grid: { color: C.grid } }, y: { stacked: true, grid: { display: false }, ticks: { callback: function (v) { var l = reasons[v] || ''; return l.length > 40 ? l.slice(0, 39) + '…' : l; } } } } }
  });

  data.devices.forEach(function (d, i) {
    function steps(k) {
      var pts = [], prevEnd = null;
      d.windows.forEach(function (w) {
        if (prevEnd !== null && w[0] > prevEnd + 0.001) pts.push({ x: prevEnd, y: null });
        pts.push({ x: w[0], y: w[k] }, { x: w[1], y: w[k] });
        prevEnd = w[1];
      });
      return pts;
    }
    var unit = d.unit ? ' (' + d.unit + ')' : '';
    var tMax = 0; d.raw.forEach(function (p) { tMax = Math.max(tMax, p[0]); }); d.windows.forEach(function (w) { tMax = Math.max(tMax, w[1]); });
    make('device-' + i, {
      type: 'line',
      data: { datasets: [
        { label: 'window min', data: steps(2), borderColor: 'rgba(37,99,235,0.25)', borderWidth: 1, pointRadius: 0, fill: false },
        { label: 'window min–max', data: steps(3), borderColor: 'rgba(37,99,235,0.25)', backgroundColor: 'rgba(37,99,235,0.12)', borderWidth: 1, pointRadius: 0, fill: '-1' },
        { label: 'raw', data: xy(d.raw, 1), borderColor: C.raw, borderWidth: 1, pointRadius: 0, fill: false },
        { label: 'window mean', data: steps(4), borderColor: '#2563eb', borderWidth: 2.5, pointRadius: 0, fill: false },
        { label: 'window p95', data: steps(5), borderColor: '#d97706', borderWidth: 1.5, borderDash: [6, 3], pointRadius: 0, fill: false },
        { type: 'scatter', label: 'anomaly', data: d.anomalies.map(function (a) { return { x: a[0], y: a[1], reason: a[2] }; }), backgroundColor: '#dc2626', borderColor: '#fff', borderWidth: 1.5, pointRadius: 6, pointHoverRadius: 8 }
      ] },
      options: {
        interaction: { mode: 'nearest', intersect: false },
        scales: { x: timeAxis(tMax), y: { title: { display: true, text: d.metric + unit }, grid: { color: C.grid } } },
        plugins: {
          legend: { labels: { filter: function (l) { return l.text !== 'window min'; } } },
          tooltip: { callbacks: { title: function (c) { return mmss(c[0].parsed.x); }, label: function (c) { var r = c.raw && c.raw.reason ? ' — ' + c.raw.reason : ''; return c.dataset.label + ': ' + c.parsed.y + unit + r; } } }
        }
      }
    });
  });
  window.__reportCharts = charts.length;
  window.__reportReady = true;
})();
`;
