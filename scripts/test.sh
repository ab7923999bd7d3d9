#!/usr/bin/env bash
# Set up a virtualenv (if needed) and run the test suite. Works on a fresh clone.
# Installs every optional extra a user can install (torch, gymnasium, tensorboard),
# so the suite runs in the environment a user who follows the README has, and tmux
# for the tests that drive the real CLI in a real terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! command -v tmux >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "installing tmux (for the real-terminal tests)..."
        apt-get install -y -qq tmux >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq tmux >/dev/null; }
    else
        echo "warning: tmux is not installed; the real-terminal tests will be skipped" >&2
    fi
fi
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt -e '.[dev]'
# Two workers: about half the suite waits on processes it started (real terminals,
# programs, Ray), so two workers take 3.5 minutes on 2 cores where one takes 6. The
# Ray tests share one worker (tests/conftest.py). Pass -n 0 to run in one process.
exec .venv/bin/python -m pytest -q -n 2 --dist loadgroup "$@"
