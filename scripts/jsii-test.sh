#!/usr/bin/env bash
# The library from Python, through jsii: compile with jsii, generate and build the Python package with jsii-pacmak,
# install the wheel into a fresh virtual environment with aws-cdk-lib and constructs from PyPI, and run
# test/jsii/app.py, which synthesizes a StreamStore read by a LambdaStreamProcessor (its handler a TypeScript file
# shipped with the test) and asserts on the template and the bundled code. Fails as well when the committed API.md is
# not what jsii-docgen writes. JSII_TEST_TARGETS="python java go" builds the Java and Go packages too, where their
# registries serve the Flink alpha (README, Other languages).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# jsii, jsii-pacmak and the jsii runtime under Python each print a banner on Node 20 (end of life for jsii).
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 JSII_DEPRECATED=quiet CDK_DISABLE_CLI_TELEMETRY=true
targets=${JSII_TEST_TARGETS:-python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
timed() {
  local label=$1 start=$SECONDS
  shift
  "$@"
  echo "jsii test: $label took $((SECONDS - start)) s"
}
version() { node -p "require('$root/node_modules/$1/package.json').version"; }
# The oldest aws-cdk-lib the package declares (its peerDependency floor, the one the Flink alpha is built for): PyPI's
# aws-cdk-lib can lag npm's, and the floor is the version a Python user may have that the npm build never sees.
floor() { node -p "require('$root/package.json').peerDependencies['$1'].replace(/^[~^]/, '')"; }

timed "jsii compile" npx jsii
timed "jsii-docgen" npx jsii-docgen --output "$work/API.md"
if ! cmp -s API.md "$work/API.md"; then
  echo "API.md is not what jsii-docgen writes for lib/ today: run npm run docgen and commit API.md" >&2
  exit 1
fi
# jsii-pacmak embeds what `npm pack` writes. Without prepack's first step: it would copy Maven's Flink jars into the
# package, which StreamStore and LambdaStreamProcessor do not use (scripts/pack-test.sh checks the jars the published
# package ships). Scripts are skipped through npm's environment, not --pack-command, which would make jsii-pacmak copy
# the whole checkout, node_modules included, before packing.
node scripts/break-hard-links.js
for target in $targets; do
  # Never an earlier build: the tarball inside also carries lambda/, which the assembly's fingerprint does not cover.
  rm -rf "dist-jsii/$target"
  timed "jsii-pacmak $target" env npm_config_ignore_scripts=true npx jsii-pacmak --no-npmignore --targets "$target"
done

wheel=$(ls dist-jsii/python/*.whl)
timed "venv + pip install" bash -c '
  python3 -m venv "$1/venv"
  "$1/venv/bin/pip" install --quiet --disable-pip-version-check --no-input "$2" "aws-cdk-lib==$3" "constructs==$4"
' _ "$work" "$root/$wheel" "$(floor aws-cdk-lib)" "$(version constructs)"
cp test/jsii/app.py test/jsii/handler.ts "$work/"
# From the temporary folder, as a Python project would: no node_modules, lock file or tsconfig.json above the handler.
(cd "$work" && timed "python app synth" env CDK_OUTDIR="$work/cdk.out" venv/bin/python app.py)
echo "jsii test: $(basename "$wheel") ($(du -h "$wheel" | cut -f1)) synthesized a StreamStore + LambdaStreamProcessor stack from Python"
