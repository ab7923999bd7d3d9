"""A states directory whose identity a crash left unreadable is rebuilt from its
states (issue 23 A): resume works, the states stay its own (numbered), and
retention keeps pruning them."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from engine.state.catalogue import list_states
from engine.state.manifest import read_manifest
from engine.state.states_dir import (
    IDENTITY,
    ensure_identity,
    identity_from_states,
    read_identity,
)
from engine.telemetry.events import StateRemoved
from tests.engine.tiny import make_system, rewrite_manifest

WAIT = 10.0
DAY = 86_400.0


def stop(system) -> None:
    system.shutdown()
    assert system.wait(WAIT), "system did not stop"


def saved(tmp_path: Path, count: int, **config) -> list[Path]:
    system, *_ = make_system(tmp_path, save_final_state=False, **config)
    system.start()
    try:
        return [system.save_state() for _ in range(count)]
    finally:
        stop(system)


def seqs(states: Path) -> dict[str, int | None]:
    return {i.name: i.seq for i in list_states(states)}


@pytest.mark.parametrize(
    "broken",
    [b"", b"\0" * 64, b'{"format": "pamiq-console/sta'],
    ids=["empty", "zeros", "torn"],
)
def test_an_unreadable_identity_next_to_states_is_rebuilt_from_them(
    tmp_path: Path, broken: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    states = tmp_path / "states"
    written = saved(tmp_path, 3)
    identity = read_identity(states)
    before = seqs(states)
    assert sorted(before.values()) == [1, 2, 3]
    (states / IDENTITY).write_bytes(broken)  # what a power loss left

    # Offline tools already see the states as the directory's own.
    assert read_identity(states) == identity
    assert seqs(states) == before

    system, *_ = make_system(
        tmp_path, resume=True, max_keep_states=3, save_final_state=False
    )
    sub = system.events.subscribe(maxsize=1000)
    with caplog.at_level(logging.WARNING, logger="engine.state"):
        system.start()
    try:
        assert system.status().started_from == str(written[-1])
        newest = system.save_state()
    finally:
        stop(system)

    # The identity is the old one again, on disk, and said so.
    assert json.loads((states / IDENTITY).read_text())["id"] == identity
    assert len(system.store.notices) == 1
    assert "rebuilt it from the 3 state(s)" in system.store.notices[0]
    assert system.store.notices[0] in caplog.text
    # Numbering goes on, and retention still prunes the old states.
    assert read_manifest(newest)["writer"]["seq"] == 4
    events = sub.drain()
    removed = [e.path for e in events if isinstance(e, StateRemoved)]
    assert removed == [str(written[0])]
    # Every watcher hears of the repair (the dashboard, the event log).
    said = [getattr(e, "message", "") for e in events]
    assert system.store.notices[0] in said
    assert seqs(states) == {written[1].name: 2, written[2].name: 3, newest.name: 4}


def test_the_rebuilt_identity_is_the_directorys_not_a_copied_in_states(
    tmp_path: Path,
) -> None:
    # States copied in from elsewhere keep their names (and their directory's
    # id), one even dated a day ahead: the identity taken is the one of the
    # states this directory's runs wrote, and the copies stay foreign.
    elsewhere = saved(tmp_path / "other", 3)
    states = tmp_path / "states"
    own = saved(tmp_path, 2)
    for state in elsewhere:
        shutil.copytree(state, states / state.name)
    rewrite_manifest(
        states / elsewhere[-1].name,
        lambda m: m.update(created_unix=m["created_unix"] + DAY),
    )
    identity = read_identity(states)
    (states / IDENTITY).write_bytes(b"")

    found = identity_from_states(states)
    assert found.identity == identity
    assert found.states == 2 and len(found.others) == 1
    notices: list[str] = []
    assert ensure_identity(states, notices.append) == identity
    assert "other id(s) stay foreign" in notices[0]
    current = seqs(states)
    assert [current[p.name] for p in own] == [1, 2]
    assert [current[p.name] for p in elsewhere] == [None, None, None]


def test_an_unreadable_identity_without_states_gets_a_new_one(tmp_path: Path) -> None:
    states = tmp_path / "states"
    states.mkdir(mode=0o700)
    (states / IDENTITY).write_bytes(b"")
    notices: list[str] = []
    identity = ensure_identity(states, notices.append)
    assert read_identity(states) == identity
    assert len(notices) == 1 and "new identity" in notices[0]
    # A readable identity is left alone and says nothing.
    assert ensure_identity(states, notices.append) == identity
    assert len(notices) == 1


def test_the_identity_is_synced_before_it_is_renamed_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst, **kwds) -> None:
        calls.append(("replace", str(dst)))
        real_replace(src, dst, **kwds)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    states = tmp_path / "states"
    states.mkdir(mode=0o700)
    ensure_identity(states)
    identity = str(states / IDENTITY)
    assert [kind for kind, _ in calls] == ["fsync", "replace", "fsync"]
    assert calls[0][1].startswith(str(states / f".{IDENTITY}.tmp-"))
    assert calls[1:] == [("replace", identity), ("fsync", str(states))]
    assert [p.name for p in states.iterdir()] == [IDENTITY]
