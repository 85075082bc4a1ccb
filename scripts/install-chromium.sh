#!/usr/bin/env bash
# Install Debian's Chromium (headless browser for tests/browser/) and fonts with Vietnamese
# glyphs. Idempotent and non-interactive: does nothing when /usr/bin/chromium and the fonts are
# already there; otherwise, as root on a Debian/Ubuntu machine, installs them with apt-get.
# Playwright drives this browser through its executable path: no Playwright browser download.
# Exit status: 0 when chromium is available afterwards, non-zero otherwise (then `make test` and
# the browser tests fail, naming the reason: they never skip).
set -euo pipefail

PACKAGES=(chromium fonts-dejavu-core fonts-noto-core)

have_all() {
    [ -x /usr/bin/chromium ] || return 1
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || return 1
    done
}

if have_all; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    cat >&2 <<'MSG'
Chromium is not installed, and this script can only install it as root with apt-get.
Install it with your system's package manager, for example:
    Debian/Ubuntu:   sudo apt-get install chromium fonts-dejavu-core fonts-noto-core
or set CHROMIUM_PATH to a Chromium/Chrome binary. The browser tests fail without it.
MSG
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
LOG=$(mktemp -t install-chromium.XXXXXX)
trap 'rm -f "$LOG"' EXIT

run_logged() {
    if ! "$@" >>"$LOG" 2>&1; then
        echo "failed: $*" >&2
        tail -n 40 "$LOG" >&2
        return 1
    fi
}

echo "installing ${PACKAGES[*]} with apt-get ..."
if ! run_logged apt-get "${APT_OPTS[@]}" update -qq; then
    echo "apt-get update failed; retrying once in 5 s" >&2
    sleep 5
    run_logged apt-get "${APT_OPTS[@]}" update -qq
fi
if ! run_logged apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${PACKAGES[@]}"; then
    echo "apt-get install failed; retrying once in 10 s" >&2
    sleep 10
    run_logged apt-get "${APT_OPTS[@]}" update -qq
    run_logged apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${PACKAGES[@]}"
fi

if [ -x /usr/bin/chromium ]; then
    echo "chromium installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi
echo "chromium was installed but /usr/bin/chromium is missing" >&2
exit 1
