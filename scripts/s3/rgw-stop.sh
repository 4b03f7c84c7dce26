#!/usr/bin/env bash
# rgw-stop.sh — stop the Ceph daemons that rgw-start.sh started in <data-dir>, and nothing else.
# Usage: scripts/s3/rgw-stop.sh <data-dir>
# Reads <data-dir>/pids (one PID a line, in start order: mon, osd, rgw) and stops them in reverse
# order: TERM, wait up to 5 s, then KILL. A PID is only signalled while its command line still
# names <data-dir>/ceph.conf, so a recycled PID or another cluster's daemon is never touched.
# Removes the pids file; the data is left in place. Safe to run twice (exit 0 when nothing to do).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 <data-dir>" >&2; exit 2; }
[ -d "$1" ] || { echo "rgw-stop: no such folder $1 (nothing to stop)" >&2; exit 0; }
D="$(cd -- "$1" && pwd -P)"
PIDS="$D/pids"
[ -f "$PIDS" ] || { echo "rgw-stop: no $PIDS (nothing to stop)" >&2; exit 0; }

# true while $1 is alive and is one of this data dir's daemons
ours() {
  local cmd
  cmd="$({ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null)" || return 1
  [[ "$cmd" == *" $D/ceph.conf "* ]]
}

t0=$(date +%s%N)
pids=()
while read -r pid; do
  [[ "$pid" =~ ^[0-9]+$ ]] && pids+=("$pid")
done <"$PIDS"

# Stop the newest first: radosgw, then the OSD (which tells the mon it is going down, so the mon
# must still be up or the OSD waits osd_mon_shutdown_timeout), then the mon.
for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
  pid="${pids[i]}"
  ours "$pid" || continue
  name="$(cat "/proc/$pid/comm" 2>/dev/null || echo "?")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    ours "$pid" || break
    sleep 0.1
  done
  if ours "$pid"; then
    echo "rgw-stop: $name ($pid) still running after 5 s: KILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 20); do ours "$pid" || break; sleep 0.1; done
  fi
done
rm -f -- "$PIDS"
awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "rgw-stop: stopped in %.1f s\n", (b - a) / 1e9 }' >&2
