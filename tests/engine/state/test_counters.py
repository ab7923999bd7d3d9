"""A run's counters survive a resume and follow a live load; the status says where a run started."""

from __future__ import annotations

import threading
from pathlib import Path

from engine.telemetry.events import ModelSynced, TrainingRunFinished
from tests.engine.tiny import NudgeTrainer, make_system

WAIT = 10.0
NEVER = 10**9  # new items a trainer waits for: it does not train in the test


def stop(system) -> None:
    system.shutdown()
    assert system.wait(WAIT), "system did not stop"


def run_until_trained(system, runs: int) -> None:
    """Start ``system`` and wait until its trainer has run ``runs`` times."""
    done = threading.Event()
    system.events.add_callback(
        lambda e: (
            done.set() if isinstance(e, TrainingRunFinished) and e.run >= runs else None
        )
    )
    system.start()
    assert done.wait(WAIT), f"the trainer did not run {runs} times"


def counts(system) -> tuple[int, int]:
    status = system.status()
    return status.trainers["nudge"].runs, status.models["scale"].version


def test_resume_continues_trainer_runs_and_model_versions(tmp_path: Path) -> None:
    first, *_ = make_system(tmp_path)
    run_until_trained(first, 5)
    stop(first)  # the final save holds the counts at the stop
    runs, version = counts(first)
    assert runs >= 5 and version >= 5

    second, *_ = make_system(tmp_path, trainer=NudgeTrainer(min_new=NEVER), resume=True)
    syncs = second.events.subscribe()
    second.start()
    try:
        # One sync more: the one that gave the agent the loaded weights.
        assert counts(second) == (runs, version + 1)
        synced = [e for e in syncs.drain() if isinstance(e, ModelSynced)]
        assert [e.version for e in synced] == [version + 1]
        assert second.status().started_from == first.status().last_save
    finally:
        stop(second)


def test_a_live_load_brings_the_states_counts(tmp_path: Path) -> None:
    system, *_ = make_system(tmp_path, save_final_state=False)
    run_until_trained(system, 2)
    try:
        system.pause()
        saved_runs, saved_version = counts(system)
        path = system.save_state()
        system.resume()
        later = threading.Event()
        system.events.add_callback(
            lambda e: (
                later.set()
                if isinstance(e, TrainingRunFinished) and e.run >= saved_runs + 3
                else None
            )
        )
        assert later.wait(WAIT)
        system.pause()
        assert counts(system)[0] >= saved_runs + 3
        system.load_state(path)
        assert counts(system) == (saved_runs, saved_version + 1)
        assert system.status().started_from is None  # loaded live, not at the start
    finally:
        stop(system)


def test_a_fresh_run_started_from_nothing(tmp_path: Path) -> None:
    system, *_ = make_system(tmp_path, save_final_state=False)
    system.start()
    try:
        assert system.status().started_from is None
    finally:
        stop(system)
