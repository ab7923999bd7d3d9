"""The engine's event stream: typed events and bounded, thread-safe subscriptions.

Publishing never blocks on a subscriber: each subscription has its own bounded
queue, and when it is full the oldest event is dropped (and counted). A slow
console therefore never slows the engine.
"""

from __future__ import annotations

import contextlib
import threading
import time as _time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

_FLAT = frozenset({str, int, float, bool, type(None)})


_FIELDS: dict[type, tuple[Any, ...]] = {}


def _fields_of(cls: type) -> tuple[Any, ...]:
    # A dict, not functools.cache, whose stubs take a dataclass's class for
    # unhashable (mypy).
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = fields(cls)
    return found


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every engine event.

    Attributes:
        wall_time: Real wall-clock time (seconds since the epoch) of the event.
    """

    kind: ClassVar[str] = "event"
    wall_time: float = field(default_factory=_time.time)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict including ``kind``."""
        values = {f.name: getattr(self, f.name) for f in _fields_of(type(self))}
        if all(type(v) in _FLAT for v in values.values()):
            # The common case, thousands a second to each watcher of a run:
            # plain values need none of asdict's recursive copying.
            return {"kind": self.kind, **values}
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True, kw_only=True)
class SystemStateChanged(Event):
    """The system moved to a new control state (active, paused, stopping...)."""

    kind: ClassVar[str] = "state"
    state: str


@dataclass(frozen=True, kw_only=True)
class ModelSynced(Event):
    """A training model published new weights to its inference model."""

    kind: ClassVar[str] = "sync"
    model: str
    version: int
    duration: float


@dataclass(frozen=True, kw_only=True)
class TrainingRunFinished(Event):
    """A trainer completed one ``run()`` (setup, train, sync, teardown)."""

    kind: ClassVar[str] = "training"
    trainer: str
    run: int
    duration: float


@dataclass(frozen=True, kw_only=True)
class TrainabilityChanged(Event):
    """A trainer became trainable or stopped being trainable."""

    kind: ClassVar[str] = "trainability"
    trainer: str
    trainable: bool
    reason: str


@dataclass(frozen=True, kw_only=True)
class StateSaved(Event):
    """A state directory was written completely."""

    kind: ClassVar[str] = "saved"
    path: str
    duration: float
    paused_for: float


@dataclass(frozen=True, kw_only=True)
class StateLoaded(Event):
    """A state directory was verified and applied."""

    kind: ClassVar[str] = "loaded"
    path: str


@dataclass(frozen=True, kw_only=True)
class StateRemoved(Event):
    """Retention deleted one of the directory's own states (see :mod:`engine.state.states_dir`)."""

    kind: ClassVar[str] = "removed"
    path: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ErrorOccurred(Event):
    """An exception escaped a component on some thread, or an operation failed."""

    kind: ClassVar[str] = "error"
    thread: str
    message: str
    traceback: str = ""


@dataclass(frozen=True, kw_only=True)
class Metric(Event):
    """A named scalar reported by a trainer (loss, learning rate...) or an agent.

    ``source`` is the trainer's name, or ``agent`` (``agent.<child>`` for a child agent).
    """

    kind: ClassVar[str] = "metric"
    source: str
    name: str
    value: float
    step: int


@dataclass(frozen=True, kw_only=True)
class SettingChanged(Event):
    """A tunable setting took a new value (see :mod:`engine.tunables`): at its
    owner's next step after an operator set it, or at a load.

    Attributes:
        name: The setting (``trainers.dqn.lr``, ``agent.epsilon``).
        old: The value before.
        new: The value from now on.
        reason: ``set`` (an operator) or ``load`` (a state loaded or resumed).
    """

    kind: ClassVar[str] = "setting"
    name: str
    old: float | int | bool
    new: float | int | bool
    reason: str = "set"


@dataclass(frozen=True, kw_only=True)
class LogMessage(Event):
    """A human-readable notice from the engine."""

    kind: ClassVar[str] = "log"
    level: str
    message: str


@dataclass(frozen=True, kw_only=True)
class Alert(Event):
    """A guard saw something an operator must know (see :mod:`engine.runtime.guards`).

    Attributes:
        guard: Which guard: ``non_finite``, ``agent_stalled`` or ``untrainable``.
        source: What it is about: a trainer's name, or ``agent``.
        message: What was seen, in words.
        action: What the guard did: ``skipped`` (the step), ``paused``,
            ``stopped`` or ``none``.
        cleared: The condition is over (the agent steps again...).
    """

    kind: ClassVar[str] = "alert"
    guard: str
    source: str
    message: str
    action: str = "none"
    cleared: bool = False


MetricSink = Callable[[str, str, float, int], None]
"""Where agents and trainers send a metric: ``(source, name, value, step)``."""

_EVENT_CLASSES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        SystemStateChanged,
        ModelSynced,
        TrainingRunFinished,
        TrainabilityChanged,
        StateSaved,
        StateLoaded,
        StateRemoved,
        ErrorOccurred,
        Metric,
        SettingChanged,
        LogMessage,
        Alert,
    )
}
EVENT_KINDS = frozenset(_EVENT_CLASSES)
"""The ``kind`` of every event the engine publishes."""


def event_from_dict(data: dict[str, Any]) -> Event | None:
    """The event :meth:`Event.to_dict` wrote (None for a kind this version lacks).

    Fields this version does not know are ignored, so a newer run's events still read.
    """
    cls = _EVENT_CLASSES.get(str(data.get("kind")))
    if cls is None:
        return None
    names = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in names})
    except TypeError:  # a field it needs is missing
        return None


class Subscription:
    """A bounded queue of events for one consumer; iterate or call :meth:`get`."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        self._bus = bus
        self._queue: deque[Event] = deque(maxlen=maxsize)
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        self.dropped = 0

    def _put(self, event: Event) -> None:
        with self._cond:
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
            self._queue.append(event)
            self._cond.notify()

    def get(self, timeout: float | None = None) -> Event | None:
        """Return the next event, waiting up to ``timeout`` seconds; None if none came."""
        with self._cond:
            if not self._queue and not self._closed:
                self._cond.wait(timeout)
            return self._queue.popleft() if self._queue else None

    def drain(self) -> list[Event]:
        """Return every queued event without waiting."""
        with self._cond:
            events = list(self._queue)
            self._queue.clear()
            return events

    def close(self) -> None:
        """Stop receiving events and wake any waiting :meth:`get`."""
        self._bus._unsubscribe(self)
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __iter__(self) -> Iterator[Event]:
        while not self._closed or self._queue:
            event = self.get(timeout=0.5)
            if event is not None:
                yield event

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """Fans events out to subscriptions and callbacks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: tuple[Subscription, ...] = ()
        self._callbacks: tuple[Callable[[Event], None], ...] = ()

    def subscribe(self, maxsize: int = 1000) -> Subscription:
        """Return a new subscription holding at most ``maxsize`` unread events."""
        sub = Subscription(self, maxsize)
        with self._lock:
            self._subscriptions = (*self._subscriptions, sub)
        return sub

    def add_callback(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback(event)`` on the publishing thread; return a remover.

        The callback must be quick and must not block (Textual's ``post_message``
        qualifies); exceptions it raises are swallowed so they cannot hurt the engine.
        """
        with self._lock:
            self._callbacks = (*self._callbacks, callback)

        def remove() -> None:
            with self._lock:
                self._callbacks = tuple(c for c in self._callbacks if c is not callback)

        return remove

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subscriptions = tuple(s for s in self._subscriptions if s is not sub)

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to every subscriber without blocking on any of them."""
        for sub in self._subscriptions:
            sub._put(event)
        for callback in self._callbacks:
            with contextlib.suppress(Exception):
                callback(event)

    def publish_failure(self, thread: str, exc: BaseException, tb: str) -> None:
        """Publish a thread's failure as an :class:`ErrorOccurred`.

        A :data:`~engine.thread.supervision.FailureHandler` for a telemetry
        thread that is given no other (one whose failure stops nothing).
        """
        self.publish(
            ErrorOccurred(
                thread=thread,
                message=f"{thread} thread failed: {type(exc).__name__}: {exc}",
                traceback=tb,
            )
        )
