"""Build the components a config names and wire them into a :class:`engine.System`.

Each component is built from its table (:mod:`.components`); names that agents
and trainers use for buffers and models are checked against the config's own
tables before anything is built, and an error raised while wiring names the
component it came from. A ``backend = "ray"`` run's actors build theirs from the
same tables (:mod:`.actor_factory`).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine import System, TrainingModel
from engine.data import DataBuffer
from engine.scale.config import ScaleConfig

from ..conditions import never_met
from .actor_factory import ConfigActorFactory
from .components import ComponentBuilder, build_interaction, named_tables
from .dashboard_table import DashboardSettings, check_dashboard_table
from .errors import ConfigError, describe, validation_problem
from .imports import import_target
from .scale_table import check_scale_table
from .system_table import RunSettings

TRAINING_CONFIG_TARGET = "trainers.config:TrainingConfiguration"
"""What a ``[trainers.NAME.training]`` table becomes (passed as ``config=``)."""

TRAINING_CONFIG_KWARG = "config"
"""The trainer keyword argument that receives the training configuration."""


@dataclasses.dataclass
class BuiltRun:
    """A validated config turned into live (not yet started) components.

    Attributes:
        settings: The run settings.
        system: The wired system, ready to ``start()``.
        components: Key path of every built component, by ``id`` of the object.
        dashboard: The ``[dashboard]`` settings (curves to plot, history kept).
        warnings: What looks wrong but cannot be known from the config alone
            (one line each, ``FILE: key.path: problem``).
    """

    settings: RunSettings
    system: System
    components: dict[int, str]
    dashboard: DashboardSettings = dataclasses.field(default_factory=DashboardSettings)
    warnings: list[str] = dataclasses.field(default_factory=list)


def training_configuration(builder: ComponentBuilder, key: str, table: Any) -> Any:
    """Build a ``[trainers.NAME.training]`` table into a ``TrainingConfiguration``."""
    if not isinstance(table, Mapping):
        raise builder.error(key, f"expected a table, got {describe(table)}")
    factory = import_target(builder.file, key, TRAINING_CONFIG_TARGET)
    validate = getattr(factory, "model_validate", None)
    try:
        if validate is not None:
            return validate(dict(table))
        return factory(**table)
    except Exception as e:
        if callable(getattr(e, "errors", None)):
            path, problem = validation_problem(
                e, key, table, getattr(factory, "model_fields", {})
            )
            raise builder.error(path, problem) from None
        raise builder.error(key, f"{type(e).__name__}: {e}") from None


def build(raw: Mapping[str, Any], settings: RunSettings) -> BuiltRun:
    """Build every component and wire them into a :class:`System` (not started).

    Raises:
        ConfigError: Naming the key path of the first problem.
    """
    file = settings.config_path
    scale = check_scale_table(file, raw)
    builder = ComponentBuilder(file)
    model_tables = named_tables(file, raw, "models")
    buffer_tables = named_tables(file, raw, "buffers")
    trainer_tables = named_tables(file, raw, "trainers")
    dashboard = check_dashboard_table(
        file, raw, trainer_tables, scale.actors if scale.uses_ray else 0
    )
    # The run keeps the curves (its services do); the table says which and how many.
    settings.launch = dataclasses.replace(
        settings.launch, plots=dashboard.plots, curve_history=dashboard.plot_history
    )

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
            extra[TRAINING_CONFIG_KWARG] = training_configuration(
                builder, f"{key}.training", table["training"]
            )
        trainer = builder.component(key, table, None, extra=extra, skip=("training",))
        if not callable(getattr(trainer, "run", None)):
            raise ConfigError(
                file, f"{key}.target", "is not a trainer (it has no run())"
            )
        trainers[name] = trainer
    if scale.uses_ray:
        system = _scaled_system(file, raw, settings, scale, models, buffers, trainers)
    else:
        system = _wired(
            file,
            builder.components,
            lambda: System(
                build_interaction(builder, raw),
                models,
                buffers,
                trainers,
                settings.launch,
            ),
        )
    _refuse_impossible_conditions(file, system, trainer_tables)
    warnings = _unfed_buffers(file, raw, trainer_tables, system)
    return BuiltRun(
        settings=settings,
        system=system,
        components=builder.components,
        dashboard=dashboard,
        warnings=warnings,
    )


def _named_collectors(table: Any) -> set[str]:
    """Buffers a component table names in its ``*collector(s)`` arguments, nested too."""
    names: set[str] = set()
    if isinstance(table, Mapping):
        for arg, value in table.items():
            if isinstance(value, str) and arg.endswith("collector"):
                names.add(value)
            elif arg.endswith("collectors") and isinstance(value, list):
                names.update(v for v in value if isinstance(v, str))
            else:
                names |= _named_collectors(value)
    elif isinstance(table, list):
        for item in table:
            names |= _named_collectors(item)
    return names


def _string_defaults(component: object, suffix: str) -> dict[str, str]:
    """The ``*suffix`` constructor arguments of ``component``'s class left at a
    string default (e.g. a trainer's ``data_user="pulls"``)."""
    try:
        parameters = inspect.signature(type(component).__init__).parameters
    except (TypeError, ValueError):
        return {}
    return {
        name: p.default
        for name, p in parameters.items()
        if name.endswith(suffix) and isinstance(p.default, str)
    }


def _unfed_buffers(
    file: Path,
    raw: Mapping[str, Any],
    trainer_tables: Mapping[str, Mapping[str, Any]],
    system: System,
) -> list[str]:
    """Trainers whose buffer nothing in ``[interaction]`` names as a collector,
    in the config or as a default of the agent's arguments.

    Such a trainer would wait for ever, unless the agent collects into the
    buffer by a name written in its code, which a config cannot show: a warning.
    """
    interaction = raw.get("interaction")
    fed = _named_collectors(interaction)
    agent = getattr(system.interaction, "agent", None)
    agent_table = interaction.get("agent") if isinstance(interaction, Mapping) else None
    given = set(agent_table) if isinstance(agent_table, Mapping) else set()
    if agent is not None:
        fed |= {
            value
            for arg, value in _string_defaults(agent, "collector").items()
            if arg not in given
        }
    warnings = []
    for name, table in trainer_tables.items():
        trainer = system.trainers.get(name)
        users = {**(_string_defaults(trainer, "data_user") if trainer else {})}
        users |= {
            arg: value
            for arg, value in table.items()
            if isinstance(value, str) and arg.endswith("data_user")
        }
        warnings += [
            f"{file}: trainers.{name}.{arg}: nothing in [interaction] names buffer "
            f"'{buffer}' as its collector, so this trainer may wait for ever (fine "
            f"if the agent collects into '{buffer}' by a name in its code)"
            for arg, buffer in users.items()
            if buffer not in fed
        ]
    return warnings


def _wired(file: Path, components: Mapping[int, str], wire: Any) -> Any:
    """Call ``wire()``; an error it raises names the component it came from."""
    try:
        return wire()
    except ConfigError:
        raise
    except (KeyError, ValueError, TypeError, RuntimeError) as e:
        key = _blame(e, components) or "interaction"
        message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        raise ConfigError(file, key, f"{type(e).__name__}: {message}") from None
    except Exception as e:
        key = _blame(e, components) or "<wiring>"
        raise ConfigError(file, key, f"{type(e).__name__}: {e}") from None


def _scaled_system(
    file: Path,
    raw: Mapping[str, Any],
    settings: RunSettings,
    scale: ScaleConfig,
    models: dict[str, Any],
    buffers: dict[str, Any],
    trainers: dict[str, Any],
) -> System:
    """The learner of a ``backend = "ray"`` run; its actors start with the run, not here.

    One actor's parts are built here, in this process, exactly as each actor
    will build them (and wired to the learner's buffer names as an actor
    wires them), so a config that cannot work fails now with its key path,
    not in an actor; Ray is not started.
    """
    from engine.scale import build_system
    from engine.scale.actor_runner import ActorRunner

    factory = ConfigActorFactory(
        file=str(file),
        interaction=dict(raw.get("interaction") or {}),
        models=dict(raw.get("models") or {}),
        cwd=str(Path.cwd()),
    )
    # Its errors name the actor's components by the same key paths.
    probe = ComponentBuilder(file)

    def probe_actor() -> ActorRunner:
        return ActorRunner(0, lambda i: factory.build(i, probe), list(buffers), scale)

    _wired(file, probe.components, probe_actor)
    return _wired(
        file,
        {},
        lambda: build_system(
            factory,
            models,
            buffers,
            trainers,
            settings.launch,
            scale,
            connect=False,
            ray_log=settings.run_dir / "ray.log",
        ),
    )


def _refuse_impossible_conditions(
    file: Path, system: System, trainer_tables: Mapping[str, Mapping[str, Any]]
) -> None:
    """A trainer that could never train is a config error, not a run that waits."""
    status = system.status()
    for name, trainer in status.trainers.items():
        problem = never_met(trainer, status.buffers)
        if not problem:
            continue
        table = trainer_tables.get(name, {})
        training = table.get("training")
        if "min_buffer_size" in table:
            key = f"trainers.{name}.min_buffer_size"
        elif isinstance(training, Mapping) and "min_buffer_size" in training:
            key = f"trainers.{name}.training.min_buffer_size"
        else:
            key = f"trainers.{name}"
        buffer = trainer.condition.data_user
        raise ConfigError(
            file,
            key,
            f"can never be met: {problem}; lower it or raise buffers.{buffer}.max_size",
        )


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
