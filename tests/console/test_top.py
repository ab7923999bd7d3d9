"""``pamiq-console top``: every live run in one table; enter attaches, p/s act on one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from console.control_client import ControlClient
from console.top import RunsWatch
from console.top_app import TopApp
from engine.services.run_dir import RunInfo
from tests.console.helpers import sync, wait_for
from tests.console.test_python_launched import SCRIPT, Program
from tests.console.test_real_terminal import Tmux


@pytest.fixture
def two_programs(tmp_path: Path) -> Iterator[tuple[Program, Program]]:
    first = Program(tmp_path / "first")
    try:
        first.wait_listed()
        # the same runs directory: the second run of the program is NAME-2
        second = Program(
            tmp_path / "second", env={"PAMIQ_RUNS_DIR": str(first.cwd / "runs")}
        )
    except BaseException:
        first.stop()
        raise
    try:
        second.wait_listed()
        yield first, second
    finally:
        first.stop()
        second.stop()


def _state(socket: Path) -> str:
    return str(ControlClient(socket, timeout=10).request("status")["state"])


def test_a_run_that_does_not_answer_is_shown_unreachable_with_why(
    tmp_path: Path,
) -> None:
    silent = RunInfo(
        tmp_path / "silent",
        {"name": "silent", "pid": 1, "socket": str(tmp_path / "no.sock")},
    )
    watch = RunsWatch(list_runs=lambda: [silent])
    try:
        (row,) = watch.refresh()
    finally:
        watch.close()
    assert row.name == "silent" and row.state == "unreachable"
    assert row.alerts and "no.sock" in row.alerts[0]


def test_rows_carry_rates_cpu_and_memory_from_the_second_refresh(
    two_programs: tuple[Program, Program],
) -> None:
    watch = RunsWatch()
    try:
        first = watch.refresh()
        pids = {row.pid for row in first}
        assert {p.proc.pid for p in two_programs} <= pids
        assert all(row.cpu_percent is None for row in first)
        second = watch.refresh()
    finally:
        watch.close()
    ours = [row for row in second if row.pid in {p.proc.pid for p in two_programs}]
    assert sorted(row.name for row in ours) == ["bandit_launch", "bandit_launch-2"]
    for row in ours:
        assert row.state == "active" and row.alerts == ()
        assert row.cpu_percent is not None and row.cpu_percent >= 0
        assert row.rss is not None and row.rss > 10 * 2**20
        assert [t.name for t in row.trainers] == ["values"]
        assert row.trainers[0].runs_per_second is not None


@sync
async def test_p_pauses_and_resumes_s_saves_and_enter_attaches_the_selected_run(
    two_programs: tuple[Program, Program],
) -> None:
    app = TopApp(refresh_interval=0.2)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.rows) >= 2, timeout=20, what="2 rows")
        await pilot.press("down")
        selected = app.selected()
        assert selected is not None and selected.name == "bandit_launch-2"
        other = next(r for r in app.rows.values() if r.key != selected.key)

        await pilot.press("p")
        await wait_for(pilot, lambda: _state(selected.socket) == "paused", 20, "paused")
        assert _state(other.socket) == "active"
        await wait_for(
            pilot,
            lambda: app.rows[selected.key].state == "paused",
            10,
            "the table to show it paused",
        )
        await pilot.press("p")
        await wait_for(
            pilot, lambda: _state(selected.socket) == "active", 20, "resumed"
        )

        await pilot.press("s")
        await wait_for(
            pilot,
            lambda: app.rows[selected.key].last_save is not None,
            20,
            "the save in the table",
        )
        assert Path(str(app.rows[selected.key].last_save)).is_dir()

        await pilot.press("enter")
        await wait_for(pilot, lambda: app.return_value is not None, 10, "attach")
    assert app.return_value is not None and app.return_value.key == selected.key


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    import shutil

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    session = Tmux(tmp_path / "tmux.sock", (160, 40))
    try:
        yield session
    finally:
        session.kill()


@pytest.mark.skipif(not SCRIPT.exists(), reason="needs the installed pamiq-console")
def test_top_in_a_real_terminal_lists_two_runs_attaches_to_one_and_comes_back(
    two_programs: tuple[Program, Program], tmux: Tmux, tmp_path: Path
) -> None:
    import os
    import shlex

    registry = os.environ["PAMIQ_CONSOLE_REGISTRY"]
    tmux.start(
        f"PAMIQ_CONSOLE_REGISTRY={shlex.quote(registry)} "
        f"{shlex.quote(str(SCRIPT))} top --interval 0.5; sleep 30",
        tmp_path,
    )
    tmux.wait_for("2 live runs")
    tmux.wait_for("bandit_launch-2")
    tmux.keys("Down", "Enter")
    # the dashboard of the second run: its header and its panels
    tmux.wait_for(" bandit_launch-2 ")
    tmux.wait_for("buffers")
    tmux.keys("q")
    tmux.wait_for("2 live runs")
    assert all(p.proc.poll() is None for p in two_programs)
    tmux.keys("q")
    # top has quit: the terminal's own screen is back, with what attach said
    tmux.wait_for("detached from run bandit_launch-2; it keeps running")
    assert "live runs" not in tmux.screen()
