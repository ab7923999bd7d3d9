"""Drawing replay batches: DataUser.sample and the buffers' O(k) sample()."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typing_extensions import override

from engine.data import (
    ArrayBuffer,
    DataBuffer,
    DataUser,
    DictRandomReplacementBuffer,
    DictSequentialBuffer,
    EpisodeBuffer,
    RandomReplacementBuffer,
    SequentialBuffer,
)


def test_sequential_ring_keeps_order_across_many_wraps(tmp_path: Path) -> None:
    buffer = SequentialBuffer[int](4)
    for i in range(11):
        buffer.add(i)
        assert buffer.get_data() == list(range(max(0, i - 3), i + 1))
    buffer.save_state(tmp_path / "b")
    loaded = SequentialBuffer[int](3)
    loaded.load_state(tmp_path / "b")
    assert loaded.get_data() == [8, 9, 10]
    loaded.add(11)
    assert loaded.get_data() == [9, 10, 11]


def test_sample_draws_only_held_items_uniformly_and_reproducibly() -> None:
    buffer = SequentialBuffer[int](10)
    for i in range(25):
        buffer.add(i)
    drawn = buffer.sample(5000, random.Random(1))
    counts = Counter(drawn)
    assert set(counts) == set(range(15, 25))
    assert min(counts.values()) > 400  # 500 expected for each of 10 items
    assert buffer.sample(50, random.Random(7)) == buffer.sample(50, random.Random(7))
    assert buffer.sample(0, random.Random()) == []


def test_every_built_in_buffer_samples_what_get_data_holds() -> None:
    rng = random.Random(0)
    reservoir = RandomReplacementBuffer[int](5)
    for i in range(20):
        reservoir.add(i)
    assert set(reservoir.sample(200, rng)) <= set(reservoir.get_data())
    for keyed in (
        DictSequentialBuffer(["a", "b"], 3),
        DictRandomReplacementBuffer(["a", "b"], 3),
    ):
        for i in range(3):
            keyed.add({"a": i, "b": -i})
        columns = keyed.sample(6, rng)
        assert set(columns) == {"a", "b"} and len(columns["a"]) == 6
        assert [-a for a in columns["a"]] == columns["b"]  # rows stay together
    episodes = EpisodeBuffer[dict[str, int]](100)
    for step in range(7):
        episodes.add({"t": step, "done": step in (2, 5)})
    # Whole complete episodes; the one in progress (step 6) is never drawn.
    drawn = {tuple(step["t"] for step in e) for e in episodes.sample(50, rng)}
    assert drawn == {(0, 1, 2), (3, 4, 5)}


def test_sampling_an_empty_buffer_says_so() -> None:
    with pytest.raises(ValueError, match="holds none"):
        SequentialBuffer[int](3).sample(1, random.Random())
    with pytest.raises(ValueError, match="k must be >= 0"):
        SequentialBuffer[int](3).sample(-1, random.Random())


class ListBuffer(DataBuffer[int, list[int]]):
    def __init__(self) -> None:
        super().__init__(max_queue_size=100)
        self.items: list[int] = []

    @override
    def add(self, data: int) -> None:
        self.items.append(data)

    @override
    def get_data(self) -> list[int]:
        return list(self.items)

    @override
    def __len__(self) -> int:
        return len(self.items)


class CountBuffer(ListBuffer):
    @override
    def get_data(self) -> dict[str, int]:  # type: ignore[override]
        return {"count": len(self.items)}


def test_a_custom_buffer_samples_from_its_data_or_asks_for_an_override() -> None:
    buffer = ListBuffer()
    buffer.add(4)
    assert buffer.sample(3, random.Random()) == [4, 4, 4]
    counted = CountBuffer()
    counted.add(1)
    with pytest.raises(TypeError, match="override sample"):
        counted.sample(1, random.Random())


def test_data_user_sample_sees_items_collected_until_then() -> None:
    user = DataUser(SequentialBuffer[int](100))
    for i in range(3):
        user.collector.collect(i)
    assert sorted(set(user.sample(100))) == [0, 1, 2]
    assert len(user) == 3 and user.visible_total == 3
    assert user.sample(4, random.Random(3)) == user.sample(4, random.Random(3))


def test_array_buffer_is_a_ring_of_rows(tmp_path: Path) -> None:
    buffer = ArrayBuffer(3, dtype="float32")
    assert len(buffer) == 0 and buffer.item_shape is None
    for i in range(5):
        buffer.add([i, -i])
    assert buffer.get_data().tolist() == [[2, -2], [3, -3], [4, -4]]
    assert buffer.get_data().dtype == np.float32 and buffer.item_shape == (2,)
    drawn = buffer.sample(40, random.Random(0))
    assert drawn.shape == (40, 2) and set(drawn[:, 0]) == {2.0, 3.0, 4.0}
    assert (drawn[:, 0] == -drawn[:, 1]).all()
    with pytest.raises(ValueError, match="shape"):
        buffer.add([1, 2, 3])
    buffer.save_state(tmp_path / "b")
    smaller = ArrayBuffer(2)
    smaller.load_state(tmp_path / "b")
    assert smaller.get_data().tolist() == [[3, -3], [4, -4]]
    smaller.add(np.array([5, -5], np.float32))
    assert smaller.get_data().tolist() == [[4, -4], [5, -5]]


def test_an_empty_array_buffer_round_trips_and_refuses_to_sample(
    tmp_path: Path,
) -> None:
    empty = ArrayBuffer(4)
    empty.save_state(tmp_path / "e")
    loaded = ArrayBuffer(4)
    loaded.load_state(tmp_path / "e")
    assert len(loaded) == 0
    with pytest.raises(ValueError, match="holds none"):
        loaded.sample(1, random.Random())
    with pytest.raises(ValueError, match="numeric"):
        ArrayBuffer(2).add(np.array([object()]))
