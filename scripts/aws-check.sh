#!/usr/bin/env bash
# Checks the aws_asg driver against moto's emulation of the Auto Scaling and EC2
# APIs (scripts/aws_check.py): the group is raised to the pool's min, its
# instances join the pool by private address, and a scale-down drains a member
# and terminates that instance. Everything runs on 127.0.0.1 and stops when done.
# Uses the newer of target/release/tidegate and target/debug/tidegate
# (TIDEGATE_BIN overrides), and a virtualenv under target/ for moto.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/aws-check-venv

bin=${TIDEGATE_BIN:-}
if [ -z "$bin" ]; then
    bin=target/debug/tidegate
    if [ target/release/tidegate -nt "$bin" ]; then bin=target/release/tidegate; fi
fi
if [ ! -x "$bin" ]; then
    echo "aws-check: $bin is missing: run cargo build -p tidegate first" >&2
    exit 1
fi

if [ ! -x "$venv/bin/moto_server" ]; then
    echo "aws-check: installing moto into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]"
fi

exec "$venv/bin/python" scripts/aws_check.py "$bin"
