"""The real terminals of the dashboard figures (benchmarks/workloads/_tty.py)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import pytest

from benchmarks.workloads._tty import Terminal, pump_all, run_in_terminal


def _what_the_child_sees() -> dict[str, Any]:
    os.write(1, b"x" * 500)  # to the terminal, which the parent reads
    return {
        "tty": os.isatty(0) and os.isatty(1) and os.isatty(2),
        "size": list(os.get_terminal_size()),
        "term": os.environ.get("TERM"),
    }


def _fails() -> dict[str, Any]:
    raise ValueError("no dashboard today")


def test_a_function_runs_on_a_terminal_of_the_size_asked_and_returns_its_result() -> (
    None
):
    result = run_in_terminal(_what_the_child_sees, columns=90, rows=30)
    assert result["tty"] is True
    assert result["size"] == [90, 30]
    assert result["term"] == "xterm-256color"
    assert result["terminal_bytes"] >= 500


def test_a_failure_on_the_terminal_is_raised_with_its_traceback() -> None:
    with pytest.raises(RuntimeError, match="ValueError: no dashboard today"):
        run_in_terminal(_fails)


def test_a_command_on_a_terminal_is_read_and_closed_by_typing() -> None:
    program = (
        "import os, sys; print(os.get_terminal_size().columns); "
        "print('y' * 2000); sys.stdin.readline(); sys.exit(3)"
    )
    terminal = Terminal([sys.executable, "-c", program], columns=77, rows=20)
    deadline = time.monotonic() + 30
    while terminal.written < 2000 and time.monotonic() < deadline:
        pump_all([terminal], 0.1)
    assert terminal.written >= 2000
    assert terminal.close(b"\n", timeout=30) == 3
    assert not terminal.open
