#!/usr/bin/env bash
# Installs the pinned Python tools (cfn-lint, moto's server) into .venv/ in this checkout, so that what passes
# does not depend on which versions happen to be installed on the machine, and nothing outside the clone changes.
# Reinstalls when scripts/python-requirements.txt changes. Prints the venv's bin directory.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$PWD/.venv
req=scripts/python-requirements.txt
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  command -v python3 >/dev/null || { echo "Python 3 is required (python3 not found); on Debian: apt-get install -y python3 python3-venv" >&2; exit 1; }
  echo "installing the Python tools of $req into .venv/" >&2
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >/dev/null; then
    echo "python3 cannot create a virtual environment; on Debian: apt-get install -y python3-venv" >&2
    exit 1
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$req" >&2
  echo "$want" > "$venv/.requirements.sha256"
fi
echo "$venv/bin"
