"""The ``[system]`` table: the run's name and directories, and the engine's launch settings.

Its schema is :class:`SystemTable` (pydantic, like ``TrainingConfiguration``):
key names, types and meanings. The values of launch settings are checked by
:class:`engine.LaunchConfig` itself, once, and its problems are reported under
the key the config used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

from engine import LaunchConfig
from engine.launch_config import LaunchConfigError
from engine.services.run_services import RUN_NAME_RE
from engine.services.state_choice import to_start_from

from .errors import ConfigError, suggest, validation_problem

SECTIONS = (
    "system",
    "interaction",
    "models",
    "buffers",
    "trainers",
    "scale",
    "dashboard",
    "guards",
)
"""The top-level tables of a config."""

_NAME_RE = RUN_NAME_RE


def _launch(alias: str | None = None, **kwargs: Any) -> Any:
    """A key passed on to :class:`LaunchConfig` (under ``alias`` in the file, if given)."""
    return Field(None, alias=alias, json_schema_extra={"launch": True}, **kwargs)


def _is_launch_field(info: FieldInfo) -> bool:
    """Whether a field was made by :func:`_launch` (pydantic also allows a
    callable ``json_schema_extra``, which no launch field has)."""
    extra = info.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("launch"))


class SystemTable(BaseModel):
    """The keys of ``[system]``: the console's own, then the launch settings.

    Every key is optional; an unset launch setting keeps ``LaunchConfig``'s default.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str | None = Field(None, description="Run name (default: the file's stem).")
    runs_dir: str = Field("runs", description="Where run directories are made.")
    run_dir: str | None = Field(
        None, description="This run's directory (default '<runs_dir>/<name>')."
    )
    states_dir: str | None = Field(
        None, description="Where states are saved (default '<run_dir>/states')."
    )
    metrics: bool = Field(
        True, description="Write agent and trainer metrics to <run_dir>/metrics.jsonl."
    )
    metrics_max_mb: float | None = _launch(
        description="Rotate metrics.jsonl at this size in MiB (default 64)."
    )
    metrics_keep: int | None = _launch(
        description="Rotated metrics files kept: metrics.jsonl.1 ... .N (default 3)."
    )
    time_scale: float | None = _launch(description="Engine seconds per real second.")
    max_uptime: float | None = _launch(
        description="Stop after this many engine seconds (default: never)."
    )
    save_state_interval: float | None = _launch(
        "save_interval", description="Save every N seconds of wall time."
    )
    max_keep_states: int | None = _launch(
        "keep_last", description="Keep only the newest N states."
    )
    gil_switch_interval: float | None = _launch(
        description="sys.setswitchinterval while running (seconds)."
    )
    resume: bool | None = _launch(description="Load the newest state before starting.")
    save_final_state: bool | None = _launch(
        description="Save a state when the run stops."
    )
    durable_saves: bool | None = _launch(
        description="fsync states as they are written."
    )
    trainability_poll_interval: float | None = _launch(
        description="Re-check a custom is_trainable every N seconds."
    )
    timeout_for_all_threads_pause: float | None = _launch(
        "pause_timeout", description="Seconds a pause may wait for the threads."
    )
    max_attempts_to_pause_all_threads: int | None = _launch(
        "pause_attempts", description="Pause attempts before a save gives up."
    )
    mlflow_tracking_uri: str | None = _launch(
        description=(
            "Also log metrics to MLflow there (sqlite:///mlflow.db, http://host:5000)."
        )
    )
    mlflow_experiment: str | None = _launch(
        description="The MLflow experiment (default: the run's name)."
    )
    state_name_format: str | None = _launch(
        description="strftime format of state directory names (ends in .state)."
    )

    @classmethod
    def keys(cls) -> dict[str, str]:
        """Each key as written in a config, with its meaning."""
        return {
            field.alias or name: field.description or ""
            for name, field in cls.model_fields.items()
        }

    @classmethod
    def key_of(cls, field: str) -> str:
        """The config key of a field (of this table or of ``LaunchConfig``)."""
        info = cls.model_fields.get(field)
        return (info.alias or field) if info is not None else field

    def launch_settings(self) -> dict[str, Any]:
        """The launch settings the config set, by ``LaunchConfig`` field name."""
        fields = type(self).model_fields
        return {
            name: getattr(self, name)
            for name in self.model_fields_set
            if _is_launch_field(fields[name])
        }


@dataclasses.dataclass
class RunSettings:
    """The console-level settings of a run, resolved from ``[system]``.

    Attributes:
        name: The run's name.
        config_path: The config file.
        run_dir: The run directory (control socket, run.json, metrics.jsonl).
        states_dir: Where states are saved.
        launch: The engine's launch configuration.
        metrics: Whether to write metrics.jsonl.
        runs_dir: Where runs of this config live (``system.runs_dir``), where
            the commands look for its runs by name.
    """

    name: str
    config_path: Path
    run_dir: Path
    states_dir: Path
    launch: LaunchConfig
    metrics: bool = True
    runs_dir: Path | None = None


def apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    """Set ``[system]`` keys from command-line options (None values are skipped)."""
    system = raw.setdefault("system", {})
    if not isinstance(system, dict):
        return
    for key, value in overrides.items():
        if value is not None:
            system[key] = value


def resolve_settings(
    raw: Mapping[str, Any],
    config_path: str | Path,
    cwd: Path | None = None,
    start_from: str | None = None,
) -> RunSettings:
    """Check ``[system]`` and resolve the run's directories and launch config.

    Args:
        raw: The parsed TOML.
        config_path: The config file (for messages and the default name).
        cwd: Directory that relative paths are resolved against (default: cwd).
        start_from: A state to load before starting: a path, a name in the
            states directory, or ``latest`` (the newest that verifies).

    Raises:
        ConfigError: For an unknown section or key, a wrong type or an
            out-of-range value, and for a config without ``[interaction]``.
    """
    file = Path(config_path)
    cwd = Path.cwd() if cwd is None else cwd
    for section in raw:
        if section not in SECTIONS:
            raise ConfigError(
                file,
                section,
                f"unknown section{suggest(section, SECTIONS)} "
                f"(expected one of: {', '.join(SECTIONS)})",
            )
    system = raw.get("system", {})
    if not isinstance(system, Mapping):
        raise ConfigError(file, "system", "must be a table")
    try:
        table = SystemTable.model_validate(dict(system))
    except ValidationError as e:
        key, problem = validation_problem(e, "system", system, SystemTable.keys())
        raise ConfigError(file, key, problem) from None
    if "interaction" not in raw:
        # The first thing to fix in an empty or half-written config.
        raise ConfigError(
            file, "interaction", "missing section (an agent and an environment)"
        )
    name = table.name if table.name is not None else file.stem
    if not _NAME_RE.match(name):
        origin = "" if table.name is not None else " (taken from the file name)"
        raise ConfigError(
            file,
            "system.name",
            f"{name!r}{origin} is not a valid run name: use letters, digits and "
            "_.- and do not start with '.' or '-'",
        )
    runs_dir = cwd / table.runs_dir
    run_dir = cwd / table.run_dir if table.run_dir is not None else runs_dir / name
    states_dir = (
        cwd / table.states_dir if table.states_dir is not None else run_dir / "states"
    )
    extra: dict[str, Any] = {}
    if start_from is not None:
        extra["saved_state_path"] = to_start_from(start_from, states_dir)
    guards = raw.get("guards")
    if guards is not None:
        if not isinstance(guards, Mapping):
            raise ConfigError(file, "guards", "must be a table")
        extra["guards"] = dict(guards)
    if table.mlflow_tracking_uri is not None:
        # the MLflow run's parameters: every value of the config
        extra["mlflow_params"] = raw
    try:
        settings = LaunchConfig(
            **table.launch_settings(),
            **extra,
            name=name,
            states_dir=states_dir,
            run_dir=run_dir,
            metrics=table.metrics,
            origin=str(file.absolute()),
        )
    except LaunchConfigError as e:
        if e.field.startswith("guards"):
            raise ConfigError(file, e.field, e.problem) from None
        raise ConfigError(
            file, f"system.{SystemTable.key_of(e.field)}", e.problem
        ) from None
    except (TypeError, ValueError) as e:
        raise ConfigError(file, "system", str(e)) from None
    return RunSettings(
        name=name,
        config_path=file,
        run_dir=run_dir,
        states_dir=states_dir,
        launch=settings,
        metrics=table.metrics,
        runs_dir=runs_dir,
    )
