"""Snapshots of every sample's dashboard at a laptop's 80x24, at 120x40 and at
200x60, in a run's own dashboard, attached, and attached read-only: a layout
that cuts, wraps or wastes room shows as a diff.

The dashboards are frozen (:mod:`tests.console.frozen_samples`): each sample's
real buffers, models and trainers, with the metrics and log lines of a few
minutes of its run, at a fixed clock. Every size is taken of the run's own
dashboard; attached and read-only, which differ in the header's view mark and
the footer's keys, at 80x24 only, where those are tightest (five snapshots a
sample, about 1 s each on the 2-core machine, instead of nine).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.console.frozen_samples import SAMPLES, feed, sample_app

SIZES = {"80x24": (80, 24), "120x40": (120, 40), "200x60": (200, 60)}
CASES = [
    pytest.param(sample, size, mode, id=f"{sample}-{size}-{mode}")
    for sample in SAMPLES
    for size in SIZES
    for mode in ("run", "attach", "read-only")
    if mode == "run" or size == "80x24"
]


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("sample", "size", "mode"), CASES)
def test_sample_dashboard(snap_compare: Any, sample: str, size: str, mode: str) -> None:
    async def fed(pilot: Any) -> None:
        feed(pilot.app, sample)
        await pilot.pause()

    assert snap_compare(
        sample_app(sample, mode), terminal_size=SIZES[size], run_before=fed
    )
