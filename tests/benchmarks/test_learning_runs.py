"""Figures 11's, 17's and 18's kept runs: saved with what they measured, taken back only when that matches."""

from __future__ import annotations

import argparse
import shutil
import subprocess
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
    monkeypatch.setattr(learning_runs, "sb3_key", lambda program: "another program")
    assert learning_runs.Keeper(tmp_path, 300.0, 600.0).load("sb3", 3) is None


def test_nothing_is_kept_without_a_directory_or_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    learning_runs.Keeper(None, 300.0, 600.0).save("sb3", 3, RUN)
    keeper = learning_runs.Keeper(tmp_path, 300.0, 600.0)
    keeper.save("ours", 3, RUN)  # RUN lists no loaded files: nothing to key it by
    assert list(tmp_path.iterdir()) == []
    assert keeper.load("ours", 3) is None


def _commit(repo: Path, message: str) -> None:
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", message], check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_our_run_is_keyed_by_the_committed_files_it_loaded(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "sample_configs").mkdir(parents=True)
    (repo / "sample_configs" / "cartpole_dqn.toml").write_text("[system]\nname = 'x'\n")
    (repo / "engine.py").write_text("A = 1\n")
    (repo / "scale.py").write_text("B = 1\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    _commit(repo, "one")
    loaded = ["engine.py", "sample_configs/cartpole_dqn.toml"]
    first = learning_runs.ours_key(loaded, repo)
    assert first is not None
    # A module the run never loaded changes: the run still stands.
    (repo / "scale.py").write_text("B = 2\n")
    _commit(repo, "two")
    assert learning_runs.ours_key(loaded, repo) == first
    # One it loaded changes: uncommitted, nothing can be told; committed, another key.
    (repo / "engine.py").write_text("A = 2\n")
    assert learning_runs.ours_key(loaded, repo) is None
    _commit(repo, "three")
    assert learning_runs.ours_key(loaded, repo) not in (None, first)
    # The sample's values are part of it; a file not in the commit means no key.
    (repo / "sample_configs" / "cartpole_dqn.toml").write_text("[system]\nname = 'y'\n")
    _commit(repo, "four")
    assert learning_runs.ours_key(loaded, repo) not in (None, first)
    assert learning_runs.ours_key([*loaded, "missing.py"], repo) is None
    assert learning_runs.ours_key([], repo) is None


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


def test_runs_of_one_seed_under_other_conditions_are_kept_apart(
    tmp_path: Path,
) -> None:
    keeper = learning_runs.Keeper(tmp_path, 1200.0, 1200.0)
    keeper.save("sb3", 0, RUN, "2actors")
    assert keeper.load("sb3", 0) is None
    assert keeper.load("sb3", 0, "4actors") is None
    record = keeper.load("sb3", 0, "2actors")
    assert record is not None and record["data"] == RUN
