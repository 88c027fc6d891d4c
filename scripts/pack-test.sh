#!/usr/bin/env bash
# Proves the published package works: pack it, install the tarball into a fresh CDK app, synthesize with
# cdk-nag, and lint the template with cfn-lint.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
pybin=$(bash scripts/ensure-python-tools.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm run -s build
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
cp test/package-consumer/app.js test/package-consumer/handler.ts "$work/"
cd "$work"
cdk_lib=$(node -p "require('$root/node_modules/aws-cdk-lib/package.json').version")
constructs=$(node -p "require('$root/node_modules/constructs/package.json').version")
nag=$(node -p "require('$root/node_modules/cdk-nag/package.json').version")
npm init -y >/dev/null
npm install --no-audit --no-fund --prefer-offline --silent "./$tarball" "aws-cdk-lib@$cdk_lib" "constructs@$constructs" "cdk-nag@$nag"
touch package-lock.json
JSII_DEPRECATED=quiet node app.js
"$pybin/cfn-lint" --ignore-checks W3005 -- cdk.out/*.template.json
echo "package consumer: installed $tarball, synthesized with cdk-nag, cfn-lint clean"
