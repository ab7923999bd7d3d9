"""Rows, target checks, and the text / Markdown / JSON writers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.table import (
    MISS,
    NA,
    PASS,
    Row,
    Target,
    format_value,
    load_rows,
    render_markdown,
    render_text,
    write_results,
)


def rows() -> list[Row]:
    return [
        Row(
            "1",
            "step rate",
            "steps/s",
            1_000_000.0,
            15_000.0,
            "PAMIQ-Core 0.6.0",
            Target(">=", 300_000),
        ),
        Row(
            "2a", "p99 period", "ms", 10.6, 10.4, "PAMIQ-Core 0.6.0", Target("<=", 10.5)
        ),
        Row(
            "6",
            "save",
            "MB/s",
            400.0,
            1000.0,
            "plain write",
            Target(">=", 0.5, on="ratio"),
        ),
        Row(
            "5",
            "sync block p99",
            "us",
            note="not available (missing)",
            target=Target("<=", 100.0),
        ),
        Row(
            "3",
            "idle CPU",
            "%",
            0.1,
            reference_name="PAMIQ-Core 0.6.0",
            target=Target("<", 3.0),
            note="not measured: no Python 3.12",
        ),
    ]


def test_status_checks_ours_or_the_ratio() -> None:
    step, p99, save, sync, idle = rows()
    assert step.status == PASS
    assert step.ratio == pytest.approx(1_000_000 / 15_000)
    assert p99.status == MISS
    assert save.ratio == pytest.approx(0.4)
    assert save.status == MISS
    assert sync.status == NA and sync.ratio is None
    assert idle.status == PASS and idle.ratio is None


def test_target_boundaries_and_validation() -> None:
    assert Target("<=", 10.5).check(10.5) is True
    assert Target("<", 3.0).check(3.0) is False
    assert Target(">=", 1.0).check(None) is None
    assert Target(">=", 1.0).check(float("nan")) is None
    with pytest.raises(ValueError):
        Target("==", 1.0)
    with pytest.raises(ValueError):
        Target(">=", 1.0, on="reference")
    assert Target(">=", 300_000).describe("steps/s") == ">= 300,000 steps/s"
    assert Target(">=", 0.5, on="ratio").describe("MB/s") == ">= 0.500x ref"


def test_value_formatting() -> None:
    assert format_value(None, "ms") == "-"
    assert format_value(1234567.8, "steps/s") == "1,234,568 steps/s"
    assert format_value(99.87, "%") == "99.9 %"
    assert format_value(0.0026, "ms") == "0.0026 ms"


def test_text_table_has_every_row_and_marker() -> None:
    text = render_text(rows())
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["Fig", "Metric", "Ours"]
    assert len(lines) == 2 + len(rows())
    assert "pass" in lines[2] and "MISS" in lines[3]
    assert "not available (missing)" in text
    assert "not measured" in lines[6]  # reference column of the idle row


def test_markdown_table_shape() -> None:
    md = render_markdown(rows()).splitlines()
    assert md[0].startswith("| Fig | Metric |")
    assert md[1].count("---") == md[0].count("|") - 1
    assert len(md) == 2 + len(rows())
    assert all(line.startswith("|") and line.endswith("|") for line in md)


def test_json_round_trip(tmp_path: Path) -> None:
    latest, stamped = write_results(
        rows(), {"commit": "abc"}, tmp_path / "r", "20250101-000000"
    )
    assert latest.name == "latest.json" and stamped.name == "20250101-000000.json"
    assert latest.read_text() == stamped.read_text()
    doc = json.loads(latest.read_text())
    assert doc["meta"] == {"commit": "abc"}
    assert [r["status"] for r in doc["rows"]] == [PASS, MISS, MISS, NA, PASS]
    assert doc["rows"][0]["target"]["text"] == ">= 300,000 steps/s"
    again = load_rows(doc)
    assert [(r.figure, r.ours, r.reference, r.status) for r in again] == [
        (r.figure, r.ours, r.reference, r.status) for r in rows()
    ]
    assert not list((tmp_path / "r").glob("*.tmp"))
