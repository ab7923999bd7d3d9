"""Pickle-free value trees."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.state import serialization
from engine.state.serialization import UnsupportedValueError


def round_trip(value, tmp_path):
    serialization.dump(value, tmp_path / "v")
    return serialization.load(tmp_path / "v")


def test_plain_values_round_trip(tmp_path) -> None:
    value = {
        "none": None,
        "flag": True,
        "n": 3,
        "x": 0.1,
        "inf": float("inf"),
        "s": "é",
        "t": (1, "a"),
        "nested": [[1, 2], {"k": b"\x00\x01"}],
        "ints": {1: "one", (2, 3): "pair"},
    }
    assert round_trip(value, tmp_path) == value


def test_arrays_tensors_and_scalars_round_trip(tmp_path) -> None:
    value = {
        "a": np.arange(12, dtype=np.int16).reshape(3, 4),
        "s": np.float32(1.5),
        "d": np.float64(2.5),
        "t": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        "bf": torch.ones(2, dtype=torch.bfloat16),
        "empty": np.zeros((0, 3)),
    }
    out = round_trip(value, tmp_path)
    assert np.array_equal(out["a"], value["a"]) and out["a"].dtype == np.int16
    assert out["s"] == np.float32(1.5) and isinstance(out["s"], np.float32)
    assert out["d"] == 2.5 and isinstance(out["d"], np.float64)
    assert torch.equal(out["t"], value["t"])
    assert out["bf"].dtype == torch.bfloat16 and torch.equal(out["bf"], value["bf"])
    assert out["empty"].shape == (0, 3)


def test_replay_style_lists_are_stored_as_columns(tmp_path) -> None:
    items = [
        {"obs": np.full(4, i, np.float32), "action": i % 2, "reward": 1.0}
        for i in range(100)
    ]
    out = round_trip(items, tmp_path)
    doc = json.loads((tmp_path / "v.json").read_text())
    assert doc["tree"]["col"] == "records"
    assert len(doc["arrays"]) == 3  # one array per column, not one per item
    assert [x["action"] for x in out] == [i % 2 for i in range(100)]
    assert all(
        np.array_equal(x["obs"], y["obs"]) for x, y in zip(items, out, strict=True)
    )
    assert type(out[0]["action"]) is int and type(out[0]["reward"]) is float


def test_objects_that_would_need_pickle_are_refused(tmp_path) -> None:
    class Custom:
        pass

    with pytest.raises(UnsupportedValueError, match="Custom"):
        serialization.dump([Custom()], tmp_path / "v")
    with pytest.raises(UnsupportedValueError, match="pickle"):
        serialization.dump(np.array([object()]), tmp_path / "w")


def test_foreign_or_malformed_files_are_refused(tmp_path) -> None:
    (tmp_path / "v.json").write_text('{"format": "other"}')
    (tmp_path / "v.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="not a"):
        serialization.load(tmp_path / "v")
    serialization.dump(np.arange(10), tmp_path / "w")
    (tmp_path / "w.bin").write_bytes(b"\0" * 8)
    with pytest.raises(ValueError, match="past the end"):
        serialization.load(tmp_path / "w")


def test_saving_while_another_thread_is_still_importing_torch(
    tmp_path, monkeypatch
) -> None:
    # What sys.modules holds while the metrics writer imports torch.utils.tensorboard
    # during a final save: a half-initialised module without torch.Tensor.
    import importlib.machinery
    import sys
    import types

    half = types.ModuleType("torch")
    half.__spec__ = importlib.machinery.ModuleSpec("torch", None)
    half.__spec__._initializing = True
    monkeypatch.setitem(sys.modules, "torch", half)
    value = {"steps": [1, 2, 3], "x": np.arange(4)}
    loaded = round_trip(value, tmp_path)
    assert loaded["steps"] == [1, 2, 3]
    np.testing.assert_array_equal(loaded["x"], np.arange(4))
