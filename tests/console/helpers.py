"""Helpers for the console tests: tiny configs, importable test parts, polling."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

PARTS = '''
"""Test-only components (written by tests/console/conftest.py)."""
from engine import Agent
from trainers import Trainer


class GreedyAgent(Agent):
    """Asks for a model called 'ghost', which the config does not define."""

    def on_inference_models_attached(self):
        self.get_inference_model("ghost")

    def step(self, observation):
        return 0


class NeedsCollectorAgent(Agent):
    """Asks for a collector called 'phantom'."""

    def on_data_collectors_attached(self):
        self.get_data_collector("phantom")

    def step(self, observation):
        return 0


class ExplodingTrainer(Trainer):
    """Raises on its first training run."""

    def __init__(self, message: str = "boom"):
        super().__init__()
        self.message = message

    def train(self):
        raise RuntimeError(self.message)
'''


def bandit_config(
    tmp_path: Path,
    *,
    system: str = "",
    interval: float = 0.001,
    trainers: str | None = None,
    name: str = "tiny",
) -> str:
    """The text of a small bandit config whose run lives under ``tmp_path``."""
    trainer_text = (
        trainers
        if trainers is not None
        else textwrap.dedent(
            """
            [trainers.values]
            target = "algorithms.bandit:BanditTrainer"
            min_buffer_size = 20
            min_new_data_count = 20
            """
        )
    )
    return (
        textwrap.dedent(
            f"""
        [system]
        name = "{name}"
        run_dir = "{tmp_path / "run"}"
        durable_saves = false
        {system}

        [interaction]
        interval = {interval}
        agent = {{ target = "algorithms.bandit:BanditAgent", seed = 0 }}
        environment = {{ target = "algorithms.bandit:BanditEnvironment", means = [0.1, 0.9, 0.5], seed = 1 }}

        [models.values]
        target = "algorithms.bandit:ValueTable"
        arms = 3

        [buffers.pulls]
        target = "engine.data:SequentialBuffer"
        max_size = 200
        """
        )
        + trainer_text
    )


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module of test components; returns its name."""
    directory = tmp_path / "parts"
    directory.mkdir()
    (directory / "console_test_parts.py").write_text(PARTS)
    monkeypatch.syspath_prepend(str(directory))
    sys.modules.pop("console_test_parts", None)
    return "console_test_parts"


@pytest.fixture
def config_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a bandit config (see :func:`bandit_config`) and return its path."""

    def write(text: str | None = None, **kwargs: Any) -> Path:
        path = tmp_path / "run.toml"
        path.write_text(text if text is not None else bandit_config(tmp_path, **kwargs))
        return path

    return write


def wait_until(
    predicate: Callable[[], bool], timeout: float = 10.0, what: str = ""
) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or predicate}")
        time.sleep(0.01)


async def wait_for(
    pilot: Any, predicate: Callable[[], bool], timeout: float = 10.0, what: str = ""
) -> None:
    """Let the app run until ``predicate`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.02)
        await asyncio.sleep(0)


@pytest.fixture
def in_tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run the test with the temporary directory as the working directory."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture
def live_run(config_file: Callable[..., Path]) -> Iterator[Any]:
    """A started in-process run (engine + control socket) of the tiny bandit config."""
    from console import config as config_mod
    from console.runner import Run

    run = Run(config_mod.load(config_file()))
    run.start()
    try:
        yield run
    finally:
        run.stop_and_wait("test over")


def sync(test: Callable[..., Any]) -> Callable[..., Any]:
    """Run an async test function with ``asyncio.run`` (no async pytest plugin needed)."""
    import functools

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(test(*args, **kwargs))

    return wrapper
