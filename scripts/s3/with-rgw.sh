#!/usr/bin/env bash
# with-rgw.sh — run a command with a real S3 server: installs Ceph's RADOS Gateway from Debian's
# packages when missing, starts a fresh single-node cluster in a temporary folder, exports
# QUIVER_TEST_S3_* for the command, and stops and removes exactly that cluster afterwards (also
# when the command fails or is interrupted). The command's exit status is this script's.
#
# Usage: scripts/s3/with-rgw.sh <command> [args…]
# When QUIVER_TEST_S3_ENDPOINT is already set (a cluster you started with rgw-start.sh), the
# command runs against that one and nothing is started.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ $# -eq 0 ]; then echo "usage: $0 <command> [args…]" >&2; exit 2; fi

if [ -n "${QUIVER_TEST_S3_ENDPOINT:-}" ]; then
  exec "$@"
fi

started=$(date +%s.%N)
"$here/rgw-install.sh"
data="$(mktemp -d "${TMPDIR:-/tmp}/quiver-rgw-XXXXXX")"
cleanup() {
  "$here/rgw-stop.sh" "$data" >/dev/null 2>&1 || true
  rm -rf "$data"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

endpoint=""
for port in 7480 7580 7680 7780; do
  rm -rf "$data" && mkdir -p "$data"
  if endpoint="$("$here/rgw-start.sh" "$data" "$port")"; then break; fi
  endpoint=""
done
if [ -z "$endpoint" ]; then
  echo "with-rgw: could not start Ceph RGW on any of ports 7480 7580 7680 7780 (see above)" >&2
  exit 1
fi
set -a
# shellcheck disable=SC1091
. "$data/env"
set +a
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
echo "with-rgw: Ceph RGW at $endpoint, ready in $(awk -v a="$started" -v b="$(date +%s.%N)" "BEGIN { printf \"%.1f\", b - a }") s (install included)" >&2
status=0
"$@" || status=$?
exit "$status"
