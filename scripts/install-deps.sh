#!/usr/bin/env bash
# Installs what building and testing Tidegate needs on a Debian machine that
# already has a Rust toolchain: cmake (Pingora's zlib-ng build), curl, promtool
# (the admin API tests check /metrics with it), Python's venv (make api-check) and
# Mesa's software Vulkan driver (the forecasting kernels run on it in the tests).
# Runs apt-get only for what is missing; needs root or sudo for that.
set -euo pipefail

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || missing+=(mesa-vulkan-drivers)
python3 -c "import ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "tidegate: need root to install: ${missing[*]}" >&2
        exit 1
    fi
fi

echo "tidegate: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
