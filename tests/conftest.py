"""Shared fixtures: every test leaves the process-wide clock as it found it, has a
registry of live runs of its own; one local Ray."""

from __future__ import annotations

import sys
import time as _time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import time


@pytest.fixture(autouse=True)
def _restore_global_clock() -> Iterator[None]:
    switch = sys.getswitchinterval()
    yield
    clock = time.get_global_time_controller()
    clock.resume()
    clock.set_time_scale(1.0)
    sys.setswitchinterval(switch)


@pytest.fixture(autouse=True)
def _private_registry_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run a test starts (and every program it starts) registers in a
    registry of the test's own, and a run started from Python without a run
    directory keeps it under the test's temporary directory, not ./runs."""
    monkeypatch.setenv("PAMIQ_CONSOLE_REGISTRY", str(tmp_path / "registry"))
    monkeypatch.setenv("PAMIQ_RUNS_DIR", str(tmp_path / "runs-from-python"))


@pytest.fixture(autouse=True)
def _terminal_size_from_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """No inherited ``$COLUMNS``/``$LINES`` (pytest-xdist's workers export 80x24):
    piped output takes its documented width, and a program in a tmux window the
    window's size."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


@pytest.fixture
def still_clock() -> None:
    """The global engine clock stands still (the autouse fixture resumes it)."""
    time.pause()


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """Ray on this machine, started once per session by the tests marked ``ray``.

    2 CPUs, no dashboard, a small object store. Tests of programs that run in
    processes of their own join it (``RAY_ADDRESS``) rather than start one.
    """
    ray = pytest.importorskip("ray")
    started = _time.perf_counter()
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=80 * 1024 * 1024,
        log_to_driver=False,
        logging_level="warning",
        # Actors unpickle the tests' factories by module name.
        runtime_env={
            "env_vars": {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        },
    )
    print(f"\nray started in {_time.perf_counter() - started:.1f} s")
    yield ray
    ray.shutdown()


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With ``-n`` (pytest-xdist), the Ray tests share one worker: one Ray."""
    for item in items:
        if item.get_closest_marker("ray") is not None:
            item.add_marker(pytest.mark.xdist_group("ray"))
