"""A resume takes the newest state that verifies *and loads*, says what it passed over,
and refuses in one line when none loads (issue 23 item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typing_extensions import override

from engine.state.catalogue import NoUsableStateError
from engine.state.persistence import PartlyLoadedError, PersistentStateMixin
from engine.telemetry.events import LogMessage, StateLoaded
from tests.engine.tiny import NudgeTrainer, make_system, tamper

WAIT = 10.0
NEVER = 10**9  # new items the trainer waits for: it leaves the loaded weight alone


def stop(system) -> None:
    system.shutdown()
    assert system.wait(WAIT), "system did not stop"


def saved_states(tmp_path: Path, weights: list[float]) -> list[Path]:
    """States of a tiny system whose model weight is each of ``weights``, oldest first."""
    system, _, _, model, _ = make_system(tmp_path, save_final_state=False)
    paths = []
    for weight in weights:
        model.weight = weight
        paths.append(system.save_state())
    return paths


def warnings_of(events: list) -> list[str]:
    return [
        e.message for e in events if isinstance(e, LogMessage) and e.level == "warning"
    ]


def test_resume_passes_over_a_newest_state_that_verifies_but_does_not_load(
    tmp_path: Path,
) -> None:
    good, bad = saved_states(tmp_path, [3.0, 4.0])
    # Checksum-valid, so it verifies; the model cannot read it.
    tamper(bad, {"models/scale.txt": b"not a weight"})
    system, _, _, model, _ = make_system(
        tmp_path, NudgeTrainer(min_new=NEVER), resume=True, save_final_state=False
    )
    events = system.events.subscribe()
    system.start()
    try:
        assert model.weight == 3.0
        assert system.status().started_from == str(good)
        drained = events.drain()
        assert [e.path for e in drained if isinstance(e, StateLoaded)] == [str(good)]
        assert warnings_of(drained) == [
            f"skipping {bad.name}: models/scale: loading component 'models/scale' "
            "failed: ValueError: could not convert string to float: 'not a weight'"
        ]
    finally:
        stop(system)


def test_resume_refuses_in_one_line_when_no_state_loads(tmp_path: Path) -> None:
    states = saved_states(tmp_path, [1.0, 2.0])
    for state in states:
        tamper(state, {"models/scale.txt": b"?"})
    system, _, _, model, _ = make_system(tmp_path, resume=True)
    with pytest.raises(NoUsableStateError) as refused:
        system.start()
    message = str(refused.value)
    assert message.startswith(
        f"cannot resume: none of the 2 state(s) in {tmp_path / 'states'} "
        "verifies and loads (newest: "
    )
    assert "\n" not in message
    # At start-up nothing runs: no word of a "running system".
    assert "running system" not in message
    assert [p for p, _ in refused.value.skipped] == states[::-1]
    assert model.weight == 0.0


def test_resume_says_it_passes_over_a_state_whose_manifest_is_missing(
    tmp_path: Path,
) -> None:
    [good] = saved_states(tmp_path, [5.0])
    broken = tmp_path / "states" / "9999-12-31_23-59-59,000000.state"
    broken.mkdir()
    (broken / "models").mkdir()
    system, _, _, model, _ = make_system(
        tmp_path, NudgeTrainer(min_new=NEVER), resume=True, save_final_state=False
    )
    events = system.events.subscribe()
    system.start()
    try:
        assert model.weight == 5.0
        assert warnings_of(events.drain()) == [
            f"skipping {broken.name}: manifest.json: missing (incomplete or foreign "
            "state)"
        ]
    finally:
        stop(system)


class BrokenForGood(PersistentStateMixin):
    """Saves a file, and fails every load: the rollback of a failed load too."""

    def __init__(self) -> None:
        self.loads = 0

    @override
    def save_state(self, path: Path) -> None:
        path.with_suffix(".txt").write_text("x")

    @override
    def load_state(self, path: Path) -> None:
        self.loads += 1
        raise RuntimeError("cannot load")


def test_resume_stops_at_a_load_that_left_the_system_partly_loaded(
    tmp_path: Path,
) -> None:
    system, *_ = make_system(tmp_path, save_final_state=False)
    system.store.register("broken", BrokenForGood())
    system.save_state()
    system.save_state()
    second, *_ = make_system(tmp_path, resume=True)
    broken = BrokenForGood()
    second.store.register("broken", broken)
    with pytest.raises(PartlyLoadedError, match="partly loaded"):
        second.start()
    assert broken.loads == 2  # the newest state's load and its rollback: no older one
