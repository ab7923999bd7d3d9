"""``attach``: the dashboard of a run in another process, over its control socket.

The run here is in-process (the ``live_run`` fixture) but the dashboard reaches
it only through :class:`console.remote_run.RemoteRun`, the socket's client.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from console import remote_run
from console.app import ConsoleApp
from console.cli import app as cli_app
from console.control_client import ControlClient
from console.remote_run import AttachError, RemoteRun, check_socket_path
from console.widgets import CurvesPanel, EventLogPanel, StatusHeader
from engine.services import control_server
from engine.services.operations import OperationError
from engine.telemetry.events import StateSaved
from tests.console.helpers import sync, wait_for, wait_until

SIZE = (120, 36)


def log_text(app: ConsoleApp) -> str:
    return "\n".join(strip.text for strip in app.query_one(EventLogPanel).lines)


def header_text(app: ConsoleApp) -> str:
    return str(app.query_one(StatusHeader).content)


def q_says(app: ConsoleApp) -> str:
    """What the footer says ``q`` does."""
    return app.active_bindings["q"].binding.description


def notices(app: ConsoleApp) -> list[str]:
    return [n.message for n in app._notifications]


@sync
async def test_the_attached_dashboard_drives_the_run_and_q_detaches(
    live_run: Any,
) -> None:
    system = live_run.system
    remote = RemoteRun(live_run.run_dir.socket_path)
    app = ConsoleApp(remote, attached=True)
    assert app.run_control is remote and app.on_failure is None  # only the socket
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: app.status is not None and "values" in app.status.trainers,
            what="a status over the socket",
        )
        await pilot.press("p")
        await wait_for(pilot, lambda: system.state.value == "paused", what="pause")
        await wait_for(pilot, lambda: app.busy == "", what="pause finished")
        await pilot.press("s")
        await wait_for(pilot, lambda: system.status().last_save is not None)
        # The save's event comes over the socket, into the event log.
        await wait_for(pilot, lambda: "saved " in log_text(app), what="saved event")
        await wait_for(pilot, lambda: app.busy == "", what="save finished")
        await pilot.press("p")
        await wait_for(pilot, lambda: system.state.value == "active", what="resume")
        # The header says how the run is viewed and when it was saved.
        await wait_for(pilot, lambda: " attached " in header_text(app))
        assert "read-only" not in header_text(app)
        await wait_for(
            pilot, lambda: re.search(r"saved \d+s ago", header_text(app)) is not None
        )
        assert q_says(app) == "Detach"
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="detach")
    assert app.detached
    steps = system.status().steps
    wait_until(lambda: system.status().steps > steps, what="the run to keep stepping")
    assert system.state.value == "active"


@sync
async def test_x_stops_the_run_after_asking_and_the_dashboard_says_how_it_ended(
    live_run: Any,
) -> None:
    system = live_run.system
    app = ConsoleApp(RemoteRun(live_run.run_dir.socket_path), attached=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.status is not None, what="a status")
        await pilot.press("x")
        await pilot.press("n")  # asked, and declined: nothing happens
        assert system.state.value == "active"
        await pilot.press("x")
        await pilot.press("y")
        await wait_for(pilot, lambda: system.state.value == "stopped", what="stop")
        live_run.stop_and_wait("test over")  # the socket goes away too
        await wait_for(pilot, lambda: app.ended == "stopped", what="how it ended")
        await wait_for(pilot, lambda: "run ended: stopped" in header_text(app))
        assert "the run ended: stopped" in log_text(app)
        assert app.is_running  # open until q
        await wait_for(pilot, lambda: q_says(app) == "Close", what="q closes")
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="q to close")
    assert not app.detached  # nothing left to detach from


@sync
async def test_read_only_offers_no_operations(live_run: Any) -> None:
    system = live_run.system
    remote = RemoteRun(live_run.run_dir.socket_path, read_only=True)
    for op, call in (
        ("pause", remote.pause),
        ("save", remote.save),
        ("resume", remote.resume),
        ("shutdown", lambda: remote.shutdown("no")),
    ):
        with pytest.raises(OperationError, match="read-only"):
            call()
        assert system.state.value == "active", op
    app = ConsoleApp(remote, attached=True, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.status is not None, what="a status")
        footer = {b.binding.action for b in app.active_bindings.values() if b.enabled}
        assert "toggle_pause" not in footer and "save" not in footer
        assert "request_stop" not in footer and "load" not in footer
        assert " read-only " in header_text(app) and q_says(app) == "Detach"
        await pilot.press("p", "s", "x", "l")
        await pilot.pause(0.2)
        assert system.state.value == "active"
        assert system.status().last_save is None
        assert len(app.screen_stack) == 1  # no dialog opened
        # Each key says why nothing happened.
        said = notices(app)
        assert len(said) == 4 and all(n.startswith("read-only: ") for n in said)
        assert "cannot pause or resume" in said[0] and "cannot save" in said[1]
        assert "cannot stop the run" in said[2] and "cannot load" in said[3]
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: len(app.screen_stack) == 2, what="help")
        assert app.screen.key_help[0][1].startswith("detach")  # no operation keys
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(app.screen_stack) == 1, what="help closed")
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="detach")
    assert system.state.value == "active"


def test_a_client_of_another_protocol_version_gets_one_line(
    live_run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sock = live_run.run_dir.socket_path
    ours = control_server.PROTOCOL_VERSION
    refused = ControlClient(sock).request
    # A client of the previous version (whose feed had no status) is refused.
    with pytest.raises(
        Exception, match=f"speaks control protocol {ours}, the client protocol 1:"
    ):
        refused("feed", watcher="w1", protocol=1)
    monkeypatch.setattr(remote_run, "PROTOCOL_VERSION", 99)
    result = CliRunner().invoke(cli_app, ["attach", "--socket", str(sock)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [
        f"attach: the run on {sock} speaks control protocol {ours}; this "
        "pamiq-console speaks protocol 99: use the same pamiq-console version "
        "for both"
    ]


def test_a_socket_in_a_directory_others_can_write_is_refused(
    live_run: Any, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    planted = shared / "control.sock"
    os.symlink(live_run.run_dir.socket_path, planted)
    with pytest.raises(AttachError, match="writable by others"):
        check_socket_path(planted)
    result = CliRunner().invoke(cli_app, ["attach", "--socket", str(planted)])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"attach: refusing {planted}: its directory")
    check_socket_path(live_run.run_dir.socket_path)  # the run's own is fine


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory away")
def test_a_socket_in_another_user_s_directory_is_refused(
    live_run: Any, tmp_path: Path
) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    planted = theirs / "control.sock"
    os.symlink(live_run.run_dir.socket_path, planted)
    os.chown(theirs, 65534, 65534)
    result = CliRunner().invoke(cli_app, ["attach", "--socket", str(planted)])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line == (
        f"attach: refusing {planted}: its directory {theirs} belongs to another "
        "user (uid 65534)"
    )


def test_eight_watchers_at_once_and_a_stuck_one_is_told_what_it_lost(
    live_run: Any,
) -> None:
    system = live_run.system
    sock = live_run.run_dir.socket_path
    remote = RemoteRun(sock)
    watchers = [remote.watch(maxsize=1000) for _ in range(8)]
    stuck = remote.watch(maxsize=5)
    stuck.poll()  # the recent history; then never read until the end
    seen: list[list[Any]] = [[] for _ in watchers]
    saved = threading.Event()
    failures: list[BaseException] = []

    def watch(i: int) -> None:
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline and not (
                saved.is_set() and any(isinstance(e, StateSaved) for e in seen[i])
            ):
                poll = watchers[i].poll()
                # One reply per poll: the status with the events.
                assert poll.status.name == system.config.name
                seen[i].extend(poll.events)
                saved.wait(0.02)
        except BaseException as e:
            failures.append(e)

    threads = [threading.Thread(target=watch, args=(i,), daemon=True) for i in range(8)]
    for t in threads:
        t.start()
    # Ordinary requests go on beside them.
    client = ControlClient(sock)
    assert client.request("pause")["state"] == "paused"
    client.request("save")
    saved.set()
    assert client.request("resume")["state"] == "active"
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    assert not failures, failures
    for events in seen:
        assert any(isinstance(e, StateSaved) for e in events)
    steps = system.status().steps
    wait_until(lambda: system.status().steps > steps + 50, what="steps")
    asked = time.time()
    stuck_poll = stuck.poll()
    assert len(stuck_poll.events) <= 5
    assert stuck_poll.dropped > 0  # told how many it lost
    # And the status is current: at most one feed tick older than the request.
    assert stuck_poll.status.wall_time >= asked - live_run.handler.feeds.tick
    for w in [*watchers, stuck]:
        w.close()
    assert live_run.handler.watchers == 0


def test_a_watcher_nobody_feeds_is_dropped_by_the_run(
    live_run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = live_run.handler
    remote = RemoteRun(live_run.run_dir.socket_path)
    feed = remote.watch(maxsize=10)
    assert handler.watchers == 1
    monkeypatch.setattr(control_server, "WATCHER_TTL", 0.0)
    remote.watch(maxsize=10).close()  # a later watcher sweeps the stale one
    assert handler.watchers == 0
    monkeypatch.setattr(control_server, "WATCHER_TTL", 60.0)
    # The vanished one, back again, is watching anew (not an error).
    assert feed.poll().events == []
    assert handler.watchers == 1
    feed.close()


@sync
async def test_the_dashboard_shows_what_happened_before_it_attached(
    live_run: Any,
) -> None:
    saved = ControlClient(live_run.run_dir.socket_path).request("save")
    app = ConsoleApp(RemoteRun(live_run.run_dir.socket_path), attached=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: saved["name"] in log_text(app), what="the save")
        await pilot.press("q")


@sync
async def test_a_run_restarted_under_its_run_directory_is_found_again(
    live_run: Any, config_file: Any
) -> None:
    from console import config as config_mod
    from console.runner import Run

    sock = live_run.run_dir.socket_path
    app = ConsoleApp(RemoteRun(sock), attached=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.status is not None, what="a status")
        live_run.stop_and_wait("first run over")
        await wait_for(pilot, lambda: app.ended == "stopped", what="the end")
        again = Run(config_mod.load(config_file()))
        again.start()
        try:
            assert again.run_dir.socket_path == sock
            await wait_for(pilot, lambda: app.ended is None, what="the new run")
            await wait_for(pilot, lambda: app.status.state == "active")
            assert "running again" in log_text(app)
            await pilot.press("p")
            await wait_for(pilot, lambda: again.system.state.value == "paused")
            await wait_for(pilot, lambda: "system paused" in log_text(app))
            await pilot.press("q")
        finally:
            again.stop_and_wait("test over")


@sync
async def test_an_attached_dashboard_plots_the_curves_from_the_run_s_start(
    live_run: Any,
) -> None:
    book = live_run.services.curves
    loss = ("values", "loss")
    wait_until(
        lambda: (c := book.curve(loss)) is not None and c.count >= 5,
        what="a few losses reported before attaching",
    )
    before = book.curve(loss)
    assert before is not None
    app = ConsoleApp(RemoteRun(live_run.run_dir.socket_path), attached=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: (
                loss in app.curves.curves
                and app.curves.curves[loss].count >= before.count
            ),
            what="the loss curve over the socket",
        )
        assert app.shown_curve == loss
        # Its history is the run's, from its first report, not since attaching.
        assert app.curves.curves[loss].points[:1] == before.points[:1]
        panel = str(app.query_one(CurvesPanel).content)
        assert "values/loss" in panel
        assert any("\u2801" <= ch <= "\u28ff" for ch in panel)  # a braille plot
        await pilot.press("c")
        assert app.shown_curve == ("values", "mean_reward")
        await wait_for(
            pilot,
            lambda: (
                "values/mean_reward" in str(app.query_one(CurvesPanel).content)
                and ("values", "mean_reward") in app.curves.curves
            ),
            what="the next curve",
        )
        await pilot.press("q")
