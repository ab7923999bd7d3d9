"""Each sample config as a user runs it: the real ``pamiq-console`` in a real terminal.

The dashboard runs in tmux (the keys reach it as keystrokes, the screen is read
back with ``capture-pane``); the headless run is driven by the CLI from another
process. Both use the installed ``pamiq-console`` script, from a working
directory outside the repository, like a user who followed the README.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import termios
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.services.run_dir import read_run_info
from engine.state.catalogue import list_states
from engine.state.manifest import verify_state
from tests.console.helpers import ROOT

RAY_SAMPLES = {"minimal_ray", "cartpole_ppo_ray"}
"""Left out of the per-sample tests below: each start of a local Ray costs 5-15 s
here, and these tests start every sample twice; test_real_terminal_ray.py
drives minimal_ray once, covering what its actors change (cartpole_ppo_ray
runs in tests/algorithms/test_ppo.py)."""
SAMPLES = sorted(
    p for p in (ROOT / "sample_configs").glob("*.toml") if p.stem not in RAY_SAMPLES
)
SCRIPT = Path(sys.executable).with_name("pamiq-console")
TORCH_SAMPLES = {"cartpole_dqn", "sensor_autoencoder", "cartpole_ppo", "pendulum_sac"}

pytestmark = pytest.mark.skipif(
    not SCRIPT.exists(), reason="needs the installed pamiq-console script"
)

POLL = 0.05
"""Seconds between two looks at the screen, a file or the CLI's answer."""
PAUSED_TOAST = "paused (state: paused)"
"""The dashboard's notice that its pause returned. An operation's key pressed
before the dashboard has heard that the last one returned is refused ("busy; try
again"), and the header may say PAUSED, or the state be on disk, before that."""
SAVED_TOAST = "▌ saved"
"""The dashboard's notice that its save returned (the event log's line has no bar)."""


def _needs(sample: Path) -> None:
    if sample.stem in TORCH_SAMPLES:
        pytest.importorskip("torch")
        pytest.importorskip("gymnasium")


def _names(sample: Path) -> tuple[list[str], list[str]]:
    raw = tomllib.loads(sample.read_text())
    return sorted(raw.get("buffers", {})), sorted(raw.get("trainers", {}))


def _run_name(sample: Path) -> str:
    return str(
        tomllib.loads(sample.read_text()).get("system", {}).get("name", sample.stem)
    )


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL)


def _written(exit_file: Path) -> bool:
    """The shell wrote the exit code (it creates the file first, then writes)."""
    return exit_file.exists() and exit_file.read_text().strip() != ""


def _saved(run_dir: Path) -> list[Path]:
    return [i.path for i in list_states(run_dir / "states") if not i.problem]


def _cli(cwd: Path, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


class Tmux:
    """One detached tmux session on a private server socket."""

    def __init__(self, socket: Path, size: tuple[int, int]) -> None:
        self.base = ["tmux", "-S", str(socket)]
        self.name = f"pamiq-{uuid.uuid4().hex[:8]}"
        self.size = size

    def start(self, command: str, cwd: Path) -> None:
        width, height = self.size
        subprocess.run(
            [
                *self.base,
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                str(width),
                "-y",
                str(height),
                "-c",
                str(cwd),
                command,
            ],
            check=True,
            env={**os.environ, "TERM": "xterm-256color"},
        )

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.base, "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        result = subprocess.run(
            [*self.base, "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
        )
        return result.stdout

    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        try:
            _wait(lambda: text in self.screen(), timeout, repr(text))
        except pytest.fail.Exception:
            pytest.fail(f"{text!r} never appeared; the screen:\n{self.screen()}")

    def kill(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    session = Tmux(tmp_path / "tmux.sock", (160, 50))
    try:
        yield session
    finally:
        session.kill()


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_the_dashboard_in_a_real_terminal(
    sample: Path, tmp_path: Path, tmux: Tmux
) -> None:
    _needs(sample)
    buffers, trainers = _names(sample)
    run_dir = tmp_path / "runs" / _run_name(sample)
    exit_file = tmp_path / "exit-code"
    tmux.start(f"{SCRIPT} run {sample}; echo $? > {exit_file}; sleep 30", cwd=tmp_path)
    tmux.wait_for(" ACTIVE ", timeout=60)
    for name in [*buffers, *trainers]:
        tmux.wait_for(name)

    tmux.keys("p")
    tmux.wait_for(" PAUSED ")
    tmux.wait_for(PAUSED_TOAST)
    status = json.loads(_cli(tmp_path, "status", "--run", run_dir, "--json").stdout)
    assert status["state"] == "paused"

    before = len(_saved(run_dir))
    tmux.keys("s")
    _wait(lambda: len(_saved(run_dir)) > before, 30, "the state that s saves")
    tmux.wait_for(SAVED_TOAST)

    tmux.keys("p")
    tmux.wait_for(" ACTIVE ")

    tmux.keys("q")
    tmux.wait_for("Stop the run?")
    saved_before_quit = len(_saved(run_dir))
    tmux.keys("y")
    _wait(lambda: _written(exit_file), 60, "pamiq-console to exit")
    assert exit_file.read_text().strip() == "0", tmux.screen()
    assert len(_saved(run_dir)) > saved_before_quit, "no final save"


def _start_headless(
    sample: Path, tmp_path: Path, run_dir: Path
) -> subprocess.Popen[str]:
    """Start ``pamiq-console run SAMPLE --headless``; return once its socket is live."""
    proc = subprocess.Popen(
        [str(SCRIPT), "run", str(sample), "--headless"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def live() -> bool:
        assert proc.poll() is None, proc.communicate()
        info = read_run_info(run_dir)
        return info is not None and info.live

    try:
        _wait(live, 60, "the run's control socket")
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc


def _status(tmp_path: Path, run_dir: Path) -> dict:
    return json.loads(_cli(tmp_path, "status", "--run", run_dir, "--json").stdout)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_the_headless_run_driven_from_another_process(
    sample: Path, tmp_path: Path
) -> None:
    _needs(sample)
    run_dir = tmp_path / "runs" / _run_name(sample)
    proc = _start_headless(sample, tmp_path, run_dir)
    try:

        def status() -> dict:
            return _status(tmp_path, run_dir)

        _wait(lambda: status()["steps"] > 0, 30, "the agent to step")
        paused = _cli(tmp_path, "pause", "--run", run_dir)
        assert paused.returncode == 0 and "paused" in paused.stdout, paused.stderr
        saved = _cli(tmp_path, "save", "--run", run_dir)
        assert saved.returncode == 0, saved.stderr
        state = Path(saved.stdout.splitlines()[0].split()[1])
        verify_state(state)
        loaded = _cli(tmp_path, "load", state.name, "--run", run_dir)
        assert loaded.returncode == 0, loaded.stderr
        resumed = _cli(tmp_path, "resume", "--run", run_dir)
        assert resumed.returncode == 0 and "active" in resumed.stdout, resumed.stderr
        steps = status()["steps"]
        _wait(lambda: status()["steps"] > steps, 30, "the agent to step again")
        down = _cli(tmp_path, "shutdown", "--run", run_dir)
        assert down.returncode == 0, down.stderr
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert len(_saved(run_dir)) >= 2  # the save above and the final one


def test_the_dashboard_shows_the_state_a_resumed_run_started_from(
    tmp_path: Path, tmux: Tmux
) -> None:
    sample = ROOT / "sample_configs" / "minimal.toml"
    run_dir = tmp_path / "runs" / _run_name(sample)
    first = _cli(tmp_path, "run", sample, "--headless", "--max-uptime", "1")
    assert first.returncode == 0, first.stderr
    [state] = _saved(run_dir)
    exit_file = tmp_path / "exit-code"
    tmux.start(
        f"{SCRIPT} run {sample} --resume; echo $? > {exit_file}; sleep 30", cwd=tmp_path
    )
    tmux.wait_for(" ACTIVE ", timeout=60)
    # The load happens before the dashboard opens; its event log still shows it.
    tmux.wait_for(state.name)
    assert "loaded" in tmux.screen()
    tmux.keys("q")
    tmux.wait_for("Stop the run?")
    tmux.keys("y")
    _wait(lambda: _written(exit_file), 60, "pamiq-console to exit")
    assert exit_file.read_text().strip() == "0", tmux.screen()


def test_a_laptop_terminal_and_a_second_run_of_the_same_config(
    tmp_path: Path,
) -> None:
    """80x24, then two live runs of minimal.toml (issue 16 items 2, 3 and 5)."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    sample = ROOT / "sample_configs" / "minimal.toml"
    tmux = Tmux(tmp_path / "tmux.sock", (80, 24))
    exit_file = tmp_path / "exit-code"
    second = None
    try:
        tmux.start(
            f"{SCRIPT} run {sample}; echo $? > {exit_file}; sleep 30", cwd=tmp_path
        )
        tmux.wait_for(" ACTIVE ", timeout=60)
        tmux.wait_for("values  ")  # the trainer card
        # The first frame may be drawn before the header knows its width.
        _wait(
            lambda: "/s" in tmux.screen().splitlines()[0],
            10,
            "the header to fit 80 columns: " + tmux.screen().splitlines()[0],
        )
        screen = tmux.screen()
        assert "pulls" in screen and "…" not in screen, screen
        tmux.keys("?")
        tmux.wait_for("escape or ? closes")
        tmux.keys("Escape")
        _wait(lambda: "escape or ? closes" not in tmux.screen(), 10, "help to close")

        # One live run: the commands need no --run.
        alone = _cli(tmp_path, "pause")
        assert alone.stdout.strip() == "paused run minimal (state: paused)", alone
        tmux.wait_for(" PAUSED ")
        tmux.wait_for("values  paused")
        # Paused is not waiting (the curve panel may still wait for its first value).
        assert "waiting" not in tmux.screen().replace("waiting for the first value", "")

        # A second run of the same config under another name.
        second = subprocess.Popen(
            [str(SCRIPT), "run", str(sample), "--headless", "--name", "minimal-2"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

        def both_live() -> bool:
            assert second is not None and second.poll() is None, second.communicate()
            info = read_run_info(tmp_path / "runs" / "minimal-2")
            return info is not None and info.live

        _wait(both_live, 60, "the second run")
        refused = _cli(tmp_path, "resume")
        assert refused.returncode == 2, refused
        assert refused.stderr.startswith("2 runs are live: ")
        assert "minimal (" in refused.stderr and "minimal-2 (" in refused.stderr
        assert " PAUSED " in tmux.screen()
        down = _cli(tmp_path, "shutdown", "--run", "minimal-2")
        assert down.stdout.startswith("stopping run minimal-2"), down
        second.communicate(timeout=60)
        assert second.returncode == 0

        resumed = _cli(tmp_path, "resume", "--run", "minimal")
        assert resumed.stdout.strip() == "resumed run minimal (state: active)"
        tmux.wait_for(" ACTIVE ")
        tmux.keys("q")
        tmux.wait_for("Stop the run?")
        tmux.keys("y")
        _wait(lambda: _written(exit_file), 60, "pamiq-console to exit")
        assert exit_file.read_text().strip() == "0", tmux.screen()
    finally:
        if second is not None and second.poll() is None:
            second.kill()
            second.communicate()
        tmux.kill()


def test_attach_to_a_headless_run_in_a_real_terminal(
    tmp_path: Path, tmux: Tmux
) -> None:
    """p pauses the run, s saves it, p resumes it, q detaches (and says so), and
    the run keeps stepping; a SIGKILLed attached dashboard leaves it unharmed."""
    sample = ROOT / "sample_configs" / "minimal.toml"
    buffers, trainers = _names(sample)
    run_dir = tmp_path / "runs" / _run_name(sample)
    proc = _start_headless(sample, tmp_path, run_dir)
    try:

        def status() -> dict:
            return _status(tmp_path, run_dir)

        exit_file = tmp_path / "exit-code"
        tmux.start(
            f"{SCRIPT} attach --run {run_dir}; echo $? > {exit_file}; sleep 30",
            cwd=tmp_path,
        )
        tmux.wait_for(" ACTIVE ", timeout=60)
        for name in [*buffers, *trainers]:
            tmux.wait_for(name)
        tmux.wait_for("Stop run")  # the attached dashboard's own key

        # The run's own learning curve, drawn from its history.
        tmux.wait_for("values/loss")

        tmux.keys("p")
        tmux.wait_for(" PAUSED ")
        tmux.wait_for(PAUSED_TOAST)
        assert status()["state"] == "paused"
        tmux.keys("s")
        tmux.wait_for("saved ")  # in the event log, from the run's events
        _wait(lambda: bool(_saved(run_dir)), 30, "the state the attached save wrote")
        tmux.wait_for(SAVED_TOAST)
        tmux.keys("p")
        tmux.wait_for(" ACTIVE ")
        assert status()["state"] == "active"

        tmux.keys("q")
        _wait(lambda: _written(exit_file), 30, "attach to exit")
        assert exit_file.read_text().strip() == "0", tmux.screen()
        tmux.wait_for("detached from run minimal; it keeps running")
        assert proc.poll() is None
        steps = status()["steps"]
        _wait(lambda: status()["steps"] > steps, 30, "the run to keep stepping")
        assert status()["state"] == "active"

        # A dashboard killed outright leaves the run unharmed.
        killed = Tmux(tmp_path / "tmux-killed.sock", (120, 40))
        try:
            killed.start(f"exec {SCRIPT} attach --run {run_dir}", cwd=tmp_path)
            killed.wait_for(" ACTIVE ", timeout=60)
            pane = subprocess.run(
                [
                    *killed.base,
                    "display-message",
                    "-p",
                    "-t",
                    killed.name,
                    "#{pane_pid}",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            os.kill(int(pane), signal.SIGKILL)
        finally:
            killed.kill()
        steps = status()["steps"]
        _wait(lambda: status()["steps"] > steps, 30, "the run to step after a kill")
        assert status()["state"] == "active" and proc.poll() is None

        down = _cli(tmp_path, "shutdown", "--run", run_dir)
        assert down.returncode == 0, down.stderr
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize("mode", ["dashboard", "headless"])
def test_closing_the_terminal_stops_the_run_in_order_with_a_final_save(
    mode: str, tmp_path: Path, tmux: Tmux
) -> None:
    sample = ROOT / "sample_configs" / "minimal.toml"
    run_dir = tmp_path / "runs" / "minimal"
    flag = "--headless" if mode == "headless" else ""
    # exec: the pane's process is pamiq-console itself, which the hang-up reaches.
    tmux.start(f"exec {SCRIPT} run {sample} {flag}", cwd=tmp_path)

    def live() -> bool:
        info = read_run_info(run_dir)
        return info is not None and info.live

    _wait(live, 60, "the run")
    pid = read_run_info(run_dir).pid  # type: ignore[union-attr]
    tmux.kill()  # the terminal goes away: SIGHUP

    def stopped() -> bool:
        info = read_run_info(run_dir)
        return info is not None and info.data.get("stopped") is not None

    _wait(stopped, 60, "run.json to say the run stopped")
    info = read_run_info(run_dir)
    assert info is not None and info.data["exit_code"] == 0
    assert len(_saved(run_dir)) == 1, "no final save"
    _wait(lambda: not _alive(pid), 30, "the process to exit")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_run_started_under_nohup_outlives_a_hangup(tmp_path: Path) -> None:
    """``nohup pamiq-console run CONFIG --headless &``: SIGHUP ignored from the
    start stays ignored, so a closed terminal leaves the run running; SIGTERM
    still stops it in order. Signals pending together are handled in number
    order (SIGHUP first), so the stop's reason says which one stopped it."""
    sample = ROOT / "sample_configs" / "minimal.toml"
    run_dir = tmp_path / "runs" / "minimal"
    log = tmp_path / "console.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(SCRIPT), "run", str(sample), "--headless"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
        )
    try:

        def status() -> dict:
            return _status(tmp_path, run_dir)

        def live() -> bool:
            info = read_run_info(run_dir)
            return info is not None and info.live

        _wait(live, 60, "the run")
        proc.send_signal(signal.SIGHUP)  # the terminal goes away
        steps = status()["steps"]
        _wait(lambda: status()["steps"] > steps, 30, "the run to step on")
        assert status()["state"] == "active" and proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = log.read_text()
    assert "SIGTERM received" in output and "SIGHUP" not in output, output
    info = read_run_info(run_dir)
    assert info is not None and info.data["exit_code"] == 0
    assert len(_saved(run_dir)) == 1, "no final save"


def test_a_headless_run_whose_terminal_hangs_up_exits_as_run_json_says(
    tmp_path: Path,
) -> None:
    """The run's output goes to a terminal (a pty, whose controlling process
    pamiq-console is) that then hangs up: the stop's lines, written to the dead
    terminal, fail (EIO), and must not turn the orderly stop into a failure. The
    process's exit code is run.json's: 0, with a final save."""
    sample = ROOT / "sample_configs" / "minimal.toml"
    run_dir = tmp_path / "runs" / "minimal"
    master, slave = pty.openpty()

    def controlling_terminal() -> None:  # after the new session's setsid
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        proc = subprocess.Popen(
            [str(SCRIPT), "run", str(sample), "--headless"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=tmp_path,
            start_new_session=True,
            preexec_fn=controlling_terminal,
        )
    finally:
        os.close(slave)
    shown = bytearray()
    try:

        def live() -> bool:
            # Read what it shows, or it would block on a full terminal.
            while select.select([master], [], [], 0)[0]:
                shown.extend(os.read(master, 65536))
            info = read_run_info(run_dir)
            return info is not None and info.live

        _wait(live, 60, "the run")
        os.close(master)  # the terminal goes away: SIGHUP, then EIO on writes
        master = -1
        code = proc.wait(timeout=60)
    finally:
        if master >= 0:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    info = read_run_info(run_dir)
    assert info is not None and info.data["stopped"] is not None
    assert info.data["exit_code"] == 0
    assert code == 0, shown.decode(errors="replace")
    assert len(_saved(run_dir)) == 1, "no final save"
