#!/usr/bin/env bash
# rgw-install.sh — install the test command's services from Debian packages: a single-node Ceph
# RADOS Gateway (S3 server) and nginx (the load balancer of the scale-out tests).
# Idempotent: does nothing when radosgw, ceph-mon, ceph-osd, ceph-authtool, monmaptool,
# radosgw-admin and nginx are all on PATH. ceph-mgr is deliberately not installed (RGW works
# without it). Packages are kept from starting services while they install (policy-rc.d): the
# tests start their own, on their own ports.
# Usage: scripts/s3/rgw-install.sh        (timings go to stderr)
set -euo pipefail

export PATH="$PATH:/usr/sbin:/sbin"
tools=(radosgw ceph-mon ceph-osd ceph-authtool monmaptool radosgw-admin nginx)

missing=()
for t in "${tools[@]}"; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "rgw-install: already installed ($(radosgw --version 2>/dev/null | head -n1 || echo radosgw))" >&2
  exit 0
fi
echo "rgw-install: missing: ${missing[*]}" >&2

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "rgw-install: not root and no sudo: cannot install packages" >&2
    exit 1
  fi
fi

# Debian's nginx would start on port 80 from its postinst; refuse service starts while installing.
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod +x "$policy"
  made_policy=1
fi
cleanup() { if [ -n "$made_policy" ]; then "${SUDO[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

t0=$(date +%s.%N)
"${SUDO[@]}" apt-get update -q >/dev/null
t1=$(date +%s.%N)
printf 'rgw-install: apt-get update %.1f s\n' "$(awk "BEGIN{print $t1-$t0}")" >&2
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  radosgw ceph-mon ceph-osd ceph-common nginx-light >/dev/null
t2=$(date +%s.%N)
printf 'rgw-install: apt-get install %.1f s (total %.1f s)\n' \
  "$(awk "BEGIN{print $t2-$t1}")" "$(awk "BEGIN{print $t2-$t0}")" >&2

for t in "${tools[@]}"; do
  if ! command -v "$t" >/dev/null 2>&1; then
    echo "rgw-install: $t still missing after install" >&2
    exit 1
  fi
done
echo "rgw-install: installed $(radosgw --version 2>/dev/null | head -n1)" >&2
