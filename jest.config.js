// The Flink alpha warns about CfnApplicationV2 deprecations on every synth; they are not actionable here.
process.env.JSII_DEPRECATED = 'quiet';
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type-checking happens once in `npm run typecheck`; transpile-only keeps jest fast.
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }],
  },
  snapshotSerializers: ['<rootDir>/test/support/asset-hash-serializer.js'],
  // Synthesizing stacks with bundled Lambdas takes a few seconds each on 2 cores.
  testTimeout: 120000,
  maxWorkers: 2,
};
