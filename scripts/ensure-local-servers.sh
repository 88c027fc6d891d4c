#!/usr/bin/env bash
# Installs what the local test servers need that npm does not provide: InfluxDB (Debian's influxdb, into the system:
# it is a server binary, not a library) and moto's server (PyPI, into the project's .venv/ with pinned versions).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v influxd >/dev/null 2>&1; then
  echo "influxd not found: installing Debian's influxdb" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
      echo "InfluxDB 1.x (influxd) is required by the tests and installing it needs root: run 'apt-get install -y influxdb' as root, or put an influxd 1.x on the PATH" >&2
      exit 1
    }
    SUDO="sudo"
  fi
  command -v apt-get >/dev/null 2>&1 || {
    echo "InfluxDB 1.x (influxd) is required by the tests; this is not a Debian-based system: install influxdb 1.x so that influxd is on the PATH" >&2
    exit 1
  }
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq influxdb >/dev/null
fi
bash scripts/ensure-python-tools.sh >/dev/null
