"""The dashboard against a real engine: every panel and key binding (Textual Pilot)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console
from textual.widget import Widget

from console import config as config_mod
from console.app import ConsoleApp
from console.widgets import (
    AgentPanel,
    BuffersPanel,
    ConfirmQuit,
    ErrorPanel,
    EventLogPanel,
    HelpScreen,
    LoadPicker,
    ModelsPanel,
    StatusHeader,
    TrainersPanel,
)
from engine import System, SystemState
from engine.services.operations import local_run
from engine.state.catalogue import list_states
from tests.console.helpers import bandit_config, sync, wait_for

SIZE = (120, 40)


def text_of(widget: Widget) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    if isinstance(widget, EventLogPanel):
        return "\n".join(strip.text for strip in widget.lines)
    if isinstance(widget, TrainersPanel):
        return "\n".join(text_of(w) for w in widget.query("Static"))
    if isinstance(widget, AgentPanel):
        return str(widget.content)
    console.print(widget.content)  # type: ignore[attr-defined]
    return console.export_text()


def line_colour(log: EventLogPanel, text: str) -> str | None:
    """The colour the event log draws its line holding ``text`` in."""
    for strip in log.lines:
        if text in strip.text:
            segment = next(s for s in strip if text.split()[0] in s.text)
            colour = segment.style.color if segment.style else None
            return None if colour is None else colour.name
    raise AssertionError(f"no line with {text!r}")


@pytest.fixture
def system(config_file: Callable[..., Path]) -> Iterator[System]:
    built = config_mod.load(config_file())
    built.system.start()
    yield built.system
    built.system.shutdown("test over")
    assert built.system.wait(timeout=30)


def states_of(system: System) -> list[str]:
    return [i.name for i in list_states(system.store.states_dir) if not i.problem]


@sync
async def test_panels_show_the_running_system(system: System) -> None:
    app = ConsoleApp(local_run(system))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: (
                app.status is not None
                and app.status.trainers["values"].runs >= 2
                and "values" in app._metrics
            ),
            what="training runs",
        )
        # Routine activity is summed up in the panels, not logged line by line.
        await wait_for(
            pilot,
            lambda: "/s, mean " in text_of(app.query_one(TrainersPanel)),
            what="runs per second and their mean duration",
        )
        await wait_for(
            pilot,
            lambda: (
                "syncs" in text_of(app.query_one(ModelsPanel))
                and "/s" in text_of(app.query_one(ModelsPanel))
            ),
            what="syncs per second",
        )
        log = text_of(app.query_one(EventLogPanel))
        assert "synced" not in log and "took" not in log
        header = text_of(app.query_one(StatusHeader))
        assert (
            "tiny" in header
            and "ACTIVE" in header
            and "steps/s" in header
            and "time scale x1" in header
        )
        buffers = text_of(app.query_one(BuffersPanel))
        assert "pulls" in buffers and "/200" in buffers and "█" in buffers
        trainers = text_of(app.query_one(TrainersPanel))
        assert (
            "values" in trainers and "buffer pulls:" in trainers and "/20 " in trainers
        )
        assert "loss" in trainers
        assert "✓" in trainers or "✗" in trainers
        models = text_of(app.query_one(ModelsPanel))
        assert "values" in models and " ago" in models
        assert app.query_one(ErrorPanel).display is False
        # The footer lists the keys.
        keys = {b.key for b in app.BINDINGS}
        assert {"p", "space", "s", "l", "q", "question_mark"} <= keys


@sync
async def test_the_header_says_when_the_run_was_saved_and_will_be_next(
    config_file: Callable[..., Path],
) -> None:
    built = config_mod.load(config_file(system="save_interval = 600"))
    system = built.system
    system.start()
    try:
        app = ConsoleApp(local_run(system), exit_when_stopped=False)
        async with app.run_test(size=(160, 40)) as pilot:
            header = app.query_one(StatusHeader)
            await wait_for(pilot, lambda: "not saved yet" in text_of(header))
            assert re.search(r"next in (9m5\ds|10m00s)", text_of(header))
            # The run is this process's: no view tag; q stops it (and asks).
            assert "attached" not in text_of(header)
            assert app.active_bindings["q"].binding.description == "Stop & quit"
            system.save_state()
            await wait_for(
                pilot, lambda: re.search(r"saved \ds ago", text_of(header)) is not None
            )
            system.shutdown("test over")
            assert system.wait(timeout=30)
            await wait_for(pilot, lambda: app.status.state == "stopped")
            # Stopped: the final save, and none due any more.
            assert "next" not in text_of(header)
            await wait_for(
                pilot, lambda: app.active_bindings["q"].binding.description == "Quit"
            )
    finally:
        system.shutdown("test over")
        assert system.wait(timeout=30)


@sync
async def test_agent_metrics_appear_in_their_own_box(system: System) -> None:
    app = ConsoleApp(local_run(system))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshots_applied >= 2, what="snapshots")
        panel = app.query_one(AgentPanel)
        assert panel.display is False  # nothing reported yet
        system.interaction.agent.report_metrics({"episode_return": 42.5, "episodes": 3})
        await wait_for(pilot, lambda: panel.display, what="agent box")
        text = text_of(panel)
        assert (
            "agent" in text and "episode_return 42.5" in text and "episodes 3" in text
        )
        assert "episode_return" not in text_of(app.query_one(TrainersPanel))


@sync
async def test_keeps_taking_snapshots_while_the_run_goes_on(system: System) -> None:
    # How often is a timing (figure 15 measures the dashboard's cost); that it
    # keeps polling, snapshot after snapshot, is the behaviour.
    app = ConsoleApp(local_run(system), poll_hz=5.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshots_applied >= 1)
        first = app.snapshots_applied
        steps = app.status.steps if app.status is not None else 0
        await wait_for(pilot, lambda: app.snapshots_applied >= first + 8, 30)
        assert app.status is not None and app.status.steps > steps


@sync
@pytest.mark.parametrize("key", ["p", "space"])
async def test_pause_and_resume_keys(system: System, key: str) -> None:
    app = ConsoleApp(local_run(system))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key)
        await wait_for(pilot, lambda: system.state is SystemState.PAUSED, what="paused")
        await wait_for(pilot, lambda: "PAUSED" in text_of(app.query_one(StatusHeader)))
        await wait_for(pilot, lambda: app.busy == "", what="pause finished")
        await pilot.press(key)
        await wait_for(
            pilot, lambda: system.state is SystemState.ACTIVE, what="resumed"
        )
        await wait_for(
            pilot, lambda: "system paused" in text_of(app.query_one(EventLogPanel))
        )


@sync
async def test_save_key(system: System) -> None:
    app = ConsoleApp(local_run(system))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: len(states_of(system)) == 1, what="a saved state")
        await wait_for(pilot, lambda: "saved " in text_of(app.query_one(EventLogPanel)))
        # The save held the system still: that is not the operator's pause.
        log = text_of(app.query_one(EventLogPanel))
        assert "system paused" not in log and "system active" not in log
        assert line_colour(app.query_one(EventLogPanel), "saved ") == "green"


@sync
async def test_load_key_opens_a_picker_and_loads(system: System) -> None:
    saved = system.save_state()
    loaded = system.events.subscribe()
    app = ConsoleApp(local_run(system))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LoadPicker))
        picker = app.screen
        assert isinstance(picker, LoadPicker)
        assert [s["name"] for s in picker.states] == [saved.name]
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, LoadPicker))
        await wait_for(
            pilot,
            lambda: any(e.kind == "loaded" for e in loaded.drain()),
            what="a StateLoaded event",
        )
        await wait_for(pilot, lambda: app.busy == "")
        log = app.query_one(EventLogPanel)
        await wait_for(pilot, lambda: "loaded " in text_of(log), what="loaded line")
        assert line_colour(log, "loaded ") == "cyan"  # a notice, not an error's red


@sync
async def test_load_picker_offers_latest_first_then_each_state(system: System) -> None:
    older = system.save_state()
    newer = system.save_state()
    events = system.events.subscribe()
    app = ConsoleApp(local_run(system))

    async def load_row(downs: int) -> str:
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LoadPicker))
        for _ in range(downs):
            await pilot.press("down")
        await pilot.press("enter")
        found: list[str] = []

        def loaded() -> bool:
            found.extend(e.path for e in events.drain() if e.kind == "loaded")
            return bool(found)

        await wait_for(pilot, loaded, what="a StateLoaded event")
        await wait_for(pilot, lambda: app.busy == "")
        return found[-1]

    async with app.run_test(size=SIZE) as pilot:
        # Row 0 is "latest": the run resolves it, as `load latest` does.
        assert Path(await load_row(0)).name == newer.name
        # Then newest first: row 2 is the older state.
        assert Path(await load_row(2)).name == older.name


@sync
async def test_load_picker_escape_cancels(system: System) -> None:
    app = ConsoleApp(local_run(system))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LoadPicker))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LoadPicker))
        assert app.busy == "" and system.state is SystemState.ACTIVE


@sync
async def test_help_key(system: System) -> None:
    app = ConsoleApp(local_run(system))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: app.status is not None and app.status.trainers["values"].runs >= 2,
            what="training runs and syncs",
        )
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        # What the help says of the event log is what it shows: no syncs or
        # training runs (rates in their panels), each line in its severity's colour.
        help_text = " ".join(
            str(w.content) for w in app.screen.query("Static")
        ).replace("\n", " ")
        events = " ".join(help_text.split()).split(" events ")[1]
        assert events.startswith("what an operator must notice: saves, loads")
        assert "(syncs and training runs are rates in their panels)" in events
        assert "red (error)" in events
        log = text_of(app.query_one(EventLogPanel))
        assert "synced" not in log and " took " not in log
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))


@sync
async def test_quit_asks_and_no_keeps_running(system: System) -> None:
    app = ConsoleApp(local_run(system))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmQuit))
        assert system.state is SystemState.ACTIVE and app.is_running


@sync
async def test_quit_yes_stops_with_a_final_save(system: System) -> None:
    app = ConsoleApp(local_run(system))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running, what="app exit", timeout=30)
    assert app.return_value == 0
    assert system.state is SystemState.STOPPED
    assert len(states_of(system)) == 1


@sync
async def test_ctrl_c_stops_with_a_final_save(system: System) -> None:
    app = ConsoleApp(local_run(system))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: not app.is_running, what="app exit", timeout=30)
    assert app.return_value == 0
    assert system.state is SystemState.STOPPED and len(states_of(system)) == 1


@sync
async def test_external_stop_closes_the_app(system: System) -> None:
    app = ConsoleApp(local_run(system))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshots_applied >= 1)
        system.shutdown("stopped from elsewhere")
        await wait_for(pilot, lambda: not app.is_running, what="app exit", timeout=30)
    assert app.return_value == 0


@sync
async def test_thread_error_shows_an_error_panel(tmp_path: Path, parts: str) -> None:
    trainers = (
        f'\n[trainers.bad]\ntarget = "{parts}:ExplodingTrainer"\nmessage = "kaboom"\n'
    )
    path = tmp_path / "bad.toml"
    path.write_text(bandit_config(tmp_path, trainers=trainers))
    system = config_mod.load(path).system
    system.start()
    app = ConsoleApp(local_run(system))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: app.query_one(ErrorPanel).display,
            what="error panel",
            timeout=30,
        )
        text = text_of(app.query_one(ErrorPanel))
        assert "kaboom" in text and "thread failed" in text
        await wait_for(pilot, lambda: system.state is SystemState.STOPPED, timeout=30)
        await pilot.pause()
        assert app.is_running  # the console stays so the error can be read
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)
    assert app.return_value == 1


@sync
async def test_busy_operations_do_not_overlap(system: System) -> None:
    app = ConsoleApp(local_run(system))
    async with app.run_test(size=SIZE) as pilot:
        app.busy = "saving..."
        await pilot.press("p")
        await pilot.pause()
        assert system.state is SystemState.ACTIVE
        app.busy = ""
