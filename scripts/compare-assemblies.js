#!/usr/bin/env node
// Compares two cloud assemblies the way `cdk diff` sees them: every stack template and every asset manifest
// (asset hashes, object keys, destinations), following nested assemblies (stages). Files that record time or
// the machine, such as performance-counters.json (written only when synthesis is slow) or tree.json, are not read.
// Usage: node scripts/compare-assemblies.js <cdk.out> <other cdk.out>
'use strict';
const fs = require('fs');
const path = require('path');

/** Returns { '<relative file>': parsed JSON } for what a deployment depends on, nested assemblies included. */
function deployed(dir, prefix = '') {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const out = {};
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    const props = artifact.properties ?? {};
    const files = [];
    if (artifact.type === 'aws:cloudformation:stack') files.push(props.templateFile);
    else if (artifact.type === 'cdk:asset-manifest') files.push(props.file);
    else if (artifact.type === 'cdk:cloud-assembly') {
      Object.assign(out, deployed(path.join(dir, props.directoryName), `${prefix}${props.directoryName}/`));
      continue;
    }
    for (const file of files) {
      out[`${prefix}${file}`] = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    }
    if (artifact.type === 'aws:cloudformation:stack') {
      // What the stack deploys with besides its template: parameters, tags, roles, dependencies.
      const { templateFile: _t, ...rest } = props;
      out[`${prefix}manifest.json#${id}`] = { properties: rest, dependencies: artifact.dependencies ?? [] };
    }
  }
  return out;
}

function main() {
  const [a, b] = process.argv.slice(2);
  if (!a || !b) {
    console.error('usage: compare-assemblies.js <cdk.out> <other cdk.out>');
    process.exit(2);
  }
  const left = deployed(a);
  const right = deployed(b);
  const names = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort();
  const differing = names.filter((n) => JSON.stringify(left[n]) !== JSON.stringify(right[n]));
  if (names.length === 0) {
    console.error(`no templates or asset manifests in ${a}`);
    process.exit(1);
  }
  if (differing.length > 0) {
    for (const n of differing) {
      console.error(
        `differs: ${n}${left[n] === undefined ? ` (only in ${b})` : right[n] === undefined ? ` (only in ${a})` : ''}`,
      );
    }
    process.exit(1);
  }
  console.log(`identical: ${names.length} templates, asset manifests and stack properties`);
}

main();
