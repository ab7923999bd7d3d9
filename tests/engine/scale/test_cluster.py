"""Actors on two simulated nodes; one node removed mid-run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")
pytestmark = pytest.mark.ray

HERE = Path(__file__).resolve().parent
RESULT = "RESULT "
"""What starts cluster_run.py's line with the result."""


def test_actors_spread_over_nodes_and_survive_losing_one() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(HERE / "cluster_run.py")],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    [line] = [x for x in out.stdout.splitlines() if x.startswith(RESULT)]
    result = json.loads(line.removeprefix(RESULT))
    print(f"cluster run took {time.perf_counter() - started:.1f} s")
    assert len(set(result["nodes"])) == 2
    assert result["worker"] in result["nodes"]
    restarted = result["restarted"]
    assert restarted is not None
    # The lost node's actor came back on the node that is left, and the run went on.
    assert result["after"][restarted] != result["worker"]
    assert result["alive"] == [True, True]
    assert result["stopped"]
