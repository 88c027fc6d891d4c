#!/usr/bin/env bash
# Installs what the local servers and the report test need that npm does not provide: InfluxDB (Debian's influxdb)
# and Chromium (Debian's chromium, for the HTML report's headless test), into the system: they are programs, not
# libraries; and moto's server (PyPI, into the project's .venv/ with pinned versions).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
# --servers-only (npm run local): no browser, only the report test needs one.
if [ "${1:-}" != "--servers-only" ]; then
  [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian's ${missing[*]} (influxd for the local InfluxDB, chromium for the report test)" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
      echo "${missing[*]} required by the tests and installing needs root: run 'apt-get install -y ${missing[*]}' as root (or put influxd 1.x on the PATH / set CHROMIUM_PATH)" >&2
      exit 1
    }
    SUDO="sudo"
  fi
  command -v apt-get >/dev/null 2>&1 || {
    echo "${missing[*]} required by the tests; this is not a Debian-based system: install InfluxDB 1.x (influxd on the PATH) and Chromium (CHROMIUM_PATH)" >&2
    exit 1
  }
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
bash scripts/ensure-python-tools.sh >/dev/null
