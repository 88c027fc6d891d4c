#!/usr/bin/env bash
# Checks the JDK and Maven the Flink apps need (JDK 17+ with javac, Maven 3.8+), with a message that says what to
# install. The enforcer rule in flink-apps/pom.xml checks the same inside Maven.
set -euo pipefail
command -v java >/dev/null || { echo "JDK 17+ is required (java not found); on Debian: apt-get install -y openjdk-17-jdk-headless" >&2; exit 1; }
command -v javac >/dev/null || { echo "a JDK (not only a JRE) is required: javac not found; on Debian: apt-get install -y openjdk-17-jdk-headless" >&2; exit 1; }
command -v mvn >/dev/null || { echo "Maven 3.8+ is required (mvn not found); on Debian: apt-get install -y maven" >&2; exit 1; }
java_major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1)
if [ -z "$java_major" ] || [ "$java_major" -lt 17 ]; then
  echo "JDK 17+ is required, found Java ${java_major:-unknown} (JAVA_HOME=${JAVA_HOME:-unset}); on Debian: apt-get install -y openjdk-17-jdk-headless" >&2
  exit 1
fi
mvn_version=$(mvn -B -v 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | sed -n 's/^Apache Maven \([0-9.]*\).*/\1/p' | head -1)
IFS=. read -r mvn_major mvn_minor _ <<<"${mvn_version:-0.0}"
if [ "${mvn_major:-0}" -lt 3 ] || { [ "$mvn_major" -eq 3 ] && [ "${mvn_minor:-0}" -lt 8 ]; }; then
  echo "Maven 3.8+ is required, found ${mvn_version:-unknown}; on Debian: apt-get install -y maven" >&2
  exit 1
fi
