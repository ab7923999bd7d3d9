"""The Textual dashboard of a live run.

Threads and messages:

* A :class:`~console.poller.SnapshotPoller` thread polls the run's
  :class:`~engine.services.operations.Watch` several times a second and posts one
  :class:`~console.messages.Snapshot` message; the app applies it to every panel
  in one batch, and the poller polls again only once the app has taken it (so
  the dashboard draws at most as often as it polls, and never a backlog).
  The panels are drawn at most twice a second (:data:`DRAW_SECONDS`; what
  must be noticed, at once), each only when what it shows changed; the
  learning curve, the costliest to draw, at most once a second while it
  grows (:data:`CURVE_SECONDS`).
* Pause, resume, save, load and stop run in ``@work(thread=True)`` workers that
  report back with :class:`~console.messages.OpFinished` /
  :class:`~console.messages.RunStopped` messages.

The app reaches the run only through :class:`engine.services.operations.RunControl`
(the operations and error messages the control socket serves too), so the
same dashboard can show a run in this process
(:func:`~engine.services.operations.local_run`, see :mod:`console.dashboard_run`)
or, over its socket, another (:class:`~console.remote_run.RemoteRun`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
import time as _time
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import Footer

from engine import SystemState
from engine.services.curves import CurveView, Key, is_agent_source
from engine.services.operations import EventFeed, OperationError, RunControl, describe
from engine.telemetry.events import ErrorOccurred, Metric
from engine.telemetry.status import SystemStatus

from .activity import Activity
from .eventlog import ERROR, NOTICE, ROUTINE_KINDS, WARNING, Coalescer, LogLine
from .messages import OpFinished, PollerFailed, RunStopped, Snapshot
from .poller import DEFAULT_POLL_HZ, FailureHandler, SnapshotPoller
from .program_process import OutputFollower, ProgramRun
from .render import ATTACHED, READ_ONLY
from .widgets import (
    ActorsPanel,
    AgentPanel,
    BuffersPanel,
    ConfirmQuit,
    CurvesPanel,
    DetachOrStop,
    ErrorPanel,
    EventLogPanel,
    HelpScreen,
    LoadPicker,
    ModelsPanel,
    ProgramOutputPanel,
    StatusHeader,
    TrainersPanel,
)
from .widgets.alerts import AlertBar
from .widgets.dialogs import ATTACHED_HELP, PROGRAM_HELP, READ_ONLY_HELP
from .widgets.settings_dialog import SettingsDialog

_OPERATION_ACTIONS = frozenset({"toggle_pause", "save", "load", "request_stop", "tune"})
"""What ``read_only`` takes away (ctrl+c detaches an attached dashboard)."""
_ACTOR_COUNTS = re.compile(r"actor\d+")
"""The source of the learner's per-actor lag metrics (its agent's are actorN.agent)."""
METRIC_HISTORY = 200
"""Points of each trainer's sparkline (as wide as a 200-column terminal gives it)."""
NARROW = 120
"""Terminal width below which the dashboard stacks panels (80x24 stays readable)."""
SHORT = 30
"""Terminal height below which the agent box gives way (its metrics are curves,
``c``) and the learning curves sit beside the event log."""
DRAW_SECONDS = 0.5
"""While the dashboard watches a run live, its panels are drawn at most this
often: their numbers change at every poll, and a human reads them no faster.
The event log, and a change of state, errors, alerts, of the trainers,
models, buffers and actors the run has, or a curve's first points show at
once (the poller still polls at :data:`~console.poller.DEFAULT_POLL_HZ`)."""
CURVE_SECONDS = 1.0
"""While the dashboard watches a run live, a growing learning curve is drawn
again at most this often: it spans the whole run (a new point moves it
little) and is the costliest panel to draw. Another curve (``c``), a new
size or a first point shows at once."""


class ConsoleApp(App[int]):
    """The operator console of one run.

    Args:
        run: The (started) run to show and control, and all the app knows of
            it: :func:`~engine.services.operations.local_run` of a system in
            this process, or :class:`~console.remote_run.RemoteRun` over a socket.
        on_failure: Told if the dashboard's poller thread fails: a system in
            this process passes its ``report_failure``, so that the run stops in
            order as for a failure of any of its threads. Either way the
            dashboard goes on polling the status by itself.
        poll_hz: Snapshots per second (>= 4 keeps the dashboard lively).
        live: Start the poller, and draw the panels at most every
            :data:`DRAW_SECONDS` (:attr:`draw_seconds`); tests that feed
            snapshots by hand pass False (every snapshot is drawn at once).
        clock: Wall-clock source for "ago" columns (tests freeze it).
        exit_when_stopped: Leave when the system stops cleanly on its own
            (``max_uptime``, ``pamiq-console shutdown``); errors keep it open.
        subscription: The events to show, if taken before the system started
            (so the event log shows the state it was started from).
        attached: The run is not this process's: ``q`` detaches and leaves it
            running, ``x`` stops it (asked first), and when it ends the
            dashboard says how and stays open until ``q``.
        read_only: Offer no operations (no pause, save, load or stop).
        program: The program this console started (``run PROGRAM.py``), whose
            run is attached: its output shows in a panel, ``q`` asks whether to
            detach or stop it, ``ctrl+c`` stops it in order, and the dashboard
            closes when its run stops cleanly.
    """

    CSS_PATH = "app.tcss"
    TITLE = "pamiq-console"
    BINDINGS = [
        Binding("p", "toggle_pause", "Pause/Resume"),
        Binding("space", "toggle_pause", "Pause/Resume", show=False),
        Binding("s", "save", "Save"),
        Binding("l", "load", "Load"),
        # Not in the footer: at 80 columns it would cut "? Help" (? lists it).
        Binding("t", "tune", "Tune", show=False),
        # One q for each thing it can do; check_action shows the one it does.
        Binding("q", "leave('stop')", "Stop & quit"),
        Binding("q", "leave('detach')", "Detach"),
        Binding("q", "leave('ask')", "Detach/Stop"),
        Binding("q", "leave('quit')", "Quit"),
        Binding("q", "leave('close')", "Close"),
        Binding("x", "request_stop", "Stop run"),
        Binding("c", "next_curve", "Curves"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+c", "stop_now", "Stop now", show=False, priority=True),
        # Read-only: the operation keys say why nothing happens.
        Binding("p,space", "read_only('pause or resume')", show=False),
        Binding("s", "read_only('save')", show=False),
        Binding("l", "read_only('load a state')", show=False),
        Binding("t", "read_only('change settings')", show=False),
        Binding("x", "read_only('stop the run')", show=False),
    ]

    def __init__(
        self,
        run: RunControl,
        *,
        on_failure: FailureHandler | None = None,
        poll_hz: float = DEFAULT_POLL_HZ,
        live: bool = True,
        clock: Callable[[], float] = _time.time,
        exit_when_stopped: bool = True,
        subscription: EventFeed | None = None,
        attached: bool = False,
        read_only: bool = False,
        program: ProgramRun | None = None,
    ) -> None:
        super().__init__()
        self.program = program
        self._output = None if program is None else OutputFollower(program)
        self.attached = attached or program is not None
        self.read_only = read_only
        self.detached = False
        self.ended: str | None = None
        self.run_control: RunControl = run
        self.on_failure = on_failure
        self._subscription = subscription
        self.poll_hz = poll_hz
        self.live = live
        self.clock = clock
        # An attached dashboard stays open when the run ends, to say how.
        self.exit_when_stopped = exit_when_stopped and (
            not self.attached or program is not None
        )
        self.status: SystemStatus | None = None
        self.busy: str = ""
        self.snapshots_applied = 0
        self.stop_requested = False
        self._poller: SnapshotPoller | None = None
        self._coalescer = Coalescer(window=1.0, path_text=self._state_text)
        self._metrics: dict[str, dict[str, deque[float]]] = defaultdict(dict)
        self.activity = Activity()
        self.curves = CurveView()
        self.curve_order: list[Key] = []
        """The curves ``c`` goes through: the config's ``plots`` first."""
        self.curve_index = 0
        self._plots: tuple[Key, ...] = ()
        self._tracebacks: dict[str, str] = {}
        self._stopped_uptime: float | None = None
        self._leave_shown = ""
        self._curve_drawn: tuple[object, float] = (None, -math.inf)
        self.draw_seconds = DRAW_SECONDS if live else 0.0
        """Seconds between two draws of the panels (0: every snapshot at once)."""
        self._drawn_at = -math.inf
        self._drawn_shape: object = None
        self._draw_timer: Timer | None = None
        self._output_subtitle = ""

    # -- layout -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Header, error panel, buffers and models, trainers, agent, curves and
        event log, footer."""
        yield StatusHeader(id="header")
        yield AlertBar(id="alerts")
        yield ErrorPanel(id="errors")
        with Horizontal(id="top"):
            with Vertical(id="buffers-box", classes="box"):
                yield BuffersPanel(id="buffers")
            with Vertical(id="models-box", classes="box"):
                yield ModelsPanel(id="models")
        yield TrainersPanel(id="trainers", classes="box")
        yield ActorsPanel(id="actors", classes="box")
        yield AgentPanel(id="agent", classes="box")
        with Horizontal(id="bottom"):
            yield CurvesPanel(id="curves", classes="box")
            yield EventLogPanel(id="events")
        if self.program is not None:
            yield ProgramOutputPanel(id="program", classes="box")
        yield Footer()

    def on_mount(self) -> None:
        """Title the boxes and start the poller."""
        header = self.query_one(StatusHeader)
        header.clock = self.clock
        header.view = READ_ONLY if self.read_only else ATTACHED if self.attached else ""
        self.query_one("#buffers-box").border_title = "buffers"
        self.query_one("#models-box").border_title = "models"
        self.query_one("#trainers").border_title = "trainers"
        self.query_one("#agent").border_title = "agent"
        self.query_one("#events").border_title = "events"
        self.query_one("#curves").border_title = "learning curves"
        if self.program is not None:
            panel = self.query_one(ProgramOutputPanel)
            panel.border_title = f"output of {self.program.program.name}"
            self._follow_output()
            self.set_interval(0.25, self._follow_output)
        self._fit(self.size.width, self.size.height)
        if self.live:
            self._poller = SnapshotPoller(
                self.run_control,
                self,
                self.poll_hz,
                self._subscription,
                # The poller is one of the run's threads when the run is here.
                self.on_failure,
                curves=self._curves_wanted,
            )
            self._plots = self._poller.watch.plots
            self.apply_snapshot(self._poller.snapshot())
            self._poller.start()

    def _follow_output(self) -> None:
        """Show what the program wrote since the last look."""
        if self._output is None or self.program is None:
            return
        lines = self._output.read_lines()
        panel = self.query_one(ProgramOutputPanel)
        if lines:
            panel.write_lines(lines)
        subtitle = str(self.program.log_path)  # moves into the run dir once it starts
        if subtitle != self._output_subtitle:
            # Setting a border title redraws the panel, even to the same text.
            self._output_subtitle = subtitle
            panel.border_subtitle = subtitle

    def on_resize(self, event: events.Resize) -> None:
        """Below :data:`NARROW` columns, stack the buffers above the models."""
        self._fit(event.size.width, event.size.height)
        if self.status is not None:
            # Panels fit their text to their width: draw them for the new one.
            self.call_after_refresh(self._redraw)

    def _fit(self, width: int, height: int) -> None:
        self.screen.set_class(width < NARROW, "narrow")
        self.screen.set_class(height < SHORT, "short")

    def _redraw(self) -> None:
        if self.status is not None and not self._is_closing_down():
            with contextlib.suppress(NoMatches):
                self.query_one(StatusHeader).update_status(self.status)
                self.query_one(BuffersPanel).update_status(self.status)

    def on_unmount(self) -> None:
        """Stop the poller."""
        if self._poller is not None:
            self._poller.stop()

    # -- snapshots ----------------------------------------------------------------

    def on_poller_failed(self, _: PollerFailed) -> None:
        """Keep the panels current from the UI thread (the events are lost)."""
        self._poller = None
        self.set_interval(1.0 / self.poll_hz, self._poll_status)

    def _poll_status(self) -> None:
        if not self._is_closing_down():
            self.apply_snapshot(Snapshot(self.run_control.status(), []))

    def on_snapshot(self, message: Snapshot) -> None:
        """Apply a snapshot posted by the poller (ignored once the app is closing)."""
        if self._poller is not None:
            self._poller.taken()
        if self._is_closing_down():
            return
        try:
            self.apply_snapshot(message)
        except NoMatches:
            # A snapshot that arrived while the screen was being torn down: the
            # next one (if any) brings the same data, so nothing is lost.
            return

    def _is_closing_down(self) -> bool:
        return self._exit or not self.is_running

    def apply_snapshot(self, snapshot: Snapshot, now: float | None = None) -> None:
        """Take one snapshot in: its events go to the log at once, and the
        panels are drawn from it in one batch when due (at once unless live:
        see :data:`DRAW_SECONDS`)."""
        now = self.clock() if now is None else now
        lines: list[LogLine] = []
        for event in snapshot.events:
            if event.kind in ROUTINE_KINDS:
                continue  # shown as rates in the trainers and models panels
            if isinstance(event, Metric):
                history = self._metrics[event.source].setdefault(
                    event.name, deque(maxlen=METRIC_HISTORY)
                )
                history.append(event.value)
                continue
            if isinstance(event, ErrorOccurred) and event.traceback:
                self._tracebacks[event.message] = event.traceback
            lines.extend(self._coalescer.feed(event, now))
        lines.extend(self._coalescer.flush(now))
        if snapshot.dropped:
            lines.append(
                LogLine(
                    now,
                    "console",
                    f"{snapshot.dropped} event(s) not shown (burst)",
                    severity=WARNING,
                )
            )
        status = self._frozen_when_stopped(snapshot.status)
        self.status = status
        self.activity.feed(snapshot.status, snapshot.events)
        self.curves.apply(snapshot.curves)
        self._order_curves(snapshot.metrics)
        self.query_one(EventLogPanel).add_lines(lines)
        self._draw_when_due(status, now)
        self.snapshots_applied += 1
        self._refresh_leave_binding()
        if (
            status.state == SystemState.STOPPED.value
            and self.run_control.ended != self.ended
        ):
            self._show_ended()  # or a better word on how (run.json came late)
        elif self.ended is not None and status.state != SystemState.STOPPED.value:
            self._show_restarted()
        if (
            status.state == SystemState.STOPPED.value
            and self.exit_when_stopped
            and not self.stop_requested
            and not status.errors
        ):
            self.exit(0)

    def _draw_when_due(self, status: SystemStatus, now: float) -> None:
        """Draw the panels now if they are due (or something must be noticed:
        see :data:`DRAW_SECONDS`), else once they are."""
        shape = self._shape(status)
        wait = self._drawn_at + self.draw_seconds - _time.monotonic()
        if shape != self._drawn_shape or wait <= 0:
            self._draw(status, now)
        elif self._draw_timer is None:
            self._draw_timer = self.set_timer(wait, self._draw_latest)

    def _shape(self, status: SystemStatus) -> tuple[object, ...]:
        """What must show at once when it changes: the state, errors, alerts,
        the trainers, models, buffers and actors the run has, and whether the
        curve shown has points yet."""
        return (
            status.state,
            status.errors,
            status.alerts,
            tuple(status.trainers),
            tuple(status.models),
            tuple(status.buffers),
            len(status.actors),
            self.shown_curve,
            self.shown_curve in self.curves.curves,
        )

    def _draw_latest(self) -> None:
        """The timer's draw of the latest snapshot (numbers that came meanwhile)."""
        self._draw_timer = None
        if self.status is not None and not self._is_closing_down():
            with contextlib.suppress(NoMatches):
                self._draw(self.status, self.clock())

    def _draw(self, status: SystemStatus, now: float) -> None:
        """Draw every panel from ``status`` in one batch (each one only if
        what it shows changed)."""
        if self._draw_timer is not None:
            self._draw_timer.stop()
            self._draw_timer = None
        self._drawn_at = _time.monotonic()
        self._drawn_shape = self._shape(status)
        with self.batch_update():
            header = self.query_one(StatusHeader)
            header.busy = self.busy
            header.update_status(status)
            self.query_one(ErrorPanel).show_errors(status.errors, self._tracebacks)
            self.query_one(AlertBar).show_alerts(status.alerts)
            self.query_one(BuffersPanel).update_status(status)
            self.query_one(ModelsPanel).update_status(
                status, now, {name: self.activity.model(name) for name in status.models}
            )
            self.query_one(TrainersPanel).update_status(
                status,
                self._metric_views(),
                {name: self.activity.trainer(name) for name in status.trainers},
            )
            self._show_curve(growing=True)
            self.query_one(ActorsPanel).update_status(status)
            self.query_one(AgentPanel).update_metrics(
                {
                    source: {name: values[-1] for name, values in metrics.items()}
                    for source, metrics in self._metrics.items()
                    # An actor's lag and counts are in the actors panel.
                    if source not in status.trainers
                    and not _ACTOR_COUNTS.fullmatch(source)
                }
            )

    def _refresh_leave_binding(self) -> None:
        """Name what ``q`` does in the footer, once it changed (the run ended)."""
        mode = self.leave_mode()
        if mode != self._leave_shown:
            self._leave_shown = mode
            self.refresh_bindings()

    def _show_ended(self) -> None:
        ended = self.run_control.ended
        if ended is None:
            return
        self.ended = ended
        if self.attached:
            self.busy = f"run ended: {ended}; q closes"
            self._show_busy()
            # Anything but an orderly stop (failed, killed, gone) is an error.
            severity = NOTICE if ended == "stopped" else ERROR
            self.log_line("console", f"the run ended: {ended}", severity)

    def _show_restarted(self) -> None:
        """An attached run that ended is running again (restarted in its run dir)."""
        self.ended = None
        self.busy = ""
        self._show_busy()
        self.log_line("console", "the run is running again (restarted)")

    def _frozen_when_stopped(self, status: SystemStatus) -> SystemStatus:
        """The snapshot with the uptime it had when the run stopped.

        A stopped run does not run: its uptime must not keep counting, nor
        its step rate stay at the last one a run that went away reported.
        """
        if status.state != SystemState.STOPPED.value:
            self._stopped_uptime = None
            return status
        if self._stopped_uptime is None:
            self._stopped_uptime = status.uptime
        return dataclasses.replace(
            status, uptime=self._stopped_uptime, steps_per_second=0.0
        )

    def _metric_views(self) -> dict[str, tuple[str | None, list[float]]]:
        views: dict[str, tuple[str | None, list[float]]] = {}
        for trainer, metrics in self._metrics.items():
            name = "loss" if "loss" in metrics else next(iter(metrics), None)
            views[trainer] = (name, list(metrics[name]) if name else [])
        return views

    def _state_text(self, path: str) -> str:
        """A state of this run by its name (the log is narrow; the run is known)."""
        try:
            if Path(path).parent == self.run_control.states_dir:
                return Path(path).name
        except (OSError, KeyError):
            pass  # the run's states directory is not known (yet): say it all
        return path

    # -- learning curves --------------------------------------------------------------

    def _order_curves(self, metrics: list[Key] | None) -> None:
        """The curves ``c`` goes through: the config's first, then the agent's,
        then the trainers', each in the order they first reported."""
        known = list(self.curve_order)
        for key in [*self._plots, *(metrics or ())]:
            if key not in known:
                known.append(key)
        if metrics is None and not self._plots:
            # Snapshots fed by hand (no watch): the curves they brought.
            known += [k for k in self.curves.curves if k not in known]
        configured = [k for k in known if k in self._plots]
        agent = [k for k in known if k not in configured and is_agent_source(k[0])]
        rest = [k for k in known if k not in configured and k not in agent]
        shown = self.shown_curve
        self.curve_order = configured + agent + rest
        if shown is not None and shown in self.curve_order:
            self.curve_index = self.curve_order.index(shown)

    @property
    def shown_curve(self) -> Key | None:
        """The learning curve the panel shows (None before any metric)."""
        if not self.curve_order:
            return None
        return self.curve_order[self.curve_index % len(self.curve_order)]

    def _curves_wanted(self) -> list[Key]:
        shown = self.shown_curve
        return [] if shown is None else [shown]

    def _show_curve(self, growing: bool = False) -> None:
        """Draw the curve shown; ``growing``: only new points of the same curve,
        drawn at most every :data:`CURVE_SECONDS` while live."""
        key = self.shown_curve
        curve = None if key is None else self.curves.curves.get(key)
        position = (
            self.curve_index % max(1, len(self.curve_order)),
            len(self.curve_order),
        )
        now = _time.monotonic()
        shown, drawn_at = self._curve_drawn
        same = (key, position, curve is None)
        throttled = growing and self.draw_seconds > 0
        if throttled and shown == same and now - drawn_at < CURVE_SECONDS:
            return  # a snapshot after CURVE_SECONDS draws what came meanwhile
        self._curve_drawn = (same, now)
        self.query_one(CurvesPanel).show(key, curve, position)

    def action_next_curve(self) -> None:
        """Plot the next learning curve (its history comes with the next poll)."""
        if not self.curve_order:
            self.notify("no metrics reported yet", severity="warning")
            return
        self.curve_index = (self.curve_index + 1) % len(self.curve_order)
        self._show_curve()

    def log_line(self, kind: str, text: str, severity: str = NOTICE) -> None:
        """Add a console line to the event log."""
        self.query_one(EventLogPanel).add_lines(
            [LogLine(self.clock(), kind, text, severity=severity)]
        )

    # -- operations -----------------------------------------------------------------

    def _state(self) -> str:
        """The run's control state now (not the last snapshot's)."""
        return self.run_control.status().state

    def _begin(self, op: str, label: str) -> bool:
        if self.busy:
            self.notify(
                f"busy ({self.busy}); try again in a moment", severity="warning"
            )
            return False
        state = self._state()
        if state in (SystemState.STOPPING.value, SystemState.STOPPED.value):
            self.notify(f"cannot {op}: the system is {state}", severity="warning")
            return False
        self.busy = label
        self._show_busy()
        return True

    def _show_busy(self) -> None:
        header = self.query_one(StatusHeader)
        header.busy = self.busy
        if self.status is not None:
            header.update_status(self.status)
        self._refresh_leave_binding()

    def action_toggle_pause(self) -> None:
        """Pause a running system, or resume a paused one."""
        if self._state() == SystemState.PAUSED.value:
            if self._begin("resume", "resuming..."):
                self.run_operation("resume")
        elif self._begin("pause", "pausing..."):
            self.run_operation("pause")

    def action_save(self) -> None:
        """Save the state now."""
        if self._begin("save", "saving..."):
            self.run_operation("save")

    def action_load(self) -> None:
        """Open the state picker."""
        states_dir = self.run_control.states_dir

        def chosen(state: str | None) -> None:
            if state is not None and self._begin("load", "loading..."):
                self.run_operation("load", state)

        self.push_screen(LoadPicker(self.run_control.states(), states_dir), chosen)

    def action_tune(self) -> None:
        """Open the tune dialog: the run's settings; the one chosen is set
        from its owner's next step."""
        try:
            settings = self.run_control.settings()
        except OperationError as e:
            self.notify(f"settings failed: {e}", severity="error", timeout=8)
            return

        def chosen(answer: tuple[str, str] | None) -> None:
            if answer is not None:
                self._set_setting(*answer)

        self.push_screen(SettingsDialog(settings), chosen)

    @work(thread=True, group="settings")
    def _set_setting(self, name: str, value: str) -> None:
        # Off the UI thread: a run that does not answer must not freeze it.
        try:
            result = self.run_control.set_setting(name, value)
        except OperationError as e:
            self.call_from_thread(self._setting_refused, f"set failed: {e}")
        else:
            line = "; ".join(describe("set", result))
            self.call_from_thread(self.notify, line, timeout=4)

    def _setting_refused(self, message: str) -> None:
        self.notify(message, severity="error", timeout=8)
        self.log_line("error", message, ERROR)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Read-only offers no operations; only an attached dashboard has ``x``;
        ``q`` is shown as what it does here (see :meth:`leave_mode`)."""
        if action == "leave":
            return parameters == (self.leave_mode(),)
        if action == "read_only":
            return self.read_only
        if self.read_only and action in _OPERATION_ACTIONS:
            return False
        return self.attached or action != "request_stop"

    def leave_mode(self) -> str:
        """What ``q`` does now: ``stop`` (asks, stops the run with a final
        save, quits), ``detach``, ``ask`` (a program's run: detach or stop),
        ``quit`` (the run here has stopped) or ``close`` (the attached run ended)."""
        if self.program is not None:
            if self.ended is not None:
                return "close"
            return "detach" if self.stop_requested else "ask"
        if self.attached:
            return "close" if self.ended is not None else "detach"
        stopped = self.status is not None and self.status.state == "stopped"
        return "quit" if stopped else "stop"

    def action_leave(self, mode: str) -> None:
        """``q``: what :meth:`leave_mode` says (the footer names it)."""
        self.action_request_quit()

    def action_read_only(self, what: str) -> None:
        """An operation key in a read-only dashboard: say why nothing happens."""
        self.notify(
            f"read-only: this view cannot {what} (attached with --read-only; "
            "pamiq-console attach without it can)",
            severity="warning",
            timeout=4,
        )

    def action_help(self) -> None:
        """Show the help."""
        keys = None
        if self.program is not None:
            keys = PROGRAM_HELP
        elif self.attached:
            keys = READ_ONLY_HELP if self.read_only else ATTACHED_HELP
        self.push_screen(HelpScreen(keys))

    def action_request_quit(self) -> None:
        """Ask, then stop the run with a final save and leave (attached: detach;
        a program's: ask which)."""
        if self.program is not None and self.ended is None and not self.stop_requested:

            def chosen(answer: str | None) -> None:
                if answer == "detach":
                    self.detach()
                elif answer == "stop":
                    self.stop_run()

            self.push_screen(DetachOrStop(), chosen)
            return
        if self.attached:
            self.detach()
            return
        if self._state() == SystemState.STOPPED.value:
            self.exit(self._exit_code())
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.stop_run()

        self.push_screen(ConfirmQuit(), answered)

    def detach(self) -> None:
        """Leave the dashboard; the run goes on."""
        self.detached = self.ended is None
        self.exit(0)

    def action_request_stop(self) -> None:
        """Attached: ask, then stop the run in order (it saves a final state)."""
        if self.read_only or self.stop_requested:
            return
        if self._state() == SystemState.STOPPED.value:
            self.notify("the run has already stopped", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.stop_run()

        self.push_screen(ConfirmQuit(), answered)

    def action_stop_now(self) -> None:
        """Ctrl-C: stop in order (final save) without asking (attached: detach)."""
        if self.attached and self.program is None:
            self.detach()
            return
        if self._state() == SystemState.STOPPED.value:
            self.exit(self._exit_code())
            return
        self.stop_run()

    def stop_run(self) -> None:
        """Stop the system (final save) in a worker, then leave."""
        if self.stop_requested:
            return
        self.stop_requested = True
        self.busy = "stopping: saving the final state..."
        self._show_busy()
        self._stop_worker()

    @work(thread=True, group="stop")
    def _stop_worker(self) -> None:
        self.run_control.shutdown("quit from the console")
        self.run_control.wait_stopped()
        self.post_message(RunStopped())

    def on_run_stopped(self, _: RunStopped) -> None:
        """Leave once the final state is saved (attached: stay, and say how it ended)."""
        if self.attached and self.program is None:
            self.busy = ""
            self._show_ended()
            return
        self.exit(self._exit_code())

    def _exit_code(self) -> int:
        return 1 if self.run_control.status().errors else 0

    @work(thread=True, group="ops")
    def run_operation(self, op: str, state: str | Path | None = None) -> None:
        """Run a blocking operation off the UI thread and report with :class:`OpFinished`."""
        run = self.run_control
        try:
            if op == "pause":
                result = run.pause()
            elif op == "resume":
                result = run.resume()
            elif op == "save":
                result = run.save()
            elif op == "load" and state is not None:
                result = run.load(str(state))
            else:
                raise OperationError(op, f"unknown operation {op!r}")
        except OperationError as e:
            self.post_message(OpFinished(op, False, str(e), logged=e.logged))
        else:
            self.post_message(OpFinished(op, True, "; ".join(describe(op, result))))

    def on_op_finished(self, message: OpFinished) -> None:
        """Clear the busy mark and tell the user."""
        self.busy = ""
        self._show_busy()
        if message.ok:
            self.notify(message.detail, timeout=3)
        else:
            self.notify(
                f"{message.op} failed: {message.detail}", severity="error", timeout=8
            )
            if not message.logged:
                self.log_line("error", f"{message.op} failed: {message.detail}", ERROR)
