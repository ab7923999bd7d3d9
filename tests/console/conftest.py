"""Fixtures for the console tests (helpers live in helpers.py)."""

from __future__ import annotations

import asyncio

import pytest

from tests.console.helpers import config_file, in_tmp_cwd, live_run, parts

__all__ = ["config_file", "in_tmp_cwd", "live_run", "parts"]


async def _one_tick(*_args: float, **_kwargs: float) -> None:
    await asyncio.sleep(0.02)


@pytest.fixture(autouse=True)
def _pilot_keys_do_not_wait_for_an_idle_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Textual's Pilot waits, after each key, until the process's CPU is idle (at
    most 1 s, twice). Here the run under test shares the process and never
    idles, so each key cost 2 s; the tests wait for what they check instead."""
    monkeypatch.setattr("textual.app.wait_for_idle", _one_tick, raising=False)
