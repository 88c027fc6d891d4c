#!/usr/bin/env bash
# Checks the JDK and Maven the Flink apps need (JDK 17+, Maven 3.8+).
set -euo pipefail
command -v java >/dev/null || { echo "JDK 17 is required (java not found)" >&2; exit 1; }
command -v mvn >/dev/null || { echo "Maven 3.8+ is required (mvn not found); on Debian: apt-get install -y maven" >&2; exit 1; }
