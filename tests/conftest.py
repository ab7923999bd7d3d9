"""Shared fixtures: every test leaves the process-wide clock as it found it."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from engine import time


@pytest.fixture(autouse=True)
def _restore_global_clock() -> Iterator[None]:
    switch = sys.getswitchinterval()
    yield
    clock = time.get_global_time_controller()
    clock.resume()
    clock.set_time_scale(1.0)
    sys.setswitchinterval(switch)


@pytest.fixture
def still_clock() -> None:
    """The global engine clock stands still (the autouse fixture resumes it)."""
    time.pause()
