#!/usr/bin/env bash
# Proves the published package works on its own: pack it (prepack ships the Flink jars with their SHA-256), install
# the tarball into a fresh CDK app that has no JDK, Maven or checkout to lean on, synthesize both stacks and a stack
# of the app's own (tokens included) with cdk-nag, lint every template with cfn-lint, type-check a user handler
# against the shipped runtime, and check that a damaged jar fails synth.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
pybin=$(bash scripts/ensure-python-tools.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm run -s build
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
cp test/package-consumer/app.js test/package-consumer/handler.ts test/package-consumer/shipping.ts \
  test/package-consumer/tsconfig.json "$work/"
cd "$work"
version() { node -p "require('$root/node_modules/$1/package.json').version"; }
npm init -y >/dev/null
npm install --no-audit --no-fund --prefer-offline --silent "./$tarball" "aws-cdk-lib@$(version aws-cdk-lib)" \
  "constructs@$(version constructs)" "cdk-nag@$(version cdk-nag)" "typescript@$(version typescript)" \
  "@types/node@$(version @types/node)"
touch package-lock.json
pkg=node_modules/cdk-streaming-patterns
[ ! -e "$pkg/flink-apps" ] || { echo "the package must not ship flink-apps/" >&2; exit 1; }
(cd "$pkg/jars" && sha256sum -c --quiet SHA256SUMS)
echo "package consumer: $(du -h "$work/$tarball" | cut -f1) tarball; $(cd "$pkg/jars" && du -h ./*.jar | tr '\n\t' ', ')"

JSII_DEPRECATED=quiet node app.js
"$pybin/cfn-lint" --ignore-checks W3005 -- cdk.out/*.template.json
# The user's handler imports cdk-streaming-patterns/lambda/shared: its types must come with the package.
npx tsc -p tsconfig.json

# A damaged jar is refused at synth, naming it.
printf 'x' >> "$pkg/jars/stateful-functions.jar"
if out=$(JSII_DEPRECATED=quiet CDK_OUTDIR=cdk.out.damaged node app.js 2>&1); then
  echo "synth succeeded with a damaged jar" >&2
  exit 1
fi
grep -q "stateful-functions.jar has SHA-256 .* the package is damaged" <<<"$out" || { echo "$out" >&2; exit 1; }
echo "package consumer: installed $tarball, synthesized $(ls cdk.out/*.template.json | wc -l) templates with cdk-nag, cfn-lint clean, handler type-checks, damaged jar refused"
