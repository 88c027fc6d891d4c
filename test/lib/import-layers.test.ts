import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/**
 * eslint.config.mjs restricts, per layer folder of lib/, which layer folders it may import (source -> ingestion ->
 * storage -> processing -> destination -> operations -> patterns -> stacks, plus lib/internal, which imports none). These lint code at paths
 * inside lib/ with the real config through ESLint's Node API, so the check cannot silently stop applying (a renamed
 * folder, a dropped rule). ESLint loads its config with a dynamic import, which jest's module sandbox refuses, so the
 * linting runs in a child node process.
 */
const ROOT = path.resolve(__dirname, '..', '..');

const LINT = `
const { ESLint } = require('eslint');
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
(async () => {
  const eslint = new ESLint({ cwd: process.cwd() });
  const out = [];
  for (const [file, code] of cases) {
    const [result] = await eslint.lintText(code, { filePath: require('path').join(process.cwd(), file) });
    out.push(result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message));
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;

const CASES: Array<[string, string]> = [
  [
    'lib/internal/example.ts',
    "import { RestApiOptions } from '../ingestion';\nexport type Options = RestApiOptions;\n",
  ],
  ['lib/storage/example.ts', "import { A } from '../processing/a';\nexport const b = A;\n"],
  ['lib/ingestion/private/example.ts', "export * from '../../stacks';\n"],
  [
    'lib/processing/example.ts',
    "import { A } from '../storage';\nimport { B } from '../internal/alarms';\nexport const c = [A, B];\n",
  ],
  ['lib/source/example.ts', "import { A } from '..';\nexport const b = A;\n"],
  ['lib/operations/example.ts', "import { A } from '../patterns/a';\nexport const b = A;\n"],
  [
    'lib/patterns/example.ts',
    "import { A } from '../operations';\nimport { B } from '../destination/b';\nexport const c = [A, B];\n",
  ],
];

/** Every folder of lib/ but stacks (the top): a new folder nobody added to the layer order would import it freely. */
const FOLDERS = fs
  .readdirSync(path.join(ROOT, 'lib'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'stacks')
  .map((entry) => entry.name);
const TOP_CASES: Array<[string, string]> = FOLDERS.map((folder) => [
  `lib/${folder}/example.ts`,
  "import { A } from '../stacks/a';\nexport const b = A;\n",
]);

let results: string[][];

beforeAll(() => {
  const run = spawnSync(process.execPath, ['-e', LINT], {
    cwd: ROOT,
    input: JSON.stringify([...CASES, ...TOP_CASES]),
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`eslint failed (${run.status}): ${run.stderr}`);
  results = JSON.parse(run.stdout);
});

describe('import direction between the layer folders of lib/', () => {
  test('lib/internal may not import a layer folder', () => {
    expect(results[0]).toEqual([expect.stringMatching(/'\.\.\/ingestion' import is restricted.*lib\/internal/)]);
  });

  test('a layer may not import a layer after it', () => {
    expect(results[1]).toEqual([expect.stringMatching(/'\.\.\/processing\/a' import is restricted.*lib\/storage/)]);
  });

  test('a sub-folder of a layer may not re-export a layer after it', () => {
    expect(results[2]).toEqual([expect.stringMatching(/'\.\.\/\.\.\/stacks' import is restricted.*lib\/ingestion/)]);
  });

  test('a layer may import lib/internal and the layers before it', () => {
    expect(results[3]).toEqual([]);
  });

  test('a layer may not import the lib/ barrel', () => {
    expect(results[4]).toEqual([expect.stringMatching(/'\.\.' import is restricted/)]);
  });

  test('operations may not import patterns, which come after it', () => {
    expect(results[5]).toEqual([expect.stringMatching(/'\.\.\/patterns\/a' import is restricted.*lib\/operations/)]);
  });

  test('patterns may import operations and destination', () => {
    expect(results[6]).toEqual([]);
  });

  test('every folder of lib/ is in the layer order, below stacks', () => {
    expect(FOLDERS).toEqual(expect.arrayContaining(['internal', 'operations', 'patterns', 'source']));
    const restricted = results.slice(CASES.length).map((messages) => messages.length > 0);
    expect(restricted).toEqual(FOLDERS.map(() => true));
  });
});
