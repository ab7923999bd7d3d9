"""Figure 11's kept runs: saved with what they measured, taken back only when that matches."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from benchmarks import learning_runs
from benchmarks.__main__ import _seeds

RUN = {"seed": 3, "wall_s": 300.0, "episodes": [[1.0, 9.0, 9]], "progress": []}


def test_a_kept_run_comes_back_for_the_same_side_seed_and_budget(
    tmp_path: Path,
) -> None:
    keeper = learning_runs.Keeper(tmp_path, 300.0, 600.0)
    assert keeper.load("sb3", 3) is None
    keeper.save("sb3", 3, RUN)
    record = keeper.load("sb3", 3)
    assert record is not None and record["data"] == RUN and record["finished"]
    assert keeper.load("sb3", 4) is None
    assert learning_runs.Keeper(tmp_path, 60.0, 60.0).load("sb3", 3) is None


def test_a_run_of_other_code_or_settings_is_not_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    learning_runs.Keeper(tmp_path, 300.0, 600.0).save("sb3", 3, RUN)
    monkeypatch.setattr(learning_runs, "sb3_key", lambda: "another program")
    assert learning_runs.Keeper(tmp_path, 300.0, 600.0).load("sb3", 3) is None


def test_nothing_is_kept_without_a_directory_or_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    learning_runs.Keeper(None, 300.0, 600.0).save("sb3", 3, RUN)
    monkeypatch.setattr(learning_runs, "ours_key", lambda: None)
    keeper = learning_runs.Keeper(tmp_path, 300.0, 600.0)
    keeper.save("ours", 3, RUN)
    assert list(tmp_path.iterdir()) == []
    assert keeper.load("ours", 3) is None


def test_a_damaged_file_means_run_it_again(tmp_path: Path) -> None:
    keeper = learning_runs.Keeper(tmp_path, 300.0, 600.0)
    keeper.save("sb3", 3, RUN)
    (path,) = tmp_path.iterdir()
    path.write_text("{not json")
    assert keeper.load("sb3", 3) is None


def test_seed_lists() -> None:
    assert _seeds("0-4") == [0, 1, 2, 3, 4]
    assert _seeds("0,2") == [0, 2]
    assert _seeds("1-2,4") == [1, 2, 4]
    with pytest.raises(argparse.ArgumentTypeError, match="0-4"):
        _seeds("a-b")
