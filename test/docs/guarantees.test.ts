import * as fs from 'fs';
import * as path from 'path';

/**
 * docs/guarantees.md names, for each statement, the test or conformance-corpus line that covers it: test names in
 * *italics* (optionally after a one-letter file abbreviation such as `H: `, and cut with `...`), files in backticks.
 * A statement whose test was renamed or removed would silently lose its cover, so this fails when a name no longer
 * exists anywhere in the jest and Maven test sources or the corpus.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const DOC = fs.readFileSync(path.join(ROOT, 'docs', 'guarantees.md'), 'utf8');

function filesUnder(dir: string, match: RegExp, out: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'target' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) filesUnder(full, match, out);
    else if (match.test(full)) out.push(full);
  }
  return out;
}

const sources = [
  ...filesUnder(path.join(ROOT, 'test'), /\.(ts|jsonl)$/),
  ...filesUnder(path.join(ROOT, 'flink-apps'), /\/src\/test\/.*\.java$/),
];
const corpus = sources.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
const basenames = new Set(sources.map((f) => path.basename(f)));

describe('docs/guarantees.md', () => {
  test('every test or corpus line it names exists', () => {
    const names = [...DOC.matchAll(/(?<![*\w])\*([^*\n]+?)\*(?!\*)/g)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(50);
    const missing = names
      .filter((n) => n !== 'property' && n !== 'italics')
      .map((n) =>
        n
          .replace(/^[A-Z]: /, '')
          .split('...')[0]
          .replace(/%s/g, '')
          .trim()
          .replace(/,$/, ''),
      )
      .filter((key) => !key.split(/ {2,}/).every((part) => corpus.includes(part)));
    expect(missing).toEqual([]);
  });

  test('every test file it names exists', () => {
    const files = [...DOC.matchAll(/`([A-Za-z0-9-]+(?:\.test\.ts|Test))`/g)].map((m) => m[1]);
    expect(files.length).toBeGreaterThan(10);
    const missing = files.filter((f) => !basenames.has(f) && !basenames.has(`${f}.java`));
    expect(missing).toEqual([]);
  });
});
