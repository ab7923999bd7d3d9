"""A run's states through the console: what retention deleted, foreign states and
``states prune``, the states lock, owner-only modes, and the state a run started from."""

from __future__ import annotations

import json
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from console import config as config_mod
from console.cli import app
from console.runner import Run
from engine.state.catalogue import list_states
from engine.state.persistence import StateError
from tests.console.helpers import bandit_config, wait_until
from tests.engine.tiny import rewrite_manifest, tamper

runner = CliRunner()


def invoke(*args: object) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def start(config: Path, **overrides: Any) -> Run:
    run = Run(config_mod.load(config, overrides or None))
    run.start()
    return run


def finish(run: Run) -> None:
    run.stop_and_wait("test over")


@pytest.fixture
def kept_two(tmp_path: Path) -> Iterator[Run]:
    """A live run of the tiny config keeping its 2 newest states."""
    config = tmp_path / "run.toml"
    config.write_text(bandit_config(tmp_path, system="keep_last = 2"))
    run = start(config)
    try:
        yield run
    finally:
        finish(run)


def test_save_says_which_old_states_retention_deleted(kept_two: Run) -> None:
    run_dir = kept_two.run_dir.path
    first = invoke("save", "--run", run_dir)
    second = invoke("save", "--run", run_dir)
    assert first.exit_code == 0 and second.exit_code == 0
    oldest = first.stdout.split()[1]
    third = invoke("save", "--run", run_dir)
    lines = third.stdout.splitlines()
    assert third.exit_code == 0 and lines[0].startswith("saved ")
    assert lines[1:] == [f"removed {oldest} (keep_last)"]
    events = invoke("events", "--run", run_dir, "--kind", "removed")
    assert events.exit_code == 0 and f"path={oldest}" in events.stdout
    assert "keep_last 2" in events.stdout


def test_prune_keeps_foreign_states_and_says_so(kept_two: Run, tmp_path: Path) -> None:
    states = Path(kept_two.system.store.states_dir)
    own = [kept_two.system.save_state() for _ in range(2)]
    copy = states / "copied-in.state"
    shutil.copytree(own[0], copy)
    finish(kept_two)  # its final save pushes own[0] out; the copy stays
    assert copy.is_dir() and not own[0].exists()
    result = invoke("states", "list", "--states-dir", states)
    rows = [line for line in result.stdout.splitlines() if ".state" in line]
    assert "copied-in.state" in rows[0] and "foreign" in rows[0]
    assert "#" in rows[-1]  # the directory's own, newest last
    result = invoke("states", "prune", "--keep", "1", "--yes", "--states-dir", states)
    assert result.exit_code == 0, result.stderr
    assert "keeping 1 foreign state(s)" in result.stdout
    assert "copied-in.state" in result.stdout
    assert "1 state(s) removed, 2 kept" in result.stdout
    assert copy.is_dir() and not own[1].exists()


def test_prune_refuses_while_a_run_holds_the_states(kept_two: Run) -> None:
    states = Path(kept_two.system.store.states_dir)
    kept_two.system.save_state()
    result = invoke("states", "prune", "--keep", "0", "--yes", "--states-dir", states)
    assert result.exit_code == 1
    assert "is using this states directory" in result.stderr
    assert "keep_last" in result.stderr and result.stderr.count("\n") == 1
    assert list(states.glob("*.state"))


def test_a_second_run_on_the_same_states_dir_is_refused(
    kept_two: Run, tmp_path: Path
) -> None:
    other = tmp_path / "other.toml"
    other.write_text(
        bandit_config(tmp_path / "second", name="second").replace(
            "[system]",
            f'[system]\nstates_dir = "{kept_two.system.store.states_dir}"',
        )
    )
    result = invoke("run", other, "--headless", "--max-uptime", "5")
    assert result.exit_code == 2
    assert result.stderr.startswith("cannot start: ")
    assert "another run (pid" in result.stderr and result.stderr.count("\n") == 1


def test_states_in_another_directory_are_owner_only(
    tmp_path: Path, config_file: Callable[..., Path]
) -> None:
    elsewhere = tmp_path / "shared" / "states"
    run = start(config_file(), states_dir=str(elsewhere))
    try:
        saved = run.system.save_state()
    finally:
        finish(run)
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o700
    for entry in [saved, *saved.rglob("*")]:
        mode = stat.S_IMODE(entry.stat().st_mode)
        assert mode == (0o700 if entry.is_dir() else 0o600), entry


def test_a_resumed_run_shows_the_state_it_started_from(
    config_file: Callable[..., Path],
) -> None:
    config = config_file()
    first = start(config)
    finish(first)
    final = first.system.status().last_save
    assert final is not None
    resumed = start(config, resume=True)
    try:
        run_dir = resumed.run_dir.path
        loaded = invoke("events", "--run", run_dir, "--kind", "loaded", "--json")
        assert [e["path"] for e in json.loads(loaded.stdout)] == [final]
        status = invoke("status", "--run", run_dir)
        assert f"started from: {final}" in status.stdout
    finally:
        finish(resumed)


def test_a_refused_start_is_recorded_as_refused_and_is_nobody_s_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    def write(name: str) -> Path:
        text = bandit_config(tmp_path, name=name).replace(
            f'run_dir = "{tmp_path / "run"}"', f'run_dir = "runs/{name}"'
        )
        (tmp_path / f"{name}.toml").write_text(text)
        return tmp_path / f"{name}.toml"

    good, bad = write("good"), write("bad")
    finish(start(good))
    refused = invoke("run", bad, "--headless", "--load", tmp_path / "no-such.state")
    assert refused.exit_code == 2
    info = json.loads((tmp_path / "runs" / "bad" / "run.json").read_text())
    assert info["exit_code"] == 2 and info["stopped"] is not None
    # `states list` without a run takes the last run that ran, not the refused one.
    listed = invoke("states", "list", "--json")
    assert listed.exit_code == 0
    assert [Path(s["path"]).parent.parent.name for s in json.loads(listed.stdout)] == [
        "good"
    ]


def test_resume_falls_back_from_a_state_that_no_longer_fits_the_config(
    tmp_path: Path,
) -> None:
    def config(arms: int) -> Path:
        means = ", ".join(["0.5"] * arms)
        path = tmp_path / f"arms{arms}.toml"
        path.write_text(
            bandit_config(tmp_path)
            .replace("arms = 3", f"arms = {arms}")
            .replace("means = [0.1, 0.9, 0.5]", f"means = [{means}]")
        )
        return path

    three, four, five = config(3), config(4), config(5)
    finish(start(three))
    finish(start(four))  # a newer state, with an arm more than `three` has
    states = sorted((i.path for i in list_states(tmp_path / "run" / "states")), key=str)
    older, newer = states
    resumed = invoke("run", three, "--headless", "--resume", "--max-uptime", "0.2")
    assert resumed.exit_code == 0, resumed.stderr
    assert (
        f"skipping {newer.name}: interaction: loading component 'interaction' "
        "failed: ValueError: state has 4 arm means, the environment has 3"
        in resumed.stderr
    )
    assert f"loaded {older}" in resumed.stderr
    assert "nothing was tried" not in resumed.stderr

    refused = invoke("run", five, "--headless", "--resume", "--max-uptime", "0.2")
    assert refused.exit_code == 1  # tried, and it could not be done
    lines = refused.stderr.splitlines()
    assert len(lines) == 4  # each of the 3 states on its line, then why it stopped
    assert all(line.startswith("skipping ") for line in lines[:3])
    assert lines[-1] == (
        f"cannot start: cannot resume: none of the 3 state(s) in "
        f"{tmp_path / 'run' / 'states'} verifies and loads"
    )


def test_states_verify_refuses_what_a_resume_would_refuse(
    config_file: Callable[..., Path], tmp_path: Path
) -> None:
    config = config_file()
    finish(start(config))
    states = tmp_path / "run" / "states"
    [state] = list(states.glob("*.state"))

    def drop_trainer(manifest: dict) -> None:
        manifest["parts"].remove("trainers/values")
        manifest["files"] = {
            rel: meta
            for rel, meta in manifest["files"].items()
            if not rel.startswith("trainers/values")
        }

    for file in (state / "trainers").iterdir():
        shutil.rmtree(file) if file.is_dir() else file.unlink()
    rewrite_manifest(state, drop_trainer)

    # Against the config the run recorded, as a resume checks it.
    verified = invoke("states", "verify", state.name, "--states-dir", states)
    assert verified.exit_code == 1
    assert verified.stderr.strip() == (
        f"✗ {state / 'manifest.json'}: state lacks part(s) trainers/values"
    )
    resumed = invoke("run", config, "--headless", "--resume", "--max-uptime", "0.2")
    assert resumed.exit_code == 1
    assert "state lacks part(s) trainers/values" in resumed.stderr

    # A whole component gone: refused even with no config to go by.
    def drop_trainers(manifest: dict) -> None:
        manifest["components"].remove("trainers")
        manifest["parts"] = [
            p for p in manifest["parts"] if not p.startswith("trainers")
        ]

    rewrite_manifest(state, drop_trainers)
    (tmp_path / "run" / "run.json").unlink()  # no run says which config
    verified = invoke("states", "verify", state, "--states-dir", states)
    assert verified.exit_code == 1
    assert "state lacks component(s) trainers" in verified.stderr


@pytest.mark.parametrize(
    ("means", "problem"),
    [
        ([], "state has 0 arm means, the environment has 3"),
        ([0.1, float("nan"), 0.5], "an arm mean or reward that is not a number"),
    ],
)
def test_a_bandit_state_with_impossible_arms_is_refused_and_the_agent_steps_on(
    config_file: Callable[..., Path], means: list[float], problem: str
) -> None:
    run = start(config_file())
    system = run.system
    try:
        state = system.save_state()
        saved = json.loads((state / "interaction" / "environment.json").read_text())
        tamper(
            state,
            {
                "interaction/environment.json": json.dumps(
                    {**saved, "means": means}
                ).encode()
            },
        )
        with pytest.raises(StateError, match=problem) as refused:
            system.load_state(state)
        assert "\n" not in str(refused.value)
        steps = system.steps
        wait_until(lambda: system.steps > steps + 10, what="the agent to step on")
        assert system.failures == []
    finally:
        finish(run)
    assert system.failures == []
