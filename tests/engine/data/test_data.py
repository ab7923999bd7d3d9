"""Collector/user hand-off, sequence counting and buffer state."""

from __future__ import annotations

import threading

import pytest

from engine import time
from engine.data import (
    DataBuffer,
    DataCollectorsDict,
    DataUser,
    DataUsersDict,
    SequentialBuffer,
)
from engine.testing import create_mock_buffer


def test_collected_items_reach_the_buffer_on_update() -> None:
    user = DataUser(SequentialBuffer[int](10))
    for i in range(3):
        user.collector.collect(i)
    assert len(user) == 0 and user.collector.pending == 3
    assert user.size_including_pending() == 3
    assert user.get_data() == [0, 1, 2]
    assert user.collector.pending == 0 and user.collected_total == 3


def test_pending_queue_is_bounded_but_the_count_is_not() -> None:
    user = DataUser(SequentialBuffer[int](4))
    for i in range(10):
        user.collector.collect(i)
    assert user.collector.pending == 4
    assert user.collected_total == 10
    assert user.get_data() == [6, 7, 8, 9]


def test_count_data_added_since_uses_engine_time() -> None:
    user = DataUser(SequentialBuffer[int](10))
    user.collector.collect(0)
    middle = time.time()
    while time.time() == middle:  # timestamps must differ from `middle`
        pass
    user.collector.collect(1)
    user.collector.collect(2)
    user.update()
    assert user.count_data_added_since(middle) == 2
    assert user.count_data_added_since(float("-inf")) == 3


def test_concurrent_collection_loses_nothing() -> None:
    user = DataUser(SequentialBuffer[int](100_000))
    done = threading.Event()
    n = 50_000

    def produce() -> None:
        for i in range(n):
            user.collector.collect(i)
        done.set()

    threading.Thread(target=produce).start()
    while not done.is_set():
        user.update()
    assert done.wait(10)
    assert user.get_data() == list(range(n))


def test_a_collector_can_be_acquired_once() -> None:
    users = DataUsersDict.from_data_buffers({"a": SequentialBuffer(3)})
    collectors: DataCollectorsDict = users.data_collectors_dict
    assert collectors.acquire("a") is users["a"].collector
    with pytest.raises(KeyError, match="already acquired"):
        collectors.acquire("a")
    with pytest.raises(KeyError, match="known: a"):
        collectors.acquire("b")


def test_wake_request_fires_when_the_target_item_arrives() -> None:
    user = DataUser(SequentialBuffer[int](10))
    woken = threading.Event()
    user.collector.set_wake(woken.set)
    assert not user.collector.request_wake(2)
    user.collector.collect(0)
    assert not woken.is_set()
    user.collector.collect(1)
    assert woken.is_set()
    assert user.collector.request_wake(1)  # already reached


def test_user_state_round_trip_keeps_items_and_counts(tmp_path) -> None:
    user = DataUser(SequentialBuffer[dict](10))
    for i in range(5):
        user.collector.collect({"x": i, "y": [i, i]})
    user.save_state(tmp_path / "obs")
    other = DataUser(SequentialBuffer[dict](10))
    other.collector.collect({"x": -1, "y": []})  # pending data is replaced by the state
    other.load_state(tmp_path / "obs")
    assert other.get_data() == [{"x": i, "y": [i, i]} for i in range(5)]
    assert other.collected_total == 5
    assert other.count_data_added_since(float("-inf")) == 5


def test_a_custom_buffer_without_max_size_reports_no_capacity() -> None:
    from engine.data import DataBuffer

    class Bag(DataBuffer[int, list[int]]):
        def __init__(self) -> None:
            super().__init__(max_queue_size=5)
            self.items: list[int] = []

        def add(self, data: int) -> None:
            self.items.append(data)

        def get_data(self) -> list[int]:
            return self.items

        def __len__(self) -> int:
            return len(self.items)

    user = DataUser(Bag())
    assert user.buffer.capacity is None
    for i in range(3):
        user.collector.collect(i)
    user.update()
    for i in range(5):
        user.collector.collect(i)
    assert user.size_including_pending() == 8  # not capped at the queue bound


def test_wake_comes_before_the_bounded_queue_overflows() -> None:
    user = DataUser(SequentialBuffer[int](4))
    woken = threading.Event()
    user.collector.set_wake(woken.set)
    assert not user.collector.request_wake(100)
    for i in range(4):
        user.collector.collect(i)
    assert woken.is_set()


class Bag(DataBuffer[int, list[int]]):
    """A minimal user-written buffer."""

    def __init__(self, max_queue_size: int | None) -> None:
        super().__init__(max_queue_size)
        self.items: list[int] = []

    def add(self, data: int) -> None:
        self.items.append(data)

    def get_data(self) -> list[int]:
        return list(self.items)

    def __len__(self) -> int:
        return len(self.items)


def test_a_buffer_without_a_queue_bound_warns_as_pamiq_core_does() -> None:
    with pytest.warns(RuntimeWarning, match="Bag: max_queue_size is None"):
        bag = Bag(None)
    assert bag.max_queue_size is None
    user = DataUser(bag)
    for i in range(1000):
        user.collector.collect(i)
    assert user.collector.pending == 1000  # unbounded, as warned


def test_a_negative_queue_bound_is_refused() -> None:
    with pytest.raises(
        ValueError, match="Bag: max_queue_size must be non-negative, got -1"
    ):
        Bag(-1)


def test_from_data_buffers_takes_a_mapping_keywords_or_both() -> None:
    a, b, c = (
        SequentialBuffer[int](5),
        SequentialBuffer[int](5),
        SequentialBuffer[int](5),
    )
    assert set(DataUsersDict.from_data_buffers({"a": a})) == {"a"}
    assert set(DataUsersDict.from_data_buffers(a=a, b=b)) == {"a", "b"}
    users = DataUsersDict.from_data_buffers({"a": a, "b": b}, b=c)
    assert set(users) == {"a", "b"}
    assert users["b"].buffer is c  # keywords win, as in PAMIQ-Core
    assert set(users.data_collectors_dict) == {"a", "b"}
    assert len(DataUsersDict.from_data_buffers()) == 0


def test_a_data_user_accepts_the_mock_buffer_of_engine_testing() -> None:
    buffer = create_mock_buffer(max_queue_size=2)
    user = DataUser(buffer)  # its capacity is a mock, not a number
    assert user.buffer.capacity is not None
    for i in range(3):
        user.collector.collect(i)
    assert (
        user.collector.pending == 2
    )  # the mock's max_queue_size still bounds the queue
    assert user.size_including_pending() == 2
    user.update()
    assert [c.args for c in buffer.add.call_args_list] == [(1,), (2,)]
    assert user.collected_total == 3
