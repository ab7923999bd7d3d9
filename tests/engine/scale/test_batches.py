from __future__ import annotations

import pickle

import numpy as np

from engine.scale.batches import Columns, decode_items, encode_items


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and bool(np.array_equal(a, b))
        )
    if isinstance(a, tuple | list):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return (
            type(b) is dict
            and a.keys() == b.keys()
            and all(_same(a[k], b[k]) for k in a)
        )
    return type(a) is type(b) and a == b


def test_transitions_travel_as_columns_and_come_back_equal_and_typed() -> None:
    items = [
        (
            np.arange(4, dtype=np.float32) + i,
            i,
            float(i) / 3,
            i % 2 == 0,
            {"r": -i * 0.5},
        )
        for i in range(50)
    ]
    encoded = encode_items(items)
    assert isinstance(encoded, Columns)
    assert len(encoded.columns) == 5
    assert encoded.columns[0].shape == (50, 4)
    decoded = decode_items(encoded)
    assert all(_same(a, b) for a, b in zip(items, decoded))


def test_items_of_differing_shapes_or_types_travel_as_a_list() -> None:
    mixed_shapes = [np.zeros(2), np.zeros(3)]
    mixed_types = [1, 1.0]
    objects = [object()]
    for items in (mixed_shapes, mixed_types, objects):
        encoded = encode_items(items)
        assert isinstance(encoded, list)
        decoded = decode_items(encoded)
        assert all(a is b for a, b in zip(items, decoded, strict=True))


def test_huge_ints_stay_exact() -> None:
    items = [2**70, 1]
    assert decode_items(encode_items(items)) == items


def test_read_only_columns_are_copied_so_items_are_writable() -> None:
    encoded = encode_items([np.zeros(3), np.ones(3)])
    assert isinstance(encoded, Columns)
    for column in encoded.columns:
        column.setflags(write=False)
    decoded = decode_items(encoded)
    decoded[0][0] = 5.0  # would raise on a view of the read-only column
    assert decoded[1].tolist() == [1.0, 1.0, 1.0]


def test_columns_pickle_to_little_more_than_their_raw_bytes() -> None:
    items = [{"obs": np.zeros(8, np.float32), "a": i} for i in range(1000)]
    raw = 1000 * (8 * 4 + 8)
    assert len(pickle.dumps(encode_items(items))) < raw + 1024
    assert len(pickle.dumps(items)) > raw * 1.5
