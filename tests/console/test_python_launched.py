"""A PAMIQ-Core style program, started as its users start it (``python prog.py``),
is a console run: the real ``pamiq-console`` finds it from another directory,
pauses, saves, loads, resumes, attaches and stops it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.remote_run import RemoteRun
from engine.services.registry import live_runs, registry_dir
from engine.services.run_dir import read_run_info
from engine.state.catalogue import list_states
from engine.state.store import pid_alive
from tests.console.helpers import ROOT, wait_until
from tests.console.test_real_terminal import Tmux

PROGRAM = ROOT / "tests" / "programs" / "bandit_launch.py"
SCRIPT = Path(sys.executable).with_name("pamiq-console")

pytestmark = pytest.mark.skipif(
    not SCRIPT.exists(), reason="needs the installed pamiq-console script"
)


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    # As a user runs it: run directories under the working directory (the
    # registry stays the test's own).
    env.pop("PAMIQ_RUNS_DIR", None)
    # The program imports the repository's packages, as a user's imports theirs.
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), env.get("PYTHONPATH")])
    )
    return env | extra


class Program:
    """``python bandit_launch.py`` in a directory of its own."""

    def __init__(
        self, cwd: Path, *args: str, env: dict[str, str] | None = None
    ) -> None:
        cwd.mkdir(parents=True, exist_ok=True)
        self.cwd = cwd
        self.out = cwd / "program.out"
        with self.out.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(PROGRAM), *args],
                cwd=cwd,
                env=_env(**(env or {})),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_listed(self) -> Any:
        def listed() -> bool:
            assert self.proc.poll() is None, self.output()
            return any(r.pid == self.proc.pid for r in live_runs())

        wait_until(listed, timeout=30, what="the program's run in the registry")
        return next(r for r in live_runs() if r.pid == self.proc.pid)

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def program(tmp_path: Path) -> Iterator[Program]:
    started = Program(tmp_path / "project")
    try:
        yield started
    finally:
        started.stop()


def cli(cwd: Path, *args: object) -> subprocess.CompletedProcess[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_env(),
        timeout=60,
    )


def test_the_console_reaches_a_program_s_run_from_another_directory(
    program: Program, tmp_path: Path
) -> None:
    entry = program.wait_listed()
    elsewhere = tmp_path / "elsewhere"
    run_dir = program.cwd / "runs" / "bandit_launch"
    assert entry.name == "bandit_launch" and entry.run_dir == run_dir

    ps = cli(elsewhere, "ps")
    assert ps.returncode == 0, ps.stderr
    header, row = ps.stdout.splitlines()
    assert header.split()[:5] == ["NAME", "PID", "STATE", "UPTIME", "STEPS/S"]
    assert row.split()[:3] == ["bandit_launch", str(program.proc.pid), "active"]
    assert str(run_dir) in row and str(PROGRAM) in row

    status = json.loads(cli(elsewhere, "status", "--json").stdout)
    assert status["name"] == "bandit_launch"
    assert set(status["buffers"]) == {"pulls"} and set(status["trainers"]) == {"values"}

    paused = cli(elsewhere, "pause")
    assert paused.stdout.strip() == "paused run bandit_launch (state: paused)"
    saved = cli(elsewhere, "save", "--json")
    assert saved.returncode == 0, saved.stderr
    state = Path(json.loads(saved.stdout)["path"])
    # Where the program's LaunchConfig put it, relative to the program's directory.
    assert state.parent == program.cwd / "states" and state.is_dir()
    loaded = cli(elsewhere, "load", "latest")
    assert loaded.returncode == 0 and state.name in loaded.stdout
    assert "resumed" in cli(elsewhere, "resume").stdout
    events = cli(elsewhere, "events", "--kind", "saved", "--kind", "loaded")
    assert "saved" in events.stdout and "loaded" in events.stdout

    # The dashboard's view of it, as `pamiq-console attach` opens it.
    remote = RemoteRun(entry.socket)
    assert remote.name == "bandit_launch"
    assert remote.status().state == "active"

    stopping = cli(elsewhere, "shutdown")
    assert "stopping run bandit_launch" in stopping.stdout
    assert program.proc.wait(timeout=30) == 0, program.output()
    assert "launch() returned" in program.output()
    info = read_run_info(run_dir)
    assert info is not None and info.data["stopped"] is not None
    assert info.data["exit_code"] == 0
    assert (run_dir / "metrics.jsonl").stat().st_size > 0
    # A final save after the one asked for.
    assert len(list_states(program.cwd / "states")) == 2
    assert live_runs() == []
    assert cli(elsewhere, "ps").stdout.strip() == "no live runs"


def test_a_killed_program_s_entry_is_ignored_and_cleaned(
    program: Program, tmp_path: Path
) -> None:
    entry = program.wait_listed()
    program.proc.kill()
    program.proc.wait(timeout=30)
    assert entry.entry.exists()  # nothing removed it: the process died at once
    status = cli(tmp_path / "elsewhere", "status")
    assert status.returncode == 1
    assert status.stderr.startswith("no run is listening")
    assert cli(tmp_path, "ps").stdout.strip() == "no live runs"
    assert not entry.entry.exists()
    assert list(registry_dir().glob("*.json")) == []


def test_a_second_run_of_the_same_program_takes_the_next_name(tmp_path: Path) -> None:
    runs = {"PAMIQ_RUNS_DIR": str(tmp_path / "runs")}
    # Each in a directory of its own: one run at a time holds a states directory.
    first, second = (Program(tmp_path / d, env=runs) for d in ("one", "two"))
    try:
        names = {first.wait_listed().name, second.wait_listed().name}
        assert names == {"bandit_launch", "bandit_launch-2"}
        both = cli(tmp_path, "status")
        assert both.returncode == 2 and "2 runs are live: " in both.stderr
        assert "bandit_launch-2" in cli(tmp_path, "ps").stdout
        named = cli(tmp_path, "status", "--json", "--run", "bandit_launch-2")
        assert json.loads(named.stdout)["name"] == "bandit_launch-2"
    finally:
        first.stop()
        second.stop()
    assert first.proc.returncode == 0 and second.proc.returncode == 0


def test_console_false_serves_nothing(tmp_path: Path) -> None:
    quiet = Program(tmp_path / "quiet", "--no-console", "--max-uptime", "0.5")
    assert quiet.proc.wait(timeout=60) == 0, quiet.output()
    assert not (quiet.cwd / "runs").exists()
    assert list(registry_dir().glob("*.json")) == []
    assert len(list_states(quiet.cwd / "states")) == 1


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    session = Tmux(tmp_path / "tmux.sock", (140, 45))
    try:
        yield session
    finally:
        session.kill()


def _console_run(tmux: Tmux, cwd: Path, *args: str) -> Path:
    """``pamiq-console run PROGRAM.py`` in the terminal; the file its exit code goes to."""
    cwd.mkdir(parents=True, exist_ok=True)
    exit_file = cwd / "exit-code"
    tmux.start(
        f"env -u PAMIQ_RUNS_DIR PYTHONPATH={ROOT} {SCRIPT} run {PROGRAM} "
        f"{' '.join(args)}; echo $? > {exit_file}; sleep 60",
        cwd=cwd,
    )
    return exit_file


def _exit_code(exit_file: Path) -> int:
    # The shell creates the file, then writes the code: wait for the code.
    wait_until(
        lambda: exit_file.exists() and exit_file.read_text().strip() != "",
        timeout=60,
        what="the console to exit",
    )
    return int(exit_file.read_text())


def test_run_program_q_detaches_and_the_program_runs_on(
    tmux: Tmux, tmp_path: Path
) -> None:
    cwd = tmp_path / "project"
    exit_file = _console_run(tmux, cwd)
    tmux.wait_for(" ACTIVE ", timeout=60)
    for name in ("pulls", "values", "output of bandit_launch.py", "building the comp"):
        tmux.wait_for(name)
    tmux.keys("p")
    tmux.wait_for(" PAUSED ")
    tmux.keys("s")
    wait_until(
        lambda: len(list_states(cwd / "states")) == 1, timeout=30, what="the save"
    )
    # Detached while paused: it runs on, its run paused, and says so.
    tmux.keys("q")
    tmux.wait_for("Detach (d)")
    tmux.keys("d")
    assert _exit_code(exit_file) == 0
    assert "runs on, its run stays paused" in " ".join(tmux.screen().split())
    # Its output in its run directory.
    (entry,) = live_runs()
    assert entry.name == "bandit_launch"
    assert (cwd / "runs" / "bandit_launch" / "program.log").is_file()
    status = cli(tmp_path, "status", "--json")
    assert json.loads(status.stdout)["state"] == "paused"
    cli(tmp_path, "resume")
    status = cli(tmp_path, "status", "--json")
    assert json.loads(status.stdout)["state"] == "active"
    assert "stopping" in cli(tmp_path, "shutdown").stdout
    wait_until(lambda: not pid_alive(entry.pid), timeout=30, what="the program's exit")
    log = (cwd / "runs" / "bandit_launch" / "program.log").read_text()
    assert "launch() returned" in log


def test_run_program_q_then_stop_exits_with_its_code_after_a_final_save(
    tmux: Tmux, tmp_path: Path
) -> None:
    cwd = tmp_path / "project"
    exit_file = _console_run(tmux, cwd)
    tmux.wait_for(" ACTIVE ", timeout=60)
    tmux.keys("q")
    tmux.wait_for("Stop (s)")
    tmux.keys("s")
    assert _exit_code(exit_file) == 0
    assert len(list_states(cwd / "states")) == 1  # the final save
    assert "exited with code 0" in tmux.screen()
    info = read_run_info(cwd / "runs" / "bandit_launch")
    assert info is not None and info.data["exit_code"] == 0


def test_run_program_headless_stops_in_order_on_sigterm(tmp_path: Path) -> None:
    cwd = tmp_path / "project"
    cwd.mkdir()
    console = subprocess.Popen(
        [str(SCRIPT), "run", "--headless", str(PROGRAM)],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: live_runs() != [], timeout=60, what="the program's run")
        console.send_signal(signal.SIGTERM)
        out, err = console.communicate(timeout=60)
    finally:
        if console.poll() is None:
            console.kill()
    assert console.returncode == 0, err
    assert "launch() returned" in out
    assert len(list_states(cwd / "states")) == 1
    assert live_runs() == []


def test_a_program_that_never_launches_is_reported_in_one_line(tmp_path: Path) -> None:
    result = cli(tmp_path, "run", "--headless", PROGRAM, "--", "--exit-without-launch")
    assert result.returncode == 3
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert "exited with code 3 before it called launch()" in line
    assert "nothing to do" in line
    failed = cli(tmp_path, "run", PROGRAM, "--", "--fail-before-launch")
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]
    assert "RuntimeError: the program failed before launch()" in last


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PAMIQ_CLIENT = r"""
import sys, time
from pamiq_core.console.system_status import SystemStatus
from pamiq_core.console.web_api import WebApiClient

client = WebApiClient("127.0.0.1", int(sys.argv[1]))
def wait_for(status):
    deadline = time.monotonic() + 30
    while client.get_status() is not status:
        if time.monotonic() > deadline:
            sys.exit(f"never {status}")
        time.sleep(0.01)
assert client.get_status() is SystemStatus.PAUSED, client.get_status()
assert client.resume() == "ok"
wait_for(SystemStatus.ACTIVE)
assert client.shutdown() == "ok"
print("done")
"""


@pytest.mark.pamiq_core
@pytest.mark.timeout(900)
def test_a_program_s_web_api_answers_curl_and_pamiq_core_s_client(
    tmp_path: Path,
) -> None:
    from benchmarks import procs

    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    python, reason = procs.reference_python()
    if python is None:
        pytest.skip(f"PAMIQ-Core 0.6.0's virtualenv: {reason}")
    port = _free_port()
    program = Program(tmp_path / "project", "--web-api", str(port))
    try:
        program.wait_listed()
        url = f"http://127.0.0.1:{port}/api"

        def curl(*args: str) -> str:
            return subprocess.run(
                ["curl", "-s", *args], capture_output=True, text=True, timeout=30
            ).stdout

        assert curl(f"{url}/status") == '{"status":1}'
        assert curl("-X", "POST", f"{url}/pause") == '{"result":"ok"}'
        wait_until(
            lambda: curl(f"{url}/status") == '{"status":3}', timeout=30, what="paused"
        )
        # The console sees the same run paused.
        assert cli(tmp_path, "status", "--json").stdout.count('"state": "paused"')
        client = subprocess.run(
            [python, "-c", PAMIQ_CLIENT, str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert client.returncode == 0 and client.stdout.strip() == "done", client
        assert program.proc.wait(timeout=60) == 0, program.output()
    finally:
        program.stop()
    assert "web API (unauthenticated) on http://127.0.0.1" in program.output()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_program_s_run_stops_in_order_on_sigterm_and_sighup(
    sig: signal.Signals, program: Program
) -> None:
    program.wait_listed()
    program.proc.send_signal(sig)
    assert program.proc.wait(timeout=60) == 0, program.output()
    assert "launch() returned" in program.output()
    assert len(list_states(program.cwd / "states")) == 1  # the final save
    info = read_run_info(program.cwd / "runs" / "bandit_launch")
    assert info is not None and info.data["exit_code"] == 0


def test_a_run_that_died_without_stopping_is_said_to_have(
    program: Program, tmp_path: Path
) -> None:
    program.wait_listed()
    run_dir = program.cwd / "runs" / "bandit_launch"
    assert cli(tmp_path, "save").returncode == 0
    program.proc.kill()
    program.proc.wait(timeout=30)
    died = f"(pid {program.proc.pid}) ended without stopping, last seen at "

    status = cli(tmp_path, "status", "--run", run_dir)
    assert status.returncode == 1 and f"it {died}" in status.stderr
    states = cli(tmp_path, "states", "list", "--run", run_dir)
    assert states.returncode == 0
    assert f"note: run bandit_launch {died}" in states.stderr

    again = Program(program.cwd, "--max-uptime", "0.5")
    assert again.proc.wait(timeout=60) == 0, again.output()
    said = again.output()
    assert f"the previous run {died}" in said, said
    assert "; newest state " in said and " old)" in said
    info = read_run_info(run_dir)
    assert info is not None and info.data["exit_code"] == 0


def test_closing_the_terminal_of_run_program_stops_it_in_order(
    tmux: Tmux, tmp_path: Path
) -> None:
    cwd = tmp_path / "project"
    cwd.mkdir()
    tmux.start(
        f"exec env -u PAMIQ_RUNS_DIR PYTHONPATH={ROOT} {SCRIPT} run {PROGRAM}", cwd=cwd
    )
    tmux.wait_for(" ACTIVE ", timeout=60)
    (entry,) = live_runs()
    console = int(
        subprocess.run(
            [*tmux.base, "display-message", "-p", "-t", tmux.name, "#{pane_pid}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert "pamiq-console" in _cmdline(Path(f"/proc/{console}"))
    tmux.kill()  # the terminal goes away: SIGHUP
    wait_until(lambda: not pid_alive(entry.pid), timeout=60, what="the program's exit")
    assert len(list_states(cwd / "states")) == 1  # the final save
    info = read_run_info(cwd / "runs" / "bandit_launch")
    assert info is not None and info.data["exit_code"] == 0
    wait_until(lambda: not pid_alive(console), timeout=30, what="the console's exit")


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.parametrize("what", ["config", "program"])
def test_run_detach_starts_a_run_that_outlives_the_command(
    what: str, tmp_path: Path
) -> None:
    cwd = tmp_path / "project"
    target = ROOT / "sample_configs" / "minimal.toml" if what == "config" else PROGRAM
    started = cli(cwd, "run", target, "--detach")
    assert started.returncode == 0, started.stderr
    assert "is running in the background" in started.stderr
    assert "pamiq-console attach --run" in started.stderr
    (entry,) = live_runs()
    name = "minimal" if what == "config" else "bandit_launch"
    assert entry.name == name
    log = cwd / "runs" / name / ("console.log" if what == "config" else "program.log")
    assert log.is_file()
    assert RemoteRun(entry.socket).status().state == "active"
    assert "stopping" in cli(tmp_path, "shutdown").stdout
    wait_until(lambda: not pid_alive(entry.pid), timeout=60, what="the run's exit")
    info = read_run_info(entry.run_dir)
    assert info is not None and info.data["exit_code"] == 0


def test_a_refused_detached_start_says_why_in_one_line(tmp_path: Path) -> None:
    refused = cli(
        tmp_path,
        "run",
        ROOT / "sample_configs" / "minimal.toml",
        "--detach",
        "--load",
        "nope",
    )
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("--load: ") and "no such state" in line
    assert live_runs() == []
