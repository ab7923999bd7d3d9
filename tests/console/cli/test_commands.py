"""Every subcommand through Typer's CliRunner (the heavy run loops are patched here;
they run for real in test_headless_run.py and ../test_app.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from typer.testing import CliRunner

from console import config as config_mod
from console import dashboard_run
from console import runner as runner_mod
from console.cli import app, main
from console.config import BuiltRun
from engine.telemetry.events import StateLoaded

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, [str(a) for a in args])


# -- usage errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run"], "pamiq-console run: Missing argument 'CONFIG|PROGRAM.py'"),
        (["bogus"], "pamiq-console: No such command 'bogus'"),
        (["run", "x.toml", "--max-uptime", "abc"], "Invalid value for '--max-uptime'"),
        (["states", "prune", "--keep", "-1"], "Invalid value for '--keep'"),
    ],
)
def test_usage_errors_are_one_plain_line(
    argv: list[str],
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "argv", ["pamiq-console", *argv])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "--help" in err


def test_no_arguments_prints_the_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["pamiq-console"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0
    assert "Usage" in capsys.readouterr().out


# -- run ------------------------------------------------------------------------------


def test_run_headless_passes_the_overridden_config(
    config_file: Callable[..., Path],
) -> None:
    seen: list[BuiltRun] = []

    def fake(built: BuiltRun) -> int:
        seen.append(built)
        return 0

    with mock.patch.object(runner_mod, "run_headless", fake):
        result = invoke(
            "run",
            config_file(),
            "--headless",
            "--max-uptime",
            "3",
            "--time-scale",
            "2",
            "--resume",
        )
    assert result.exit_code == 0, result.output
    config = seen[0].system.config
    assert (config.max_uptime, config.time_scale, config.resume) == (3.0, 2.0, True)


def test_run_opens_the_dashboard_without_headless(
    config_file: Callable[..., Path], tmp_path: Path
) -> None:
    seen: list[BuiltRun] = []
    with mock.patch.object(
        dashboard_run, "run_dashboard", lambda b: seen.append(b) or 1
    ):
        result = invoke("run", config_file(), "--states-dir", tmp_path / "elsewhere")
    assert result.exit_code == 1
    assert seen[0].system.store.states_dir == tmp_path / "elsewhere"


def test_run_load_and_resume_conflict(config_file: Callable[..., Path]) -> None:
    result = invoke("run", config_file(), "--resume", "--load", "x")
    assert result.exit_code == 2
    assert result.stderr.strip() == "give --resume or --load STATE, not both"


def test_run_refuses_a_bad_state_to_load(
    config_file: Callable[..., Path], tmp_path: Path
) -> None:
    result = invoke(
        "run", config_file(), "--headless", "--load", tmp_path / "missing.state"
    )
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("--load: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_run_loads_a_state_by_name_or_latest(
    config_file: Callable[..., Path], tmp_path: Path
) -> None:
    states = tmp_path / "states"
    built = config_mod.load(config_file(), {"states_dir": str(states)})
    saved = built.system.store.save()
    seen: list[BuiltRun] = []
    for given in ("latest", saved.name):  # latest first: starting adds a final save
        with mock.patch.object(
            runner_mod, "run_headless", lambda b: seen.append(b) or 0
        ):
            result = invoke(
                "run",
                config_file(),
                "--headless",
                "--states-dir",
                states,
                "--load",
                given,
            )
        assert result.exit_code == 0, result.stderr
        system = seen[-1].system
        events = system.events.subscribe()
        system.start()
        system.shutdown()
        assert system.wait(30)
        loaded = [e.path for e in events.drain() if isinstance(e, StateLoaded)]
        assert loaded == [str(saved.absolute())], given


def test_run_reports_config_errors_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[system]\nnmae = 'x'\n")
    result = invoke("run", path, "--headless")
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"{path}: system.nmae: unknown key (did you mean 'name'?)"
    )


def test_validate_ok(config_file: Callable[..., Path]) -> None:
    result = invoke("validate", config_file())
    assert result.exit_code == 0
    assert "ok (run 'tiny': 1 models, 1 buffers, 1 trainers" in result.stdout


# -- live-run commands ------------------------------------------------------------------


def test_live_commands_readable(live_run: Any) -> None:
    run_dir = str(live_run.run_dir.path)
    result = invoke("status", "--run", run_dir)
    assert result.exit_code == 0, result.output
    assert (
        "tiny" in result.stdout
        and "pulls" in result.stdout
        and "values" in result.stdout
    )
    result = invoke("pause", "--run", run_dir)
    # Every reply names the run it acted on.
    assert result.stdout.strip() == "paused run tiny (state: paused)"
    result = invoke("save", "--run", run_dir)
    assert result.stdout.startswith("saved ") and result.exit_code == 0
    assert result.stdout.strip().endswith(" (run tiny)")
    saved = Path(result.stdout.split(" ")[1].strip())
    result = invoke("load", saved.name, "--run", run_dir)
    assert result.stdout.strip() == f"loaded {saved} into run tiny"
    result = invoke("load", saved, "--run", run_dir)  # a path works as well
    assert result.exit_code == 0
    result = invoke("resume", "--run", run_dir)
    assert result.stdout.strip() == "resumed run tiny (state: active)"
    result = invoke("events", "--run", run_dir, "--limit", "50")
    assert "saved" in result.stdout and "loaded" in result.stdout
    only = invoke("events", "--run", run_dir, "--kind", "saved", "--kind", "loaded")
    kinds = {line.split()[2] for line in only.stdout.splitlines()}
    assert kinds == {"saved", "loaded"}
    result = invoke("shutdown", "--run", run_dir)
    assert result.stdout.startswith("stopping")
    assert live_run.system.wait(timeout=30)


def test_live_commands_json(live_run: Any) -> None:
    run_dir = str(live_run.run_dir.path)
    status = json.loads(invoke("status", "--run", run_dir, "--json").stdout)
    assert status["name"] == "tiny" and "buffers" in status
    assert json.loads(invoke("pause", "--run", run_dir, "--json").stdout) == {
        "state": "paused"
    }
    saved = json.loads(invoke("save", "--run", run_dir, "--json").stdout)
    assert Path(saved["path"]).is_dir()
    loaded = json.loads(invoke("load", "latest", "--run", run_dir, "--json").stdout)
    assert loaded["name"] == saved["name"]
    assert json.loads(invoke("resume", "--run", run_dir, "--json").stdout) == {
        "state": "active"
    }
    assert isinstance(
        json.loads(invoke("events", "--run", run_dir, "--json").stdout), list
    )
    assert "state" in json.loads(invoke("shutdown", "--run", run_dir, "--json").stdout)


def test_load_errors_are_one_line(live_run: Any) -> None:
    result = invoke("load", "nope.state", "--run", str(live_run.run_dir.path))
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("load failed: nope.state: no such state")


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["pause"],
        ["resume"],
        ["save"],
        ["load", "x"],
        ["shutdown"],
        ["events"],
    ],
)
def test_no_run_listening(command: list[str], in_tmp_cwd: Path) -> None:
    result = invoke(*command)
    assert result.exit_code == 1
    message = result.stderr.strip()
    assert message.startswith("no run is listening: none of this user's runs is live")
    assert f"nor under {in_tmp_cwd / 'runs'}" in message
    assert "--run NAME|DIR" in message and message.count("\n") == 0
    result = invoke(*command, "--run", in_tmp_cwd / "ghost")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("no run is listening")


def test_default_run_is_the_newest_live_one_under_runs(in_tmp_cwd: Path) -> None:
    from console import config as config_mod
    from console.runner import Run
    from tests.console.helpers import bandit_config

    path = in_tmp_cwd / "c.toml"
    path.write_text(
        bandit_config(in_tmp_cwd).replace(f'run_dir = "{in_tmp_cwd / "run"}"', "")
    )
    run = Run(config_mod.load(path))
    run.start()
    try:
        assert run.run_dir.path == in_tmp_cwd / "runs" / "tiny"
        result = invoke("status", "--json")
        assert result.exit_code == 0
        assert json.loads(result.stdout)["run"]["run_dir"] == str(
            in_tmp_cwd / "runs" / "tiny"
        )
    finally:
        run.stop_and_wait()
    assert invoke("status").exit_code == 1


# -- offline state tools ---------------------------------------------------------------


@pytest.fixture
def three_states(live_run: Any) -> Path:
    for _ in range(3):
        live_run.system.save_state()
    live_run.stop_and_wait()
    return Path(live_run.system.store.states_dir)


def test_states_list_show_verify_prune(three_states: Path, live_run: Any) -> None:
    states = sorted(p.name for p in three_states.glob("*.state"))
    assert len(states) == 4  # three saves and the final one
    result = invoke("states", "list", "--states-dir", three_states)
    assert result.exit_code == 0 and "4 state(s)" in result.stdout
    result = invoke(
        "states", "list", "--run", live_run.run_dir.path, "--verify", "--json"
    )
    listed = json.loads(result.stdout)
    assert [s["name"] for s in listed] == states and all(s["verified"] for s in listed)
    result = invoke("states", "show", states[0], "--states-dir", three_states)
    assert (
        result.exit_code == 0
        and "components" in result.stdout
        and "manifest" not in result.stderr
    )
    shown = json.loads(
        invoke("states", "show", three_states / states[0], "--json").stdout
    )
    assert shown["name"] == "tiny"
    result = invoke("states", "verify", states[-1], "--states-dir", three_states)
    assert result.exit_code == 0 and result.stdout.startswith("✓")
    victim = next((three_states / states[1]).rglob("*.json"))
    victim.write_text(victim.read_text() + " ")
    result = invoke("states", "verify", states[1], "--states-dir", three_states)
    assert result.exit_code == 1 and "truncated or changed" in result.stderr
    result = invoke("states", "list", "--verify", "--states-dir", three_states)
    assert result.exit_code == 1, "a failed verification must show in the exit code"
    result = invoke(
        "states", "prune", "--keep", "2", "--dry-run", "--states-dir", three_states
    )
    assert result.exit_code == 0 and "would remove" in result.stdout
    result = invoke("states", "prune", "--keep", "2", "--states-dir", three_states)
    assert result.exit_code == 2 and "without --yes" in result.stderr
    assert len(list(three_states.glob("*.state"))) == 4
    result = invoke(
        "states", "prune", "--keep", "2", "--yes", "--states-dir", three_states
    )
    assert result.exit_code == 0 and "2 state(s) removed, 2 kept" in result.stdout
    assert sorted(p.name for p in three_states.glob("*.state")) == states[2:]


def test_states_from_a_config(config_file: Callable[..., Path], tmp_path: Path) -> None:
    result = invoke("states", "list", "--config", config_file())
    assert result.exit_code == 0
    assert result.stdout.strip() == f"no states in {tmp_path / 'run' / 'states'}"


def test_states_needs_a_directory(in_tmp_cwd: Path) -> None:
    result = invoke("states", "list")
    assert result.exit_code == 2
    assert "give --states-dir DIR, --run NAME|DIR or --config FILE" in result.stderr


def test_a_state_of_another_run_is_refused_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, started in (("old", 1.0), ("new", 2.0)):
        run = tmp_path / "runs" / name
        (run / "states").mkdir(parents=True)
        (run / "run.json").write_text(
            json.dumps({"states_dir": str(run / "states"), "started": started})
        )
    (tmp_path / "runs" / "old" / "states" / "a.state").mkdir()
    result = invoke("states", "show", "a.state")  # the default is the newest run
    assert result.exit_code == 2
    assert result.stderr.strip().endswith(
        "it is a state of runs/old (use --run runs/old)"
    )


def test_a_failure_is_placed_in_the_users_code_not_in_libraries() -> None:
    from console.runner import raised_at

    traceback = (
        "Traceback (most recent call last):\n"
        '  File "/app/agents/mine.py", line 12, in step\n'
        "    q = self.net(obs)\n"
        '  File "<frozen importlib._bootstrap>", line 241, in _call\n'
        '  File "/venv/lib/python3.11/site-packages/torch/nn/modules/linear.py", '
        "line 134, in forward\n"
        "RuntimeError: shapes\n"
    )
    assert raised_at(traceback) == "/app/agents/mine.py:12 in step"
    only_library = '  File "/venv/lib/python3.11/site-packages/x.py", line 3, in f\n'
    assert raised_at(only_library).endswith("site-packages/x.py:3 in f")
    assert raised_at("no frames") == "an unknown place"


def test_every_cli_command_is_checked_against_the_run_s_protocol(
    live_run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import console.control_client

    monkeypatch.setattr(console.control_client, "PROTOCOL_VERSION", 1)
    for command in (["pause"], ["save"], ["load", "latest"], ["status"], ["shutdown"]):
        result = invoke(*command)
        assert result.exit_code == 1, command
        (line,) = result.stderr.strip().splitlines()
        assert "this run speaks control protocol 2, the client protocol 1" in line
    assert live_run.system.state.value == "active"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["prog.py", "--resume"], "--resume: applies to a config; prog.py sets it"),
        (["prog.py", "--name", "x"], "--name: applies to a config"),
        (["missing.py"], "missing.py: no such program"),
        (
            ["c.toml", "--", "x=1"],
            "arguments after the config (x=1) are for a PROGRAM.py",
        ),
    ],
)
def test_run_says_what_belongs_to_a_program_and_what_to_a_config(
    args: list[str], expected: str, in_tmp_cwd: Path
) -> None:
    (in_tmp_cwd / "prog.py").write_text("print('never run')\n")
    result = invoke("run", *args)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert expected in line


def test_detaching_says_the_state_the_run_stays_in() -> None:
    from console.cli.attach_command import detached_line

    sock = Path("/r/control.sock")
    assert detached_line("m", "active", 7, sock).startswith(
        "detached from run m; it keeps running (pid 7"
    )
    assert "; it stays paused (pid 7" in detached_line("m", "paused", 7, sock)


def test_piped_status_fits_columns(
    live_run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "90")
    result = invoke("status")
    assert result.exit_code == 0
    header = result.stdout.splitlines()[0]
    assert len(header) <= 90 and "tiny" in header


def test_validate_warns_of_a_trainer_whose_buffer_nothing_collects_into(
    config_file: Callable[..., Path], tmp_path: Path
) -> None:
    text = config_file().read_text()
    text = text.replace(
        'agent = { target = "algorithms.bandit:BanditAgent", seed = 0 }',
        'agent = { target = "algorithms.bandit:BanditAgent", seed = 0, collector = "other" }',
    ).replace(
        "[buffers.pulls]",
        '[buffers.other]\ntarget = "engine.data:SequentialBuffer"\nmax_size = 10\n\n'
        "[buffers.pulls]",
    )
    path = tmp_path / "unfed.toml"
    path.write_text(text)
    result = invoke("validate", path)
    assert result.exit_code == 0, result.stderr
    (warning,) = result.stderr.strip().splitlines()
    assert warning.startswith(f"warning: {path}: trainers.values.data_user: ")
    assert "names buffer 'pulls' as its collector" in warning
    assert "warning" not in invoke("validate", config_file()).stderr
