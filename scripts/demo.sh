#!/usr/bin/env bash
# Set up a virtualenv (if needed) and open a sample run in the console.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt -e '.[all]'
exec .venv/bin/pamiq-console run "${1:-sample_configs/cartpole_dqn.toml}" "${@:2}"
