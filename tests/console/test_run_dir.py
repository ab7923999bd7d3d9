"""Run directories: one owner at a time."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.services.run_dir import RunDir, RunDirError


def test_a_second_claim_is_refused_until_the_first_releases(tmp_path: Path) -> None:
    first, second = RunDir(tmp_path / "run"), RunDir(tmp_path / "run")
    first.acquire(name="a")
    with pytest.raises(RunDirError, match="another process is running this run"):
        second.acquire(name="b")
    first.release(0)
    second.acquire(name="b")
    second.release(0)
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o700


# -- files another user could have planted ---------------------------------------------


def test_a_run_dir_others_can_write_is_refused_not_made_private(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    run.chmod(0o777)
    target = tmp_path / "their-file"
    target.write_text("")
    (run / "metrics.jsonl").symlink_to(target)
    with pytest.raises(RunDirError, match="other users can write it") as raised:
        RunDir(run).acquire(name="a")
    assert "\n" not in str(raised.value) and "chmod 700" in str(raised.value)
    assert stat.S_IMODE(run.stat().st_mode) == 0o777  # the user decides
    assert not (run / "run.json").exists()


@pytest.mark.parametrize(
    "name", ["metrics.jsonl", "run.lock", "errors.log", "run.json"]
)
def test_a_planted_link_in_the_run_dir_is_refused(tmp_path: Path, name: str) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    target = tmp_path / "target"
    target.write_text("theirs\n")
    (run / name).symlink_to(target)
    with pytest.raises(RunDirError, match=rf"{name}: a symbolic link"):
        RunDir(run).acquire(name="a")
    assert target.read_text() == "theirs\n"


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to make another user's file")
def test_a_file_of_another_user_in_the_run_dir_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    (run / "errors.log").write_text("")
    os.chown(run / "errors.log", 65534, 65534)
    with pytest.raises(RunDirError, match=r"errors\.log: owned by .*uid 65534"):
        RunDir(run).acquire(name="a")


def test_a_parent_every_user_can_replace_it_in_is_refused(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    runs.chmod(0o777)  # no sticky bit: anyone can rename runs/a away
    with pytest.raises(RunDirError, match="lacks the sticky bit"):
        RunDir(runs / "a").acquire(name="a")
    runs.chmod(0o1777)  # like /tmp
    claimed = RunDir(runs / "a")
    claimed.acquire(name="a")
    claimed.release(0)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to make another user's dir")
def test_a_states_dir_of_another_user_is_refused_at_start(
    tmp_path: Path, config_file: Callable[..., Path]
) -> None:
    from console import config as config_mod
    from console.runner import Run
    from engine import StateError

    states = tmp_path / "run" / "states"
    states.mkdir(parents=True)
    os.chown(states, 65534, 65534)  # planted before the run directory was private
    run = Run(config_mod.load(config_file()))
    with pytest.raises(StateError, match=r"states: owned by .*uid 65534"):
        run.start()
    assert list(states.iterdir()) == []


def test_metrics_never_go_through_a_link(tmp_path: Path) -> None:
    from engine.host.owner_only import ForeignPathError
    from engine.telemetry.events import EventBus
    from engine.telemetry.metrics_log import MetricsLog

    target = tmp_path / "target"
    target.write_text("")
    (tmp_path / "metrics.jsonl").symlink_to(target)
    log = MetricsLog(EventBus(), tmp_path, tensorboard=False)
    with pytest.raises(ForeignPathError, match="a symbolic link"):
        log.start()
    log.close()
    assert target.read_text() == ""


def test_a_planted_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    from engine.host.owner_only import ForeignPathError, append_owned

    fifo = tmp_path / "metrics.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(ForeignPathError, match="expected a file"):
        append_owned(fifo)  # no reader: an ordinary open would wait for one
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    os.mkfifo(run / "errors.log")
    with pytest.raises(RunDirError, match=r"errors\.log: expected a file"):
        RunDir(run).acquire(name="a")
