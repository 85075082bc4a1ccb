#!/usr/bin/env bash
# Install the ClamAV daemon (`clamd`) used to scan uploaded files for malware.
#
# Idempotent and non-interactive: does nothing when clamd is already installed; otherwise, as
# root on a Debian/Ubuntu machine, installs the `clamav-daemon` and `clamav-freshclam` packages
# with apt-get. The
# distribution's own clamav-daemon / clamav-freshclam services are NOT started (the service
# runs its own clamd under DATA_DIR, see devservers/clamd.py); any such daemon the package scripts
# might have started anyway is stopped.
#
# Signatures: the package brings none. In production set CLAMAV_MIRROR_URL (the service then
# runs freshclam on a schedule and reloads clamd), or keep /var/lib/clamav current with the
# distribution's freshclam service (network needed; this script disables it).
# Exit status: 0 when clamd is available afterwards, non-zero otherwise.
set -euo pipefail

find_clamd() {
    if command -v clamd >/dev/null 2>&1; then
        command -v clamd
    elif [ -x /usr/sbin/clamd ]; then
        echo /usr/sbin/clamd
    else
        return 1
    fi
}

if existing=$(find_clamd) && command -v freshclam >/dev/null 2>&1; then
    echo "clamd already installed: $existing"
    exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    if existing=$(find_clamd); then
        echo "clamd installed: $existing; freshclam is missing (install clamav-freshclam for CLAMAV_MIRROR_URL)" >&2
        exit 0
    fi
    cat >&2 <<'MSG'
clamd (the ClamAV daemon) is not installed, and this script can only install it as root with apt-get.
Install it with your system's package manager, for example:
    Debian/Ubuntu:   sudo apt-get install --no-install-recommends clamav-daemon clamav-freshclam
    Fedora/RHEL:     sudo dnf install clamd
    Alpine:          sudo apk add clamav-daemon
    macOS (Homebrew): brew install clamav
or point CLAMD_SOCKET at an already running clamd.
MSG
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for another apt/dpkg run instead of failing at once on its lock.
APT_OPTS=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=2)

# Keep invoke-rc.d from starting the package's services while it is installed (the classic
# policy-rc.d trick); an existing policy-rc.d (Docker images ship one) is left as it is.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
LOG=$(mktemp -t install-clamav.XXXXXX)
cleanup() {
    if [ "$created_policy" -eq 1 ]; then
        rm -f "$POLICY"
    fi
    rm -f "$LOG"
}
trap cleanup EXIT
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# temporary, written by install-clamav.sh\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    created_policy=1
fi

# apt's and dpkg's chatter goes to $LOG, shown only when something fails.
run_logged() {
    if ! "$@" >>"$LOG" 2>&1; then
        echo "failed: $*" >&2
        tail -n 40 "$LOG" >&2
        return 1
    fi
}

echo "installing clamav-daemon and clamav-freshclam with apt-get ..."
if ! run_logged apt-get "${APT_OPTS[@]}" update -qq; then
    echo "apt-get update failed; retrying once in 5 s" >&2
    sleep 5
    run_logged apt-get "${APT_OPTS[@]}" update -qq
fi
# freshclam: the service runs it itself when CLAMAV_MIRROR_URL names a mirror (storage/signatures.py).
run_logged apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends clamav-daemon clamav-freshclam

# With systemd the units may be enabled and started despite policy-rc.d on some setups:
# stop and disable them, so that no second clamd or a freshclam without network lingers.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now clamav-daemon.service clamav-daemon.socket clamav-freshclam.service \
        >/dev/null 2>&1 || true
fi
# Any clamd/freshclam daemon started by the package scripts (matched by exact process name and
# by the distribution's binaries only, never by a pattern that could hit our own clamd).
for name in clamd freshclam; do
    for pid in $(pgrep -x "$name" 2>/dev/null || true); do
        exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
        args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
        # Our own clamd always runs with `-c <data dir>/clamd.conf`; the distribution's does not.
        case "$args" in
            *" -c "* | *"--config-file"*) continue ;;
        esac
        if [ "$exe" = "/usr/sbin/$name" ] || [ "$exe" = "/usr/bin/$name" ]; then
            echo "stopping $name (pid $pid) started by the package"
            kill "$pid" 2>/dev/null || true
        fi
    done
done

if clamd_path=$(find_clamd); then
    echo "clamd installed: $clamd_path ($("$clamd_path" --version 2>/dev/null || echo 'version unknown'))"
    exit 0
fi
echo "clamav-daemon was installed but no clamd binary was found" >&2
exit 1
