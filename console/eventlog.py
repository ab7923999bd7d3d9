"""One-line renderings of engine events, with bursts of frequent events coalesced.

Shared by ``run --headless`` (stderr) and the dashboard's event log. Syncs and
training runs can happen hundreds of times a second;
they are summed up per source over a short window ("synced values x37") so the
log stays readable. Metrics are not logged here (they feed the sparklines and
``metrics.jsonl``).

Each line has a severity (:data:`OK`, :data:`NOTICE`, :data:`WARNING`,
:data:`ERROR`, or :data:`INFO` for the routine), which the dashboard draws in
its colour, as htop, btop and k9s do. A save or a load holds the system still
for a moment: those pauses are not logged ("system paused", "system resumed"
are the operator's pause and resume only).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.telemetry.events import (
    Alert,
    ErrorOccurred,
    Event,
    LogMessage,
    Metric,
    ModelSynced,
    SettingChanged,
    StateLoaded,
    StateRemoved,
    StateSaved,
    SystemStateChanged,
    TrainabilityChanged,
    TrainingRunFinished,
)
from engine.tunables import format_value

INFO = "info"
"""Routine: nothing to act on."""
OK = "ok"
"""Something the operator wants done was done (a state saved)."""
NOTICE = "notice"
"""The run changed course: a load, a pause, a stop."""
WARNING = "warning"
"""Something went wrong that the run lives with (an actor died, a refused load)."""
ERROR = "error"
"""Something failed (a thread, an operation, an actor for good)."""
SEVERITIES = (INFO, OK, NOTICE, WARNING, ERROR)

COALESCED_KINDS = frozenset({"sync", "training"})
ROUTINE_KINDS = COALESCED_KINDS
"""Events the dashboard does not log (its trainers and models panels show their
rates); they stay in the event stream, in ``--headless`` output and ``events``."""
_HELD_STATES = frozenset({"pausing", "paused", "resuming", "active"})
"""Transitions a save or a load goes through too: the log says "system paused"
and "system resumed" from the engine's notices of the operator's pause instead."""
_OPERATOR_LOGS = {"paused": "system paused", "resumed": "system resumed"}
_LOG_LEVELS = {
    "debug": INFO,
    "info": INFO,
    "notice": NOTICE,
    "warning": WARNING,
    "error": ERROR,
    "critical": ERROR,
}
_KIND_SEVERITIES = {
    "saved": OK,
    "loaded": NOTICE,
    "setting": NOTICE,
    "error": ERROR,
    "console": NOTICE,
}


@dataclass(frozen=True)
class LogLine:
    """A rendered event.

    Attributes:
        wall_time: When it happened (seconds since the epoch).
        kind: The event kind (``sync``, ``saved``, ``error``...).
        text: The message, without a timestamp.
        count: How many events the line stands for.
        severity: :data:`INFO`, :data:`OK`, :data:`NOTICE`, :data:`WARNING`
            or :data:`ERROR`.
    """

    wall_time: float
    kind: str
    text: str
    count: int = 1
    severity: str = INFO

    def stamped(self) -> str:
        """``HH:MM:SS kind text``."""
        clock = _time.strftime("%H:%M:%S", _time.localtime(self.wall_time))
        return f"{clock} {self.kind:<12} {self.text}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _as_is(path: str) -> str:
    return path


def format_event(event: Event, path_text: Callable[[str], str] = _as_is) -> str | None:
    """The text of one event, or None for events that are not logged.

    ``path_text`` writes a state's path (the dashboard names its run's own
    states by name: its event log is narrow).
    """
    if isinstance(event, ModelSynced):
        return f"model {event.model} synced to v{event.version} ({_ms(event.duration)})"
    if isinstance(event, TrainingRunFinished):
        return f"trainer {event.trainer} run {event.run} took {_ms(event.duration)}"
    if isinstance(event, TrainabilityChanged):
        # Flips with every run; the trainers panel shows it continuously.
        return None
    if isinstance(event, StateSaved):
        return (
            f"saved {path_text(event.path)} in {_ms(event.duration)} "
            f"(paused {_ms(event.paused_for)})"
        )
    if isinstance(event, StateLoaded):
        return f"loaded {path_text(event.path)}"
    if isinstance(event, StateRemoved):
        return f"removed {path_text(event.path)} ({event.reason})"
    if isinstance(event, SettingChanged):
        why = " (loaded)" if event.reason == "load" else ""
        return (
            f"{event.name}: {format_value(event.old)} -> {format_value(event.new)}{why}"
        )
    if isinstance(event, ErrorOccurred):
        return f"{event.thread}: {event.message}"
    if isinstance(event, SystemStateChanged):
        return None if event.state in _HELD_STATES else f"system {event.state}"
    if isinstance(event, LogMessage):
        return _OPERATOR_LOGS.get(event.message, event.message)
    if isinstance(event, Metric):
        return None
    if isinstance(event, Alert):
        if event.cleared:
            return f"cleared: {event.message}"
        done = "" if event.action == "none" else f" [{event.action}]"
        return f"{event.message}{done}"
    return str(event.to_dict())


def severity_of(event: Event) -> str:
    """How much an event matters to an operator (see :data:`SEVERITIES`)."""
    if isinstance(event, LogMessage):
        if event.message in _OPERATOR_LOGS:
            return NOTICE
        return _LOG_LEVELS.get(event.level.lower(), INFO)
    if isinstance(event, SystemStateChanged):
        return NOTICE
    if isinstance(event, Alert):
        if event.cleared:
            return OK
        return ERROR if event.action in ("paused", "stopped") else WARNING
    return _KIND_SEVERITIES.get(event.kind, INFO)


def _line_kind(event: Event) -> str:
    """The kind a line shows: the operator's pause and resume read as states."""
    if isinstance(event, LogMessage) and event.message in _OPERATOR_LOGS:
        return SystemStateChanged.kind
    return event.kind


def _source(event: Event) -> str:
    for attr in ("model", "trainer"):
        value = getattr(event, attr, None)
        if isinstance(value, str):
            return value
    return ""


@dataclass
class _Burst:
    first: float
    count: int
    last: Event
    text: str


@dataclass
class Coalescer:
    """Turns events into log lines, summing bursts of frequent kinds.

    The first event of a (kind, source) pair is shown at once; later ones within
    ``window`` seconds are summed into one line when the window closes.

    Args:
        window: Seconds over which frequent events are summed.
        path_text: How a state's path is written (see :func:`format_event`).
    """

    window: float = 1.0
    path_text: Callable[[str], str] = _as_is
    _bursts: dict[tuple[str, str], _Burst] = field(default_factory=dict)

    def feed(self, event: Event, now: float | None = None) -> list[LogLine]:
        """Take one event; return lines ready to show."""
        now = _time.time() if now is None else now
        text = format_event(event, self.path_text)
        if text is not None and event.kind not in COALESCED_KINDS:
            # Close open bursts first so the log stays in order.
            lines = self.flush(now, force=True)
            lines.append(
                LogLine(event.wall_time, _line_kind(event), text, 1, severity_of(event))
            )
            return lines
        lines = self.flush(now)
        if text is None:
            return lines
        key = (event.kind, _source(event))
        burst = self._bursts.get(key)
        if burst is None:
            # Show the first at once; open a window for the ones that follow.
            self._bursts[key] = _Burst(now, 0, event, text)
            lines.append(
                LogLine(event.wall_time, event.kind, text, 1, severity_of(event))
            )
        else:
            burst.count += 1
            burst.last = event
            burst.text = text
        return lines

    def flush(self, now: float | None = None, force: bool = False) -> list[LogLine]:
        """Return summaries of windows that have closed (all of them if ``force``)."""
        now = _time.time() if now is None else now
        lines = []
        for key, burst in list(self._bursts.items()):
            if not force and now - burst.first < self.window:
                continue
            if burst.count == 0 or force:
                del self._bursts[key]
                if burst.count == 0:
                    continue
            else:
                # Keep summing: a steady stream gives one line per window.
                self._bursts[key] = _Burst(now, 0, burst.last, burst.text)
            suffix = f" (x{burst.count})" if burst.count > 1 else ""
            lines.append(
                LogLine(
                    burst.last.wall_time,
                    burst.last.kind,
                    burst.text + suffix,
                    burst.count,
                    severity_of(burst.last),
                )
            )
        # Summaries of different sources close together: keep the log in time order.
        lines.sort(key=lambda line: line.wall_time)
        return lines
