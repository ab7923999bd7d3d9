"""Building one actor's agent, environment and models from a config, in the actor's process.

With ``[scale] backend = "ray"`` every actor builds its own ``[interaction]``
and ``[models]`` from the same TOML tables the learner read. The factory
carries those tables as plain data (Ray pickles it to every actor) and builds
them with the same :class:`~console.config.components.ComponentBuilder`, so an
actor's components are exactly what the embedded engine would build.

Actors must not repeat each other: every integer ``seed`` argument inside
``[interaction]`` (the environment's, the agent's, nested ones) is offset by
the actor's index. The models' own seeds are left alone: an actor's weights
are replaced by the learner's before its first step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import TrainingModel
from engine.scale import ActorParts

from .components import ComponentBuilder, build_interaction, named_tables
from .imports import importable_from

SEED_KEY = "seed"
"""Arguments of this name inside ``[interaction]`` are offset by the actor's index."""


def offset_seeds(value: Any, index: int) -> Any:
    """``value`` with every integer ``seed`` entry (at any depth) plus ``index``."""
    if isinstance(value, Mapping):
        return {
            k: (
                v + index
                if k == SEED_KEY and isinstance(v, int) and not isinstance(v, bool)
                else offset_seeds(v, index)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [offset_seeds(v, index) for v in value]
    return value


@dataclass(frozen=True)
class ConfigActorFactory:
    """Builds actor ``index``'s parts from a config's tables (picklable).

    Attributes:
        file: The config file, named in errors.
        interaction: The ``[interaction]`` table.
        models: The ``[models]`` tables.
        cwd: The directory the run was started from: import paths may name
            modules in it, as they may on the learner.
    """

    file: str
    interaction: Mapping[str, Any]
    models: Mapping[str, Any]
    cwd: str

    def __call__(self, index: int) -> ActorParts:
        """Build actor ``index``'s interaction and models.

        Raises:
            ConfigError: Naming the key path of a component that failed.
        """
        return self.build(index, ComponentBuilder(Path(self.file)))

    def build(self, index: int, builder: ComponentBuilder) -> ActorParts:
        """:meth:`__call__` with a given builder (it remembers each component's key)."""
        file = Path(self.file)
        raw = {
            "interaction": offset_seeds(dict(self.interaction), index),
            "models": dict(self.models),
        }
        with importable_from(Path(self.cwd)):
            models = {
                name: builder.component(f"models.{name}", table, TrainingModel)
                for name, table in named_tables(file, raw, "models").items()
            }
            interaction = build_interaction(builder, raw)
        return ActorParts(interaction, models)
