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
step "reproducible Flink jars (stable CDK asset hashes)"
jars=(flink-apps/timeseries-enrichment/target/timeseries-enrichment.jar flink-apps/stateful-functions/target/stateful-functions.jar)
before=$(sha256sum "${jars[@]}")
mvn -B -q -o -f flink-apps/pom.xml -DskipTests clean package
after=$(sha256sum "${jars[@]}")
if [ "$before" != "$after" ]; then
  printf 'Flink jars differ between two builds of the same sources:\n%s\n%s\n' "$before" "$after" >&2
  exit 1
fi
step "local servers"
bash scripts/ensure-local-servers.sh
step "jest"
npx jest --ci
step "synth (cdk-nag gate)"
rm -rf cdk.out
npx cdk synth --quiet
step "deterministic synth (a second synth gives identical templates and asset hashes)"
npx cdk synth --quiet -o cdk.out.again >/dev/null
if ! diff -r -q -x 'asset.*' -x 'tree.json' -x 'manifest.json' -x '*.metadata.json' cdk.out cdk.out.again; then
  echo "two synths of the same sources differ: cdk diff would show changes that are not real" >&2
  exit 1
fi
rm -rf cdk.out.again
step "cfn-lint"
bash scripts/cfn-lint.sh
step "package consumer (npm pack, install, synth with cdk-nag, cfn-lint)"
bash scripts/pack-test.sh
step "all tests passed"
