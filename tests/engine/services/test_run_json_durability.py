"""``run.json`` survives a power loss whole: never empty or torn (issue 23 A).

The writes and syncs of a run directory's life are recorded
(tests/engine/state/crash_model.py) and every tree a power loss could leave is
checked: ``run.json`` is either not there yet or reads, and the next run can
claim the directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.services.run_dir import RUN_INFO, RunDir, read_run_info
from tests.engine.state.crash_model import CrashRecorder


def test_every_crash_leaves_a_run_json_that_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    with monkeypatch.context() as patched:
        recorder = CrashRecorder(run, patched)
        first = RunDir(run)
        first.acquire(name="first")
        first.release(exit_code=0)
        second = RunDir(run)
        second.acquire(name="second")
        second.release(exit_code=1)
    images = recorder.images()
    for n, image in enumerate(images):
        content = dict(image.entries).get(RUN_INFO)
        if content is not None:
            data = json.loads(content)  # never empty, never torn
            assert data["name"] in ("first", "second"), image.describe()
        where = image.materialize(tmp_path / f"image-{n}" / "run")
        if content is not None:
            assert read_run_info(where) is not None, image.describe()
        claim = RunDir(where)
        claim.acquire(name="next")
        claim.release(exit_code=0)
        info = read_run_info(where)
        assert info is not None and info.data["name"] == "next"
    holding = [i for i in images if any(rel == RUN_INFO for rel, _ in i.entries)]
    assert len(holding) >= 4  # after each of the four writes, at least
