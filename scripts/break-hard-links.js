#!/usr/bin/env node
// prepack, after package-jars.js: gives every hard-linked file under node_modules/ an inode of its own. npm pack
// writes the second path of a hard link as a tar link entry, and npm install leaves such entries out, so a bundled
// dependency would arrive without that file. esbuild's postinstall hard-links bin/esbuild to its platform binary, and
// the package bundles esbuild: installing the tarball then failed with "Cannot find module .../esbuild/bin/esbuild".
// Each such file is replaced by a copy with the same bytes and mode. `node scripts/break-hard-links.js [root]`.
'use strict';
const fs = require('fs');
const path = require('path');

function breakHardLinks(root) {
  const copied = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile() && fs.statSync(file).nlink > 1) {
        const temp = `${file}.break-hard-links`;
        fs.copyFileSync(file, temp);
        fs.chmodSync(temp, fs.statSync(file).mode);
        fs.renameSync(temp, file);
        copied.push(path.relative(root, file));
      }
    }
  };
  const modules = path.join(root, 'node_modules');
  if (fs.existsSync(modules)) walk(modules);
  return copied;
}

if (require.main === module) {
  const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
  for (const file of breakHardLinks(root)) console.log(`${file}: hard link replaced by a copy for npm pack`);
}
module.exports = { breakHardLinks };
