import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Browser, chromium, Page } from 'playwright-core';
import { escapeHtml, renderHtml, scriptSafeJson } from '../../../../bin/local/report/html';
import { RunReport } from '../../../../bin/local/report/model';
import { generateRun } from './fixture';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const INJECTION = '</script><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';

/** Where the screenshots go: REPORT_SCREENSHOT_DIR, or a fresh temp dir (removed with jest's TMPDIR). */
function screenshotDir(): string {
  const dir = process.env.REPORT_SCREENSHOT_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'local-report-'));
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

describe('renderHtml, static', () => {
  const { report } = generateRun({ seconds: 120 });
  const html = renderHtml(report);

  test('is one self-contained file: no external script, style, image, font or fetch', () => {
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).toContain('Chart.js v4');
    // The page around the inlined library loads nothing: no URL, no src/href attribute, no CSS url().
    const library = fs.readFileSync(path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
    const own = html.replace(library, '');
    expect(own.length).toBeLessThan(html.length - 100000);
    expect(own).not.toMatch(/https?:\/\//);
    expect(own).not.toMatch(/\s(src|href)=/i);
    expect(own).not.toMatch(/url\(/i);
    expect(html).toContain("default-src 'none'");
  });

  test('escapes the data: a reason holding </script> cannot close the data block', () => {
    const evil = generateRun({ seconds: 20, extraReason: INJECTION, devices: [`dev-${INJECTION}`] }).report;
    const page = renderHtml(evil);
    // Exactly the three script elements of the page close.
    expect(page.match(/<\/script>/gi)).toHaveLength(3);
    expect(page).not.toContain('<script>window.__pwned');
    expect(page).not.toContain('<img src=x');
    expect(escapeHtml(INJECTION)).not.toMatch(/[<>"]/);
    expect(JSON.parse(scriptSafeJson({ r: INJECTION })).r).toBe(INJECTION);
    expect(scriptSafeJson({ r: INJECTION })).not.toMatch(/[<>]/);
  });
});

describe('renderHtml in headless Chromium', () => {
  let browser: Browser;
  let browserTmp: string;

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH).`,
      );
    }
    // Chromium puts a Unix socket in TMPDIR, and a socket path is limited to 107 bytes: under a deep temporary
    // directory (a fresh-machine run's, inside jest's) it aborts with "Socket path too long". A short one under /tmp.
    browserTmp = fs.mkdtempSync('/tmp/chromium-');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      env: { ...process.env, TMPDIR: browserTmp },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--font-render-hinting=none'],
    });
  }, 30000);

  afterAll(async () => {
    await browser?.close();
    if (browserTmp) fs.rmSync(browserTmp, { recursive: true, force: true });
  });

  interface Loaded {
    page: Page;
    errors: string[];
    requests: string[];
  }

  async function load(report: RunReport, name: string): Promise<Loaded> {
    const dir = screenshotDir();
    const file = path.join(dir, `${name}.html`);
    fs.writeFileSync(file, renderHtml(report));
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    await page.waitForFunction('window.__reportReady === true', undefined, { timeout: 10000 });
    return { page, errors, requests };
  }

  interface CanvasStats {
    id: string;
    width: number;
    height: number;
    painted: number;
    colours: number;
  }

  /**
   * Per canvas: its id, size, the number of painted (non-transparent) pixels and of distinct colours. The page-side
   * code is a string: the repo's tsconfig has no DOM types.
   */
  function canvasStats(page: Page): Promise<CanvasStats[]> {
    return page.evaluate<CanvasStats[]>(`
      Array.from(document.querySelectorAll('canvas')).map((c) => {
        const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
        let painted = 0;
        const colours = new Set();
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3] > 0) {
            painted++;
            if (colours.size < 64) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
          }
        }
        return { id: c.id, width: c.width, height: c.height, painted, colours: colours.size };
      })`);
  }

  test('every chart renders, without errors or requests, and a screenshot is kept', async () => {
    const { report } = generateRun();
    const { page, errors, requests } = await load(report, 'local-report');
    try {
      const stats = await canvasStats(page);
      const expected = [
        ...report.stacks.map((_, i) => `stages-${i}`),
        ...report.stacks.map((_, i) => `latency-${i}`),
        'lag',
        'dead-letters',
        ...report.devices.map((_, i) => `device-${i}`),
      ];
      expect(stats.map((s) => s.id).sort()).toEqual([...expected].sort());
      expect(await page.evaluate('window.__reportCharts')).toBe(expected.length);
      for (const s of stats) {
        // Width at 1280 px: two charts a row at least 500 px wide, or one a row.
        expect({ id: s.id, wide: s.width >= 500 }).toEqual({ id: s.id, wide: true });
        // Axes, labels and data: a blank canvas paints nothing, an axes-only one a few percent in 2-3 colours.
        expect({ id: s.id, painted: s.painted > s.width * s.height * 0.02 }).toEqual({ id: s.id, painted: true });
        expect({ id: s.id, colours: s.colours >= 4 }).toEqual({ id: s.id, colours: true });
      }
      // The charts hold their data: each dataset of each chart has points, the device charts their anomalies.
      const datasets = await page.evaluate<Array<{ id: string; sets: Array<[string, number]> }>>(`
        Array.from(document.querySelectorAll('canvas')).map((c) => ({
          id: c.id,
          sets: Chart.getChart(c).data.datasets.map((d) => [d.label, d.data.length]),
        }))`);
      for (const d of datasets)
        for (const [label, n] of d.sets)
          expect({ id: d.id, label, empty: n === 0 }).toEqual({ id: d.id, label, empty: false });
      const header = await page.$eval('header.run', (h) => h.textContent ?? '');
      expect(header).toContain('All records accounted for');
      expect(header).toContain('5:00');
      expect(errors).toEqual([]);
      expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
      const shot = path.join(screenshotDir(), 'local-report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(fs.statSync(shot).size).toBeGreaterThan(50000);
      console.log(`screenshot: ${shot}`);
    } finally {
      await page.close();
    }
  }, 30000);

  test('a failed verdict is big and red, and injected strings stay text', async () => {
    const { report } = generateRun({ seconds: 60, lose: 7, extraReason: INJECTION, devices: [`dev-${INJECTION}`] });
    const { page, errors } = await load(report, 'local-report-failed');
    try {
      expect(await page.evaluate('window.__pwned')).toBeUndefined();
      expect(await page.$$eval('img', (i) => i.length)).toBe(0);
      const overall = await page.evaluate<string[]>(
        `[document.querySelector('.overall').textContent, getComputedStyle(document.querySelector('.overall')).color]`,
      );
      expect(overall[0]).toContain('not accounted for');
      expect(overall[1]).toBe('rgb(185, 28, 28)');
      const ts = await page.$eval('[data-stack="timeseries"] .verdict', (e) => e.textContent);
      expect(ts).toBe('7 records missing');
      // The reason and the device id are shown as the text they are.
      expect(await page.$$eval('td.reason', (tds) => tds.map((t) => t.textContent))).toContain(INJECTION);
      expect(await page.$$eval('figcaption h3', (hs) => hs.map((h) => h.textContent))).toContain(`dev-${INJECTION}`);
      expect(errors).toEqual([]);
      const stats = await canvasStats(page);
      expect(stats.every((s) => s.painted > 0)).toBe(true);
      await page.screenshot({ path: path.join(screenshotDir(), 'local-report-failed.png'), fullPage: true });
    } finally {
      await page.close();
    }
  }, 30000);
});
