"""Settings an operator may change while a run goes on: :class:`Tunable`.

An agent or a trainer declares them in a ``tunables()`` method, a dict from a
short name to a :class:`Tunable` (typed: float, int or bool; numbers bounded)::

    def tunables(self) -> dict[str, Tunable]:
        return {
            "epsilon": Tunable.attribute(
                self, "epsilon", float, 0.0, 1.0, "probability of a random action"
            )
        }

The system names each one after its owner (``agent.epsilon``,
``agent.<child>.epsilon``, ``trainers.<name>.lr``) and changes it only from the
owner's own thread, between two of its steps (see
:mod:`engine.runtime.settings`): a setter never runs while the component is in
the middle of a step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, TypeAlias

Value: TypeAlias = float | int | bool
"""What a tunable holds."""

KINDS: dict[type, str] = {float: "float", int: "int", bool: "bool"}
"""The types a tunable may have, by the name the protocol gives them."""

_WORDS = {float: "a number", int: "an integer", bool: "true or false"}
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class TunableError(ValueError):
    """A value a setting does not take, or a declaration that is wrong (one line)."""


@dataclass(frozen=True)
class Tunable:
    """One setting of an agent or trainer that may change while it runs.

    Attributes:
        kind: ``float``, ``int`` or ``bool``.
        get: Returns the value in use.
        set: Puts a new value in use; called on the owner's thread between two
            of its steps, with a value of ``kind`` within the bounds.
        minimum: The least value (None: none); numbers only.
        maximum: The greatest value (None: none); numbers only.
        exclusive_minimum: ``minimum`` itself is not allowed (a rate > 0).
        description: What it changes, in a few words.
    """

    kind: type
    get: Callable[[], Any]
    set: Callable[[Any], None]
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    description: str = ""

    @classmethod
    def attribute(
        cls,
        owner: object,
        name: str,
        kind: type,
        minimum: float | None = None,
        maximum: float | None = None,
        description: str = "",
        *,
        exclusive_minimum: bool = False,
    ) -> Tunable:
        """A tunable that reads and writes the attribute ``name`` of ``owner``.

        Args:
            owner: The agent or trainer.
            name: Its attribute.
            kind: ``float``, ``int`` or ``bool``.
            minimum: The least value (None: none).
            maximum: The greatest value (None: none).
            description: What it changes.
            exclusive_minimum: ``minimum`` itself is not allowed.
        """
        return cls(
            kind,
            lambda: getattr(owner, name),
            lambda value: setattr(owner, name, value),
            minimum,
            maximum,
            exclusive_minimum,
            description,
        )

    @property
    def kind_name(self) -> str:
        """``float``, ``int`` or ``bool``."""
        return KINDS[self.kind]

    def bounds(self) -> str:
        """The values it takes, in words: ``in (0, 10]``, ``>= 1``, ``true or false``."""
        if self.kind is bool:
            return ""
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            opening = "(" if self.exclusive_minimum else "["
            return f"in {opening}{_number(low)}, {_number(high)}]"
        if low is not None:
            return f"{'>' if self.exclusive_minimum else '>='} {_number(low)}"
        if high is not None:
            return f"<= {_number(high)}"
        return ""

    def takes(self) -> str:
        """``a number in (0, 10]``, ``an integer >= 1``, ``true or false``."""
        return " ".join(part for part in (_WORDS[self.kind], self.bounds()) if part)

    def check_declaration(self, name: str) -> None:
        """Refuse a declaration the console could not offer.

        Raises:
            TunableError: Naming the setting and what is wrong.
        """
        if self.kind not in KINDS:
            raise TunableError(
                f"setting {name}: type {getattr(self.kind, '__name__', self.kind)} "
                "is not float, int or bool"
            )
        bounded = self.minimum is not None or self.maximum is not None
        if self.kind is bool and bounded:
            raise TunableError(f"setting {name}: a bool setting has no bounds")
        for bound in (self.minimum, self.maximum):
            if bound is not None and (
                isinstance(bound, bool) or not math.isfinite(float(bound))
            ):
                raise TunableError(f"setting {name}: bound {bound!r} is not a number")
        if (
            self.minimum is not None
            and self.maximum is not None
            and self.minimum > self.maximum
        ):
            raise TunableError(
                f"setting {name}: minimum {self.minimum} is above maximum {self.maximum}"
            )

    def parse(self, value: object, name: str) -> Value:
        """The value ``value`` means for this setting: text as typed on a command
        line, or a JSON value.

        Args:
            value: What was given.
            name: The setting's full name (for the error).

        Raises:
            TunableError: ``<name> takes <what it takes>, not <value>``.
        """
        parsed = self._convert(value)
        if parsed is None or not self._within(parsed):
            shown = value if isinstance(value, str) else repr(value)
            raise TunableError(f"{name} takes {self.takes()}, not {shown}")
        return parsed

    def _convert(self, value: object) -> Value | None:
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str):
                word = value.strip().lower()
                if word in _TRUE or word in _FALSE:
                    return word in _TRUE
            return None
        if isinstance(value, bool):
            return None
        if self.kind is int:
            if isinstance(value, int):
                return value
            if isinstance(value, str):
                try:
                    return int(value.strip().replace("_", ""))
                except ValueError:
                    return None
            return None
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                return None
        else:
            return None
        return number if math.isfinite(number) else None

    def _within(self, value: Value) -> bool:
        if self.kind is bool:
            return True
        low, high = self.minimum, self.maximum
        if low is not None and (
            value < low or (self.exclusive_minimum and value == low)
        ):
            return False
        return high is None or value <= high


def _number(value: float) -> str:
    return f"{value:g}"


def format_value(value: Value) -> str:
    """A setting's value as an operator types it (``true``, ``5``, ``0.0005``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def no_such_setting(name: object, names: Sequence[str]) -> str:
    """The error for a setting ``name`` that is not among ``names`` (one line)."""
    if not names:
        return (
            f"no setting {name!r}: this run has none (its agent and trainers "
            "declare no tunables())"
        )
    close = get_close_matches(str(name), names, n=1)
    hint = f"did you mean {close[0]}?" if close else f"settings: {', '.join(names)}"
    return f"no setting {name!r} ({hint})"


def parse_described(description: Mapping[str, Any], value: object) -> Value:
    """``value`` for the setting a ``settings`` listing describes (a client's
    check before it asks the run: the same words as the run's own).

    Raises:
        TunableError: ``<name> takes <what it takes>, not <value>``.
    """
    kinds = {name: kind for kind, name in KINDS.items()}
    checker = Tunable(
        kinds[str(description["type"])],
        _unused,
        _unused,
        description.get("min"),
        description.get("max"),
        bool(description.get("exclusive_min", False)),
    )
    return checker.parse(value, str(description["name"]))


def _unused(*_: object) -> None:
    return None


def tunables_of(component: object) -> dict[str, Tunable]:
    """What ``component`` declares in its ``tunables()`` method ({} without one).

    Raises:
        TunableError: If it returns something other than a dict of tunables.
    """
    declare = getattr(component, "tunables", None)
    if not callable(declare):
        return {}
    declared = declare()
    cls = type(component).__qualname__
    if not isinstance(declared, dict) or not all(
        isinstance(k, str) and isinstance(v, Tunable) for k, v in declared.items()
    ):
        raise TunableError(
            f"{cls}.tunables() must return a dict of names to engine.tunables.Tunable"
        )
    for name in declared:
        if not name.isidentifier():
            raise TunableError(
                f"{cls}.tunables(): {name!r} is not a setting name (letters, digits "
                "and underscores; dots separate owners)"
            )
    return declared
