"""What every run has beside its threads, however it was started.

:class:`RunServices` is made by :class:`engine.System` when its
``LaunchConfig.console`` is on (the default): a program that calls
``launch(...)`` and ``pamiq-console run CONFIG`` get the same run directory
(``run.json``, ``errors.log``, ``metrics.jsonl``, TensorBoard scalars with the
extra), the same control socket the console talks to, the learning-curve
history, an entry in the per-user registry of live runs, and PAMIQ-Core's web
API where the program asks for it.

Its life follows the system's: :meth:`RunServices.open` before the engine
starts (the run directory is claimed and the curves and metrics record from the
first event), :meth:`RunServices.serve` once it runs (the endpoints answer and
the registry lists it), :meth:`RunServices.close` after the final save.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import sys
import threading
import time as _time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..host.owner_only import append_owned, append_whole
from ..state.catalogue import list_states
from ..telemetry.events import ErrorOccurred, Event, LogMessage
from ..telemetry.metrics_log import MetricsLog
from ..telemetry.mlflow_sink import MlflowSink
from .control_server import ControlHandler, ControlServer
from .curves import CurveBook
from .registry import Registration, RegistryError, register
from .run_dir import RunDir, RunDirError, RunInfo

if TYPE_CHECKING:
    from .served import ServedSystem
    from .web_api import WebApiServer

RUNS_DIR_ENV = "PAMIQ_RUNS_DIR"
"""Where runs started from Python keep their run directories when
``LaunchConfig.run_dir`` is not set (default ``./runs``)."""
DEFAULT_RUNS_DIR = Path("runs")
RUN_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
"""A run's name: it names a directory, so letters, digits and ``_.-``."""
FALLBACK_NAME = "pamiq"
MAX_NAME_SUFFIX = 99
"""``train``, ``train-2``, ... ``train-99``: the run directories a program's
default name may take when earlier ones are live."""


def program_run_name(argv: list[str] | None = None) -> str:
    """The run name a program gets by default: its script's name.

    ``python src/train.py`` is ``train``; ``python -m pkg.train`` is
    ``train`` too (``-m pkg`` runs ``pkg/__main__.py``: ``pkg``). An
    interactive interpreter or ``-c`` gives ``pamiq``.
    """
    args = sys.argv if argv is None else argv
    first = args[0] if args else ""
    if first in ("", "-c", "-"):
        return FALLBACK_NAME
    path = Path(first)
    stem = path.parent.name if path.stem == "__main__" else path.stem
    return safe_run_name(stem)


def safe_run_name(text: str) -> str:
    """``text`` made into a valid run name (invalid characters become ``_``)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", text).lstrip(".-")
    return name if name and RUN_NAME_RE.match(name) else FALLBACK_NAME


def program_origin() -> str:
    """This process's command line, as ``ps`` shows what started a run."""
    args = list(sys.argv) or ["python"]
    if args[0] and args[0] not in ("-c", "-"):
        args[0] = str(Path(args[0]).absolute())
    return shlex.join(["python", *args])


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def default_runs_dir() -> Path:
    """``$PAMIQ_RUNS_DIR``, else ``./runs``."""
    return Path(os.environ.get(RUNS_DIR_ENV) or DEFAULT_RUNS_DIR)


class RunServices:
    """The run directory, control endpoint, curves, metrics and registry entry of a run.

    Args:
        system: The system they serve (its ``config`` says where and what).
        name_given: Whether the program named the run (else a live run of the
            same program makes this one take ``NAME-2``, ``NAME-3``, ...).
    """

    def __init__(self, system: ServedSystem, name_given: bool = True) -> None:
        self._system = system
        config = system.config
        self._name_given = name_given or config.run_dir is not None
        self.origin = config.origin or program_origin()
        """What started the run: the config file, or this program's command line."""
        self.curves = CurveBook(
            config.curve_history, plots=config.plots, publish=system.events.publish
        )
        """The run's learning curves, recorded from its first metric, saved and
        loaded with its states (so they go on across resumes and loads)."""
        self._remove_curves = system.events.add_callback(self.curves.record)
        system.store.register("curves", self.curves, optional=True)
        self.run_dir: RunDir | None = None
        self.handler: ControlHandler | None = None
        self.server: ControlServer | None = None
        self.metrics: MetricsLog | None = None
        self.mlflow: MlflowSink | None = None
        self.web_api: WebApiServer | None = None
        self._registration: Registration | None = None
        self._remove_error_log: Any = None
        self._released = False
        # serve() runs on the starting thread, close() on the control thread:
        # a run whose thread failed at once may close before it is served.
        self._lock = threading.Lock()

    @property
    def run_dir_path(self) -> Path:
        """Where the run directory is (or will be, before :meth:`open`)."""
        if self.run_dir is not None:
            return self.run_dir.path
        return self._path_for(self._system.name)

    def _path_for(self, name: str) -> Path:
        configured = self._system.config.run_dir
        if configured is not None:
            return Path(configured).absolute()
        return (default_runs_dir() / safe_run_name(name)).absolute()

    @property
    def errors_path(self) -> Path:
        """Where errors are written with their full tracebacks."""
        return self.run_dir_path / "errors.log"

    @property
    def socket_path(self) -> Path | None:
        """The control socket (None before :meth:`open`)."""
        return None if self.run_dir is None else self.run_dir.socket_path

    @property
    def telemetry_dropped(self) -> int:
        """Metrics dropped because ``metrics.jsonl`` could not be written (a full disk)."""
        return 0 if self.metrics is None else self.metrics.unwritten

    def _info(self) -> dict[str, Any]:
        config = self._system.config
        return {
            "name": config.name,
            "origin": self.origin,
            "states_dir": str(Path(self._system.store.states_dir).absolute()),
            "cwd": str(Path.cwd()),
            **({"config": str(config.origin)} if config.origin else {}),
        }

    def open(self) -> None:
        """Claim the run directory, and record curves, metrics and errors from now on.

        Idempotent: a program that starts more beside the engine (the console's
        Ray actors, which log to the run directory) opens it first.

        Raises:
            RunDirError: If the run directory is in use or cannot be made private.
        """
        if self.run_dir is not None and not self._released:
            return
        self.run_dir = self._claim()
        self._released = False
        previous = self.run_dir.previous
        if previous is not None and previous.ended_without_stopping:
            self._system.events.publish(
                LogMessage(level="warning", message=self._unclean(previous))
            )
        try:
            self._remove_error_log = self._system.events.add_callback(self._log_error)
            info = self._info()
            self.handler = ControlHandler(
                self._system,
                self.curves,
                {
                    "name": info["name"],
                    "pid": os.getpid(),
                    "run_dir": str(self.run_dir.path),
                    "config": info.get("config", info["origin"]),
                    "origin": info["origin"],
                },
            )
            config = self._system.config
            if config.metrics:
                self.metrics = MetricsLog(
                    self._system.events,
                    self.run_dir.path,
                    on_failure=self._system.report_failure,
                    max_bytes=(
                        None
                        if math.isinf(config.metrics_max_mb)
                        else max(1, int(config.metrics_max_mb * (1 << 20)))
                    ),
                    keep=config.metrics_keep,
                ).start()
            if config.mlflow_tracking_uri is not None:
                self.mlflow = self._mlflow(config.mlflow_tracking_uri, info)
        except BaseException:
            self.close(exit_code=2)
            raise

    def _mlflow(self, tracking_uri: str, info: dict[str, Any]) -> MlflowSink:
        assert self.run_dir is not None
        config = self._system.config
        name = str(config.name or info["name"])
        return MlflowSink(
            self._system.events,
            tracking_uri,
            experiment=config.mlflow_experiment or name,
            run_name=name,
            params=config.mlflow_params,
            tags={
                "pamiq.run_dir": str(self.run_dir.path),
                "pamiq.origin": str(info["origin"]),
                "pamiq.pid": str(os.getpid()),
            },
            on_failure=self._system.report_failure,
        ).start()

    def _unclean(self, previous: RunInfo) -> str:
        line = previous.unclean_end()
        usable = [
            i for i in list_states(Path(self._system.store.states_dir)) if not i.problem
        ]
        if not usable:
            return f"{line}; no saved state to resume from"
        newest = usable[-1]
        try:
            age = f" ({_ago(_time.time() - newest.created)} old)"
        except OSError:
            age = ""
        return f"{line}; newest state {newest.name}{age}"

    def _claim(self) -> RunDir:
        """Acquire the run directory; a default name steps aside for a live run."""
        system = self._system
        base = system.name
        attempts = 1 if self._name_given else MAX_NAME_SUFFIX
        for n in range(1, attempts + 1):
            name = base if n == 1 else f"{base}-{n}"
            run_dir = RunDir(self._path_for(name))
            info = self._info() | {"name": name}
            try:
                run_dir.acquire(**info)
            except RunDirError as e:
                if n == attempts or not e.in_use:
                    raise
                continue
            if name != base:
                system.rename(name)
            return run_dir
        raise AssertionError("unreachable")

    def serve(self) -> None:
        """Open the control socket (and the web API), then list the run in the registry.

        Raises:
            OSError: If the control socket cannot be bound.
            WebApiError: If the web API was asked for and cannot be served.
        """
        with self._lock:
            if self._released:
                return  # it stopped before it could be served (a thread failed)
            self._serve()

    def _serve(self) -> None:
        assert self.run_dir is not None and self.handler is not None
        system = self._system
        config = system.config
        self.server = ControlServer(self.handler, self.run_dir.socket_path)
        self.server.start()
        if config.web_api_address is not None:
            from .web_api import WebApiServer

            self.web_api = WebApiServer(
                system,
                config.web_api_address,
                queue_size=config.web_api_command_queue_size,
                allow_remote=config.web_api_allow_remote,
            )
            self.web_api.start()
            system.events.publish(
                LogMessage(
                    level="warning", message=f"serving {self.web_api.describe()}"
                )
            )
        try:
            self._registration = register(
                name=system.name,
                run_dir=self.run_dir.path,
                socket=self.run_dir.socket_path,
                origin=self.origin,
            )
        except RegistryError as e:
            # The run is still reachable with --run DIR; only `ps` misses it.
            system.events.publish(
                LogMessage(
                    level="warning", message=f"not in the list of live runs: {e}"
                )
            )
        system.events.publish(
            LogMessage(
                level="info",
                message=(
                    f"console: pamiq-console attach --run {self.run_dir.path} "
                    f"(run directory {self.run_dir.path})"
                ),
            )
        )

    def _log_error(self, event: Event) -> None:
        # Errors are rare; writing them at once means a crash cannot lose them.
        if not isinstance(event, ErrorOccurred) or self.run_dir is None:
            return
        stamp = _time.strftime("%Y-%m-%d %H:%M:%S", _time.localtime(event.wall_time))
        text = f"{stamp} {event.thread}: {event.message}\n{event.traceback}\n"
        try:
            # Never through a link: the file must be this run's own (see run_dir).
            fd = append_owned(self.errors_path)
            try:
                append_whole(fd, text.encode(errors="backslashreplace"))
            finally:
                os.close(fd)
        except OSError:
            # A full disk: the error still reaches the events and the status,
            # and stopping in order (with a final save) must not wait on it.
            pass

    def close(self, exit_code: int) -> None:
        """Stop serving, leave the registry, and record in ``run.json`` how the run ended.

        Idempotent; call after the final save.
        """
        with self._lock:
            self._close(exit_code)

    def _close(self, exit_code: int) -> None:
        if self._registration is not None:
            self._registration.remove()
            self._registration = None
        if self.web_api is not None:
            self.web_api.stop()
            self.web_api = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        elif self.handler is not None:
            self.handler.close()
        self.handler = None
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None
        if self.mlflow is not None:
            self.mlflow.close(failed=exit_code != 0)
            self.mlflow = None
        if self._remove_error_log is not None:
            self._remove_error_log()
            self._remove_error_log = None
        if self.run_dir is not None and not self._released:
            self._released = True
            self.run_dir.release(exit_code)
