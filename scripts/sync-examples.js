#!/usr/bin/env node
// Keeps the TypeScript samples of the READMEs equal to the files under examples/, which the typecheck compiles and
// test/docs/examples.test.ts runs. A sample is marked in the markdown by the line before its fence:
//
//   <!-- example: examples/storage/basic.ts -->            the whole file
//   <!-- example: examples/docs/shipping-stack.ts#egress --> the lines between `// #region egress` and `// #endregion`
//
// `node scripts/sync-examples.js` (npm run docs:examples) rewrites every marked block from its file;
// `--check` changes nothing and exits 1 naming the blocks that differ from their file.
'use strict';
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const MARKER = /^([ \t]*)<!-- example: (\S+?)(?:#([A-Za-z0-9_-]+))? -->[ \t]*$/;
const REGION = /^\s*\/\/ #(region|endregion)\b\s*(\S*)\s*$/;

/**
 * The markdown files whose TypeScript samples are examples: README.md, lib/<area>/README.md,
 * lambda/<handler>/README.md, docs/*.md.
 */
function markdownFiles(root = ROOT) {
  const files = ['README.md'];
  const lib = path.join(root, 'lib');
  for (const area of fs.readdirSync(lib).sort()) {
    if (fs.existsSync(path.join(lib, area, 'README.md'))) files.push(`lib/${area}/README.md`);
  }
  const lambda = path.join(root, 'lambda');
  if (fs.existsSync(lambda)) {
    for (const handler of fs.readdirSync(lambda).sort()) {
      if (fs.existsSync(path.join(lambda, handler, 'README.md'))) files.push(`lambda/${handler}/README.md`);
    }
  }
  const docs = path.join(root, 'docs');
  if (fs.existsSync(docs)) {
    for (const f of fs.readdirSync(docs).sort()) if (f.endsWith('.md')) files.push(`docs/${f}`);
  }
  return files.filter((f) => fs.existsSync(path.join(root, f)));
}

/**
 * The marked blocks of a markdown text: where the fence's content starts and ends (line indices, end exclusive), its
 * indentation (a fence inside a list item is indented), the example file and region, and the content as it is,
 * without that indentation. Throws on a marker that is not directly followed by a fence, or a fence never closed.
 */
function markedBlocks(markdown, source = 'markdown') {
  const lines = markdown.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const m = MARKER.exec(lines[i]);
    if (!m) continue;
    const [, indent, file, region] = m;
    const fence = lines[i + 1] ?? '';
    if (!new RegExp(`^${indent}\`\`\`(ts|typescript)\\s*$`).test(fence)) {
      throw new Error(`${source}:${i + 1}: the marker of ${file} must be directly followed by a \`\`\`ts fence`);
    }
    let end = i + 2;
    while (end < lines.length && lines[end] !== `${indent}\`\`\``) end++;
    if (end === lines.length) throw new Error(`${source}:${i + 2}: the \`\`\`ts block of ${file} is never closed`);
    const content = lines
      .slice(i + 2, end)
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()))
      .join('\n');
    blocks.push({ line: i + 1, start: i + 2, end, indent, file, region, content });
    i = end;
  }
  return blocks;
}

/** What a marked block must hold: the file, or one region of it dedented, without the region comment lines. */
function renderExample(file, region, root = ROOT) {
  const full = path.join(root, file);
  if (!fs.existsSync(full)) throw new Error(`example ${file} does not exist`);
  let lines = fs.readFileSync(full, 'utf8').replace(/\n+$/, '').split('\n');
  if (region !== undefined) {
    const start = lines.findIndex((l) => {
      const m = REGION.exec(l);
      return m && m[1] === 'region' && m[2] === region;
    });
    if (start < 0) throw new Error(`example ${file} has no \`// #region ${region}\``);
    const end = lines.findIndex((l, j) => j > start && REGION.exec(l)?.[1] === 'endregion');
    if (end < 0) throw new Error(`example ${file}: region ${region} has no \`// #endregion\``);
    lines = lines.slice(start + 1, end);
    const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)[0].length);
    const dedent = Math.min(...indents);
    lines = lines.map((l) => l.slice(Math.min(dedent, /^ */.exec(l)[0].length)));
  }
  return lines.filter((l) => !REGION.test(l)).join('\n');
}

/** Rewrites (or, with check, only compares) every marked block of the markdown files; returns the drifted ones. */
function syncExamples({ root = ROOT, check = false } = {}) {
  const drifted = [];
  for (const md of markdownFiles(root)) {
    const full = path.join(root, md);
    const text = fs.readFileSync(full, 'utf8');
    const lines = text.split('\n');
    const blocks = markedBlocks(text, md);
    const fileDrifted = [];
    // From the last block up, so the line indices of the earlier ones stay valid.
    for (const block of [...blocks].reverse()) {
      const expected = renderExample(block.file, block.region, root);
      if (block.content === expected) continue;
      fileDrifted.unshift(`${md}:${block.line} ${block.file}${block.region ? `#${block.region}` : ''}`);
      const indented = expected.split('\n').map((l) => (l === '' ? '' : block.indent + l));
      lines.splice(block.start, block.end - block.start, ...indented);
    }
    drifted.push(...fileDrifted);
    const updated = lines.join('\n');
    if (!check && updated !== text) fs.writeFileSync(full, updated);
  }
  return drifted;
}

module.exports = { markdownFiles, markedBlocks, renderExample, syncExamples };

if (require.main === module) {
  const check = process.argv.includes('--check');
  try {
    const drifted = syncExamples({ check });
    if (check && drifted.length > 0) {
      console.error(
        `samples that differ from their example file (run npm run docs:examples):\n  ${drifted.join('\n  ')}`,
      );
      process.exit(1);
    }
    if (!check) console.log(drifted.length === 0 ? 'all samples up to date' : `updated:\n  ${drifted.join('\n  ')}`);
  } catch (e) {
    console.error(e.message);
    process.exit(2);
  }
}
