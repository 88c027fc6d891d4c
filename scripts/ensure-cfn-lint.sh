#!/usr/bin/env bash
# Installs cfn-lint with pip when it is not on PATH, so a fresh machine needs nothing beforehand.
set -euo pipefail
if ! command -v cfn-lint >/dev/null 2>&1; then
  echo "cfn-lint not found: installing it with pip" >&2
  python3 -m pip install --quiet --disable-pip-version-check cfn-lint
fi
cfn-lint --version
