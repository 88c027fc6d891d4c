#!/usr/bin/env bash
# Installs the local servers the tests start that npm does not provide: InfluxDB (Debian) and moto (PyPI, for SQS).
set -euo pipefail
if ! command -v influxd >/dev/null 2>&1; then
  echo "influxd not found: installing Debian's influxdb" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq influxdb >/dev/null
fi
if ! python3 -c "import moto.server, flask" >/dev/null 2>&1; then
  echo "moto server not found: installing moto[server] with pip" >&2
  python3 -m pip install --quiet --disable-pip-version-check "moto[server]"
fi
