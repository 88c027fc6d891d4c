import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { markedBlocks, renderExample, syncExamples } = require('../../scripts/sync-examples');

const SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'sync-examples.js');

function fixture(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sync-examples-'));
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  };
  write('examples/a.ts', "import { A } from 'a';\n\nnew A();\n");
  write(
    'examples/b.ts',
    [
      'class B {',
      '  constructor() {',
      '    // #region part',
      '    if (x) {',
      '      y();',
      '    }',
      '    // #endregion',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  write('lib/area/README.md', '# Area\n\n<!-- example: examples/a.ts -->\n```ts\nold\n```\n\nText after.\n');
  write(
    'docs/guide.md',
    '1. Step:\n\n   <!-- example: examples/b.ts#part -->\n   ```ts\n   if (x) {\n     y();\n   }\n   ```\n2. Next.\n',
  );
  write('README.md', '# Root\n\nNo samples.\n');
  return root;
}

describe('scripts/sync-examples.js', () => {
  test('a region is shown dedented, without its region comments', () => {
    const root = fixture();
    expect(renderExample('examples/b.ts', 'part', root)).toBe('if (x) {\n  y();\n}');
    expect(renderExample('examples/a.ts', undefined, root)).toBe("import { A } from 'a';\n\nnew A();");
    expect(() => renderExample('examples/b.ts', 'other', root)).toThrow(/no `\/\/ #region other`/);
  });

  test('reads a block inside a list item without its indentation', () => {
    const blocks = markedBlocks(fs.readFileSync(path.join(fixture(), 'docs/guide.md'), 'utf8'));
    expect(blocks).toEqual([
      expect.objectContaining({ file: 'examples/b.ts', region: 'part', indent: '   ', content: 'if (x) {\n  y();\n}' }),
    ]);
  });

  test('check names the drifted blocks and changes nothing; sync rewrites only them', () => {
    const root = fixture();
    const before = fs.readFileSync(path.join(root, 'lib/area/README.md'), 'utf8');
    expect(syncExamples({ root, check: true })).toEqual(['lib/area/README.md:3 examples/a.ts']);
    expect(fs.readFileSync(path.join(root, 'lib/area/README.md'), 'utf8')).toBe(before);
    expect(syncExamples({ root })).toEqual(['lib/area/README.md:3 examples/a.ts']);
    expect(fs.readFileSync(path.join(root, 'lib/area/README.md'), 'utf8')).toBe(
      "# Area\n\n<!-- example: examples/a.ts -->\n```ts\nimport { A } from 'a';\n\nnew A();\n```\n\nText after.\n",
    );
    expect(syncExamples({ root, check: true })).toEqual([]);
  });

  test('a marker must be followed by a ts fence', () => {
    expect(() => markedBlocks('<!-- example: examples/a.ts -->\n\n```ts\nx\n```\n', 'x.md')).toThrow(
      /x\.md:1: the marker of examples\/a\.ts must be directly followed/,
    );
  });

  test('--check exits 0 on the repository: every sample is up to date', () => {
    expect(() => execFileSync('node', [SCRIPT, '--check'], { stdio: 'pipe' })).not.toThrow();
  });
});
