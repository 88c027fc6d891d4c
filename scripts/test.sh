#!/usr/bin/env bash
# The full test suite: types, lint, Maven (Flink apps, builds the jars the app synthesizes), jest (constructs,
# handlers against real local servers, nag, snapshots), synth + cfn-lint, and the packed library in a fresh app.
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_DEPRECATED=quiet CDK_DISABLE_CLI_TELEMETRY=true

step() { printf '\n=== %s (%s)\n' "$*" "$(date +%T)"; }

step "typecheck"
npx tsc --noEmit -p tsconfig.json
step "lint"
npx eslint .
npx prettier --check .
step "maven: Flink apps and their tests"
bash scripts/ensure-maven.sh
mvn -B -q -f flink-apps/pom.xml install
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
step "all tests passed"
