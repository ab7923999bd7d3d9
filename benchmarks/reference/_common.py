"""PAMIQ-Core 0.6.0 counterparts of ``benchmarks/workloads/_components.py``.

Run only by PAMIQ-Core's interpreter (Python >= 3.12 with ``pamiq-core==0.6.0``);
written against PAMIQ-Core's public API. Each program prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time as _time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pamiq_core import Agent, Environment, LaunchConfig, Trainer, launch, time
from pamiq_core.data import DataUsersDict
from pamiq_core.model import TrainingModelsDict
from pamiq_core.state_persistence import StateStore
from pamiq_core.thread.threads import ControlThread, InferenceThread, TrainingThread
from pamiq_core.trainer import TrainersDict

BUFFER = "buffer"


def emit(result: dict[str, Any]) -> None:
    """Print the result as the last stdout line."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def spin(seconds: float, between: Callable[[], None]) -> int:
    """Same pure-Python arithmetic as ours (about 0.3 ms chunks)."""
    end = _time.perf_counter() + seconds
    x = 1
    chunks = 0
    while _time.perf_counter() < end:
        for i in range(1500):
            x = (x * 31 + i) % 1000003
        chunks += 1
        between()
    return chunks


class ZeroEnv(Environment[int, int]):
    def observe(self) -> int:
        return 0

    def affect(self, action: int) -> None:
        pass


class CollectingAgent(Agent[int, int]):
    def __init__(self) -> None:
        super().__init__()
        self.steps = 0

    def on_data_collectors_attached(self) -> None:
        self.collector = self.get_data_collector(BUFFER)

    def step(self, observation: int) -> int:
        self.collector.collect(observation)
        self.steps += 1
        return observation


class TickingAgent(CollectingAgent):
    def __init__(self) -> None:
        super().__init__()
        self.ticks: list[float] = []

    def step(self, observation: int) -> int:
        self.ticks.append(_time.perf_counter())
        return super().step(observation)


class ConsumingTrainer(Trainer):
    def __init__(self, every: int = 1000, never: bool = False) -> None:
        super().__init__(BUFFER, min_new_data_count=10**12 if never else every)
        self.runs = 0
        self.consumed = 0

    def on_data_users_attached(self) -> None:
        self.user = self.get_data_user(BUFFER)

    def train(self) -> None:
        self.user.update()
        self.consumed += len(self.user.get_data())
        self.runs += 1


class SpinningTrainer(Trainer):
    """Same work as ours; PAMIQ-Core has no pause point to call inside train()."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.runs = 0
        self.inside = False

    def train(self) -> None:
        self.inside = True
        try:
            spin(self.seconds, lambda: None)
        finally:
            self.inside = False
        self.runs += 1


def config(tmp: str, **fields: Any) -> LaunchConfig:
    """Launch settings: no web API, states in a temp dir."""
    return LaunchConfig(states_dir=Path(tmp) / "states", web_api_address=None, **fields)


def launch_bounded(
    interaction: Any,
    buffers: dict[str, Any],
    trainers: dict[str, Any],
    max_uptime: float,
    during: Callable[[], None],
) -> None:
    """``launch()`` for at most ``max_uptime`` s while ``during`` runs on a side thread."""
    errors: list[BaseException] = []

    def side() -> None:
        try:
            during()
        except BaseException as e:
            errors.append(e)

    with tempfile.TemporaryDirectory(prefix="pamiq-core-bench-") as tmp:
        thread = threading.Thread(target=side, daemon=True)
        thread.start()
        launch(interaction, {}, buffers, trainers, config(tmp, max_uptime=max_uptime))
        thread.join(timeout=5.0)
    if errors:
        raise errors[0]


class ManualSystem:
    """What ``launch()`` builds, but started and driven from the caller's thread.

    Mirrors ``pamiq_core.launcher.launch`` step by step; the control thread's
    loop runs on a background thread so the caller can call ``try_pause()``,
    ``resume()`` and ``shutdown()`` as the web API would.
    """

    def __init__(
        self,
        interaction: Any,
        buffers: dict[str, Any],
        trainers: dict[str, Any],
        tmp: str,
    ) -> None:
        cfg = config(tmp)
        training_models = TrainingModelsDict({})
        data_users = DataUsersDict.from_data_buffers(buffers)
        trainers_dict = TrainersDict(trainers)
        interaction.agent.attach_inference_models(training_models.inference_models_dict)
        interaction.agent.attach_data_collectors(data_users.data_collectors_dict)
        trainers_dict.attach_training_models(training_models)
        trainers_dict.attach_data_users(data_users)
        store = StateStore(cfg.states_dir, cfg.state_name_format)
        self.control = ControlThread(
            store,
            timeout_for_all_threads_pause=cfg.timeout_for_all_threads_pause,
            max_attempts_to_pause_all_threads=cfg.max_attempts_to_pause_all_threads,
            web_api_address=None,
        )
        self.inference = InferenceThread(interaction)
        self.training = TrainingThread(trainers_dict)
        for thread in (self.inference, self.training):
            thread.attach_controller(self.control.controller)
        self.control.attach_thread_statuses(
            {t.THREAD_TYPE: t.thread_status for t in (self.inference, self.training)}
        )
        self._control_thread = threading.Thread(target=self.control.run, daemon=True)

    def start(self) -> None:
        time.set_time_scale(1.0)
        self.inference.start()
        self.training.start()
        self._control_thread.start()

    def stop(self) -> None:
        self.control.shutdown()
        self._control_thread.join(timeout=10.0)
        self.inference.join()
        self.training.join()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    end = _time.monotonic() + timeout
    while not predicate():
        if _time.monotonic() > end:
            raise TimeoutError("condition not reached")
        _time.sleep(0.001)
