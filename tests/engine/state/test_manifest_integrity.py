"""A manifest's own fields are checksummed, impossible values are refused before the
running system is touched, and an offline verify checks what a load checks
(issue 23 item 7)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from engine.state.catalogue import list_states
from engine.state.manifest import SEAL, verify_state
from engine.state.persistence import StateError
from engine.state.requirements import RUN_COMPONENTS, run_parts, verify_for_run
from engine.telemetry.events import LogMessage
from tests.engine.tiny import NudgeTrainer, make_system, rewrite_manifest, tamper

WAIT = 10.0
NEVER = 10**9


def stop(system) -> None:
    system.shutdown()
    assert system.wait(WAIT), "system did not stop"


def a_state(tmp_path: Path) -> Path:
    system, *_ = make_system(tmp_path / "source", save_final_state=False)
    return system.save_state()


@pytest.mark.parametrize(
    ("field", "before", "after"),
    [
        # The writer decides whose state it is (own, numbered, pruned) ...
        ("writer", '"seq": 1', '"seq": 3'),
        # ... and these are what listings and the dashboard show of it.
        ("steps", '"steps": 0', '"steps": 8'),
        ("uptime", '"uptime": 0', '"uptime": 9'),
        ("name", '"name": "', '"name": "x'),
        ("created", '"created": "2', '"created": "3'),
    ],
)
def test_a_changed_manifest_field_is_refused_not_believed(
    tmp_path: Path, field: str, before: str, after: str
) -> None:
    state = a_state(tmp_path)
    manifest = state / "manifest.json"
    text = manifest.read_text()
    assert before in text, field
    manifest.write_text(text.replace(before, after, 1))
    with pytest.raises(StateError, match="does not match its own checksum") as e:
        verify_state(state)
    assert "\n" not in str(e.value)
    [info] = list_states(state.parent)
    assert info.problem  # listed as broken, not taken for a foreign state


def test_a_state_from_before_manifests_were_checksummed_loads_with_a_note(
    tmp_path: Path,
) -> None:
    state = a_state(tmp_path)
    manifest = json.loads((state / "manifest.json").read_text())
    for key in (SEAL, "parts"):
        del manifest[key]
    manifest["format_version"] = 1
    (state / "manifest.json").write_text(json.dumps(manifest))
    system, *_ = make_system(tmp_path, save_final_state=False)
    events = system.events.subscribe()
    system.start()
    try:
        system.load_state(state)
    finally:
        stop(system)
    notes = [e.message for e in events.drain() if isinstance(e, LogMessage)]
    assert (
        f"{state.name}: written before manifests had their own checksum (format 1); "
        "its files are checked, but its own fields (created, uptime, steps, name, "
        "writer) cannot be"
    ) in notes


NAN = float("nan")


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        ({"system.json": {"steps": -5}}, "impossible 'steps' (-5)"),
        ({"system.json": {"uptime": NAN}}, "impossible 'uptime' (nan)"),
        ({"time.json": {"time": NAN}}, "impossible 'time' (nan)"),
        ({"time.json": {"time_scale": 0.0}}, "impossible 'time_scale' (0.0)"),
        ({"manifest": {"steps": -5}}, "impossible 'steps' (-5)"),
        ({"manifest": {"uptime": math.inf}}, "impossible 'uptime' (inf)"),
    ],
)
def test_impossible_values_are_refused_before_the_running_system_is_touched(
    tmp_path: Path, edit: dict, problem: str
) -> None:
    system, agent, *_ = make_system(
        tmp_path, NudgeTrainer(min_new=NEVER), save_final_state=False
    )
    system.start()
    try:
        state = system.save_state()
        [(where, values)] = edit.items()
        if where == "manifest":
            rewrite_manifest(state, lambda m: m.update(values))
        else:
            content = json.loads((state / where).read_text())
            tamper(state, {where: json.dumps({**content, **values}).encode()})
        agent.paused.clear()
        steps = system.steps
        with pytest.raises(StateError) as refused:
            system.load_state(state)
        assert problem in str(refused.value) and "\n" not in str(refused.value)
        # Refused while reading ahead: the system was never even held.
        assert not agent.paused.is_set()
        assert system.steps >= steps
        agent.stepped.clear()
        assert agent.stepped.wait(WAIT), "the agent stopped stepping"
        assert system.failures == []
    finally:
        stop(system)


def test_the_components_a_run_registers_are_the_ones_an_offline_check_requires(
    tmp_path: Path,
) -> None:
    system, *_ = make_system(tmp_path)
    assert tuple(system.store.required) == RUN_COMPONENTS
    assert system.store.part_names() == run_parts(["scale"], ["obs"], ["nudge"])


def test_verify_refuses_a_state_without_a_component_a_load_needs(
    tmp_path: Path,
) -> None:
    state = a_state(tmp_path)

    def drop_models(manifest: dict) -> None:
        manifest["components"].remove("models")
        manifest["parts"] = [p for p in manifest["parts"] if p != "models/scale"]
        manifest["files"] = {
            rel: meta
            for rel, meta in manifest["files"].items()
            if not rel.startswith("models/")
        }

    shutil.rmtree(state / "models")
    rewrite_manifest(state, drop_models)
    with pytest.raises(StateError, match=r"state lacks component\(s\) models"):
        verify_for_run(state)
    system, *_ = make_system(tmp_path)
    with pytest.raises(StateError, match=r"state lacks component\(s\) models"):
        system.load_state(state)


def test_verify_with_the_runs_parts_refuses_a_state_without_one(
    tmp_path: Path,
) -> None:
    state = a_state(tmp_path)
    rewrite_manifest(
        state,
        lambda m: m.update(parts=[p for p in m["parts"] if p != "trainers/nudge"]),
    )
    verify_for_run(state)  # without the run's parts, nothing says it is missing
    parts = run_parts(["scale"], ["obs"], ["nudge"])
    with pytest.raises(StateError, match=r"state lacks part\(s\) trainers/nudge"):
        verify_for_run(state, parts)
    system, *_ = make_system(tmp_path)
    with pytest.raises(StateError, match=r"state lacks part\(s\) trainers/nudge"):
        system.load_state(state)
