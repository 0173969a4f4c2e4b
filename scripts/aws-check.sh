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

CHECK=aws-check
. scripts/lib.sh
bin=$(tidegate_bin)
python_venv "$venv" moto_server "moto[server]"

exec "$venv/bin/python" scripts/aws_check.py "$bin"
