"""A console run of a built config: its actors, the engine, and what the terminal shows.

:class:`Run` is shared by ``run --headless`` (:func:`run_headless`) and the
dashboard.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from engine import System
from engine.runtime.signals import stop_on_signals as engine_stop_on_signals
from engine.scale import ScaleConfigError, connect_actors
from engine.services.control_server import ControlHandler
from engine.services.run_dir import RunDir
from engine.services.run_services import RunServices
from engine.state.persistence import StateError
from engine.telemetry.events import ErrorOccurred, Event

from .config import BuiltRun
from .eventlog import Coalescer, LogLine
from .hangup import say


class ActorsStartError(RuntimeError):
    """The actors of a ``backend = "ray"`` run could not be started (one line)."""


class RunStartError(RuntimeError):
    """The run could not start: its run directory or socket could not be made
    (one line; an OSError from later is not the start's)."""


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
    """Runs a built config: its actors (if any) and the engine, which serves the run.

    The run directory, control socket, metrics and curves are the engine's own
    (:class:`engine.services.run_services.RunServices`): a TOML run gets exactly
    what a program that calls ``launch()`` gets. This adds what only the
    console does: Ray actors from ``[scale]``, and reporting to the terminal.

    Args:
        built: The validated, built configuration.
    """

    def __init__(self, built: BuiltRun) -> None:
        self.built = built
        self.settings = built.settings
        self.system: System = built.system
        if self.system.services is None:
            raise ValueError("a console run serves the console (console=True)")
        self.services: RunServices = self.system.services
        self._started = False
        # Headless prints every event and the dashboard shows them: logging's
        # default stderr handler would print them twice or draw over the screen.
        self.system.detach_logging()

    @property
    def run_dir(self) -> RunDir:
        """The run directory (claimed once started)."""
        assert self.services.run_dir is not None, "the run has not started"
        return self.services.run_dir

    @property
    def handler(self) -> ControlHandler:
        """What answers the control socket (while the run is live)."""
        assert self.services.handler is not None, "the run is not live"
        return self.services.handler

    @property
    def errors_path(self) -> Path:
        """Where errors are written with their full tracebacks."""
        return self.services.errors_path

    def report_failures(self, out: TextIO) -> None:
        """Print the failures of a finished run and where their tracebacks are."""
        for failure in self.system.failures:
            say(f"error: {failure}", out)
        if self.system.failures and self.errors_path.exists():
            say(f"tracebacks: {_rel(self.errors_path)}", out)

    def start(self) -> None:
        """Start the actors (if any), then the engine, which claims the run directory
        and serves the control socket.

        Raises:
            RunDirError: If the run directory is in use.
            StateError: If the state to load (``--load``/``--resume``) is refused.
            RunStartError: If the run directory or the socket cannot be made.
            ActorsStartError: If a ``backend = "ray"`` run's actors did not start.
        """
        try:
            self._start()
        except StateError:
            raise  # some are also OSErrors (a state not found): said as states
        except OSError as e:
            raise RunStartError(str(e)) from e

    def _start(self) -> None:
        # The run directory first: Ray logs to it.
        self.services.open()
        try:
            # Ray and the actors before the engine: ray.init must run on
            # this thread, and a run whose actors cannot start never starts.
            _start_actors(self.system)
            self.system.start()
        except BaseException:
            self.services.close(exit_code=2)  # refused: nothing ran
            raise
        self._started = True

    @property
    def exit_code(self) -> int:
        """0 after a clean stop, 1 if a thread failed."""
        return 1 if self.system.failures else 0

    def stop_and_wait(self, reason: str = "requested") -> None:
        """Stop the engine in order (final save) and wait for it; the run's
        services close with it."""
        self.system.shutdown(reason)
        if self._started:
            self.system.wait()

    def describe(self) -> str:
        """One line saying where the run lives."""
        socket = self.services.socket_path or self.services.run_dir_path
        return (
            f"run '{self.system.name}' (pid {os.getpid()}): run dir "
            f"{_rel(self.services.run_dir_path)}, states "
            f"{_rel(Path(self.settings.states_dir))}, socket {_rel(socket)}"
        )


def _rel(path: Path) -> str:
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@contextlib.contextmanager
def stop_on_signals(system: System) -> Iterator[None]:
    """While inside, SIGINT, SIGTERM and SIGHUP (a closed terminal) stop the
    system in order (final save) instead of killing it; a SIGHUP ignored from the
    start (``nohup``) stays ignored."""
    with engine_stop_on_signals(system.shutdown):
        yield


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
            say(line.stamped(), out)

    def feed(event: Event) -> None:
        emit(coalescer.feed(event))
        if isinstance(event, ErrorOccurred) and event.traceback:
            # Where it was raised, on one line; the traceback is in errors.log.
            where = raised_at(event.traceback)
            say(
                f"{' ' * 9}raised at {where} (traceback in {_rel(run.errors_path)})",
                out,
            )

    with stop_on_signals(system):
        try:
            run.start()
        except BaseException:
            subscription.close()
            raise
        try:
            say(run.describe(), out)
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
    run.report_failures(out)
    return run.exit_code
