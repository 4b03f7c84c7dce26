#!/usr/bin/env bash
# ensure.sh — makes sure Debian's Chromium is installed for the browser tests and benches
# (playwright-core drives /usr/bin/chromium; `npx playwright install` does not work here).
# Installs it from Debian's packages when missing (root, after apt-get update). Nothing is
# started: each test launches and closes its own headless browser.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-chromium: Chromium is missing and this is not root; run: sudo apt-get install chromium" >&2
  exit 1
fi
echo "ensure-chromium: installing Debian's chromium…" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
chromium --version >&2
