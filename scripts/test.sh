#!/usr/bin/env bash
# The full test suite: types, lint, jest (constructs, handlers, nag, snapshots), synth + cfn-lint, Maven (Flink apps).
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_DEPRECATED=quiet CDK_DISABLE_CLI_TELEMETRY=true

step() { printf '\n=== %s\n' "$*"; }

step "typecheck"
npx tsc --noEmit -p tsconfig.json
step "lint"
npx eslint .
npx prettier --check .
step "local servers"
bash scripts/ensure-local-servers.sh
step "jest"
npx jest --ci
step "synth (cdk-nag gate)"
rm -rf cdk.out
npx cdk synth --quiet
step "cfn-lint"
bash scripts/cfn-lint.sh
step "package consumer (npm pack, install, synth with cdk-nag, cfn-lint)"
bash scripts/pack-test.sh
if [ -f flink-apps/pom.xml ]; then
  step "maven (Flink apps)"
  bash scripts/ensure-maven.sh
  mvn -B -q -f flink-apps/pom.xml install
fi
step "all tests passed"
