"""Write the engine's metric events to ``metrics.jsonl`` (and TensorBoard when available).

A :class:`MetricsLog` reads its own bounded subscription on a background
thread, so a slow disk never slows the engine (an overflowing queue drops the
oldest events and counts them), and a full one never stops it (what cannot be
written is dropped and counted, with a warning when that starts and ends).
TensorBoard scalars are written when the ``tensorboard`` package is installed,
with that package alone (no torch).

``metrics.jsonl`` is rotated by size (``metrics.jsonl`` becomes
``metrics.jsonl.1``, that one ``.2``, ... the oldest beyond ``keep`` is
deleted), so a run of days holds at most ``(keep + 1) * max_bytes`` of lines.
:func:`metrics_files` lists them oldest first, so a reader that reads them in
that order sees one history across rotations.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.util
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from ..host.owner_only import append_owned, append_whole
from ..thread.supervision import FailureHandler, SupervisedThread
from .events import EventBus, LogMessage, Metric, Subscription

METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"
DEFAULT_MAX_BYTES = 64 << 20
"""Size at which ``metrics.jsonl`` is rotated (``[system] metrics_max_mb``)."""
DEFAULT_KEEP = 3
"""Rotated files kept beside ``metrics.jsonl`` (``[system] metrics_keep``)."""
_ROTATED = re.compile(re.escape(METRICS_FILE) + r"\.([1-9][0-9]*)")


def tensorboard_available() -> bool:
    """Whether TensorBoard logging can be used (without importing it)."""
    return importlib.util.find_spec("tensorboard") is not None


FLUSH_BYTES = 64 << 10
"""Pending output that is written at once, without waiting for the flush interval."""
SETTLE_FLUSHES = 5
"""Flush intervals that writing must have worked for before it is said to work
again (after a warning that it did not)."""


class MetricsLog:
    """Appends every :class:`~engine.telemetry.events.Metric` to ``<run_dir>/metrics.jsonl``.

    Each line is ``{"wall_time", "source", "name", "value", "step", "run"}``.
    The file is appended to across runs of the same run directory; ``run``
    (when this log started, ISO 8601 with microseconds) tells them apart.
    A line that would take the file past ``max_bytes`` goes to a new file
    after a rotation (see the module's docstring); a file that cannot be
    rotated is appended to as it is, with one warning.

    Telemetry is never a reason to stop the agent: what cannot be written (a
    full disk, a quota, an I/O error) is dropped and counted (:attr:`unwritten`,
    :attr:`unwritten_scalars`), and writing is tried again at the next flush.
    One warning (a ``LogMessage``) says when dropping starts and one when
    writing has worked again for a few flush intervals, each with the counts. A batch is appended whole or
    not at all (what a failed append wrote is cut off again), so the file
    never holds a torn line.

    Args:
        events: The system's event bus.
        run_dir: The run's directory (created if missing).
        tensorboard: Also write TensorBoard scalars to ``<run_dir>/tensorboard``:
            True requires it, False never, None when available.
        flush_interval: Longest time (s) a line waits before it is written
            (also how often writing is retried while it fails).
        queue_size: Bound of the subscription queue.
        on_failure: Told if the writer thread fails (pass
            :meth:`engine.System.report_failure` to stop the run in order);
            by default the failure is published as an ``ErrorOccurred`` event.
            Failing to write is not a failure of the thread.
        max_bytes: Size at which ``metrics.jsonl`` is rotated (None: never).
        keep: Rotated files kept (``metrics.jsonl.1`` newest ... ``.keep``).

    Raises:
        RuntimeError: For ``tensorboard=True`` when it is not installed.
        ValueError: For ``max_bytes`` < 1 or ``keep`` < 1.
    """

    def __init__(
        self,
        events: EventBus,
        run_dir: str | Path,
        tensorboard: bool | None = None,
        flush_interval: float = 1.0,
        queue_size: int = 10_000,
        on_failure: FailureHandler | None = None,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
        keep: int = DEFAULT_KEEP,
    ) -> None:
        if max_bytes is not None and max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1 or None, got {max_bytes}")
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        if tensorboard and not tensorboard_available():
            raise RuntimeError(
                "tensorboard logging needs the tensorboard package "
                "(pip install -e '.[tensorboard]')"
            )
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / METRICS_FILE
        self._use_tensorboard = (
            tensorboard_available() if tensorboard is None else tensorboard
        )
        self._flush_interval = flush_interval
        self.max_bytes = max_bytes
        self.keep = keep
        self.rotations = 0
        """Times ``metrics.jsonl`` was rotated by this log."""
        self._told_unrotatable = False
        self._events = events
        self._subscription: Subscription = events.subscribe(queue_size)
        self._thread = SupervisedThread(
            "metrics-log", self._run, on_failure or events.publish_failure
        )
        self.written = 0
        """Lines written to ``metrics.jsonl``."""
        self.unwritten = 0
        """Lines dropped because ``metrics.jsonl`` could not be written."""
        self.unwritten_scalars = 0
        """TensorBoard scalars dropped because they could not be written."""
        self.run = ""
        self._started = False
        self._fd: int | None = None
        self._lines: list[bytes] = []
        self._pending_bytes = 0
        self._pending_since = 0.0
        self._scalars: Any = None  # the TensorBoard writer, once it could be made
        self._scalar_events: list[Metric] = []  # waiting for the next flush
        self._problems: dict[str, str] = {}  # what cannot be written, and why
        self._told_failing = False
        self._working_since: float | None = None

    @property
    def dropped(self) -> int:
        """Events lost because the queue overflowed."""
        return self._subscription.dropped

    @property
    def failing(self) -> bool:
        """Whether the last attempt to write telemetry failed (it is being dropped)."""
        return bool(self._problems)

    def start(self) -> MetricsLog:
        """Open ``metrics.jsonl`` and start the writer thread; returns self.

        The file is opened here, not in the thread, so that a problem with it
        is the caller's error at once. It is never opened through a symbolic
        link, and must be this user's (see :mod:`engine.host.owner_only`).

        Raises:
            OSError: If the file cannot be opened (``ForeignPathError`` for a
                link or another user's file).
        """
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._fd = append_owned(self.path)
        self.run = _dt.datetime.now().astimezone().isoformat(timespec="microseconds")
        self._started = True
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop the writer thread."""
        self._subscription.close()
        if self._started:
            self._thread.join(timeout)

    def __enter__(self) -> MetricsLog:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self) -> None:
        try:
            self._write_until_closed()
        finally:
            # A writer that failed must not keep collecting events nobody reads.
            self._subscription.close()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _write_until_closed(self) -> None:
        sub = self._subscription
        if self._use_tensorboard:
            self._open_scalars()
        try:
            while True:
                event = sub.get(timeout=self._flush_interval)
                if event is None:
                    self._flush()
                    if sub.closed:
                        break
                    continue
                if isinstance(event, Metric):
                    self._add(event)
                for queued in sub.drain():
                    if isinstance(queued, Metric):
                        self._add(queued)
                if self._lines and (
                    self._pending_bytes >= FLUSH_BYTES
                    or time.monotonic() - self._pending_since >= self._flush_interval
                ):
                    self._flush()
        finally:
            if self._scalars is not None:
                with contextlib.suppress(OSError):
                    self._scalars.close()

    def _add(self, event: Metric) -> None:
        record = {
            "wall_time": event.wall_time,
            "source": event.source,
            "name": event.name,
            "value": event.value,
            "step": event.step,
            "run": self.run,
        }
        line = (json.dumps(record) + "\n").encode()
        if not self._lines:
            self._pending_since = time.monotonic()
        self._lines.append(line)
        self._pending_bytes += len(line)
        if self._use_tensorboard:
            self._scalar_events.append(event)

    def _flush(self) -> None:
        """Write what is pending; drop (and count) what cannot be written."""
        lines, self._lines, self._pending_bytes = self._lines, [], 0
        if lines:
            self._append(lines)
        if self._use_tensorboard:
            self._flush_scalars()
        self._tell()

    def _append(self, lines: list[bytes]) -> None:
        """Append ``lines``, rotating first wherever the next line would pass the cap.

        A file so holds at most ``max_bytes`` (or one line, if longer). A file
        that cannot be rotated is appended to as it is (the lines matter more
        than the cap), with one warning; rotating is tried again next flush.
        """
        cap = self.max_bytes
        held = self._held() if cap is not None else 0
        chunk: list[bytes] = []
        size = 0
        for line in lines:
            if cap is not None and held + size > 0 and held + size + len(line) > cap:
                if chunk:
                    held += self._append_chunk(chunk, size)
                    chunk, size = [], 0
                if held > 0:
                    if self._rotate():
                        held = 0
                    else:
                        cap = None
            chunk.append(line)
            size += len(line)
        if chunk:
            self._append_chunk(chunk, size)

    def _held(self) -> int:
        assert self._fd is not None
        try:
            return os.fstat(self._fd).st_size
        except OSError:
            return 0

    def _append_chunk(self, chunk: list[bytes], size: int) -> int:
        """Append whole lines to the file; the bytes written (0: dropped, counted)."""
        assert self._fd is not None
        try:
            append_whole(self._fd, b"".join(chunk))
        except OSError as e:
            self.unwritten += len(chunk)
            self._problems[METRICS_FILE] = _why(e)
            return 0
        self.written += len(chunk)
        self._problems.pop(METRICS_FILE, None)
        return size

    def _rotate(self) -> bool:
        """Rotate the files and write to a new ``metrics.jsonl``; whether that worked."""
        try:
            fd = _rotate(self.path, self.keep, append_owned)
        except OSError as e:
            if not self._told_unrotatable:
                self._told_unrotatable = True
                self._events.publish(
                    LogMessage(
                        level="warning",
                        message=(
                            f"metrics: cannot rotate {self.path} ({_why(e)}); "
                            "appending to it past its size cap"
                        ),
                    )
                )
            return False
        assert self._fd is not None
        os.close(self._fd)
        self._fd = fd
        self.rotations += 1
        self._told_unrotatable = False
        return True

    def _open_scalars(self) -> None:
        try:
            from .tensorboard_scalars import ScalarWriter
        except ImportError:
            # Half-installed TensorBoard: the JSON lines are the record that matters.
            self._use_tensorboard = False
            return
        try:
            self._scalars = ScalarWriter(self.run_dir / TENSORBOARD_DIR)
        except OSError as e:
            self._problems[TENSORBOARD_DIR] = _why(e)
        else:
            self._problems.pop(TENSORBOARD_DIR, None)

    def _flush_scalars(self) -> None:
        events, self._scalar_events = self._scalar_events, []
        if self._scalars is None:
            self._open_scalars()  # made once it can be
            if self._scalars is None:
                self.unwritten_scalars += len(events)
                return
        for event in events:
            self._scalars.add_scalar(
                f"{event.source}/{event.name}", event.value, event.step, event.wall_time
            )
        try:
            self._scalars.flush()
        except OSError as e:
            self.unwritten_scalars += len(events)
            self._problems[TENSORBOARD_DIR] = _why(e)
        else:
            self._problems.pop(TENSORBOARD_DIR, None)

    def _tell(self) -> None:
        """Publish one warning when writing starts failing, one when it works again.

        "Again" waits until writing has worked for :data:`SETTLE_FLUSHES` flush
        intervals: a disk on the edge of full takes a small append and refuses
        the next, and that must not become a warning every second.
        """
        if self._problems:
            self._working_since = None
            if self._told_failing:
                return
            self._told_failing = True
            what = "; ".join(f"{name}: {why}" for name, why in self._problems.items())
            message = (
                f"metrics: cannot write telemetry in {self.run_dir} ({what}); "
                f"dropping it, never stopping the run, and retrying every "
                f"{self._flush_interval:g} s (dropped so far: {self._counts()})"
            )
        else:
            if not self._told_failing:
                return
            now = time.monotonic()
            if self._working_since is None:
                self._working_since = now
            if now - self._working_since < SETTLE_FLUSHES * self._flush_interval:
                return
            self._told_failing = False
            message = (
                f"metrics: writing telemetry in {self.run_dir} again "
                f"(dropped while it could not be written: {self._counts()})"
            )
        self._events.publish(LogMessage(level="warning", message=message))

    def _counts(self) -> str:
        counts = f"{self.unwritten} metric line(s)"
        if self._use_tensorboard:
            counts += f" and {self.unwritten_scalars} TensorBoard scalar(s)"
        return counts


def _why(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__


def _rotated(run_dir: Path) -> list[tuple[int, Path]]:
    """The rotated files in ``run_dir`` by number, newest (1) first."""
    try:
        names = os.listdir(run_dir)
    except FileNotFoundError:
        return []
    found = [(m, name) for name in names if (m := _ROTATED.fullmatch(name))]
    return sorted((int(m.group(1)), run_dir / name) for m, name in found)


def _rotate(path: Path, keep: int, open_new: Callable[[Path], int]) -> int:
    """Shift ``path.N`` to ``path.N+1`` (deleting beyond ``keep``), ``path`` to
    ``path.1``, and return a descriptor of a new ``path``.

    Every step is a rename or unlink in the run's private directory, so a
    crash part-way leaves lines in a file that :func:`metrics_files` still
    lists (at worst one number is missing), never a lost or doubled line.
    """
    for number, old in reversed(_rotated(path.parent)):
        if number >= keep:
            old.unlink()
        else:
            old.rename(path.with_name(f"{path.name}.{number + 1}"))
    path.rename(path.with_name(f"{path.name}.1"))
    return open_new(path)


def metrics_files(run_dir: str | Path) -> list[Path]:
    """``metrics.jsonl`` and its rotated files in ``run_dir``, oldest first."""
    run_dir = Path(run_dir)
    rotated = [p for _, p in reversed(_rotated(run_dir))]
    return [p for p in [*rotated, run_dir / METRICS_FILE] if p.is_file()]
