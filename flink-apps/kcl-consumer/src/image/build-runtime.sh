#!/usr/bin/env bash
# The runtime layer of the consumer image, built without Docker or a registry: a JRE linked (jlink) from the JDK that
# runs the build, plus the shared libraries it needs, under <out>/ as the image's root. Jib lays it onto `scratch`.
# The JRE has the build machine's architecture (uname -m), which is why the image is single-platform.
set -euo pipefail
out=$1
java_home=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
rm -rf "$out"
mkdir -p "$out/opt" "$out/tmp" "$out/etc"

# Modules of the consumer and its libraries, chosen by what they import and load by reflection or service lookup
# (TLS elliptic curves, DNS through JNDI, the OperatingSystemMXBean the KCL's worker metrics read; java.desktop for
# the java.beans classes log4j uses), and checked by running the image's JVM against the local servers.
"$java_home/bin/jlink" \
  --add-modules java.base,java.desktop,java.logging,java.management,java.naming,java.net.http,java.sql,java.xml,jdk.crypto.ec,jdk.management,jdk.unsupported,jdk.naming.dns \
  --strip-debug --no-man-pages --no-header-files --compress=2 \
  --output "$out/opt/java"

# The JDK's lib/security/cacerts is a link into the build machine's /etc: copy the trust store itself.
cacerts=$(readlink -f "$java_home/lib/security/cacerts")
rm -f "$out/opt/java/lib/security/cacerts"
cp "$cacerts" "$out/opt/java/lib/security/cacerts"

# Every shared library the JRE's executables and libraries load, with the dynamic loader, at their own paths.
libraries() {
  find "$out/opt/java" -type f \( -name '*.so' -o -path '*/bin/*' \) -print0 |
    xargs -0 ldd 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u
}
for lib in $(libraries); do
  # libjvm and friends are inside the JRE already.
  case "$lib" in "$out"/*) continue ;; esac
  target="$out$(dirname "$lib")"
  mkdir -p "$target"
  cp -L "$lib" "$target/"
done
# glibc loads these by name at run time (host and user lookups), not through ldd's list.
ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
for lib in libnss_files.so.2 libnss_dns.so.2 libresolv.so.2; do
  # awk reads to the end (no early exit): an early exit would kill ldconfig with SIGPIPE, which pipefail reports.
  found=$("$ldconfig" -p | awk -v l="$lib" '!found && $1 == l && /x86-64|aarch64/ { print $NF; found = 1 }')
  if [ -n "$found" ]; then
    mkdir -p "$out$(dirname "$found")"
    cp -L "$found" "$out$(dirname "$found")/"
  fi
done

# A user for the JVM's user.home and a hosts file order; the task runs as uid 65532 with no shell.
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$out/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$out/etc/group"
printf 'hosts: files dns\n' >"$out/etc/nsswitch.conf"
chmod 777 "$out/tmp"
du -sh "$out" | awk '{ print "runtime layer: " $1 }'
