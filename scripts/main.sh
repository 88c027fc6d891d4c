#!/usr/bin/env bash
# The main job: build the library and the Flink jars, synthesize every stack with cdk-nag, lint every template.
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_DEPRECATED=quiet CDK_DISABLE_CLI_TELEMETRY=true
npm run build
if [ -f flink-apps/pom.xml ]; then
  bash scripts/ensure-maven.sh
  mvn -B -q -f flink-apps/pom.xml -DskipTests install
fi
rm -rf cdk.out
npx cdk synth --quiet
bash scripts/cfn-lint.sh
echo
echo "Templates (nag and cfn-lint clean):"
ls -1 "$PWD"/cdk.out/*.template.json
