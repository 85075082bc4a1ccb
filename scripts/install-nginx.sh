#!/usr/bin/env bash
# Install Debian's nginx for tests/deploy/ (the shipped site deploy/nginx/dvc.conf is started in
# front of two app processes). Idempotent and non-interactive: does nothing when nginx is already
# there; otherwise, as root on a Debian/Ubuntu machine, installs it with apt-get. The package's
# own service is never started by the tests (they run nginx with a configuration of their own);
# the script stops it when the installation started it, so it does not hold port 80.
# Exit status: 0 when nginx is available afterwards, non-zero otherwise (then `make test` and the
# deployment tests fail, naming the reason: they never skip).
set -euo pipefail

NGINX=${NGINX_PATH:-/usr/sbin/nginx}

if [ -x "$NGINX" ]; then
    echo "nginx already installed: $("$NGINX" -v 2>&1)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    cat >&2 <<'MSG'
nginx is not installed, and this script can only install it as root with apt-get.
Install it with your system's package manager, for example:
    Debian/Ubuntu:   sudo apt-get install nginx
or set NGINX_PATH to an nginx binary (with the ssl module). The deployment tests fail without it.
MSG
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
LOG=$(mktemp -t install-nginx.XXXXXX)
trap 'rm -f "$LOG"' EXIT

run_logged() {
    if ! "$@" >>"$LOG" 2>&1; then
        echo "failed: $*" >&2
        tail -n 40 "$LOG" >&2
        return 1
    fi
}

# No service started by the package's scripts (a container has no init; a host keeps port 80 free).
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod +x "$POLICY"
    CREATED_POLICY=1
fi
trap 'rm -f "$LOG"; if [ "$CREATED_POLICY" = 1 ]; then rm -f "$POLICY"; fi' EXIT

echo "installing nginx with apt-get ..."
if ! run_logged apt-get "${APT_OPTS[@]}" update -qq; then
    echo "apt-get update failed; retrying once in 5 s" >&2
    sleep 5
    run_logged apt-get "${APT_OPTS[@]}" update -qq
fi
if ! run_logged apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends nginx; then
    echo "apt-get install failed; retrying once in 10 s" >&2
    sleep 10
    run_logged apt-get "${APT_OPTS[@]}" update -qq
    run_logged apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends nginx
fi

if [ -x "$NGINX" ]; then
    echo "nginx installed: $("$NGINX" -v 2>&1)"
    exit 0
fi
echo "nginx was installed but $NGINX is missing" >&2
exit 1
