"""Which run and which state a command means (issue 16: items 2, 3, 6 and 8)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from typer.testing import CliRunner

from console import config as config_mod
from console import runner as runner_mod
from console.cli import ExitCode, app
from console.config import BuiltRun
from console.runner import Run
from engine.telemetry.events import EVENT_KINDS
from tests.console.helpers import bandit_config

runner = CliRunner()


def invoke(*args: Any) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def write_config(cwd: Path, name: str) -> Path:
    """A config whose run lives in runs/NAME under the working directory."""
    path = cwd / f"{name}.toml"
    text = bandit_config(cwd, name=name).replace(f'run_dir = "{cwd / "run"}"', "")
    path.write_text(text)
    return path


@pytest.fixture
def two_live_runs(in_tmp_cwd: Path) -> Iterator[dict[str, Run]]:
    runs = {}
    try:
        for name in ("alpha", "beta"):
            run = Run(config_mod.load(write_config(in_tmp_cwd, name)))
            run.start()
            runs[name] = run
        yield runs
    finally:
        for run in runs.values():
            run.stop_and_wait("test over")


def test_several_live_runs_are_refused_with_their_list(
    two_live_runs: dict[str, Run], in_tmp_cwd: Path
) -> None:
    result = invoke("pause")
    assert result.exit_code == ExitCode.USAGE
    message = result.stderr.strip()
    assert message.startswith("2 runs are live: ")
    assert "alpha (" in message and "beta (" in message and "--run NAME" in message
    assert all(r.system.state.value == "active" for r in two_live_runs.values())


def test_a_run_is_named_by_name_or_directory_and_every_reply_names_it(
    two_live_runs: dict[str, Run], in_tmp_cwd: Path
) -> None:
    result = invoke("pause", "--run", "beta")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "paused run beta (state: paused)"
    assert two_live_runs["beta"].system.state.value == "paused"
    assert two_live_runs["alpha"].system.state.value == "active"
    result = invoke("resume", "--run", in_tmp_cwd / "runs" / "beta")
    assert result.stdout.strip() == "resumed run beta (state: active)"
    result = invoke("save", "--run", "alpha")
    assert result.stdout.strip().endswith("(run alpha)")
    status = json.loads(invoke("status", "--run", "alpha", "--json").stdout)
    assert status["name"] == "alpha"


def test_the_config_names_its_run(
    two_live_runs: dict[str, Run], in_tmp_cwd: Path
) -> None:
    result = invoke("status", "--config", in_tmp_cwd / "alpha.toml", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "alpha"


def test_an_unknown_run_name_says_where_it_looked_and_what_is_live(
    two_live_runs: dict[str, Run], in_tmp_cwd: Path
) -> None:
    result = invoke("status", "--run", "gamma")
    assert result.exit_code == ExitCode.FAILED
    message = result.stderr.strip()
    assert message.startswith("no run is listening: no live run named gamma")
    assert "live runs: " in message and "alpha" in message and "beta" in message


def test_a_stopped_run_named_is_said_to_be_stopped(in_tmp_cwd: Path) -> None:
    run = Run(config_mod.load(write_config(in_tmp_cwd, "alpha")))
    run.start()
    run.stop_and_wait()
    result = invoke("pause", "--run", "alpha")
    assert result.exit_code == ExitCode.FAILED
    assert "run alpha is not running" in result.stderr


def test_run_name_gives_another_run_of_the_same_config(in_tmp_cwd: Path) -> None:
    config = write_config(in_tmp_cwd, "alpha")
    seen: list[BuiltRun] = []

    def fake(built: BuiltRun) -> int:
        seen.append(built)
        return 0

    with mock.patch.object(runner_mod, "run_headless", fake):
        result = invoke("run", config, "--headless", "--name", "alpha-2")
    assert result.exit_code == 0, result.stderr
    settings = seen[0].settings
    assert settings.name == "alpha-2"
    assert settings.run_dir == in_tmp_cwd / "runs" / "alpha-2"
    assert settings.states_dir == in_tmp_cwd / "runs" / "alpha-2" / "states"
    bad = invoke("run", config, "--headless", "--name", "../x")
    assert bad.exit_code == ExitCode.USAGE
    assert bad.stderr.startswith("--name: '../x' is not a valid run name")


def test_a_second_run_of_a_live_config_says_to_use_name(
    two_live_runs: dict[str, Run], in_tmp_cwd: Path
) -> None:
    result = invoke("run", in_tmp_cwd / "alpha.toml", "--headless")
    assert result.exit_code == ExitCode.USAGE
    assert "--name" in result.stderr


def test_an_unknown_event_kind_is_a_usage_error(in_tmp_cwd: Path) -> None:
    result = invoke("events", "--kind", "bogus")
    assert result.exit_code == ExitCode.USAGE == 2
    known = ", ".join(sorted(EVENT_KINDS))
    assert "alert" in EVENT_KINDS and "error" in EVENT_KINDS
    assert result.stderr.strip() == (
        f"pamiq-console events: Invalid value for '--kind': 'bogus' (known: {known}) "
        "(see pamiq-console events --help)"
    )


@pytest.fixture
def saved_three(in_tmp_cwd: Path) -> Path:
    run = Run(config_mod.load(write_config(in_tmp_cwd, "alpha")))
    run.start()
    try:
        paths = [run.system.save_state() for _ in range(3)]
    finally:
        run.stop_and_wait()
    return paths[-1]


def test_states_show_and_verify_take_latest(saved_three: Path) -> None:
    # The final save on stop is the newest.
    listing = json.loads(invoke("states", "list", "--run", "alpha", "--json").stdout)
    newest = listing[-1]["path"]
    shown = invoke("states", "show", "latest", "--run", "alpha")
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.splitlines()[0].split() == ["state", newest]
    verified = invoke("states", "verify", "latest", "--run", "alpha")
    assert verified.exit_code == 0 and verified.stdout.startswith(f"✓ {newest}:")


def test_latest_skips_a_broken_state_and_says_so(saved_three: Path) -> None:
    listing = json.loads(invoke("states", "list", "--run", "alpha", "--json").stdout)
    newest = Path(listing[-1]["path"])
    victim = next(
        p for p in newest.iterdir() if p.is_file() and p.name != "manifest.json"
    )
    victim.write_bytes(victim.read_bytes() + b"x")
    verified = invoke("states", "verify", "latest", "--run", "alpha")
    assert verified.exit_code == 0
    assert f"skipping {newest.name}: " in verified.stderr
    assert verified.stdout.startswith(f"✓ {listing[-2]['path']}:")


def test_latest_in_an_empty_directory_fails_in_words(in_tmp_cwd: Path) -> None:
    (in_tmp_cwd / "empty").mkdir()
    result = invoke("states", "show", "latest", "--states-dir", in_tmp_cwd / "empty")
    assert result.exit_code == ExitCode.FAILED
    assert result.stderr.strip() == f"latest: no saved state in {in_tmp_cwd / 'empty'}"
