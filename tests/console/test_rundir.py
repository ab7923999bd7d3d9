"""Run directories: one owner at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.rundir import RunDir, RunDirError


def test_a_second_claim_is_refused_until_the_first_releases(tmp_path: Path) -> None:
    first, second = RunDir(tmp_path / "run"), RunDir(tmp_path / "run")
    first.acquire(name="a")
    with pytest.raises(RunDirError, match="another process is running this run"):
        second.acquire(name="b")
    first.release(0)
    second.acquire(name="b")
    second.release(0)
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o700
