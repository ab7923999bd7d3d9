"""Atomic saves, manifests, verification, retention."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typing_extensions import override

from engine.state.catalogue import list_states, remove_state, states_beyond
from engine.state.manifest import verify_state
from engine.state.persistence import PersistentStateMixin, StateError
from engine.state.store import StateStore
from tests.engine.tiny import newest_state, rewrite_manifest


class Blob(PersistentStateMixin):
    def __init__(self, text: str = "hello", fail: bool = False) -> None:
        self.text = text
        self.fail = fail

    @override
    def save_state(self, path: Path) -> None:
        path.mkdir()
        (path / "blob.txt").write_text(self.text)
        if self.fail:
            raise OSError("disk on fire")

    @override
    def load_state(self, path: Path) -> None:
        self.text = (path / "blob.txt").read_text()


def make_store(tmp_path: Path, **kwds) -> tuple[StateStore, Blob]:
    store = StateStore(tmp_path / "states", durable=False, **kwds)
    blob = Blob()
    store.register("blob", blob)
    return store, blob


def test_save_writes_a_manifest_with_checksums(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    path = store.save({"steps": 7})
    manifest = json.loads((path / "manifest.json").read_text())
    assert path.name.endswith(".state")
    assert manifest["components"] == ["blob"] and manifest["steps"] == 7
    assert set(manifest["files"]) == {"blob/blob.txt"}
    assert verify_state(path) == manifest


def test_a_failed_save_leaves_nothing_that_looks_like_a_state(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "states", durable=False)
    store.register("blob", Blob(fail=True))
    with pytest.raises(
        StateError, match="saving component 'blob' failed: OSError: disk on fire"
    ):
        store.save()
    # Only the directory's identity is there: no state, no temporary.
    assert [p.name for p in (tmp_path / "states").iterdir()] == [".pamiq-states.json"]


def test_a_crash_mid_write_is_invisible_and_cleaned_up_later(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    good = store.save()
    pending = store.begin()
    store.write_components(pending)  # ...and the process dies before finish()
    dead_pid_tmp = pending.tmp.with_name(
        pending.tmp.name.rsplit("-", 1)[0] + "-999999999"
    )
    pending.tmp.rename(dead_pid_tmp)
    assert [i.path for i in list_states(tmp_path / "states")] == [good]
    assert newest_state(tmp_path / "states") == good
    assert store.remove_stale_temporaries() == [dead_pid_tmp]
    assert not dead_pid_tmp.exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: (p / "blob" / "blob.txt").unlink(), r"blob\.txt: missing"),
        (
            lambda p: (p / "blob" / "blob.txt").write_text("hel"),
            r"blob\.txt: truncated",
        ),
        (
            lambda p: (p / "blob" / "blob.txt").write_text("HELLO"),
            r"blob\.txt: corrupt",
        ),
        (
            lambda p: (p / "blob" / "extra.pkl").write_bytes(b"x"),
            r"extra\.pkl: foreign file",
        ),
        (lambda p: (p / "manifest.json").unlink(), r"manifest\.json: missing"),
        (
            lambda p: (p / "manifest.json").write_text("{not json"),
            r"manifest\.json: unreadable",
        ),
        (
            lambda p: (p / "manifest.json").write_text('{"format": "x"}'),
            "not a pamiq-console",
        ),
    ],
)
def test_verification_names_the_bad_file(tmp_path: Path, damage, message) -> None:
    store, _ = make_store(tmp_path)
    path = store.save()
    damage(path)
    with pytest.raises(StateError, match=message):
        store.verify(path)


def test_errors_are_one_line(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    path = store.save()
    (path / "manifest.json").write_text("{\n\n not json")
    with pytest.raises(StateError) as info:
        store.verify(path)
    assert "\n" not in str(info.value)


def test_a_state_from_another_setup_lacks_components(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    path = store.save()
    other = StateStore(tmp_path / "states", durable=False)
    other.register("blob", Blob())
    other.register("model", Blob())
    with pytest.raises(StateError, match="lacks component.s. model"):
        other.verify(path)


def test_load_state_restores_components(tmp_path: Path) -> None:
    store, blob = make_store(tmp_path)
    blob.text = "saved"
    path = store.save()
    blob.text = "changed"
    store.load_state(path)
    assert blob.text == "saved"


def test_retention_keeps_the_newest(tmp_path: Path) -> None:
    store, blob = make_store(tmp_path, max_keep=2)
    paths = []
    for i in range(4):
        blob.text = str(i)
        paths.append(store.save())
    assert [i.path for i in list_states(tmp_path / "states")] == paths[2:]
    assert states_beyond(tmp_path / "states", keep=1) == [paths[2]]
    remove_state(paths[2])
    assert [i.path for i in list_states(tmp_path / "states")] == paths[3:]


def test_durable_saves_work(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "states", durable=True)
    store.register("blob", Blob())
    verify_state(store.save())


def test_manifest_cannot_point_outside_the_state(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    path = store.save()
    rewrite_manifest(
        path, lambda m: m["files"].update({"../../etc/passwd": {"size": 1}})
    )
    with pytest.raises(StateError, match="outside the state"):
        verify_state(path)
    assert os.path.exists(path)


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["files"].update({"blob/blob.txt": "x"}),
        lambda m: m["files"]["blob/blob.txt"].update({"size": "12"}),
        lambda m: m.update({"steps": "many"}),
    ],
)
def test_malformed_manifest_fields_are_refused_by_name(tmp_path: Path, edit) -> None:
    store, _ = make_store(tmp_path)
    path = store.save({"steps": 1})
    manifest = json.loads((path / "manifest.json").read_text())
    edit(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StateError, match="manifest.json: malformed"):
        verify_state(path)
    assert list_states(tmp_path / "states")[0].problem
