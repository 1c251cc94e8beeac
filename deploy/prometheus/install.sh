#!/usr/bin/env bash
# Install Prometheus (prometheus + promtool) from the Debian packages when promtool is
# missing. Idempotent: does nothing when promtool is already on PATH. Does not rely on
# the Debian service: tests and scripts start their own prometheus on loopback.
set -euo pipefail

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install.sh: prometheus is missing and this user cannot run apt-get" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# Keep the package's init scripts from starting a service (policy-rc.d: 101 = deny).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null

# If a service manager started the packaged daemon anyway, stop it: it is not ours.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    $SUDO systemctl stop prometheus || true
    $SUDO systemctl disable prometheus >/dev/null 2>&1 || true
fi

promtool --version | head -n 1
