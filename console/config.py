"""Run configuration: a TOML file checked in full, then built into a :class:`engine.System`.

A config names every component by import path (``target = "package.module:Name"``)
with its constructor arguments as the other keys of the same table. Any table
(or inline table) that has a ``target`` key is built recursively, so a network
can be an argument of a model. Everything is checked before anything runs:
unknown keys, wrong types, import paths, argument names, and the names that
trainers and agents use for buffers and models. Each problem is reported as one
line ``FILE: key.path: problem`` (:class:`ConfigError`).

Relative paths (``system.runs_dir``, ``system.run_dir``, ``system.states_dir``,
``--states-dir``, ``--load``) are relative to the current working directory, like
any path that a component opens; run the sample configs from the repository root.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import importlib
import inspect
import math
import re
import sys
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from engine import (
    Agent,
    Environment,
    FixedIntervalInteraction,
    Interaction,
    LaunchConfig,
    System,
    TrainingModel,
)
from engine.data import DataBuffer

TRAINING_CONFIG_TARGET = "trainers.config:TrainingConfiguration"
"""What a ``[trainers.NAME.training]`` table becomes (passed as ``config=``)."""

TRAINING_CONFIG_KWARG = "config"
"""The trainer keyword argument that receives the training configuration."""

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class ConfigError(Exception):
    """A problem with a run configuration, as one line ``FILE: key.path: problem``.

    Args:
        file: The config file.
        key: Dotted key path of the offending value ("" for the whole file).
        problem: What is wrong, in words.
    """

    def __init__(self, file: str | Path, key: str, problem: str) -> None:
        self.file = str(file)
        self.key = key
        self.problem = " ".join(problem.split())
        super().__init__(str(self))

    def __str__(self) -> str:
        """Return the one-line message."""
        return f"{self.file}: {self.key or '<file>'}: {self.problem}"


@dataclasses.dataclass(frozen=True)
class _Field:
    types: tuple[type, ...]
    doc: str
    check: Callable[[Any], str | None] | None = None


def _positive(value: Any) -> str | None:
    return None if value > 0 else f"must be > 0, got {value!r}"


def _finite_positive(value: Any) -> str | None:
    if not math.isfinite(value):
        return f"must be a finite number, got {value!r}"
    return _positive(value)


def _at_least_one(value: Any) -> str | None:
    return None if value >= 1 else f"must be >= 1, got {value!r}"


def _state_name_format(value: str) -> str | None:
    if "/" in value or "\\" in value:
        return f"must not contain a path separator, got {value!r}"
    if not value.endswith(".state"):
        return (
            f"must end with '.state' (so the states can be found again), got {value!r}"
        )
    return None


SYSTEM_FIELDS: dict[str, _Field] = {
    "name": _Field((str,), "Run name (default: the config file's stem)."),
    "runs_dir": _Field((str,), "Where run directories are made (default 'runs')."),
    "run_dir": _Field((str,), "This run's directory (default '<runs_dir>/<name>')."),
    "states_dir": _Field(
        (str,), "Where states are saved (default '<run_dir>/states')."
    ),
    "time_scale": _Field(
        (float, int), "Engine seconds per real second.", _finite_positive
    ),
    "max_uptime": _Field(
        (float, int), "Stop after this many engine seconds (default: never).", _positive
    ),
    "save_interval": _Field(
        (float, int), "Save every N seconds of wall time (default: never).", _positive
    ),
    "keep_last": _Field((int,), "Keep only the newest N states.", _at_least_one),
    "gil_switch_interval": _Field(
        (float, int), "sys.setswitchinterval while running (seconds).", _finite_positive
    ),
    "resume": _Field((bool,), "Load the newest state before starting."),
    "save_final_state": _Field((bool,), "Save a state when the run stops."),
    "durable_saves": _Field((bool,), "fsync states as they are written."),
    "trainability_poll_interval": _Field(
        (float, int), "Re-check custom is_trainable every N seconds.", _finite_positive
    ),
    "pause_timeout": _Field(
        (float, int), "Seconds a pause may wait for the threads.", _finite_positive
    ),
    "pause_attempts": _Field(
        (int,), "Pause attempts before a save gives up.", _at_least_one
    ),
    "state_name_format": _Field(
        (str,), "strftime format of state directory names.", _state_name_format
    ),
    "metrics": _Field((bool,), "Write trainer metrics to <run_dir>/metrics.jsonl."),
}

_LAUNCH_NAMES = {
    "name": "name",
    "states_dir": "states_dir",
    "time_scale": "time_scale",
    "max_uptime": "max_uptime",
    "save_interval": "save_state_interval",
    "keep_last": "max_keep_states",
    "gil_switch_interval": "gil_switch_interval",
    "resume": "resume",
    "save_final_state": "save_final_state",
    "durable_saves": "durable_saves",
    "trainability_poll_interval": "trainability_poll_interval",
    "pause_timeout": "timeout_for_all_threads_pause",
    "pause_attempts": "max_attempts_to_pause_all_threads",
    "state_name_format": "state_name_format",
}

INTERACTION_KEYS = {
    "agent": "The agent (a table with a target).",
    "environment": "The environment (a table with a target).",
    "interval": "Seconds (engine time) between steps: a FixedIntervalInteraction.",
    "offset": "Seconds taken off the first interval.",
    "target": "A custom Interaction class (called with agent, environment, ...).",
}

SECTIONS = ("system", "interaction", "models", "buffers", "trainers")


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
    """

    name: str
    config_path: Path
    run_dir: Path
    states_dir: Path
    launch: LaunchConfig
    metrics: bool = True


@dataclasses.dataclass
class BuiltRun:
    """A validated config turned into live (not yet started) components.

    Attributes:
        settings: The run settings.
        system: The wired system, ready to ``start()``.
        components: Key path of every built component, by ``id`` of the object.
    """

    settings: RunSettings
    system: System
    components: dict[int, str]


# -- loading ---------------------------------------------------------------------


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file.

    Raises:
        ConfigError: If it is missing, unreadable or not valid TOML.
    """
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as e:
        raise ConfigError(path, "", f"cannot read the file ({e.strerror})") from None
    try:
        return tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(path, "", f"not UTF-8 text ({e.reason})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, "", f"invalid TOML: {e}") from None


def apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    """Set ``[system]`` keys from command-line options (None values are skipped)."""
    system = raw.setdefault("system", {})
    if not isinstance(system, dict):
        return
    for key, value in overrides.items():
        if value is not None:
            system[key] = value


def resolve_settings(
    raw: Mapping[str, Any], config_path: str | Path, cwd: Path | None = None
) -> RunSettings:
    """Check ``[system]`` and resolve the run's directories and launch config.

    Raises:
        ConfigError: For an unknown key, a wrong type or an out-of-range value.
    """
    file = Path(config_path)
    cwd = Path.cwd() if cwd is None else cwd
    for section in raw:
        if section not in SECTIONS:
            raise ConfigError(
                file,
                section,
                f"unknown section (expected one of: {', '.join(SECTIONS)})",
            )
    system = raw.get("system", {})
    if not isinstance(system, Mapping):
        raise ConfigError(file, "system", "must be a table")
    values: dict[str, Any] = {}
    for key, value in system.items():
        spec = SYSTEM_FIELDS.get(key)
        if spec is None:
            raise ConfigError(
                file, f"system.{key}", f"unknown key{_suggest(key, SYSTEM_FIELDS)}"
            )
        if (isinstance(value, bool) and bool not in spec.types) or not isinstance(
            value, spec.types
        ):
            raise ConfigError(
                file,
                f"system.{key}",
                f"expected {_type_names(spec.types)}, got {_describe(value)}",
            )
        if spec.check is not None and (problem := spec.check(value)) is not None:
            raise ConfigError(file, f"system.{key}", problem)
        values[key] = value
    if "interaction" not in raw:
        # The first thing to fix in an empty or half-written config.
        raise ConfigError(
            file, "interaction", "missing section (an agent and an environment)"
        )
    name = values.get("name", file.stem)
    if not _NAME_RE.match(name):
        origin = "" if "name" in values else " (taken from the file name)"
        raise ConfigError(
            file,
            "system.name",
            f"{name!r}{origin} is not a valid run name: use letters, digits and "
            "_.- and do not start with '.' or '-'",
        )
    runs_dir = cwd / values.get("runs_dir", "runs")
    run_dir = cwd / values["run_dir"] if "run_dir" in values else runs_dir / name
    states_dir = (
        cwd / values["states_dir"] if "states_dir" in values else run_dir / "states"
    )
    launch_kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key in _LAUNCH_NAMES:
            launch_kwargs[_LAUNCH_NAMES[key]] = value
    launch_kwargs["name"] = name
    launch_kwargs["states_dir"] = states_dir
    for key in ("time_scale", "max_uptime", "save_state_interval"):
        if key in launch_kwargs:
            launch_kwargs[key] = float(launch_kwargs[key])
    try:
        launch = LaunchConfig(**launch_kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(file, "system", str(e)) from None
    return RunSettings(
        name=name,
        config_path=file,
        run_dir=run_dir,
        states_dir=states_dir,
        launch=launch,
        metrics=values.get("metrics", True),
    )


def with_launch(settings: RunSettings, **changes: Any) -> RunSettings:
    """Return ``settings`` with launch fields replaced (e.g. ``saved_state_path``)."""
    return dataclasses.replace(
        settings, launch=dataclasses.replace(settings.launch, **changes)
    )


# -- checking and building ---------------------------------------------------------


def import_target(file: Path, key: str, target: Any) -> Any:
    """Import ``package.module:Name`` (or ``package.module.Name``).

    Raises:
        ConfigError: If it is not a string or cannot be imported.
    """
    if not isinstance(target, str) or not target.strip():
        raise ConfigError(
            file,
            key,
            f"expected an import path 'package.module:Name', got {_describe(target)}",
        )
    if ":" in target:
        module_name, _, attr_path = target.partition(":")
    else:
        module_name, _, attr_path = target.rpartition(".")
    if not module_name or not attr_path:
        raise ConfigError(
            file, key, f"'{target}' is not an import path like 'package.module:Name'"
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        missing = e.name or module_name
        raise ConfigError(
            file, key, f"cannot import '{target}': no module named '{missing}'"
        ) from None
    except Exception as e:
        raise ConfigError(
            file,
            key,
            f"cannot import '{target}': importing '{module_name}' raised "
            f"{type(e).__name__}: {e}",
        ) from None
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(
                file,
                key,
                f"cannot import '{target}': '{module_name}' has no '{attr_path}'",
            ) from None
    if not callable(obj):
        raise ConfigError(file, key, f"'{target}' is not a class or function")
    return obj


class _Builder:
    """Checks and builds component tables, remembering the key path of each object."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.components: dict[int, str] = {}

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.file, key, problem)

    def value(self, key: str, value: Any) -> Any:
        """Build a value: tables with a target become objects, others recurse."""
        if isinstance(value, Mapping):
            if "target" in value:
                return self.component(key, value)
            return {k: self.value(f"{key}.{k}", v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(f"{key}[{i}]", v) for i, v in enumerate(value)]
        return value

    def component(
        self,
        key: str,
        table: Mapping[str, Any],
        expect: type | None = None,
        extra: Mapping[str, Any] | None = None,
        skip: tuple[str, ...] = (),
    ) -> Any:
        """Import, check and construct the component described by ``table``."""
        if not isinstance(table, Mapping):
            raise self.error(
                key, f"expected a table with a target, got {_describe(table)}"
            )
        if "target" not in table:
            raise self.error(
                key, "missing 'target' (an import path 'package.module:Name')"
            )
        factory = import_target(self.file, f"{key}.target", table["target"])
        target = table["target"]
        if (
            expect is not None
            and isinstance(factory, type)
            and not issubclass(factory, expect)
        ):
            raise self.error(
                f"{key}.target",
                f"'{target}' is not a {expect.__module__.split('.')[0]}.{expect.__name__}",
            )
        raw_args = {k: v for k, v in table.items() if k != "target" and k not in skip}
        params, hints = _signature(factory)
        kwargs: dict[str, Any] = {}
        for name, raw in raw_args.items():
            self._check_argument(key, target, name, params)
            built = self.value(f"{key}.{name}", raw)
            if params is not None and name in params and name in hints:
                problem = _type_problem(built, hints[name])
                if problem:
                    raise self.error(f"{key}.{name}", problem)
            kwargs[name] = built
        for name, value in (extra or {}).items():
            self._check_argument(key, target, name, params)
            kwargs[name] = value
        if params is not None:
            missing = [
                p.name
                for p in params.values()
                if p.default is inspect.Parameter.empty
                and p.kind
                in (
                    inspect.Parameter.POSITIONAL_OR_KEYWORD,
                    inspect.Parameter.KEYWORD_ONLY,
                )
                and p.name not in kwargs
            ]
            if missing:
                raise self.error(
                    key,
                    f"{target} needs argument(s) {', '.join(missing)}",
                )
        try:
            obj = factory(**kwargs)
        except ConfigError:
            raise
        except Exception as e:
            raise self.error(
                key, f"{target}(...) raised {type(e).__name__}: {e}"
            ) from None
        if expect is not None and not isinstance(obj, expect):
            raise self.error(
                f"{key}.target",
                f"'{target}' returned {type(obj).__name__}, not a {expect.__name__}",
            )
        self.components[id(obj)] = key
        return obj

    def _check_argument(
        self,
        key: str,
        target: str,
        name: str,
        params: Mapping[str, inspect.Parameter] | None,
    ) -> None:
        if params is None or name in params:
            param = params.get(name) if params is not None else None
            if param is not None and param.kind is inspect.Parameter.POSITIONAL_ONLY:
                raise self.error(
                    f"{key}.{name}", f"{target} takes '{name}' only by position"
                )
            return
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return
        accepted = [
            p
            for p in params
            if params[p].kind
            in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        ]
        raise self.error(
            f"{key}.{name}",
            f"unknown argument of {target}{_suggest(name, accepted)}"
            f" (accepted: {', '.join(accepted) or 'none'})",
        )


def _signature(
    factory: Any,
) -> tuple[Mapping[str, inspect.Parameter] | None, dict[str, Any]]:
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return None, {}
    params = dict(sig.parameters)
    hints: dict[str, Any] = {}
    func = factory.__init__ if isinstance(factory, type) else factory
    try:
        hints = typing.get_type_hints(func)
    except Exception:
        hints = {}
    return params, hints


def _type_problem(value: Any, hint: Any) -> str | None:
    """Return why ``value`` does not fit the annotation ``hint`` (None if it does or if unsure)."""
    if _fits(value, hint):
        return None
    return f"expected {_hint_name(hint)}, got {_describe(value)}"


def _fits(value: Any, hint: Any) -> bool:
    if hint is Any or hint is object or isinstance(hint, typing.TypeVar):
        return True
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint in (str, bool):
        return isinstance(value, hint)
    if hint is Path or (isinstance(hint, type) and issubclass(hint, Path)):
        return isinstance(value, str | Path)
    if origin is None:
        if isinstance(hint, type):
            if hint.__module__ == "builtins" or hint.__module__.startswith(
                "collections"
            ):
                return isinstance(value, hint) or (
                    hint in (tuple, frozenset, set) and isinstance(value, list)
                )
            # A component class: an object built from a table must be an instance;
            # a plain value might be coerced by the callee, so accept it.
            if isinstance(value, str | int | float | bool | list | dict):
                return True
            return isinstance(value, hint)
        return True
    if origin in (
        list,
        cabc.Sequence,
        cabc.MutableSequence,
        cabc.Iterable,
        cabc.Collection,
    ):
        if isinstance(value, str) and origin is not cabc.Iterable:
            return False
        if origin is list and not isinstance(value, list):
            return False
        if not isinstance(value, list | tuple) and not isinstance(value, cabc.Iterable):
            return False
        if args and isinstance(value, list | tuple):
            return all(_fits(v, args[0]) for v in value)
        return True
    if origin in (tuple, set, frozenset, cabc.Set):
        if not isinstance(value, list | tuple | set | frozenset):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(
                _fits(v, a) for v, a in zip(value, args, strict=True)
            )
        if args:
            return all(_fits(v, args[0]) for v in value)
        return True
    if origin in (dict, cabc.Mapping, cabc.MutableMapping):
        if not isinstance(value, Mapping):
            return False
        if len(args) == 2:
            return all(
                _fits(k, args[0]) and _fits(v, args[1]) for k, v in value.items()
            )
        return True
    if origin is cabc.Callable:
        return callable(value)
    if isinstance(origin, type):
        # A generic component class such as Agent[Any, Any].
        if isinstance(value, str | int | float | bool | list | dict):
            return True
        return isinstance(value, origin)
    return True


def _hint_name(hint: Any) -> str:
    if isinstance(hint, type) and typing.get_origin(hint) is None:
        return hint.__name__
    text = str(hint).replace("typing.", "").replace("collections.abc.", "")
    return re.sub(r"\b[a-z_]+\.(?=[A-Z])", "", text)


def _type_names(kinds: tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in kinds)


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a table"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def _suggest(name: str, known: typing.Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _named_tables(file: Path, raw: Mapping[str, Any], section: str) -> dict[str, Any]:
    tables = raw.get(section, {})
    if not isinstance(tables, Mapping):
        raise ConfigError(file, section, "must be a table of named components")
    for name, table in tables.items():
        if not isinstance(table, Mapping):
            raise ConfigError(
                file, f"{section}.{name}", f"expected a table, got {_describe(table)}"
            )
    return dict(tables)


def _training_configuration(builder: _Builder, key: str, table: Any) -> Any:
    if not isinstance(table, Mapping):
        raise builder.error(key, f"expected a table, got {_describe(table)}")
    factory = import_target(builder.file, key, TRAINING_CONFIG_TARGET)
    validate = getattr(factory, "model_validate", None)
    try:
        if validate is not None:
            return validate(dict(table))
        return factory(**table)
    except Exception as e:
        errors = getattr(e, "errors", None)
        if callable(errors):
            first = errors()[0]
            loc = ".".join(str(p) for p in first.get("loc", ()))
            msg = first.get("msg", str(e))
            if first.get("type") == "extra_forbidden":
                msg = "unknown key"
            raise builder.error(f"{key}.{loc}" if loc else key, msg) from None
        raise builder.error(key, f"{type(e).__name__}: {e}") from None


def _build_interaction(
    builder: _Builder, raw: Mapping[str, Any]
) -> Interaction[Any, Any]:
    table = raw.get("interaction")
    if table is None:
        raise builder.error(
            "interaction", "missing section (an agent and an environment)"
        )
    if not isinstance(table, Mapping):
        raise builder.error("interaction", f"expected a table, got {_describe(table)}")
    for key in table:
        if key not in INTERACTION_KEYS:
            raise builder.error(
                f"interaction.{key}", f"unknown key{_suggest(key, INTERACTION_KEYS)}"
            )
    for key in ("agent", "environment"):
        if key not in table:
            raise builder.error(f"interaction.{key}", "missing (a table with a target)")
    for key in ("interval", "offset"):
        value = table.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise builder.error(
                f"interaction.{key}",
                f"expected a number of seconds, got {_describe(value)}",
            )
    if "interval" in table and not table["interval"] > 0:
        raise builder.error(
            "interaction.interval", f"must be > 0, got {table['interval']!r}"
        )
    if "offset" in table and "interval" not in table:
        raise builder.error("interaction.offset", "needs interaction.interval")
    agent = builder.component("interaction.agent", table["agent"], Agent)
    environment = builder.component(
        "interaction.environment", table["environment"], Environment
    )
    if "target" in table:
        spec = {"target": table["target"]}
        extra: dict[str, Any] = {"agent": agent, "environment": environment}
        for key in ("interval", "offset"):
            if key in table:
                extra[key] = float(table[key])
        return builder.component("interaction", spec, Interaction, extra=extra)
    if "interval" in table:
        interaction: Interaction[Any, Any] = (
            FixedIntervalInteraction.with_sleep_adjustor(
                agent,
                environment,
                float(table["interval"]),
                float(table.get("offset", 0.0)),
            )
        )
    else:
        interaction = Interaction(agent, environment)
    builder.components[id(interaction)] = "interaction"
    return interaction


def build(raw: Mapping[str, Any], settings: RunSettings) -> BuiltRun:
    """Build every component and wire them into a :class:`System` (not started).

    Raises:
        ConfigError: Naming the key path of the first problem.
    """
    file = settings.config_path
    builder = _Builder(file)
    model_tables = _named_tables(file, raw, "models")
    buffer_tables = _named_tables(file, raw, "buffers")
    trainer_tables = _named_tables(file, raw, "trainers")

    # Cross-references that can be checked from the text alone: by convention,
    # string arguments called *data_user / *collector name buffers and ones
    # called model / *_model name models (wiring catches the rest).
    interaction_table = raw.get("interaction")
    agent_table = (
        interaction_table.get("agent")
        if isinstance(interaction_table, Mapping)
        else None
    )
    referrers = [(f"trainers.{n}", t) for n, t in trainer_tables.items()]
    if isinstance(agent_table, Mapping):
        referrers.append(("interaction.agent", agent_table))
    for key, table in referrers:
        for arg, value in table.items():
            if not isinstance(value, str) or arg == "target":
                continue
            if arg.endswith(("data_user", "collector")):
                kind, known_names = "buffer", buffer_tables
            elif arg == "model" or arg.endswith("_model"):
                kind, known_names = "model", model_tables
            else:
                continue
            if value not in known_names:
                known = ", ".join(sorted(known_names)) or "none"
                raise ConfigError(
                    file,
                    f"{key}.{arg}",
                    f"names {kind} '{value}', which is not defined ({kind}s: {known})",
                )

    models = {
        name: builder.component(f"models.{name}", table, TrainingModel)
        for name, table in model_tables.items()
    }
    buffers = {
        name: builder.component(f"buffers.{name}", table, DataBuffer)
        for name, table in buffer_tables.items()
    }
    trainers = {}
    for name, table in trainer_tables.items():
        key = f"trainers.{name}"
        extra = {}
        if "training" in table:
            extra[TRAINING_CONFIG_KWARG] = _training_configuration(
                builder, f"{key}.training", table["training"]
            )
        trainer = builder.component(key, table, None, extra=extra, skip=("training",))
        if not callable(getattr(trainer, "run", None)):
            raise ConfigError(
                file, f"{key}.target", "is not a trainer (it has no run())"
            )
        trainers[name] = trainer
    interaction = _build_interaction(builder, raw)

    try:
        system = System(interaction, models, buffers, trainers, settings.launch)
    except (KeyError, ValueError, TypeError, RuntimeError) as e:
        key = _blame(e, builder.components) or "interaction"
        message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        raise ConfigError(file, key, f"{type(e).__name__}: {message}") from None
    except Exception as e:
        key = _blame(e, builder.components) or "<wiring>"
        raise ConfigError(file, key, f"{type(e).__name__}: {e}") from None
    return BuiltRun(settings=settings, system=system, components=builder.components)


def _blame(exc: BaseException, components: Mapping[int, str]) -> str | None:
    """The key path of the innermost built component on the traceback's stack."""
    tb = exc.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        owner = frame.f_locals.get("self")
        if owner is not None and id(owner) in components:
            return components[id(owner)]
    return None


def load(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
) -> BuiltRun:
    """Read, check and build a run configuration.

    Args:
        path: The TOML file.
        overrides: ``[system]`` keys set from the command line.
        cwd: Directory that relative paths are resolved against (default: cwd).

    Raises:
        ConfigError: One line naming the file, key path and problem.
    """
    raw = load_toml(path)
    if overrides:
        apply_overrides(raw, overrides)
    settings = resolve_settings(raw, path, cwd)
    sys_path_entry = str(Path.cwd() if cwd is None else cwd)
    if sys_path_entry not in sys.path and "" not in sys.path:
        sys.path.insert(0, sys_path_entry)
    return build(raw, settings)


def describe_fields() -> dict[str, str]:
    """``[system]`` keys and their meaning (for docs and ``validate --explain``)."""
    return {key: spec.doc for key, spec in SYSTEM_FIELDS.items()}


def infinite(value: float) -> bool:
    """Whether a float setting means "never"."""
    return math.isinf(value)
