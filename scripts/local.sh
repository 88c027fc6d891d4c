#!/usr/bin/env bash
# npm run local: the main job (library, Flink jars, templates with cdk-nag and cfn-lint), then both architectures
# running end to end on this machine against local servers (bin/local/main.ts; its flags pass through).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/main.sh
# InfluxDB (Debian) and moto's server (.venv) for the local servers; the HTML report needs no browser.
bash scripts/ensure-local-servers.sh --servers-only
exec npx ts-node --transpile-only bin/local/main.ts "$@"
