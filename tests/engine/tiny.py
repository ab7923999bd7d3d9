"""Tiny real components for engine tests: a counter environment, an agent that
collects every observation, a linear model and a trainer that nudges it."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from typing_extensions import override

from engine import (
    Agent,
    Environment,
    InferenceModel,
    Interaction,
    LaunchConfig,
    System,
    TrainingModel,
    pause_point,
    time,
)
from engine.data import DataBuffer, SequentialBuffer
from engine.state.catalogue import list_states
from engine.state.manifest import CHECKSUM, file_checksum, sealed
from trainers import Trainer


class ScaleInference(InferenceModel):
    def __init__(self, weight: float) -> None:
        self.weight = weight

    @override
    def infer(self, x: float) -> float:
        return self.weight * x


class ScaleModel(TrainingModel[ScaleInference]):
    def __init__(self, weight: float = 0.0, **kwds: Any) -> None:
        super().__init__(**kwds)
        self.weight = weight

    @override
    def _create_inference_model(self) -> ScaleInference:
        return ScaleInference(self.weight)

    @override
    def forward(self, x: float) -> float:
        return self.weight * x

    @override
    def sync_impl(self, inference_model: ScaleInference) -> None:
        inference_model.weight = self.weight

    @override
    def save_state(self, path: Path) -> None:
        path.with_suffix(".txt").write_text(repr(self.weight))

    @override
    def load_state(self, path: Path) -> None:
        self.weight = float(path.with_suffix(".txt").read_text())


class CounterEnv(Environment[int, float]):
    def __init__(self) -> None:
        self.count = 0
        self.last_action: float | None = None

    @override
    def observe(self) -> int:
        self.count += 1
        return self.count

    @override
    def affect(self, action: float) -> None:
        self.last_action = action

    @override
    def save_state(self, path: Path) -> None:
        path.with_suffix(".txt").write_text(str(self.count))

    @override
    def load_state(self, path: Path) -> None:
        self.count = int(path.with_suffix(".txt").read_text())


class CollectingAgent(Agent[int, float]):
    """Collects every observation; `stepped` is set after each step."""

    def __init__(self) -> None:
        super().__init__()
        self.stepped = threading.Event()
        self.paused = threading.Event()
        self.resumed = threading.Event()

    @override
    def on_inference_models_attached(self) -> None:
        self.model = self.get_inference_model("scale")

    @override
    def on_data_collectors_attached(self) -> None:
        self.collector = self.get_data_collector("obs")

    @override
    def step(self, observation: int) -> float:
        self.collector.collect(observation)
        self.stepped.set()
        return self.model(observation)

    @override
    def on_paused(self) -> None:
        self.paused.set()

    @override
    def on_resumed(self) -> None:
        self.resumed.set()


class NudgeTrainer(Trainer):
    """Adds 1 to the model's weight per run; `ran` is set after each run."""

    def __init__(self, min_new: int = 10, **kwds: Any) -> None:
        super().__init__("obs", min_buffer_size=1, min_new_data_count=min_new, **kwds)
        self.ran = threading.Event()
        self.seen = 0

    @override
    def on_training_models_attached(self) -> None:
        self.model = self.get_training_model("scale")

    @override
    def train(self) -> None:
        self.seen = len(self.get_data_user("obs").get_data())
        self.model.weight += 1.0

    @override
    def teardown(self) -> None:
        self.ran.set()


class LongTrainer(Trainer):
    """Trains 'forever' in small chunks with pause points until told to finish."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = threading.Event()
        self.finish = threading.Event()
        self.chunks = 0
        self.unwound = threading.Event()

    @override
    def train(self) -> None:
        self.inside.set()
        try:
            while not self.finish.is_set():
                sum(range(2000))  # hold the GIL like real pure-Python work
                self.chunks += 1
                pause_point()
        except BaseException:
            self.unwound.set()
            raise


class FailingTrainer(Trainer):
    @override
    def train(self) -> None:
        raise RuntimeError("boom in train")


def make_system(
    tmp_path: Path,
    trainer: Trainer | None = None,
    buffer: DataBuffer[Any, Any] | None = None,
    **config: Any,
) -> tuple[System, CollectingAgent, CounterEnv, ScaleModel, Trainer]:
    agent, env, model = CollectingAgent(), CounterEnv(), ScaleModel()
    trainer = trainer if trainer is not None else NudgeTrainer()
    config.setdefault("states_dir", tmp_path / "states")
    config.setdefault("durable_saves", False)
    system = System(
        Interaction(agent, env),
        {"scale": model},
        {"obs": buffer if buffer is not None else SequentialBuffer(1000)},
        {"nudge": trainer},
        LaunchConfig(**config),
    )
    return system, agent, env, model, trainer


def tamper(state: Path, files: dict[str, bytes]) -> None:
    """Replace files of a saved state and update its manifest to match.

    The state still verifies, so what is tested is applying it, not verifying it.
    """

    def update(manifest: dict[str, Any]) -> None:
        for rel, data in files.items():
            file = state / rel
            file.write_bytes(data)
            manifest["files"][rel] = {
                "size": len(data),
                CHECKSUM: file_checksum(file),
            }

    rewrite_manifest(state, update)


def rewrite_manifest(state: Path, edit: Any) -> dict[str, Any]:
    """Apply ``edit`` to a state's manifest and seal it again (checksum-valid tampering)."""
    manifest_path = state / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    edit(manifest)
    manifest = sealed(manifest)
    manifest_path.write_text(json.dumps(manifest))
    return manifest


def advance_clock(seconds: float) -> None:
    """Move the global engine clock forward by exactly ``seconds``.

    With the clock paused (the ``still_clock`` fixture), engine time is then
    exactly what the test made it.
    """
    clock = time.get_global_time_controller()
    state = clock.state_dict()
    for key in ("time", "perf_counter", "monotonic"):
        state[key] += seconds
    clock.load_state_dict(state)


def newest_state(states_dir: Path) -> Path | None:
    """The newest state in ``states_dir`` whose manifest reads fine (None if none)."""
    complete = [i for i in list_states(states_dir) if not i.problem]
    return complete[-1].path if complete else None
