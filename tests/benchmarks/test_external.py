"""Reading other engineers' results (sync, console cost) without knowing their exact shape."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from benchmarks import external


def test_sync_result_list_per_model_size() -> None:
    result = [
        {
            "parameters": 1_000_000,
            "blocked_p99_us": 42.0,
            "control_p99_us": 9.0,
            "sync_ratio": 1.2,
            "ratio_ok": True,
        },
        {"parameters": 100_000_000, "blocked_p99_us": 150.0, "sync_ratio": 0.9},
    ]
    labelled = external.parts(result)
    assert [label for label, _ in labelled] == ["1M params", "100M params"]
    assert external.sync_figures(labelled[0][1]) == {
        "block_p99_us": 42.0,
        "ratio_vs_copy": 1.2,
        "control_p99_us": 9.0,
    }


def test_sync_units_and_ratio_from_times() -> None:
    found = external.sync_figures(
        {"block": {"p99_ms": 0.05}, "sync_median_ms": 3.0, "copy_median_ms": 2.0}
    )
    assert found["block_p99_us"] == pytest.approx(50.0)
    assert found["ratio_vs_copy"] == pytest.approx(1.5)
    assert external.sync_figures({"p99_block": 0.0001})[
        "block_p99_us"
    ] == pytest.approx(100.0)
    assert external.sync_figures({}) == {
        "block_p99_us": None,
        "ratio_vs_copy": None,
        "control_p99_us": None,
    }


def test_console_percent_or_fraction() -> None:
    assert external.console_figures({"percent": 95.0}) == {"percent": 95.0}
    assert external.console_figures({"throughput_ratio": 0.93})[
        "percent"
    ] == pytest.approx(93.0)
    assert external.console_figures({"steps": 5}) == {"percent": None}
    # "duration" contains the letters of "ratio" but is not a ratio.
    result = {
        "duration_s": 3.0,
        "rounds": 3,
        "headless_steps_per_s": 400,
        "ratio": 0.836,
    }
    assert external.console_figures(result)["percent"] == pytest.approx(83.6)


def test_results_become_json_values() -> None:
    @dataclass
    class R:
        x: float
        y: tuple[int, ...]

    assert external.to_jsonable({"r": R(float("nan"), (1, 2))}) == {
        "r": {"x": None, "y": [1, 2]}
    }
    assert external.available("stats")
    assert not external.available("no_such_module_here")
