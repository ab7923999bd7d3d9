"""EpisodeBuffer, and complete episodes counted at collection time (with wake-ups)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from engine.data import DataUser, EpisodeBuffer, SequentialBuffer


def step(i: int, done: bool = False) -> dict[str, object]:
    return {"obs": np.full(2, i, np.float32), "i": i, "done": done}


def episode(start: int, length: int) -> list[dict[str, object]]:
    return [step(start + k, k == length - 1) for k in range(length)]


def ids(episodes: list[tuple[dict[str, object], ...]]) -> list[list[object]]:
    return [[s["i"] for s in e] for e in episodes]


def test_steps_are_grouped_into_complete_episodes() -> None:
    buffer = EpisodeBuffer[dict[str, object]](100)
    for s in [*episode(0, 3), *episode(3, 2), *episode(5, 4)[:2]]:
        buffer.add(s)
    assert ids(buffer.get_data()) == [[0, 1, 2], [3, 4]]
    assert len(buffer) == 7, "sizes count steps, the episode in progress included"
    assert (buffer.episodes_total, buffer.episodes_held) == (2, 2)
    assert ids(buffer.episodes_since(1)) == [[3, 4]]
    assert ids(buffer.episodes_since(0, until=1)) == [[0, 1, 2]]
    assert buffer.episodes_since(2) == []


def test_room_is_made_by_dropping_whole_old_episodes() -> None:
    buffer = EpisodeBuffer[dict[str, object]](6)
    for s in [*episode(0, 3), *episode(3, 3), *episode(6, 2)]:
        buffer.add(s)
    assert ids(buffer.get_data()) == [[3, 4, 5], [6, 7]]
    assert len(buffer) == 5 and buffer.episodes_total == 3
    # Numbering survives dropping: episode 1 is gone, 2 and 3 are held.
    assert ids(buffer.episodes_since(0)) == [[3, 4, 5], [6, 7]]
    assert ids(buffer.episodes_since(2)) == [[6, 7]]


def test_an_endless_episode_stays_bounded() -> None:
    buffer = EpisodeBuffer[dict[str, object]](4)
    for i in range(10):
        buffer.add(step(i))
    assert len(buffer) == 4 and buffer.get_data() == []
    buffer.add(step(10, done=True))
    assert ids(buffer.get_data()) == [[7, 8, 9, 10]]


def test_done_can_be_an_attribute_and_its_name_is_configurable() -> None:
    class Step(NamedTuple):
        x: int
        last: bool

    buffer = EpisodeBuffer[Step](10, done_key="last")
    for s in (Step(0, False), Step(1, True)):
        buffer.add(s)
    assert buffer.get_data() == [(Step(0, False), Step(1, True))]


def test_a_step_without_the_done_key_is_a_clear_error() -> None:
    user = DataUser(EpisodeBuffer(10))
    with pytest.raises(KeyError, match="no 'done' key .keys: obs, reward.; collect"):
        user.collector.collect({"obs": 1, "reward": 0.0})
    with pytest.raises(KeyError, match="a int step has no 'done' attribute"):
        EpisodeBuffer(10).add(3)
    with pytest.raises(ValueError, match="max_size"):
        EpisodeBuffer(0)


def test_state_round_trip_keeps_episodes_and_the_one_in_progress(
    tmp_path: Path,
) -> None:
    buffer = EpisodeBuffer[dict[str, object]](100)
    steps = [*episode(0, 9), *episode(9, 12), *episode(21, 3)[:2]]
    for s in steps:
        buffer.add(s)
    buffer.save_state(tmp_path / "b")
    other = EpisodeBuffer[dict[str, object]](100)
    other.load_state(tmp_path / "b")
    assert ids(other.get_data()) == ids(buffer.get_data())
    assert np.array_equal(other.get_data()[1][0]["obs"], np.full(2, 9))
    assert (len(other), other.episodes_total) == (23, 2)
    other.add(step(23, done=True))
    assert ids(other.get_data())[-1] == [21, 22, 23]
    smaller = EpisodeBuffer[dict[str, object]](14)
    smaller.load_state(tmp_path / "b")
    assert ids(smaller.get_data()) == [list(range(9, 21))]


def test_an_inconsistent_state_is_refused(tmp_path: Path) -> None:
    from engine.state import serialization

    serialization.dump(
        {"steps": [step(0)], "lengths": [2], "episodes_total": 1}, tmp_path / "b"
    )
    with pytest.raises(ValueError, match="inconsistent EpisodeBuffer state"):
        EpisodeBuffer(10).load_state(tmp_path / "b")
    serialization.dump([step(0)], tmp_path / "c")
    with pytest.raises(ValueError, match="not an EpisodeBuffer state"):
        EpisodeBuffer(10).load_state(tmp_path / "c")


def test_the_data_user_counts_episodes_as_they_are_collected(tmp_path: Path) -> None:
    user = DataUser(EpisodeBuffer(100))
    for s in [*episode(0, 2), *episode(2, 3)[:1]]:
        user.collector.collect(s)
    assert user.episodes_total == 1, "counted while still pending"
    assert user.buffer.episodes_total == 0
    user.update()
    assert user.buffer.episodes_total == 1
    for s in episode(2, 3)[1:]:
        user.collector.collect(s)
    user.save_state(tmp_path / "u")
    other = DataUser(EpisodeBuffer(100))
    other.collector.collect(step(99, done=True))  # pending: discarded by the load
    other.load_state(tmp_path / "u")
    assert other.episodes_total == 2 and other.collected_total == 5
    assert DataUser(SequentialBuffer(3)).episodes_total is None


def test_an_episode_wake_fires_on_the_step_that_ends_the_episode() -> None:
    user = DataUser(EpisodeBuffer(100))
    collector = user.collector
    woken = threading.Event()
    collector.set_wake(woken.set)
    assert not collector.request_episode_wake(2)
    for s in [*episode(0, 3), *episode(3, 2)[:1]]:
        collector.collect(s)
    assert not woken.is_set()
    collector.collect(step(4, done=True))
    assert woken.is_set()
    assert collector.request_episode_wake(2), "already reached"


def test_an_episode_wait_still_wakes_before_the_pending_queue_overflows() -> None:
    user = DataUser(EpisodeBuffer(4))  # pending items are bounded by max_size
    woken = threading.Event()
    user.collector.set_wake(woken.set)
    assert not user.collector.request_episode_wake(1)
    for i in range(3):
        user.collector.collect(step(i))
    assert not woken.is_set()
    user.collector.collect(step(3))
    assert woken.is_set()
