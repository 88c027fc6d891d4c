#!/usr/bin/env node
// Runs a TypeScript CLI (cdk.json's app) with each .ts file transpiled by esbuild's transform, which this package
// already depends on to bundle the Lambda handlers. ts-node --transpile-only spent ~2 s CPU of each `cdk synth` in
// TypeScript's transpiler (lib/ and bin/, ~80 files); esbuild does the same files in a tenth of that. Like
// transpile-only it does not type-check (`npm run typecheck` does). Stack traces point at the .ts lines.
// Usage: node bin/run-ts.js <file.ts> [args...]
'use strict';
const fs = require('fs');
const Module = require('module');
const path = require('path');
const esbuild = require('esbuild');

// The compiler options esbuild honours (target, decorators, class fields, interop) come from the project's tsconfig.
const tsconfig = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'tsconfig.json'), 'utf8'));
const tsconfigRaw = { compilerOptions: tsconfig.compilerOptions };

process.setSourceMapsEnabled(true);
Module._extensions['.ts'] = function compileTypeScript(module, filename) {
  const { code } = esbuild.transformSync(fs.readFileSync(filename, 'utf8'), {
    loader: 'ts',
    format: 'cjs',
    target: 'node20',
    sourcefile: filename,
    sourcemap: 'inline',
    tsconfigRaw,
  });
  module._compile(code, filename);
};

const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error('usage: node bin/run-ts.js <file.ts> [args...]');
  process.exit(2);
}
process.argv = [process.argv[0], path.resolve(script), ...args];
require(path.resolve(script));
