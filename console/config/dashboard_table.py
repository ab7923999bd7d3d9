"""The ``[dashboard]`` table: which learning curves to plot first, and how much history to keep.

::

    [dashboard]
    plots = ["agent/episode_return_mean20", "dqn/loss"]   # SOURCE/NAME
    plot_history = 512                                     # points kept per curve

A source is a trainer of the config, ``agent`` or ``agent.CHILD``; the name is
the metric's (``report_metrics``). With its agents on Ray actors (``[scale]``),
an agent's curve is each actor's: ``agent/NAME`` plots ``actor0.agent/NAME``,
``actor1.agent/NAME`` and so on, and ``actorN.agent/NAME`` names one. The run
keeps every curve (the plotted ones
first in the dashboard's order, ``c`` cycles through all), so an attached
dashboard shows them from the run's start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from engine.services.curves import (
    DEFAULT_CAPACITY,
    Key,
    agent_actor,
    is_agent_source,
    parse_key,
)

from .errors import ConfigError, describe, suggest

KEYS = {
    "plots": "learning curves to show first, as SOURCE/NAME",
    "plot_history": "points kept per curve (older ones are merged in pairs)",
}
MIN_HISTORY, MAX_HISTORY = 16, 100_000


@dataclasses.dataclass(frozen=True)
class DashboardSettings:
    """What ``[dashboard]`` says (the defaults when a config has none).

    Attributes:
        plots: Curves to show first, in this order.
        plot_history: Points the run keeps per curve.
    """

    plots: tuple[Key, ...] = ()
    plot_history: int = DEFAULT_CAPACITY


def check_dashboard_table(
    file: Path, raw: Mapping[str, Any], trainers: Iterable[str], actors: int = 0
) -> DashboardSettings:
    """The config's ``[dashboard]`` settings.

    Args:
        file: The config file (named in errors).
        raw: The parsed TOML.
        trainers: The config's trainer names (the sources a plot may name).
        actors: Ray actors that run the agent (0: it runs in this process).

    Raises:
        ConfigError: For an unknown key, a wrong type, a malformed curve or
            one whose source is neither a trainer nor the agent.
    """
    table = raw.get("dashboard")
    if table is None:
        return DashboardSettings()
    if not isinstance(table, Mapping):
        raise ConfigError(file, "dashboard", "must be a table")
    for key in table:
        if key not in KEYS:
            raise ConfigError(
                file,
                f"dashboard.{key}",
                f"unknown key{suggest(key, KEYS)} (known: {', '.join(KEYS)})",
            )
    history = table.get("plot_history", DEFAULT_CAPACITY)
    if isinstance(history, bool) or not isinstance(history, int):
        raise ConfigError(
            file, "dashboard.plot_history", f"expected int, got {describe(history)}"
        )
    if not MIN_HISTORY <= history <= MAX_HISTORY:
        raise ConfigError(
            file,
            "dashboard.plot_history",
            f"must be in [{MIN_HISTORY}, {MAX_HISTORY:,}], got {history:,}",
        )
    plots = table.get("plots", [])
    if not isinstance(plots, list):
        raise ConfigError(
            file,
            "dashboard.plots",
            f"expected a list of 'SOURCE/NAME' strings, got {describe(plots)}",
        )
    sources = sorted(trainers)
    keys: list[Key] = []
    for i, item in enumerate(plots):
        where = f"dashboard.plots[{i}]"
        if not isinstance(item, str):
            raise ConfigError(file, where, f"expected str, got {describe(item)}")
        key = parse_key(item)
        if key is None:
            raise ConfigError(
                file,
                where,
                f"{item!r} is not SOURCE/NAME (a trainer or 'agent', then the "
                "metric, e.g. 'agent/episode_return')",
            )
        source = key[0]
        if source not in sources and not is_agent_source(source):
            known = ", ".join(["agent", *sources])
            raise ConfigError(
                file,
                where,
                f"{source!r} is neither a trainer of this config nor the agent"
                f"{suggest(source, ['agent', *sources])} (sources: {known})",
            )
        actor = None if source in sources else agent_actor(source)
        if actor is not None and actor >= actors:
            raise ConfigError(
                file,
                where,
                f"{source!r}: this config has no actor {actor} "
                + (
                    f"(its actors are actor0 to actor{actors - 1})"
                    if actors
                    else "(its agent runs in this process: write 'agent')"
                ),
            )
        keys += [k for k in _each_actor(key, actors) if k not in keys]
    return DashboardSettings(plots=tuple(keys), plot_history=history)


def _each_actor(key: Key, actors: int) -> list[Key]:
    """``agent...`` as each actor's agent on Ray; any other key as it is."""
    source, name = key
    # A source that names its actor already is one curve.
    if not actors or agent_actor(source) is not None or not is_agent_source(source):
        return [key]
    return [(f"actor{i}.{source}", name) for i in range(actors)]
