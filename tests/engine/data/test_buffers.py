"""Built-in buffers."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import (
    DictRandomReplacementBuffer,
    DictSequentialBuffer,
    RandomReplacementBuffer,
    SequentialBuffer,
)


def test_sequential_buffer_keeps_the_newest_in_order() -> None:
    buffer = SequentialBuffer[int](3)
    for i in range(5):
        buffer.add(i)
    assert buffer.get_data() == [2, 3, 4] and len(buffer) == 3
    assert buffer.max_size == 3 and buffer.capacity == 3


def test_dict_buffers_check_keys_and_return_columns() -> None:
    for buffer in (
        DictSequentialBuffer(["a", "b"], 4),
        DictRandomReplacementBuffer(["a", "b"], 4),
    ):
        buffer.add({"a": 1, "b": 2})
        buffer.add({"a": 3, "b": 4})
        assert buffer.get_data() == {"a": [1, 3], "b": [2, 4]}
        with pytest.raises(ValueError, match="do not match"):
            buffer.add({"a": 1})


def test_random_replacement_fills_then_replaces() -> None:
    buffer = RandomReplacementBuffer[int](10)
    for i in range(1000):
        buffer.add(i)
    data = buffer.get_data()
    assert len(data) == 10 and buffer.is_full
    assert max(data) > 900  # new data keeps entering


def test_random_replacement_with_zero_probability_keeps_the_first_items() -> None:
    buffer = RandomReplacementBuffer[int](5, replace_probability=0.0)
    for i in range(100):
        buffer.add(i)
    assert buffer.get_data() == [0, 1, 2, 3, 4]


def test_replacement_probability_options() -> None:
    with pytest.raises(ValueError, match="Cannot specify both"):
        RandomReplacementBuffer(
            10, replace_probability=0.5, expected_survival_length=100
        )
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        RandomReplacementBuffer(10, replace_probability=1.5)
    p = RandomReplacementBuffer.compute_replace_probability_from_expected_survival_length(
        100, 10_000
    )
    assert 0 < p < 1
    assert RandomReplacementBuffer(
        100, expected_survival_length=10_000
    ).max_queue_size == int(100 / p)


@pytest.mark.parametrize(
    "make",
    [
        lambda: SequentialBuffer(50),
        lambda: RandomReplacementBuffer(50),
        lambda: DictSequentialBuffer(["obs", "reward"], 50),
        lambda: DictRandomReplacementBuffer(["obs", "reward"], 50),
    ],
)
def test_state_round_trip_without_pickle(tmp_path, make) -> None:
    buffer = make()
    for i in range(80):
        buffer.add({"obs": np.full(3, i, dtype=np.float32), "reward": float(i)})
    buffer.save_state(tmp_path / "buf")
    assert not list(tmp_path.glob("*.pkl"))
    other = make()
    other.load_state(tmp_path / "buf")
    a, b = buffer.get_data(), other.get_data()
    if isinstance(a, dict):
        a = [dict(zip(a, v, strict=True)) for v in zip(*a.values(), strict=True)]
        b = [dict(zip(b, v, strict=True)) for v in zip(*b.values(), strict=True)]
    assert len(a) == len(b) == 50
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x["obs"], y["obs"]) and x["reward"] == y["reward"]


def test_random_replacement_continues_identically_after_load(tmp_path) -> None:
    buffer = RandomReplacementBuffer[int](5)
    for i in range(50):
        buffer.add(i)
    buffer.save_state(tmp_path / "buf")
    other = RandomReplacementBuffer[int](5)
    other.load_state(tmp_path / "buf")
    for i in range(50, 100):
        buffer.add(i)
        other.add(i)
    assert buffer.get_data() == other.get_data()
