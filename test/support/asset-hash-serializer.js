// Masks asset hashes (64 hex chars) so snapshots are stable across machines and esbuild versions.
const HASH = /[0-9a-f]{64}/g;
module.exports = {
  test: (val) => typeof val === 'string' && /[0-9a-f]{64}/.test(val),
  serialize: (val) => JSON.stringify(val.replace(HASH, '[ASSET HASH]')),
};
