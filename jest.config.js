const fs = require('fs');
const os = require('os');
const path = require('path');

// One temporary directory per run, removed by the global teardown: aws-cdk-lib gives every App without an outdir
// its own cdk.out under the OS temp dir and never removes it. Workers inherit TMPDIR from this process.
if (!process.env.CDK_STREAMING_PATTERNS_JEST_TMPDIR) {
  process.env.CDK_STREAMING_PATTERNS_JEST_TMPDIR = fs.mkdtempSync(
    path.join(os.tmpdir(), 'cdk-streaming-patterns-jest-'),
  );
  process.env.TMPDIR = process.env.CDK_STREAMING_PATTERNS_JEST_TMPDIR;
}
// A fixed, far-from-UTC time zone (+12:45/+13:45) instead of the machine's, so no test passes only in UTC.
process.env.TZ = 'Pacific/Chatham';
// The Flink alpha warns about CfnApplicationV2 deprecations on every synth; they are not actionable here.
process.env.JSII_DEPRECATED = 'quiet';
// aws-cdk-lib's built-in CloudFormation validation only warns (it fails nothing a test asserts) and compiles a WASM
// module in every test file, ~2 s each: 40 % of jest's time. cfn-lint, which fails on warnings, lints every template
// the app synthesizes in `npm test`, and the nag tests keep their own gate.
process.env.CDK_VALIDATION = 'false';
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The end-to-end runs (test/e2e: both architectures on local servers, Flink jobs included) take the machine's two
  // cores for minutes: npm test runs them in their own step, one at a time (E2E=1 npx jest --runInBand test/e2e).
  testPathIgnorePatterns: process.env.E2E === '1' ? ['/node_modules/'] : ['/node_modules/', '<rootDir>/test/e2e/'],
  transform: {
    // Type-checking happens once in `npm run typecheck`; transpile-only keeps jest fast.
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  // The samples of the READMEs (examples/) import the package by name, as a user would (tsconfig.json `paths`).
  moduleNameMapper: {
    '^cdk-streaming-patterns$': '<rootDir>/lib/index.ts',
    '^cdk-streaming-patterns/lambda/(.*)$': '<rootDir>/lambda/$1',
  },
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  snapshotSerializers: ['<rootDir>/test/support/asset-hash-serializer.js'],
  // Synthesizing stacks with bundled Lambdas takes a few seconds each on 2 cores.
  testTimeout: 120000,
  maxWorkers: 2,
};
