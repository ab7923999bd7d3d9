"""Launch settings (PAMIQ-Core's ``LaunchConfig`` plus our own)."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .runtime.guards import GuardSettingError, GuardSettings
from .state.store import DEFAULT_NAME_FORMAT
from .state_persistence.keepers import StatesKeeper
from .time import InvalidTimeScaleError


class LaunchConfigError(ValueError):
    """A :class:`LaunchConfig` field with a value it cannot take.

    Attributes:
        field: The field's name.
        problem: What is wrong with the value, e.g. ``must be > 0, got 0``.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"LaunchConfig.{field} {problem}")


class InvalidLaunchTimeScaleError(LaunchConfigError, InvalidTimeScaleError):
    """An invalid ``LaunchConfig.time_scale`` (also what PAMIQ-Core programs catch)."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _finite_positive(value: Any) -> str | None:
    number = _number(value)
    if number is None or not 0 < number < math.inf:
        return f"must be a finite number > 0, got {value!r}"
    return None


def _positive(value: Any) -> str | None:
    number = _number(value)
    if number is None or not number > 0:
        return f"must be > 0, got {value!r}"
    return None


def _at_least_one(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return f"must be >= 1, got {value!r}"
    return None


def _optional(check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    return lambda value: None if value is None else check(value)


def _state_name_format(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a strftime format string, got {value!r}"
    if "/" in value or "\\" in value:
        return f"must not contain a path separator, got {value!r}"
    if not value.endswith(".state"):
        return (
            f"must end with '.state' (so the states can be found again), got {value!r}"
        )
    return None


def _web_api_address(value: Any) -> str | None:
    if value is None:
        return None
    if (
        not isinstance(value, tuple | list)
        or len(value) != 2
        or not isinstance(value[0], str)
        or isinstance(value[1], bool)
        or not isinstance(value[1], int)
        or not 0 <= value[1] <= 65535
    ):
        return f"must be (host, port) with a port in 0..65535, or None, got {value!r}"
    return None


def _plots(value: Any) -> str | None:
    if not isinstance(value, tuple | list) or not all(
        isinstance(k, tuple | list)
        and len(k) == 2
        and all(isinstance(part, str) for part in k)
        for k in value
    ):
        return f"must be a sequence of (source, metric) pairs, got {value!r}"
    return None


# Every value check, once: configs (console.config) report these same problems
# under their own key names.
_CHECKS: tuple[tuple[str, Callable[[Any], str | None]], ...] = (
    ("time_scale", _finite_positive),
    ("timeout_for_all_threads_pause", _finite_positive),
    ("max_attempts_to_pause_all_threads", _at_least_one),
    ("max_uptime", _positive),
    ("save_state_interval", _positive),
    ("max_keep_states", _optional(_at_least_one)),
    ("gil_switch_interval", _optional(_finite_positive)),
    ("trainability_poll_interval", _finite_positive),
    ("state_name_format", _state_name_format),
    ("web_api_address", _web_api_address),
    ("curve_history", _at_least_one),
    ("metrics_max_mb", _positive),
    ("metrics_keep", _at_least_one),
    ("plots", _plots),
)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or an address in 127.0.0.0/8 or ``::1``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class LaunchConfig:
    """How a system runs, saves and stops.

    PAMIQ-Core's fields keep their names and defaults but one:
    ``web_api_address`` is None, where PAMIQ-Core serves its unauthenticated
    web API on ``("localhost", 8391)`` unless told not to; here it is served
    only where a program asks for it. Every run serves the console (an
    owner-only control socket in its run directory) unless ``console=False``.

    Attributes:
        states_dir: Where states are saved.
        state_name_format: ``strftime`` format of state directory names.
        saved_state_path: A state to load before starting, or ``"latest"``: the
            newest state in ``states_dir`` that verifies (an error if there is
            none, where ``resume`` starts fresh).
        save_state_condition: Called by the control thread 20 times a second
            (``engine.runtime.control_loop.SAVE_CONDITION_PERIOD``), paused or not; True
            triggers a save (e.g. :class:`engine.state_persistence.PeriodicSaveCondition`).
            Keep it cheap: it runs on the control thread.
        states_keeper: Told of each save with ``append(path)``, then ``cleanup()``
            deletes what it selects (e.g. :class:`engine.state_persistence.LatestStatesKeeper`);
            works next to ``max_keep_states``.
        save_state_interval: Seconds of wall time between periodic saves (inf: none).
        timeout_for_all_threads_pause: Seconds a pause may wait for the workers.
        max_attempts_to_pause_all_threads: Pause attempts before a save gives up.
        max_uptime: Engine seconds after which the system stops (inf: never).
        web_api_address: Serve PAMIQ-Core's web API (``GET /api/status``,
            ``POST /api/pause`` ...) on ``(host, port)``, beside the console's
            socket (None: not served). Unauthenticated, as PAMIQ-Core's is:
            a loopback host only, unless ``web_api_allow_remote``.
        web_api_command_queue_size: Web API commands waiting to be carried out
            (a request beyond that is answered 503, as PAMIQ-Core does).
        log_tick_time_statistics_interval: Accepted and ignored (see ``status()``).
        time_scale: Engine seconds per real second.
        name: The run's name, shown in status, manifests and ``pamiq-console ps``
            (None: the program's file name, e.g. ``train`` for
            ``python src/train.py``; ``NAME-2``... while a run of that name is live).
        resume: Load the newest complete state in ``states_dir`` before starting.
        max_keep_states: Keep only the newest N states (None: keep all).
        save_final_state: Save a state when the system stops.
        gil_switch_interval: ``sys.setswitchinterval`` while running, so a busy
            trainer cannot delay the agent by whole milliseconds (None: leave it).
        trainability_poll_interval: How often a trainer with a custom
            ``is_trainable`` is re-checked while nothing trains.
        durable_saves: fsync saved states (survive power loss, not just crashes).
        console: Serve the console: a run directory with ``run.json``,
            ``errors.log`` and ``metrics.jsonl``, an owner-only control socket
            in it, and an entry in this user's registry of live runs, so
            ``pamiq-console ps/status/pause/attach`` reach the run from anywhere.
        run_dir: The run directory (None: ``runs/<name>`` under
            ``$PAMIQ_RUNS_DIR``, else under the working directory).
        metrics: Write agent and trainer metrics to ``<run_dir>/metrics.jsonl``
            (and TensorBoard scalars with the ``tensorboard`` extra).
        metrics_max_mb: Size (MiB) at which ``metrics.jsonl`` is rotated to
            ``metrics.jsonl.1`` (inf: never).
        metrics_keep: Rotated metrics files kept (``metrics.jsonl.1`` ...
            ``.N``): a run holds at most ``(metrics_keep + 1) * metrics_max_mb``
            MiB of metrics.
        origin: What started the run, as ``pamiq-console ps`` shows it (None:
            this program's command line; the console sets the config file).
        curve_history: Points kept per learning curve (pairs merge when full).
        plots: Learning curves the dashboard shows first, as (source, metric).
        web_api_allow_remote: Serve the unauthenticated web API on a host that
            is not a loopback address.
        mlflow_tracking_uri: Also log metrics to MLflow there
            (``sqlite:///mlflow.db``, ``http://host:5000``; needs the ``mlflow``
            extra; None: not at all). See :mod:`engine.telemetry.mlflow_sink`.
        mlflow_experiment: The MLflow experiment (None: the run's name).
        mlflow_params: Parameters logged to the MLflow run (nested mappings
            are flattened to ``a.b.c``; the console passes the config's tables).
        guards: What the guards watch for and do: a
            :class:`~engine.runtime.guards.GuardSettings` or a mapping of its
            fields (``non_finite``, ``agent_stall_seconds``,
            ``untrainable_minutes``); None: the defaults.
    """

    states_dir: str | Path = Path("./states")
    state_name_format: str = DEFAULT_NAME_FORMAT
    saved_state_path: str | Path | None = None
    save_state_condition: Callable[[], bool] | None = None
    states_keeper: StatesKeeper | None = None
    save_state_interval: float = math.inf
    timeout_for_all_threads_pause: float = 60.0
    max_attempts_to_pause_all_threads: int = 3
    max_uptime: float = math.inf
    web_api_address: tuple[str, int] | None = None
    web_api_command_queue_size: int = 1
    log_tick_time_statistics_interval: float = 60.0
    time_scale: float = 1.0
    name: str | None = None
    resume: bool = False
    max_keep_states: int | None = None
    save_final_state: bool = True
    gil_switch_interval: float | None = 0.0005
    trainability_poll_interval: float = 0.5
    durable_saves: bool = True
    console: bool = True
    run_dir: str | Path | None = None
    metrics: bool = True
    metrics_max_mb: float = 64.0
    metrics_keep: int = 3
    origin: str | None = None
    curve_history: int = 512
    plots: tuple[tuple[str, str], ...] = ()
    web_api_allow_remote: bool = False
    mlflow_tracking_uri: str | None = None
    mlflow_experiment: str | None = None
    mlflow_params: Mapping[str, Any] | None = None
    guards: GuardSettings | Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        for name, check in _CHECKS:
            problem = check(getattr(self, name))
            if problem is not None:
                error = (
                    InvalidLaunchTimeScaleError
                    if name == "time_scale"
                    else LaunchConfigError
                )
                raise error(name, problem)
        if self.save_state_condition is not None and not callable(
            self.save_state_condition
        ):
            raise TypeError(
                "LaunchConfig.save_state_condition must be a callable returning bool, "
                f"got {self.save_state_condition!r}"
            )
        keeper = self.states_keeper
        if keeper is not None and not (
            callable(getattr(keeper, "append", None))
            and callable(getattr(keeper, "cleanup", None))
        ):
            raise TypeError(
                "LaunchConfig.states_keeper must have append(path) and cleanup() "
                f"methods (a StatesKeeper), got {keeper!r}"
            )
        if self.web_api_address is not None and not self.web_api_allow_remote:
            host = self.web_api_address[0]
            if not is_loopback(host):
                raise LaunchConfigError(
                    "web_api_address",
                    f"{tuple(self.web_api_address)!r}: the web API is "
                    "unauthenticated; serve it on a loopback host (127.0.0.1, "
                    "localhost, ::1), or set web_api_allow_remote=True to expose it",
                )
        try:
            # one form from here on: GuardSettings
            object.__setattr__(self, "guards", GuardSettings.from_value(self.guards))
        except GuardSettingError as e:
            where = f"guards.{e.key}" if e.key else "guards"
            raise LaunchConfigError(where, e.problem) from None
        if self.mlflow_tracking_uri is not None:
            from .telemetry.mlflow_sink import INSTALL_HINT, mlflow_available

            if not str(self.mlflow_tracking_uri).strip():
                raise LaunchConfigError("mlflow_tracking_uri", "must not be empty")
            if not mlflow_available():
                raise LaunchConfigError("mlflow_tracking_uri", f"needs {INSTALL_HINT}")
        if self.resume and self.saved_state_path is not None:
            raise ValueError(
                "LaunchConfig: give resume=True or saved_state_path, not both"
            )

    @classmethod
    def from_value(
        cls, config: Mapping[str, Any] | LaunchConfig | None
    ) -> LaunchConfig:
        """Accept a config, a mapping of its fields, or None (defaults).

        Raises:
            TypeError: For a key that is not a field.
        """
        if config is None:
            return cls()
        if isinstance(config, LaunchConfig):
            return config
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise TypeError(f"LaunchConfig has no field(s) {', '.join(unknown)}")
        return cls(**config)
