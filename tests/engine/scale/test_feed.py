"""The learner side end to end, with actors on threads of this process (no Ray)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import LaunchConfig, System, SystemState
from engine.data import SequentialBuffer
from engine.scale import (
    ActorBatch,
    ActorFeed,
    LocalTransport,
    ScaleConfigError,
    WeightsNotShippableError,
    actors_status,
    build_system,
)
from engine.scale.batches import encode_items
from tests.engine.scale.parts import RecordingTrainer, WeightModel, make_parts
from tests.engine.scale.waiting import wait_until
from tests.engine.tiny import ScaleModel, newest_state


def _build(
    tmp_path: Path,
    trainer: RecordingTrainer | None = None,
    saved_state_path: Path | None = None,
    **scale: Any,
):
    model = WeightModel()
    trainer = trainer if trainer is not None else RecordingTrainer()
    scale.setdefault("actors", 2)
    scale.setdefault("batch_items", 8)
    system = build_system(
        make_parts,
        {"w": model},
        {"obs": SequentialBuffer(5000)},
        {"rec": trainer},
        LaunchConfig(
            states_dir=tmp_path / "states",
            durable_saves=False,
            saved_state_path=saved_state_path,
        ),
        scale={"backend": "ray", **scale},
        transport=LocalTransport,
    )
    feed = system.interaction
    assert isinstance(feed, ActorFeed)
    assert isinstance(feed.transport, LocalTransport)
    return system, feed, feed.transport, model, trainer


@pytest.fixture
def running() -> Iterator[list[System]]:
    systems: list[System] = []
    yield systems
    for system in systems:
        system.shutdown("test over")
        assert system.wait(30)


def test_every_actor_feeds_the_one_buffer_and_gets_the_trained_weights(
    tmp_path: Path, running: list[System]
) -> None:
    system, feed, transport, model, trainer = _build(tmp_path)
    running.append(system)
    system.start()
    wait_until(lambda: trainer.runs >= 3)

    def both_actors_under_new_weights() -> bool:
        seen = trainer.seen
        return {i["actor"] for i in seen} == {0, 1} and any(
            i["weight"] >= 1.0 for i in seen
        )

    wait_until(both_actors_under_new_weights)
    assert feed.publication >= 3
    status = actors_status(system)
    assert status is not None
    assert [r.actor for r in status.reports] == [0, 1]
    assert all(r.alive and r.version >= 1 for r in status.reports)
    assert set(status.lag) == {0, 1}
    assert all(
        s.lag_p50 is not None and s.lag_max is not None for s in status.lag.values()
    )
    # Each actor's items reach the buffer in the order it collected them.
    for actor in (0, 1):
        counts = [int(i["obs"][0]) for i in trainer.seen if i["actor"] == actor]
        assert counts == sorted(counts)


def test_batches_older_than_max_policy_lag_are_dropped_and_counted(
    tmp_path: Path, running: list[System]
) -> None:
    system, feed, transport, model, trainer = _build(
        tmp_path, RecordingTrainer(min_new=10**9), max_policy_lag=1
    )
    running.append(system)
    system.start()
    for _ in range(3):
        model.sync()
    assert feed.publication == 3
    item = {"obs": __import__("numpy").zeros(3, "float32"), "weight": 0.0, "actor": 9}

    def batch(version: int) -> ActorBatch:
        return ActorBatch(
            9, version, {"obs": encode_items([item] * 4)}, sizes={"obs": 4}
        )

    assert not feed.feed(batch(1))
    assert feed.feed(batch(2))
    stats = feed.lag_stats()[9]
    assert (stats.batches, stats.stale_batches, stats.stale_items, stats.items) == (
        2,
        1,
        4,
        4,
    )
    assert stats.lag_max == 2


def test_pausing_the_system_parks_every_actor(
    tmp_path: Path, running: list[System]
) -> None:
    system, feed, transport, model, trainer = _build(tmp_path)
    running.append(system)
    system.start()
    wait_until(lambda: all(r.steps > 0 for r in transport.reports()))
    system.pause()
    reports = transport.reports()
    assert all(r.paused for r in reports)
    assert [r.steps for r in transport.reports()] == [r.steps for r in reports]
    system.resume()
    wait_until(lambda: all(not r.paused for r in transport.reports()))
    wait_until(
        lambda: all(
            now.steps > then.steps
            for now, then in zip(transport.reports(), reports, strict=True)
        )
    )


def test_saved_actor_states_come_back_on_load(
    tmp_path: Path, running: list[System]
) -> None:
    system, feed, transport, model, trainer = _build(tmp_path)
    running.append(system)
    system.start()
    wait_until(lambda: all(r.steps >= 30 for r in transport.reports()))
    system.pause()
    counts = [r.interaction.environment.count for r in transport.runners]
    publication = feed.publication
    state = system.save_state()
    system.resume()
    assert sorted(p.name for p in (state / "interaction" / "actors").iterdir()) == [
        "0.tar",
        "1.tar",
    ]

    second, feed2, transport2, *_ = _build(
        tmp_path / "second", RecordingTrainer(min_new=10**9), saved_state_path=state
    )
    running.append(second)
    second.start()
    # The count continues; publishing the loaded weights is one more publication.
    assert feed2.publication == publication + 1
    wait_until(lambda: all(r.steps >= 5 for r in transport2.reports()))
    second.pause()
    # Each actor continued from the count it had saved.
    for runner, count in zip(transport2.runners, counts, strict=True):
        assert runner.interaction.environment.count == count + runner.report().steps


def test_the_final_save_holds_every_actors_last_state(tmp_path: Path) -> None:
    system, feed, transport, *_ = _build(tmp_path)
    system.start()
    wait_until(lambda: all(r.steps >= 10 for r in transport.reports()))
    system.shutdown("done")
    assert system.wait(30)
    assert system.state is SystemState.STOPPED
    final = newest_state(tmp_path / "states")
    assert final is not None
    assert sorted(p.name for p in (final / "interaction" / "actors").iterdir()) == [
        "0.tar",
        "1.tar",
    ]
    assert not any(r.alive for r in transport.reports())


def test_threads_backend_is_the_embedded_system(tmp_path: Path) -> None:
    system = build_system(
        make_parts,
        {"w": WeightModel()},
        {"obs": SequentialBuffer(100)},
        {"rec": RecordingTrainer()},
        LaunchConfig(states_dir=tmp_path / "states"),
    )
    assert type(system) is System
    assert not isinstance(system.interaction, ActorFeed)
    assert actors_status(system) is None
    with pytest.raises(
        ScaleConfigError, match='scale.actors: 2 actors need backend = "ray"'
    ):
        build_system(make_parts, {}, {}, {}, None, {"actors": 2})


def test_a_model_whose_weights_cannot_travel_is_refused_up_front(
    tmp_path: Path,
) -> None:
    with pytest.raises(WeightsNotShippableError, match="model 'w' \\(ScaleModel\\)"):
        build_system(
            make_parts,
            {"w": ScaleModel()},
            {"obs": SequentialBuffer(100)},
            {},
            None,
            {"backend": "ray"},
            transport=LocalTransport,
        )


def test_the_threads_backend_never_imports_ray(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from engine.scale import build_system\n"
        "import engine.scale.ray_backend\n"
        "from engine.data import SequentialBuffer\n"
        "from tests.engine.scale.parts import make_parts, WeightModel, RecordingTrainer\n"
        f"s = build_system(make_parts, {{'w': WeightModel()}}, {{'obs': SequentialBuffer(9)}},"
        f" {{'r': RecordingTrainer()}}, {{'states_dir': {str(tmp_path)!r}, 'max_uptime': 0.2}})\n"
        "s.run()\n"
        "print([m for m in sys.modules if m.split('.')[0] == 'ray'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).resolve().parents[3],
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_status_shows_each_actor_and_counts_their_agent_steps(
    tmp_path: Path, running: list[System]
) -> None:
    system, feed, transport, model, trainer = _build(tmp_path)
    running.append(system)
    system.start()
    wait_until(lambda: trainer.runs >= 3)
    wait_until(lambda: len(system.status().actors) == 2 and system.steps >= 100)
    status = system.status()
    assert status.step_source == "actors"
    assert status.policy_version == feed.publication
    assert [a.actor for a in status.actors] == [0, 1]
    assert all(a.alive and a.node == "local" for a in status.actors)
    # The learner's count is the actors' agent steps that reached it, not
    # its own loop's turns (one per batch of 8 items, or idle waits).
    reported = sum(r.steps for r in transport.reports())
    assert system.steps <= reported
    fed = sum(s.items for s in feed.lag_stats().values())
    assert system.steps >= fed  # every fed item was one agent step here
    again = type(status).from_dict(
        __import__("json").loads(__import__("json").dumps(status.to_dict()))
    )
    assert again == status


def test_pausing_shows_every_actor_paused_in_the_status(
    tmp_path: Path, running: list[System]
) -> None:
    system, feed, transport, model, trainer = _build(tmp_path)
    running.append(system)
    system.start()
    wait_until(lambda: len(system.status().actors) == 2)
    assert not system.status().all_actors_paused
    system.pause(10)
    assert system.status().all_actors_paused
    system.resume()
    wait_until(lambda: not system.status().all_actors_paused)


def test_an_actors_agent_metrics_reach_the_learner_named_after_the_actor(
    tmp_path: Path, running: list[System]
) -> None:
    from engine.telemetry.events import Metric
    from tests.engine.scale.parts import make_reporting_parts

    system = build_system(
        make_reporting_parts,
        {"w": WeightModel()},
        {"obs": SequentialBuffer(5000)},
        {"rec": RecordingTrainer()},
        LaunchConfig(states_dir=tmp_path / "states", durable_saves=False),
        scale={"backend": "ray", "actors": 2, "batch_items": 8},
        transport=LocalTransport,
    )
    subscription = system.events.subscribe(maxsize=100_000)
    running.append(system)
    system.start()
    seen: dict[str, list[float]] = {}

    def both_reported() -> bool:
        for event in subscription.drain():
            if isinstance(event, Metric) and event.name == "taken":
                seen.setdefault(event.source, []).append(event.value)
        return {"actor0.agent", "actor1.agent"} <= set(seen)

    wait_until(both_reported)
    for values in seen.values():
        assert values == sorted(values) and values[0] == 5.0
    subscription.close()


def test_a_batch_dropped_as_the_learner_falls_behind_keeps_its_steps_counted() -> None:
    from engine.scale import ScaleConfig
    from engine.scale.actor_runner import ActorRunner

    config = ScaleConfig(
        backend="ray", batch_items=4, max_unsent_items=4, max_in_flight_batches=1
    )
    runner = ActorRunner(0, make_parts, ["obs"], config)
    runner.start()
    wait_until(lambda: runner.report().dropped_batches >= 3)
    runner.pause(10)
    steps = runner.report().steps
    shipped = 0
    while (batch := runner.next_batch(0)) is not None:
        shipped += batch.steps
    runner.stop()
    # The learner never took a batch: everything but the last was dropped,
    # yet the one it gets carries every step taken.
    assert shipped == steps
