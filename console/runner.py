"""A live run: the system, its run directory, control endpoint and metrics log.

:class:`Run` is shared by ``run --headless`` (:func:`run_headless`) and the
dashboard. It owns everything that lives exactly as long as the engine does.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from engine import System
from engine.scale import ScaleConfigError, connect_actors
from engine.telemetry.events import ErrorOccurred, Event
from engine.telemetry.metrics_log import MetricsLog
from engine.utils.owner_only import append_owned

from .config import BuiltRun
from .control_server import ControlHandler, ControlServer
from .curves import book_of
from .eventlog import Coalescer, LogLine
from .rundir import RunDir


class ActorsStartError(RuntimeError):
    """The actors of a ``backend = "ray"`` run could not be started (one line)."""


def _start_actors(system: System) -> None:
    """Start Ray and the run's actors, if it has any, on this (the main) thread.

    Raises:
        ActorsStartError: Saying in one line why they did not start.
    """
    try:
        connect_actors(system)
    except ScaleConfigError as e:
        raise ActorsStartError(str(e)) from None
    except Exception as e:
        first = (str(e).strip().splitlines() or [""])[0]
        raise ActorsStartError(
            f"the actors did not start: {type(e).__name__}: {first}"
        ) from None


class Run:
    """Runs a built config: run directory, engine, control socket, metrics.

    Args:
        built: The validated, built configuration.
    """

    def __init__(self, built: BuiltRun) -> None:
        self.built = built
        self.settings = built.settings
        self.system: System = built.system
        self.run_dir = RunDir(self.settings.run_dir)
        self.handler: ControlHandler | None = None
        self.server: ControlServer | None = None
        self.metrics: MetricsLog | None = None
        self._started = False
        self._remove_error_log = self.system.events.add_callback(self._log_error)
        # Headless prints every event and the dashboard shows them: logging's
        # default stderr handler would print them twice or draw over the screen.
        self.system.detach_logging()

    @property
    def errors_path(self) -> Path:
        """Where errors are written with their full tracebacks."""
        return self.run_dir.errors_path

    def _log_error(self, event: Event) -> None:
        # Errors are rare; writing them at once means a crash cannot lose them.
        if not isinstance(event, ErrorOccurred):
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event.wall_time))
        # Never through a link: the file must be this run's own (see rundir).
        with os.fdopen(append_owned(self.errors_path), "a", encoding="utf-8") as log:
            log.write(f"{stamp} {event.thread}: {event.message}\n{event.traceback}\n")

    def report_failures(self, out: TextIO) -> None:
        """Print the failures of a finished run and where their tracebacks are."""
        for failure in self.system.failures:
            print(f"error: {failure}", file=out, flush=True)
        if self.system.failures and self.errors_path.exists():
            print(f"tracebacks: {_rel(self.errors_path)}", file=out, flush=True)

    def start(self) -> None:
        """Claim the run directory, start the engine, then serve the control socket.

        Raises:
            RunDirError: If the run directory is in use.
            StateError: If the state to load (``--load``/``--resume``) is refused.
            OSError: If the socket cannot be bound.
            ActorsStartError: If a ``backend = "ray"`` run's actors did not start.
        """
        settings = self.settings
        self.run_dir.acquire(
            name=settings.name,
            config=str(settings.config_path.absolute()),
            states_dir=str(Path(settings.states_dir).absolute()),
            cwd=str(Path.cwd()),
        )
        try:
            # Before the engine starts, so that the curves start with its first
            # metric and its first events (the state loaded by --resume) are in
            # the history `events` returns.
            book_of(
                self.system,
                self.built.dashboard.plot_history,
                self.built.dashboard.plots,
            )
            self.handler = ControlHandler(
                self.system,
                {
                    "name": settings.name,
                    "pid": os.getpid(),
                    "run_dir": str(self.run_dir.path),
                    "config": str(settings.config_path),
                },
            )
            if settings.metrics:
                self.metrics = MetricsLog(
                    self.system.events,
                    self.run_dir.path,
                    on_failure=self.system.report_failure,
                ).start()
            # Ray and the actors before the engine: ray.init must run on
            # this thread, and a run whose actors cannot start never starts.
            _start_actors(self.system)
            self.system.start()
            self._started = True
            self.server = ControlServer(self.handler, self.run_dir.socket_path)
            self.server.start()
        except BaseException:
            # Whatever failed after the engine started, it must not keep running.
            if self._started:
                self.stop_and_wait("start-up failed")
            self.close()
            raise

    @property
    def exit_code(self) -> int:
        """0 after a clean stop, 1 if a thread failed."""
        return 1 if self.system.failures else 0

    def stop_and_wait(self, reason: str = "requested") -> None:
        """Stop the engine in order (final save) and wait for it."""
        self.system.shutdown(reason)
        if self._started:
            self.system.wait()

    def close(self) -> None:
        """Release everything (call after the engine stopped)."""
        if self.server is not None:
            self.server.stop()
            self.server = None
        elif self.handler is not None:
            self.handler.close()
        self.handler = None
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None
        self._remove_error_log()
        self.run_dir.release(self.exit_code)

    def describe(self) -> str:
        """One line saying where the run lives."""
        return (
            f"run '{self.settings.name}' (pid {os.getpid()}): run dir {_rel(self.run_dir.path)}, "
            f"states {_rel(Path(self.settings.states_dir))}, socket {_rel(self.run_dir.socket_path)}"
        )


def _rel(path: Path) -> str:
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@contextlib.contextmanager
def stop_on_signals(system: System) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM stop the system in order instead of killing it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        system.shutdown(f"{signal.Signals(signum).name} received")

    previous = {
        sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>.+)$')


_LIBRARY_DIRS = {"site-packages", "dist-packages"}
_STDLIB = Path(os.__file__).parent


def raised_at(traceback_text: str) -> str:
    """``file:line in function`` of the innermost frame of a formatted traceback
    that is not in an installed package or the standard library (else the innermost).
    """
    frames = [m for line in traceback_text.splitlines() if (m := _FRAME.match(line))]
    if not frames:
        return "an unknown place"
    own = [
        f
        for f in frames
        if not f["file"].startswith("<")  # <string>, <frozen importlib...>
        and _LIBRARY_DIRS.isdisjoint(Path(f["file"]).parts)
        and not Path(f["file"]).is_relative_to(_STDLIB)
    ]
    frame = (own or frames)[-1]
    return f"{_rel(Path(frame['file']))}:{frame['line']} in {frame['func']}"


def run_headless(built: BuiltRun, stream: TextIO | None = None) -> int:
    """Run without a UI, logging one line per event (bursts summed) to ``stream``.

    Returns:
        The exit code: 0 after a clean stop, 1 if a thread failed.
    """
    out = sys.stderr if stream is None else stream
    system = built.system
    run = Run(built)
    subscription = system.events.subscribe(maxsize=10_000)
    coalescer = Coalescer(window=1.0)

    def emit(lines: list[LogLine]) -> None:
        for line in lines:
            print(line.stamped(), file=out, flush=True)

    def feed(event: Event) -> None:
        emit(coalescer.feed(event))
        if isinstance(event, ErrorOccurred) and event.traceback:
            # Where it was raised, on one line; the traceback is in errors.log.
            where = raised_at(event.traceback)
            print(
                f"{' ' * 9}raised at {where} (traceback in {_rel(run.errors_path)})",
                file=out,
                flush=True,
            )

    with stop_on_signals(system):
        try:
            run.start()
        except BaseException:
            subscription.close()
            raise
        print(run.describe(), file=out, flush=True)
        try:
            while True:
                event = subscription.get(timeout=0.25)
                if event is not None:
                    feed(event)
                    continue
                emit(coalescer.flush())
                if system.wait(timeout=0):
                    for event in subscription.drain():
                        feed(event)
                    break
            emit(coalescer.flush(force=True))
        finally:
            subscription.close()
            run.stop_and_wait("console exiting")
            run.close()
    run.report_failures(out)
    return run.exit_code
