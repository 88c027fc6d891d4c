#!/usr/bin/env bash
# The full test suite: types, lint, Maven (Flink apps, builds the jars the app synthesizes), the Glue job's PySpark
# transform (pytest), jest (constructs, handlers against real local servers, nag, snapshots), synth + cfn-lint, the
# packed library in a fresh app, and the library from Python through jsii.
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_DEPRECATED=quiet CDK_DISABLE_CLI_TELEMETRY=true

# Each step prints its start; at the end (or at the failing step) a table gives every step's wall time.
steps=()
current=""
started=$SECONDS
step() {
  finish_step
  current="$*"
  started=$SECONDS
  printf '\n=== %s (%s)\n' "$current" "$(date +%T)"
}
finish_step() {
  [ -n "$current" ] && steps+=("$(printf '%5d s  %s' "$((SECONDS - started))" "$current")")
  current=""
}
summary() {
  local rc=$?
  [ -n "${servers_pid:-}" ] && { kill "$servers_pid" 2>/dev/null || true; }
  rm -f "${servers_log:-}"
  finish_step
  printf '\n=== step times (total %d s)%s\n' "$SECONDS" "$([ "$rc" -ne 0 ] && echo ', FAILED at the last step')"
  printf '%s\n' "${steps[@]}"
}
trap summary EXIT
SECONDS=0

# What the local test servers need (pinned Python tools in .venv/, pyspark among them, Debian's influxdb) installs in
# the background while types, lint and Maven run: it mostly waits on the network. The "local servers" step waits for it.
servers_log=$(mktemp)
bash scripts/ensure-local-servers.sh >"$servers_log" 2>&1 &
servers_pid=$!

step "typecheck"
npx tsc --noEmit -p tsconfig.json
step "lint"
npx eslint .
npx prettier --check .
step "maven: Flink apps and their tests"
bash scripts/ensure-maven.sh
# clean: a jar built over an earlier target/ orders its entries differently, so only clean builds compare.
mvn -B -q -f flink-apps/pom.xml clean install
step "reproducible Flink jars (stable CDK asset hashes)"
jars=(flink-apps/timeseries-enrichment/target/timeseries-enrichment.jar flink-apps/stateful-functions/target/stateful-functions.jar)
before=$(sha256sum "${jars[@]}")
# Online like the build above: offline mode fails wherever ~/.m2 lacks a plugin this goal needs.
mvn -B -q -f flink-apps/pom.xml -DskipTests clean package
after=$(sha256sum "${jars[@]}")
if [ "$before" != "$after" ]; then
  printf 'Flink jars differ between two builds of the same sources:\n%s\n%s\n' "$before" "$after" >&2
  exit 1
fi
step "local servers"
if ! wait "$servers_pid"; then
  servers_pid=""
  cat "$servers_log" >&2
  echo "installing what the local test servers need failed (scripts/ensure-local-servers.sh)" >&2
  exit 1
fi
servers_pid=""
cat "$servers_log"
step "glue: PySpark transform tests (pyspark from PyPI on a local SparkSession, no Glue runtime)"
command -v java >/dev/null || { echo "pyspark needs Java 17 (java not found); on Debian: apt-get install -y openjdk-17-jre-headless" >&2; exit 1; }
.venv/bin/python -m pytest -q -p no:cacheprovider glue/streaming_etl
step "jest"
# The README examples' test also writes each example app's assembly to cdk.out.examples, for the cfn-lint step.
rm -rf cdk.out.examples
EXAMPLES_OUTDIR="$PWD/cdk.out.examples" npx jest --ci
step "bench smoke (every npm run bench row once, on tiny inputs; figures fail nothing)"
bench_out=$(mktemp -d)
npm run --silent bench -- --smoke --out "$bench_out"
rm -rf "$bench_out"
step "end to end: both architectures on local servers (npm run local's pipelines, fault tests)"
E2E=1 npx jest --ci --runInBand test/e2e
step "synth (cdk-nag gate)"
rm -rf cdk.out
npx cdk synth --quiet
step "deterministic synth (a second synth gives identical templates and asset hashes)"
rm -rf cdk.out.again
npx cdk synth --quiet -o cdk.out.again >/dev/null
if ! node scripts/compare-assemblies.js cdk.out cdk.out.again; then
  echo "two synths of the same sources differ: cdk diff would show changes that are not real" >&2
  exit 1
fi
rm -rf cdk.out.again
step "cfn-lint"
bash scripts/cfn-lint.sh
# Every README example (every construct, those no stack of the app uses included), as a user's app would synthesize
# it. Ignored there only: W3010 and W7001 come from synthesizing without credentials (placeholder zones of a pinned
# account, region-agnostic Firehose mappings); W3697 flags LiveAnalyticsDatabase, a documented option for existing
# Timestream for LiveAnalytics users.
"$(bash scripts/ensure-python-tools.sh)/cfn-lint" --ignore-checks W3005 W3010 W7001 W3697 -- cdk.out.examples/*/*.template.json
echo "cfn-lint: $(ls cdk.out.examples/*/*.template.json | wc -l) example template(s) clean"
rm -rf cdk.out.examples
step "synth, cdk-nag and cfn-lint with every optional path of the app on"
# The context switches that default to off add resources the default synth never lints.
rm -rf cdk.out.optional
npx cdk synth --quiet -o cdk.out.optional -c timeseries:enableGrafana=true -c timeseries:enableGlueEtl=true \
  -c timeseries:enableIcebergArchive=true -c timeseries:startFlinkOnDeploy=latest-snapshot \
  -c eventsourced:rebuildReadModelGeneration=2 >/dev/null
bash scripts/cfn-lint.sh cdk.out.optional
rm -rf cdk.out.optional
step "package consumer (npm pack, install, synth with cdk-nag, cfn-lint)"
bash scripts/pack-test.sh
step "jsii: the Python package (jsii-pacmak) in a fresh venv synthesizes a stack"
bash scripts/jsii-test.sh
finish_step
echo
echo "all tests passed"
