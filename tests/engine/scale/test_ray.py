"""The Ray backend end to end: real actor processes on a local Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import LaunchConfig, System
from engine.data import SequentialBuffer
from engine.scale import ActorFeed, actors_status, build_system
from engine.telemetry.events import LogMessage
from tests.engine.scale.conftest import ROOT
from tests.engine.scale.parts import (
    RecordingTrainer,
    WeightModel,
    make_failing_parts,
    make_parts,
)
from tests.engine.scale.waiting import wait_until

pytestmark = pytest.mark.ray


def _build(
    tmp_path: Path,
    trainer: RecordingTrainer | None = None,
    factory: Any = make_parts,
    saved_state_path: Path | None = None,
    buffer_size: int = 5000,
    **scale: Any,
) -> tuple[System, ActorFeed, Any, RecordingTrainer]:
    trainer = trainer if trainer is not None else RecordingTrainer()
    settings = {
        "backend": "ray",
        "actors": 2,
        "cpus_per_actor": 0.5,
        "batch_items": 16,
        **scale,
    }
    system = build_system(
        factory,
        {"w": WeightModel()},
        {"obs": SequentialBuffer(buffer_size)},
        {"rec": trainer},
        LaunchConfig(
            states_dir=tmp_path / "states",
            durable_saves=False,
            saved_state_path=saved_state_path,
        ),
        scale=settings,
    )
    feed = system.interaction
    assert isinstance(feed, ActorFeed)
    return system, feed, feed.transport, trainer


@pytest.fixture
def running(ray_session: Any) -> Iterator[list[System]]:
    systems: list[System] = []
    yield systems
    for system in systems:
        system.shutdown("test over")
        assert system.wait(60)


def test_actor_processes_feed_the_learner_and_install_its_weights(
    tmp_path: Path, running: list[System]
) -> None:
    system, feed, transport, trainer = _build(tmp_path)
    running.append(system)
    system.start()
    wait_until(lambda: trainer.runs >= 3, timeout=60)
    wait_until(
        lambda: (
            {i["actor"] for i in trainer.seen} == {0, 1}
            and any(i["weight"] >= 1.0 for i in trainer.seen)
        ),
        timeout=60,
    )
    status = actors_status(system)
    assert status is not None
    assert [r.actor for r in status.reports] == [0, 1]
    assert all(r.alive and r.node not in ("", "local") for r in status.reports)
    wait_until(lambda: all(r.version >= 1 for r in transport.reports()), timeout=30)
    assert set(status.lag) == {0, 1}
    pids = {r.pid for r in transport.reports()}
    assert len(pids) == 2 and os.getpid() not in pids


def test_pause_reaches_every_actor_process(
    tmp_path: Path, running: list[System]
) -> None:
    system, feed, transport, trainer = _build(tmp_path)
    running.append(system)
    system.start()
    wait_until(lambda: all(r.steps > 0 for r in transport.reports()), timeout=60)
    system.pause()
    parked = transport.reports()
    assert all(r.paused for r in parked)
    assert [r.steps for r in transport.reports()] == [r.steps for r in parked]
    system.resume()
    wait_until(
        lambda: all(
            a.steps > b.steps for a, b in zip(transport.reports(), parked, strict=True)
        ),
        timeout=30,
    )


def test_a_killed_actor_is_restarted_with_the_newest_weights_and_its_state(
    tmp_path: Path, running: list[System], ray_session: Any
) -> None:
    system, feed, transport, trainer = _build(
        tmp_path, RecordingTrainer(min_new=500), buffer_size=500_000, max_restarts=2
    )
    running.append(system)
    notices: list[str] = []
    system.events.add_callback(
        lambda e: notices.append(e.message) if isinstance(e, LogMessage) else None
    )
    system.start()
    wait_until(lambda: trainer.runs >= 2, timeout=60)
    system.save_state()
    ray_session.kill(transport.actor_handles[0], no_restart=False)
    wait_until(lambda: transport.reports()[0].restarts == 1, timeout=90)
    wait_until(lambda: transport.reports()[0].alive, timeout=30)
    assert any("actor 0 died" in n for n in notices)
    assert any("actor 0 restarted" in n for n in notices)
    revived = transport.reports()[0]
    assert revived.version >= 1
    before = trainer.runs
    wait_until(lambda: trainer.runs > before + 1, timeout=60)
    wait_until(lambda: transport.reports()[0].steps > 50, timeout=30)
    system.pause()
    counts = [
        int(i["obs"][0]) for i in system.data_users["obs"].get_data() if i["actor"] == 0
    ]
    # The restarted actor went on from its saved environment state: a fresh
    # environment would have counted from 1 again.
    assert counts.count(1) == 1
    assert len(counts) > 100


def test_saved_actor_states_round_trip_through_ray(
    tmp_path: Path, running: list[System]
) -> None:
    system, feed, transport, trainer = _build(tmp_path, buffer_size=500_000)
    running.append(system)
    system.start()
    wait_until(lambda: all(r.steps >= 20 for r in transport.reports()), timeout=60)
    state = system.save_state()
    system.shutdown("saved")
    assert system.wait(60)
    second, feed2, transport2, _ = _build(
        tmp_path / "second",
        RecordingTrainer(min_new=10**9),
        saved_state_path=state,
        buffer_size=500_000,
    )
    saved = json.loads((state / "data" / "obs" / "user.json").read_text())
    loaded = saved["collected_total"]
    running.append(second)
    second.start()
    user = second.data_users["obs"]
    wait_until(lambda: user.collected_total >= loaded + 100, timeout=60)
    second.pause()
    items = user.get_data()
    assert {i["actor"] for i in items[loaded:]} == {0, 1}
    for actor in (0, 1):
        counts = [int(i["obs"][0]) for i in items if i["actor"] == actor]
        # The buffer came back with the first run's items (counted from 1);
        # each actor's environment then went on from its saved count, where
        # a fresh one would have counted from 1 again.
        assert counts.count(1) == 1


def test_a_failing_actor_stops_the_run_instead_of_hanging(
    tmp_path: Path, running: list[System]
) -> None:
    system, feed, transport, trainer = _build(
        tmp_path, factory=make_failing_parts, max_restarts=0, batch_items=100
    )
    system.start()
    assert system.wait(60)
    assert any("sensor unplugged" in f for f in system.failures)


def test_starting_ray_keeps_the_learners_signal_handlers(tmp_path: Path) -> None:
    code = f"""
import signal, sys
seen = []
signal.signal(signal.SIGTERM, lambda *a: seen.append("ours"))
from engine.scale.ray_backend import RayTransport
from engine.scale import ScaleConfig
from tests.engine.scale.parts import make_parts
import ray
t = RayTransport(make_parts, ["obs"], ScaleConfig(backend="ray", actors=1, cpus_per_actor=0.5),
    init_kwargs={{"num_cpus": 1, "object_store_memory": 80 * 2**20,
                 "runtime_env": {{"env_vars": {{"PYTHONPATH": {str(ROOT)!r}}}}}}})
handler = signal.getsignal(signal.SIGTERM)
t.stop()
print(handler is not None and getattr(handler, "__name__", "") == "<lambda>", ray.is_initialized())
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        cwd=ROOT, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "True False"
