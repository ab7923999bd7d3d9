"""Write the engine's metric events to ``metrics.jsonl`` (and TensorBoard when available).

A :class:`MetricsLog` reads its own bounded subscription on a background
thread, so a slow disk never slows the engine (an overflowing queue drops the
oldest events and counts them). TensorBoard scalars are written when the
``tensorboard`` package is installed, with that package alone (no torch).
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import json
import os
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from ..runtime.supervision import FailureHandler, SupervisedThread
from ..utils.owner_only import append_owned
from .events import ErrorOccurred, EventBus, Metric, Subscription

METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"


def tensorboard_available() -> bool:
    """Whether TensorBoard logging can be used (without importing it)."""
    return importlib.util.find_spec("tensorboard") is not None


class MetricsLog:
    """Appends every :class:`~engine.telemetry.events.Metric` to ``<run_dir>/metrics.jsonl``.

    Each line is ``{"wall_time", "source", "name", "value", "step", "run"}``.
    The file is appended to across runs of the same run directory; ``run``
    (when this log started, ISO 8601 with microseconds) tells them apart.

    Args:
        events: The system's event bus.
        run_dir: The run's directory (created if missing).
        tensorboard: Also write TensorBoard scalars to ``<run_dir>/tensorboard``:
            True requires it, False never, None when available.
        flush_interval: Longest time (s) a line may wait in the file buffer.
        queue_size: Bound of the subscription queue.
        on_failure: Told if the writer thread fails (pass
            :meth:`engine.System.report_failure` to stop the run in order);
            by default the failure is published as an ``ErrorOccurred`` event.

    Raises:
        RuntimeError: For ``tensorboard=True`` when it is not installed.
    """

    def __init__(
        self,
        events: EventBus,
        run_dir: str | Path,
        tensorboard: bool | None = None,
        flush_interval: float = 1.0,
        queue_size: int = 10_000,
        on_failure: FailureHandler | None = None,
    ) -> None:
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
        self._events = events
        self._subscription: Subscription = events.subscribe(queue_size)
        self._thread = SupervisedThread(
            "metrics-log", self._run, on_failure or self._publish_failure
        )
        self.written = 0
        self.run = ""
        self._started = False
        self._file: IO[str] | None = None

    @property
    def dropped(self) -> int:
        """Events lost because the queue overflowed."""
        return self._subscription.dropped

    def start(self) -> MetricsLog:
        """Open ``metrics.jsonl`` and start the writer thread; returns self.

        The file is opened here, not in the thread, so that a problem with it
        is the caller's error at once. It is never opened through a symbolic
        link, and must be this user's (see :mod:`engine.utils.owner_only`).

        Raises:
            OSError: If the file cannot be opened (``ForeignPathError`` for a
                link or another user's file).
        """
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._file = os.fdopen(append_owned(self.path), "a", encoding="utf-8")
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

    def _publish_failure(self, thread: str, exc: BaseException, tb: str) -> None:
        self._events.publish(
            ErrorOccurred(
                thread=thread,
                message=f"{thread} thread failed: {type(exc).__name__}: {exc}",
                traceback=tb,
            )
        )

    def _run(self) -> None:
        try:
            self._write_until_closed()
        finally:
            # A writer that failed must not keep collecting events nobody reads.
            self._subscription.close()

    def _write_until_closed(self) -> None:
        writer = self._tensorboard_writer() if self._use_tensorboard else None
        sub = self._subscription
        assert self._file is not None
        try:
            with self._file as file:
                while True:
                    event = sub.get(timeout=self._flush_interval)
                    if event is None:
                        file.flush()
                        if sub.closed:
                            break
                        continue
                    if isinstance(event, Metric):
                        self._write(file, writer, event)
                    for queued in sub.drain():
                        if isinstance(queued, Metric):
                            self._write(file, writer, queued)
        finally:
            if writer is not None:
                writer.close()

    def _write(self, file: IO[str], writer: Any, event: Metric) -> None:
        record = {
            "wall_time": event.wall_time,
            "source": event.source,
            "name": event.name,
            "value": event.value,
            "step": event.step,
            "run": self.run,
        }
        file.write(json.dumps(record) + "\n")
        self.written += 1
        if writer is not None:
            writer.add_scalar(
                f"{event.source}/{event.name}", event.value, event.step, event.wall_time
            )

    def _tensorboard_writer(self) -> Any:
        try:
            from .tensorboard_scalars import ScalarWriter
        except ImportError:
            # Half-installed TensorBoard: the JSON lines are the record that matters.
            return None
        return ScalarWriter(self.run_dir / TENSORBOARD_DIR)


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """Read ``<run_dir>/metrics.jsonl`` (skipping a torn last line)."""
    path = Path(run_dir) / METRICS_FILE
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
