"""PAMIQ-Core's state persistence names: keepers, save conditions, pickle helpers, errors."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import pytest
from typing_extensions import override

from engine import LaunchConfig, StateError, launch
from engine.state.catalogue import list_states
from engine.state.manifest import StateNotFoundError
from engine.state_persistence import (
    LatestStatesKeeper,
    PeriodicSaveCondition,
    PersistentStateMixin,
    StatesKeeper,
    StateStore,
    load_pickle,
    save_pickle,
)
from engine.telemetry.events import StateSaved
from tests.engine.test_system import WAIT, stop, wait_for_event
from tests.engine.tiny import advance_clock, make_system


def make_states(states_dir: Path, names: Iterable[str]) -> list[Path]:
    """State-like directories whose modification times follow ``names``' order."""
    states_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, name in enumerate(names):
        path = states_dir / name
        path.mkdir()
        (path / "x").write_text(name)
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
        paths.append(path)
    return paths


def test_latest_states_keeper_deletes_the_oldest_beyond_max_keep(
    tmp_path: Path,
) -> None:
    old = make_states(
        tmp_path, ["c.state", "a.state", "b.state"]
    )  # mtime order c, a, b
    (tmp_path / "notes.txt").write_text("not a state")
    keeper = LatestStatesKeeper(tmp_path, max_keep=2)
    new = make_states(tmp_path, ["d.state"])[0]
    keeper.append(new)
    removed = keeper.cleanup()
    assert removed == old[:2]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "b.state",
        "d.state",
        "notes.txt",
    ]
    assert keeper.cleanup() == []


def test_latest_states_keeper_creates_its_directory_and_checks_max_keep(
    tmp_path: Path,
) -> None:
    LatestStatesKeeper(tmp_path / "new", 3)
    assert (tmp_path / "new").is_dir()
    with pytest.raises(ValueError, match="max_keep must be >= 0, got -1"):
        LatestStatesKeeper(tmp_path, -1)


def test_a_custom_keeper_deletes_what_it_selects_and_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class KeepNothingOdd(StatesKeeper):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[Path] = []

        @override
        def append(self, path: Path) -> None:
            self.seen.append(path)

        @override
        def select_removal_states(self) -> Iterable[Path]:
            return [p for p in self.seen if p.name.startswith("odd")]

    keeper = KeepNothingOdd()
    for path in make_states(tmp_path, ["odd1", "even2", "odd3"]):
        keeper.append(path)
    (tmp_path / "odd3").rename(tmp_path / "gone")  # selected but already gone: skipped
    with caplog.at_level(logging.INFO):
        assert keeper.cleanup() == [tmp_path / "odd1"]
    assert f"Removed: '{tmp_path / 'odd1'}'" in caplog.messages
    assert sorted(p.name for p in tmp_path.iterdir()) == ["even2", "gone"]


def test_a_keeper_in_launch_config_prunes_next_to_max_keep_states(
    tmp_path: Path,
) -> None:
    states = tmp_path / "states"
    system, *_ = make_system(
        tmp_path,
        states_keeper=LatestStatesKeeper(states, max_keep=2),
        max_keep_states=3,
        save_final_state=False,
    )
    system.start()
    try:
        saved = [system.save_state() for _ in range(4)]
    finally:
        stop(system)
    # The keeper's limit (2) is tighter than the built-in one (3): both apply.
    assert [info.path for info in list_states(states)] == saved[-2:]


@pytest.mark.usefixtures("still_clock")
def test_periodic_save_condition_is_true_once_per_interval() -> None:
    condition = PeriodicSaveCondition(interval=60.0)
    assert condition() is False
    advance_clock(59.0)
    assert condition() is False
    advance_clock(2.0)
    assert condition() is True
    assert condition() is False
    advance_clock(61.0)
    assert condition() is True


def test_a_save_condition_in_launch_config_triggers_saves(tmp_path: Path) -> None:
    asked: list[bool] = []

    def once() -> bool:
        asked.append(True)
        return len(asked) == 1

    system, *_ = make_system(
        tmp_path, save_state_condition=once, save_final_state=False
    )
    sub = system.events.subscribe()
    system.start()
    try:
        wait_for_event(sub, StateSaved)
    finally:
        stop(system)
    assert len(list_states(tmp_path / "states")) == 1


@pytest.mark.parametrize(
    "field, value, message",
    [
        (
            "states_keeper",
            object(),
            "LaunchConfig.states_keeper must have append\\(path\\) and cleanup\\(\\)",
        ),
        (
            "save_state_condition",
            True,
            "LaunchConfig.save_state_condition must be a callable returning bool, got True",
        ),
    ],
)
def test_launch_config_refuses_a_keeper_or_condition_it_cannot_call(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        LaunchConfig(**{field: value})  # type: ignore[arg-type]


def test_pickle_helpers_round_trip_and_report_a_missing_file(tmp_path: Path) -> None:
    value = {"episode": 3, "returns": [1.0, 2.5], "name": "run"}
    save_pickle(value, tmp_path / "v.pkl")
    assert load_pickle(tmp_path / "v.pkl") == value
    save_pickle(value, str(tmp_path / "s.pkl"))
    assert load_pickle(str(tmp_path / "s.pkl")) == value
    with pytest.raises(FileNotFoundError):
        load_pickle(tmp_path / "missing.pkl")


def test_built_in_states_hold_no_pickle(tmp_path: Path) -> None:
    system, *_ = make_system(tmp_path, max_uptime=0.2)
    system.start()
    assert system.wait(WAIT)
    (state,) = (info.path for info in list_states(tmp_path / "states"))
    for file in state.rglob("*"):
        if file.is_file():
            assert file.suffix not in {".pkl", ".pickle"}, file
            assert not file.read_bytes().startswith(b"\x80"), f"{file} is a pickle"


def test_a_missing_saved_state_path_is_a_file_not_found_error(tmp_path: Path) -> None:
    system, agent, env, model, trainer = make_system(tmp_path)
    missing = tmp_path / "states" / "not_there.state"
    from engine import Interaction
    from engine.data import SequentialBuffer

    with pytest.raises(FileNotFoundError) as caught:
        launch(
            Interaction(agent, env),
            {"scale": model},
            {"obs": SequentialBuffer(10)},
            {"nudge": trainer},
            LaunchConfig(states_dir=tmp_path / "states", saved_state_path=missing),
        )
    assert isinstance(caught.value, StateError)
    assert isinstance(caught.value, StateNotFoundError)
    assert str(caught.value) == f"{missing}: no such state directory"


class Note(PersistentStateMixin):
    def __init__(self, text: str) -> None:
        self.text = text

    @override
    def save_state(self, path: Path) -> None:
        path.with_suffix(".txt").write_text(self.text)

    @override
    def load_state(self, path: Path) -> None:
        self.text = path.with_suffix(".txt").read_text()


def test_state_store_answers_to_pamiq_cores_method_names(tmp_path: Path) -> None:
    note = Note("first")
    store = StateStore(tmp_path, durable=False)
    store.register("note", note)
    with pytest.raises(KeyError, match="already registered"):
        store.register("note", Note("again"))
    path = store.save_state()
    assert (path / "note.txt").read_text() == "first"
    note.text = "changed"
    store.load_state(path)
    assert note.text == "first"
    with pytest.raises(FileNotFoundError):
        store.load_state(tmp_path / "nothing.state")
