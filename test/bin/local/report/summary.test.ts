import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { alignTable, allConserved, readJson, summaryTable, writeJson } from '../../../../bin/local/report/summary';
import { generateRun } from './fixture';

describe('summaryTable', () => {
  test('one aligned row per stage, then latency and the conservation check per path', () => {
    const { report } = generateRun({ seconds: 60 });
    const text = summaryTable(report);
    const lines = text.split('\n');
    expect(lines[0]).toBe('npm run local  ·  finished after 1:00  ·  started 2026-12-01T10:00:00.000Z');
    const ts = lines.indexOf(lines.find((l) => l.startsWith('timeseries'))!);
    expect(lines[ts]).toBe('timeseries  ·  12,000 produced in 1:00 (200 rec/s)  ·  conservation OK (OK 12,000/12,000)');
    const header = lines[ts + 1];
    expect(header).toMatch(
      /^ {2}stage\s+in\s+out\s+dead-lettered\s+deduplicated\s+lag max\s+checkpoints\s+dead letters$/,
    );
    // Right-aligned numbers: every stage row's `out` column ends where the header's does.
    const outEnd = header.indexOf(' out') + 4;
    const rows = lines.slice(ts + 2, ts + 2 + 9);
    expect(rows.map((r) => r.trim().split(/\s+/)[0])).toEqual([
      'ingest',
      'raw-stream',
      'enrichment',
      'enriched-stream',
      'calculator',
      'influxdb',
      'dynamodb',
      'eventbridge',
      'archive',
    ]);
    for (const r of rows) expect(r.slice(0, outEnd)).toMatch(/\d$/);
    expect(rows[0]).toMatch(/^ {2}ingest\s+12,000\s+12,000\s+0\s+0\s+-\s+-\s+-$/);
    expect(rows[2]).toMatch(
      /enrichment\s+12,000\s+\d{2},\d{3}\s+\d+\s+0\s+[\d.]+ m?s\s+5 ok, 1 failed, last \d+ ms\s+schema-invalid \d+ · unknown-device \d+/,
    );
    expect(text).toMatch(
      /^ {2}latency {2}p50 \d+ ms {2}p95 \d+ ms {2}p99 [\d.]+ m?s {2}max [\d.]+ m?s {2}\(2,400 samples, end to end\)$/m,
    );
    expect(text).toMatch(/^ {2}ok {6}enriched: 12,000 in = \d+,\d+ out \+ \d+ dead-lettered \+ \d+ deduplicated$/m);
    expect(allConserved(report)).toBe(true);
  });

  test('a failed path says FAILED and how many are missing', () => {
    const { report } = generateRun({ seconds: 60, lose: 7 });
    const text = summaryTable(report);
    expect(text).toContain('conservation FAILED (MISSING 7)');
    expect(text).toMatch(/^ {2}FAILED {2}enriched: .*\(missing 7\)$/m);
    expect(allConserved(report)).toBe(false);
  });

  test('alignTable pads columns to the widest cell', () => {
    expect(
      alignTable(
        [
          ['a', '1', 'x'],
          ['bbb', '100', 'yy'],
        ],
        ['left', 'right', 'left'],
      ),
    ).toEqual(['a      1  x', 'bbb  100  yy']);
  });
});

describe('writeJson', () => {
  test('round-trips the report and replaces the file atomically', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-report-'));
    const file = path.join(dir, 'nested', 'report.json');
    const { report } = generateRun({ seconds: 20 });
    writeJson(report, file);
    writeJson(report, file);
    expect(readJson(file)).toEqual(report);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['report.json']);
  });
});
