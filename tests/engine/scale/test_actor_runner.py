from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from engine.scale import ActorFailedError, ScaleConfig
from engine.scale.actor_runner import ActorRunner
from engine.scale.batches import decode_items
from tests.engine.scale.parts import (
    TaggingAgent,
    make_failing_parts,
    make_fast_parts,
    make_parts,
)
from tests.engine.scale.waiting import wait_until


@pytest.fixture
def runners() -> Iterator[list[ActorRunner]]:
    made: list[ActorRunner] = []
    yield made
    for runner in made:
        runner.stop()


def _runner(made: list[ActorRunner], factory=make_parts, **settings) -> ActorRunner:
    runner = ActorRunner(2, factory, ["obs"], ScaleConfig(**settings))
    made.append(runner)
    return runner


def test_batches_carry_the_actor_its_version_and_the_items_as_collected(
    runners: list[ActorRunner],
) -> None:
    runner = _runner(runners, batch_items=8)
    runner.start()
    batch = runner.next_batch(timeout=20)
    assert batch is not None
    assert batch.actor == 2
    assert batch.version == 0
    items = decode_items(batch.items["obs"])
    assert batch.sizes == {"obs": len(items)} and len(items) >= 8
    assert batch.steps >= len(items)
    first = items[0]
    assert first["obs"].dtype == np.float32 and first["obs"].tolist() == [1.0] * 3
    assert type(first["weight"]) is float and type(first["actor"]) is int
    counts = [int(item["obs"][0]) for item in items]
    assert counts == list(range(1, len(items) + 1))


def test_installed_weights_reach_the_agent_and_tag_later_batches(
    runners: list[ActorRunner],
) -> None:
    runner = _runner(runners, batch_items=4)
    runner.start()
    assert runner.install_weights(5, "w", 2.5)
    wait_until(lambda: runner.next_batch(timeout=1) is not None)

    def newest() -> bool:
        batch = runner.next_batch(timeout=1)
        if batch is None or batch.version != 5:
            return False
        return all(i["weight"] == 2.5 for i in decode_items(batch.items["obs"]))

    wait_until(newest)


def test_a_superseded_publication_is_skipped(runners: list[ActorRunner]) -> None:
    runner = _runner(runners)
    assert runner.install_weights(3, "w", 3.0)
    assert not runner.install_weights(2, "w", 2.0)
    report = runner.report()
    assert report.version == 3 and report.skipped_versions == 1
    assert runner.models["w"].inference_model.weight == 3.0


def test_drop_oldest_keeps_stepping_with_bounded_data_and_counts_drops(
    runners: list[ActorRunner],
) -> None:
    runner = _runner(
        runners, make_fast_parts, batch_items=10, max_in_flight_batches=2,
        max_unsent_items=10,
    )  # fmt: skip
    runner.start()
    wait_until(lambda: runner.report().steps >= 500)
    report = runner.report()
    assert report.queued_batches <= 2
    assert report.unsent_items <= 10
    assert report.dropped_items >= 500 - 2 * 10 - 10 - 20
    kept = [runner.next_batch(timeout=0) for _ in range(2)]
    assert all(b is not None for b in kept)
    # What is left is the newest data: the oldest batches were the ones dropped.
    assert int(decode_items(kept[0].items["obs"])[0]["obs"][0]) > 100
    assert kept[0].dropped + kept[1].dropped > 0


def test_wait_stops_the_agent_until_the_learner_takes_a_batch(
    runners: list[ActorRunner],
) -> None:
    runner = _runner(
        runners, make_fast_parts, batch_items=10, max_in_flight_batches=2,
        when_behind="wait",
    )  # fmt: skip
    runner.start()
    wait_until(
        lambda: (
            runner.report().queued_batches == 2 and runner.report().unsent_items >= 10
        )
    )
    blocked = runner.report()
    assert blocked.steps <= 3 * 10
    assert blocked.dropped_items == 0
    assert runner.next_batch(timeout=0) is not None
    wait_until(lambda: runner.report().steps > blocked.steps)
    wait_until(lambda: runner.report().queued_batches == 2)
    assert runner.report().dropped_items == 0


def test_pause_parks_the_agent_after_flushing_and_resume_continues(
    runners: list[ActorRunner],
) -> None:
    runner = _runner(
        runners, make_fast_parts, batch_items=1000, batch_seconds=60,
        max_in_flight_batches=100,
    )  # fmt: skip
    runner.start()
    wait_until(lambda: runner.report().steps >= 5)
    assert runner.pause(timeout=10)
    agent = runner.interaction.agent
    assert isinstance(agent, TaggingAgent) and agent.paused.is_set()
    parked = runner.report()
    assert parked.paused and parked.unsent_items == 0
    # Every step's item was shipped at the pause, the last ones in a flushed batch.
    shipped = 0
    while (batch := runner.next_batch(timeout=0)) is not None:
        shipped += batch.sizes["obs"]
    assert shipped == parked.steps
    assert runner.report().steps == parked.steps
    runner.resume()
    wait_until(lambda: runner.report().steps > parked.steps)


def test_state_round_trip_restores_the_environment(runners: list[ActorRunner]) -> None:
    runner = _runner(runners, make_fast_parts)
    runner.start()
    wait_until(lambda: runner.report().steps >= 20)
    assert runner.pause(timeout=10)
    archive = runner.save_state()
    count = runner.interaction.environment.count
    fresh = _runner(runners, make_fast_parts)
    fresh.load_state(archive)
    assert fresh.interaction.environment.count == count


def test_a_failing_environment_surfaces_at_the_learner(
    runners: list[ActorRunner],
) -> None:
    runner = _runner(runners, make_failing_parts, batch_items=100)
    runner.start()
    with pytest.raises(
        ActorFailedError, match="actor 2: RuntimeError: sensor unplugged"
    ):
        while True:
            runner.next_batch(timeout=5)
    assert not runner.report().alive
    assert runner.report().error == "actor 2: RuntimeError: sensor unplugged"
