// Removes the per-run temporary directory jest.config.js created: every `new App()` without an outdir, every
// server's data directory and every mkdtemp of a test lands in it, ~500 MB per run that would otherwise stay in /tmp.
const fs = require('fs');

module.exports = async () => {
  const dir = process.env.CDK_STREAMING_PATTERNS_JEST_TMPDIR;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
};
