#!/usr/bin/env bash
# Runs the README's two commands as a new user would: in a fresh clone of this repository's HEAD (uncommitted
# changes are not included), with an empty Maven local repository, npm cache, pip cache and temp directory, so
# nothing warm on this machine can make them pass. It downloads every dependency, so it is not part of `npm test`;
# run it before resolving anything that touches the build. Everything it creates is removed at the end, the
# processes it started included.
#
#   bash scripts/fresh-machine-check.sh            # both commands
#   bash scripts/fresh-machine-check.sh --load 2   # the same while 2 busy processes keep the CPUs loaded
#   bash scripts/fresh-machine-check.sh --keep     # leave the temporary folder for inspection
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
load=0
keep=false
while [ $# -gt 0 ]; do
  case "$1" in
    --load) load=${2:?--load needs a number of busy processes}; shift 2 ;;
    --keep) keep=true; shift ;;
    *) echo "unknown argument '$1' (expected --load N or --keep)" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/fresh-machine-XXXXXX")
busy=()
cleanup() {
  for pid in "${busy[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ "$keep" = true ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

git clone -q "$root" "$work/repo"
export npm_config_cache="$work/npm-cache"
export MAVEN_OPTS="${MAVEN_OPTS:-} -Dmaven.repo.local=$work/m2"
export PIP_CACHE_DIR="$work/pip-cache"
# Temporary files too (jest's transform cache, aws-cdk-lib's cdk.out folders): nothing warm from an earlier run.
mkdir -p "$work/tmp"
export TMPDIR="$work/tmp"
export CI=true

for _ in $(seq 1 "$load"); do
  # A busy loop per requested CPU, as another build on the same machine would be.
  bash -c 'while :; do :; done' &
  busy+=("$!")
done

cd "$work/repo"
run() {
  local start=$SECONDS
  echo "=== fresh machine: $* (empty Maven repository and npm cache, load $load)"
  bash -c "$*" </dev/null
  echo "=== fresh machine: '$*' passed in $((SECONDS - start)) s"
}
total=$SECONDS
run 'npm ci --no-audit --no-fund && npm run local -- --duration 60'
run 'npm ci --no-audit --no-fund && npm test'
echo "fresh machine check passed in $((SECONDS - total)) s (Maven downloaded $(du -sh "$work/m2" | cut -f1), npm $(du -sh "$work/npm-cache" | cut -f1))"
