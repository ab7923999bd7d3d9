"""What the dashboard costs the engine: steps/s headless vs. with the Textual UI open.

A trivial, fast agent/environment/trainer runs unthrottled for the same duration
twice per round: once with nothing watching (headless), once with
:class:`console.app.ConsoleApp` driven by ``App.run_test()`` (a real app and
compositor on a headless driver, polling at its normal rate). The UI should keep
the engine at >= 90 % of its headless step rate.

    python -m benchmarks.console_cost [--duration 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from typing_extensions import override

from engine import (
    Agent,
    Environment,
    InferenceModel,
    Interaction,
    System,
    TrainingModel,
)
from engine.data import SequentialBuffer
from trainers import Trainer


class _Inference(InferenceModel):
    @override
    def infer(self, x: int) -> int:
        return x


class _Model(TrainingModel[_Inference]):
    @override
    def _create_inference_model(self) -> _Inference:
        return _Inference()

    @override
    def forward(self, x: int) -> int:
        return x

    @override
    def sync_impl(self, inference_model: _Inference) -> None:
        pass


class _Agent(Agent[int, int]):
    @override
    def on_inference_models_attached(self) -> None:
        self.model = self.get_inference_model("m")

    @override
    def on_data_collectors_attached(self) -> None:
        self.collector = self.get_data_collector("b")

    @override
    def step(self, observation: int) -> int:
        self.collector.collect(observation)
        return self.model(observation)


class _Env(Environment[int, int]):
    def __init__(self) -> None:
        self.t = 0

    @override
    def observe(self) -> int:
        return self.t

    @override
    def affect(self, action: int) -> None:
        self.t += 1


class _Trainer(Trainer):
    def __init__(self) -> None:
        super().__init__("b", min_buffer_size=100, min_new_data_count=2000)

    @override
    def on_training_models_attached(self) -> None:
        self.get_training_model("m")

    @override
    def train(self) -> None:
        data = self.get_data_user("b").get_data()
        self.report_metrics({"loss": 1.0 / (1 + len(data))})


def make_system(states_dir: Path) -> System:
    """A fast system whose trainer runs a few times a second."""
    return System(
        Interaction(_Agent(), _Env()),
        {"m": _Model()},
        {"b": SequentialBuffer(1000)},
        {"t": _Trainer()},
        {
            "states_dir": states_dir,
            "run_dir": states_dir.parent / "run",
            "save_final_state": False,
            "name": "bench",
        },
    )


def _headless(duration: float, warmup: float, states_dir: Path) -> float:
    system = make_system(states_dir)
    system.start()
    try:
        time.sleep(warmup)
        s0, t0 = system.steps, time.perf_counter()
        time.sleep(duration)
        return (system.steps - s0) / (time.perf_counter() - t0)
    finally:
        system.shutdown()
        system.wait()


async def _with_ui(
    duration: float, warmup: float, states_dir: Path, poll_hz: float
) -> tuple[float, int]:
    from console.app import ConsoleApp
    from engine.services.operations import local_run

    system = make_system(states_dir)
    system.start()
    app = ConsoleApp(local_run(system), poll_hz=poll_hz, exit_when_stopped=False)
    try:
        async with app.run_test(size=(120, 40)):
            await asyncio.sleep(warmup)
            s0, t0, n0 = system.steps, time.perf_counter(), app.snapshots_applied
            await asyncio.sleep(duration)
            rate = (system.steps - s0) / (time.perf_counter() - t0)
            return rate, app.snapshots_applied - n0
    finally:
        system.shutdown()
        system.wait()


def run(
    duration: float = 3.0, rounds: int = 3, warmup: float = 0.5, poll_hz: float = 5.0
) -> dict[str, Any]:
    """Measure steps/s headless and with the UI, alternating, ``rounds`` times.

    Returns:
        ``headless_steps_per_s`` and ``ui_steps_per_s`` (medians), their ``ratio``,
        the UI's measured refresh rate, and the per-round figures.
    """
    headless, ui, refresh = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            headless.append(_headless(duration, warmup, Path(tmp) / f"h{i}"))
            rate, snapshots = asyncio.run(
                _with_ui(duration, warmup, Path(tmp) / f"u{i}", poll_hz)
            )
            ui.append(rate)
            refresh.append(snapshots / duration)
    h, u = statistics.median(headless), statistics.median(ui)
    return {
        "duration_s": duration,
        "rounds": rounds,
        "headless_steps_per_s": round(h),
        "ui_steps_per_s": round(u),
        "ratio": round(u / h, 3),
        "ui_refresh_hz": round(statistics.median(refresh), 1),
        "headless_rounds": [round(x) for x in headless],
        "ui_rounds": [round(x) for x in ui],
    }


def main() -> None:
    """Print the figures as a small table and as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--poll-hz", type=float, default=5.0)
    args = parser.parse_args()
    result = run(args.duration, args.rounds, poll_hz=args.poll_hz)
    print(f"{'headless':>10} {'with UI':>10} {'ratio':>7} {'UI Hz':>6}")
    print(
        f"{result['headless_steps_per_s']:>10,} {result['ui_steps_per_s']:>10,} "
        f"{result['ratio']:>7.1%} {result['ui_refresh_hz']:>6}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
