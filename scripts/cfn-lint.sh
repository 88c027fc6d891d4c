#!/usr/bin/env bash
# Lints every synthesized template with cfn-lint, then with aws-cdk-lib's built-in validation, which synth no longer
# runs (bin/cli-app.ts) and which has rules cfn-lint lacks. Any error or warning fails (cfn-lint's exit code is a bit
# mask).
set -euo pipefail
cd "$(dirname "$0")/.."
# Usage: bash scripts/cfn-lint.sh [assembly directory, default cdk.out]
out=${1:-cdk.out}
bin=$(bash scripts/ensure-python-tools.sh)
shopt -s nullglob
templates=("$out"/*.template.json "$out"/assembly-*/*.template.json)
if [ ${#templates[@]} -eq 0 ]; then
  echo "no templates in $out: run 'npm run synth' first" >&2
  exit 1
fi
"$bin/cfn-lint" "${templates[@]}"
echo "cfn-lint: ${#templates[@]} template(s) clean"
node scripts/cdk-validate.js "$out"
