"""A power loss at any moment of a first start and its saves leaves a states
directory that ``--resume`` accepts, with the states still the directory's own.

The writes and syncs of a real run are recorded (tests/engine/state/crash_model.py);
every tree a power loss could leave, keeping only what was synced, is then
built and resumed from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.state.catalogue import list_states
from engine.state.states_dir import IDENTITY, read_identity
from tests.engine.state.crash_model import CrashRecorder
from tests.engine.tiny import make_system

WAIT = 10.0


def test_every_crash_of_a_first_start_and_save_is_resumable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    states = tmp_path / "run" / "states"
    with monkeypatch.context() as patched:
        recorder = CrashRecorder(states, patched)
        system, agent, *_ = make_system(
            tmp_path / "run", durable_saves=True, console=False
        )
        system.start()
        assert agent.stepped.wait(WAIT)
        system.save_state()
        system.shutdown()
        assert system.wait(WAIT)  # the final save
    identity = read_identity(states)
    assert identity is not None
    assert len([i for i in list_states(states) if i.own]) == 2

    images = recorder.images()
    assert len(images) > 5
    with_identity = [i for i in images if any(r == IDENTITY for r, _ in i.entries)]
    assert with_identity, "no crash image holds the identity"
    for n, image in enumerate(images):
        where = image.materialize(tmp_path / f"image-{n}" / "states")
        infos = list_states(where)
        complete = [i for i in infos if not i.problem]
        resumed, *_ = make_system(
            where.parent, resume=True, console=False, save_final_state=False
        )
        try:
            resumed.start()
        except Exception as e:
            pytest.fail(
                f"crash image {n} (after call {image.point}: "
                f"{recorder.points[image.point].call}) is refused: {e}\n"
                f"  {image.describe()}"
            )
        try:
            status = resumed.status()
            if complete:
                # The newest complete state is loaded, and every state the run
                # wrote is still the directory's own (numbered, pruned).
                assert status.started_from is not None, image.describe()
                assert all(i.own for i in list_states(where) if not i.problem), (
                    image.describe()
                )
                assert read_identity(where) == identity
            else:
                assert status.started_from is None
        finally:
            resumed.shutdown()
            assert resumed.wait(WAIT)
