"""Every run started from Python serves the console: its run directory, control
socket, registry entry and learning curves, opened and closed with the system."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from engine.services.control_server import ControlHandler
from engine.services.registry import live_runs
from engine.services.run_dir import RunDirError, read_run_info
from engine.services.run_services import program_run_name, safe_run_name
from engine.state.persistence import StateError
from tests.engine.tiny import make_system


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["src/train.py", "experiment=e2e_cpu"], "train"),
        (["/abs/pkg/__main__.py"], "pkg"),
        (["-c"], "pamiq"),
        ([""], "pamiq"),
        ([], "pamiq"),
        (["my run!.py"], "my_run_"),
        (["..hidden.py"], "hidden"),
    ],
)
def test_a_program_s_run_is_named_after_it(argv: list[str], name: str) -> None:
    assert program_run_name(argv) == name


def test_safe_run_names() -> None:
    assert safe_run_name("a/b c") == "a_b_c"
    assert safe_run_name("---") == "pamiq"


def test_a_started_system_serves_the_console_until_it_stops(tmp_path: Path) -> None:
    system, *_ = make_system(tmp_path, name="lib", run_dir=tmp_path / "run")
    services = system.services
    assert services is not None
    system.start()
    try:
        (entry,) = live_runs()
        assert (entry.name, entry.run_dir) == ("lib", tmp_path / "run")
        assert entry.origin.startswith("python ")
        info = read_run_info(tmp_path / "run")
        assert info is not None and info.live and info.pid == os.getpid()
        assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o700
        assert services.handler is not None
        reply = services.handler.handle({"op": "status"})
        assert reply["ok"] and reply["result"]["name"] == "lib"
        assert reply["result"]["run"]["states_dir"] == str(tmp_path / "states")
    finally:
        system.shutdown("test over")
        assert system.wait(timeout=30)
    # Everything is closed once wait() returns: run.json is final, the socket gone.
    info = read_run_info(tmp_path / "run")
    assert info is not None and info.data["exit_code"] == 0 and not info.live
    assert services.socket_path is not None and not services.socket_path.exists()
    assert live_runs() == []


def test_the_default_run_directory_is_runs_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAMIQ_RUNS_DIR")
    monkeypatch.chdir(tmp_path)
    system, *_ = make_system(tmp_path, name="lib")
    system.start()
    system.shutdown()
    assert system.wait(timeout=30)
    assert read_run_info(tmp_path / "runs" / "lib") is not None


def test_a_refused_start_is_recorded_as_refused(tmp_path: Path) -> None:
    system, *_ = make_system(
        tmp_path,
        name="lib",
        run_dir=tmp_path / "run",
        saved_state_path=tmp_path / "no-such.state",
    )
    with pytest.raises(StateError):
        system.start()
    info = read_run_info(tmp_path / "run")
    assert info is not None and info.data["exit_code"] == 2 and not info.live
    assert live_runs() == []


def test_a_named_run_that_is_live_refuses_a_second(tmp_path: Path) -> None:
    first, *_ = make_system(tmp_path / "a", name="lib", run_dir=tmp_path / "run")
    second, *_ = make_system(tmp_path / "b", name="lib", run_dir=tmp_path / "run")
    first.start()
    try:
        with pytest.raises(RunDirError, match="another process is running this run"):
            second.start()
    finally:
        first.shutdown()
        assert first.wait(timeout=30)


def test_a_default_name_steps_aside_for_a_live_run(tmp_path: Path) -> None:
    first, *_ = make_system(tmp_path / "a")
    second, *_ = make_system(tmp_path / "b")
    first.start()
    try:
        second.start()
        try:
            assert second.name == f"{first.name}-2"
            assert sorted(r.name for r in live_runs()) == [first.name, second.name]
            assert second.status().name == second.name
        finally:
            second.shutdown()
            assert second.wait(timeout=30)
    finally:
        first.shutdown()
        assert first.wait(timeout=30)


def test_console_false_serves_nothing(tmp_path: Path) -> None:
    system, *_ = make_system(tmp_path, name="lib", console=False)
    assert system.services is None
    system.start()
    system.shutdown()
    assert system.wait(timeout=30)
    assert live_runs() == []
    assert not Path(os.environ["PAMIQ_RUNS_DIR"]).exists()


def test_the_curves_record_from_the_first_metric(tmp_path: Path) -> None:
    system, *_ = make_system(
        tmp_path, name="lib", run_dir=tmp_path / "run", plots=(("nudge", "loss"),)
    )
    assert system.services is not None
    curves = system.services.curves
    assert curves.plots == (("nudge", "loss"),)
    system._publish_metric("nudge", "loss", 1.5, 0)  # before the start
    handler = ControlHandler(system, curves)
    try:
        watch = handler.handle({"op": "watch"})["result"]
        fed = handler.handle(
            {"op": "feed", "watcher": watch["watcher"], "curves": [["nudge", "loss"]]}
        )["result"]
        assert fed["metrics"] == [["nudge", "loss"]]
        assert fed["curves"][0]["points"] == [[0.0, 1.5]]
        assert json.dumps(fed)  # the feed is JSON as it is
    finally:
        handler.close()


def test_a_program_s_web_api_is_served_beside_the_socket(tmp_path: Path) -> None:
    import urllib.request

    system, *_ = make_system(
        tmp_path,
        name="lib",
        run_dir=tmp_path / "run",
        web_api_address=("127.0.0.1", 0),
    )
    events = system.events.subscribe()
    system.start()
    try:
        assert system.services is not None and system.services.web_api is not None
        host, port = system.services.web_api.address
        with urllib.request.urlopen(f"http://{host}:{port}/api/status") as reply:
            assert json.loads(reply.read()) == {"status": 1}
        said = [getattr(e, "message", "") for e in events.drain()]
        assert any("web API (unauthenticated)" in m for m in said), said
    finally:
        system.shutdown()
        assert system.wait(timeout=30)
    assert system.services.web_api is None  # closed with the run


def test_a_remote_web_api_must_be_asked_for(tmp_path: Path) -> None:
    from engine import LaunchConfig
    from engine.launch_config import LaunchConfigError

    with pytest.raises(LaunchConfigError, match="web_api_allow_remote=True"):
        LaunchConfig(web_api_address=("0.0.0.0", 8391))
    LaunchConfig(web_api_address=("0.0.0.0", 8391), web_api_allow_remote=True)
    with pytest.raises(LaunchConfigError, match="port in 0..65535"):
        LaunchConfig(web_api_address=("127.0.0.1", 70000))
