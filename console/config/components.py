"""Build one component from its config table, remembering the key path of each object.

Each table with a ``target`` is imported (:mod:`.imports`), its arguments are
checked against the target's signature and annotations (:mod:`.value_types`),
and it is constructed. The key path of every built object is remembered, so
that an error raised while wiring names the component it came from. The run's
builder (:mod:`.builder`) and each Ray actor's (:mod:`.actor_factory`) build
their components here, so an actor's are exactly what the learner would build.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine import Agent, Environment, FixedIntervalInteraction, Interaction

from .errors import ConfigError, a_or_an, describe, suggest
from .imports import import_target
from .value_types import type_problem

INTERACTION_KEYS = {
    "agent": "The agent (a table with a target).",
    "environment": "The environment (a table with a target).",
    "interval": "Seconds (engine time) between steps: a FixedIntervalInteraction.",
    "offset": "Seconds taken off the first interval.",
    "target": "A custom Interaction class (called with agent, environment, ...).",
}


class ComponentBuilder:
    """Checks and builds component tables, remembering the key path of each object.

    Args:
        file: The config file (named in every error).
    """

    def __init__(self, file: Path) -> None:
        self.file = file
        self.components: dict[int, str] = {}

    def error(self, key: str, problem: str) -> ConfigError:
        """A :class:`ConfigError` about ``key`` of this file."""
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
                key, f"expected a table with a target, got {describe(table)}"
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
            expected = f"{expect.__module__.split('.')[0]}.{expect.__name__}"
            raise self.error(
                f"{key}.target",
                f"'{target}' is not {a_or_an(expected)} {expected}",
            )
        raw_args = {k: v for k, v in table.items() if k != "target" and k not in skip}
        params, hints = _signature(factory)
        kwargs: dict[str, Any] = {}
        for name, raw in raw_args.items():
            self._check_argument(key, target, name, params)
            built = self.value(f"{key}.{name}", raw)
            if params is not None and name in params and name in hints:
                problem = type_problem(built, hints[name])
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
                f"'{target}' returned {type(obj).__name__}, not "
                f"{a_or_an(expect.__name__)} {expect.__name__}",
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
            f"unknown argument of {target}{suggest(name, accepted)}"
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
    func = factory.__init__ if inspect.isclass(factory) else factory
    try:
        hints = typing.get_type_hints(func)
    except Exception:
        hints = {}
    return params, hints


def named_tables(file: Path, raw: Mapping[str, Any], section: str) -> dict[str, Any]:
    """The named tables of ``section`` (``[models.NAME]``...), each checked to be a table."""
    tables = raw.get(section, {})
    if not isinstance(tables, Mapping):
        raise ConfigError(file, section, "must be a table of named components")
    for name, table in tables.items():
        if not isinstance(table, Mapping):
            raise ConfigError(
                file, f"{section}.{name}", f"expected a table, got {describe(table)}"
            )
    return dict(tables)


def build_interaction(
    builder: ComponentBuilder, raw: Mapping[str, Any]
) -> Interaction[Any, Any]:
    """Build the ``[interaction]`` table: agent, environment, interval or a custom class."""
    table = raw.get("interaction")
    if table is None:
        raise builder.error(
            "interaction", "missing section (an agent and an environment)"
        )
    if not isinstance(table, Mapping):
        raise builder.error("interaction", f"expected a table, got {describe(table)}")
    for key in table:
        if key not in INTERACTION_KEYS:
            raise builder.error(
                f"interaction.{key}", f"unknown key{suggest(key, INTERACTION_KEYS)}"
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
                f"expected a number of seconds, got {describe(value)}",
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
