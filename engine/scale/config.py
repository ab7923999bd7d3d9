"""The ``[scale]`` settings: which backend acts, how many actors, how far they may run ahead."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

Backend = Literal["threads", "ray"]
WhenBehind = Literal["drop_oldest", "wait"]

BACKENDS: tuple[str, ...] = ("threads", "ray")
WHEN_BEHIND: tuple[str, ...] = ("drop_oldest", "wait")


class ScaleConfigError(ValueError):
    """A ``[scale]`` value it cannot take, as one line ``scale.KEY: problem``.

    Attributes:
        key: The offending key.
        problem: What is wrong with its value.
    """

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"scale.{key}: {problem}")


@dataclass(frozen=True)
class ScaleConfig:
    """How the agent is scaled out (the default, ``threads``, is the embedded engine).

    Attributes:
        backend: ``"threads"``: the agent runs on the learner's inference
            thread, as always (Ray is never imported). ``"ray"``: ``actors``
            Ray actors each build and run their own agent and environment
            and ship what they collect to the learner.
        actors: How many acting workers (ray only).
        address: None: start a local Ray on this machine; ``"auto"`` or
            ``"host:port"``: join that cluster.
        cpus_per_actor: CPUs Ray reserves for each actor (may be fractional).
        batch_items: An actor ships a batch once it holds this many items...
        batch_seconds: ...or once its oldest unsent item is this old.
        max_unsent_items: Items an actor holds at most that are not yet in a
            shipped batch (per buffer).
        max_in_flight_batches: Batches an actor holds at most that the
            learner has not taken yet.
        when_behind: When both bounds are reached: ``"drop_oldest"`` (replay:
            the oldest data goes, counted) or ``"wait"`` (on-policy: the agent
            stops stepping until the learner takes a batch).
        max_policy_lag: Batches collected more than this many weight
            publications ago are dropped on arrival (counted); None keeps all.
        max_restarts: How often Ray restarts a dead actor (-1: without limit).
    """

    backend: Backend = "threads"
    actors: int = 1
    address: str | None = None
    cpus_per_actor: float = 1.0
    batch_items: int = 64
    batch_seconds: float = 0.05
    max_unsent_items: int = 10_000
    max_in_flight_batches: int = 4
    when_behind: WhenBehind = "drop_oldest"
    max_policy_lag: int | None = None
    max_restarts: int = 3

    def __post_init__(self) -> None:
        _check_choice("backend", self.backend, BACKENDS)
        _check_choice("when_behind", self.when_behind, WHEN_BEHIND)
        for key in (
            "actors",
            "batch_items",
            "max_unsent_items",
            "max_in_flight_batches",
        ):
            _check_int(key, getattr(self, key), minimum=1)
        _check_int("max_restarts", self.max_restarts, minimum=-1)
        if self.max_policy_lag is not None:
            _check_int("max_policy_lag", self.max_policy_lag, minimum=0)
        _check_positive("cpus_per_actor", self.cpus_per_actor, allow_zero=True)
        _check_positive("batch_seconds", self.batch_seconds, allow_zero=False)
        if self.address is not None and (
            not isinstance(self.address, str) or not self.address.strip()
        ):
            raise ScaleConfigError(
                "address",
                f'must be "auto", "host:port" or absent, got {self.address!r}',
            )
        if self.batch_items > self.max_unsent_items:
            raise ScaleConfigError(
                "batch_items",
                f"({self.batch_items}) must not exceed max_unsent_items "
                f"({self.max_unsent_items}): a batch could never fill",
            )

    @classmethod
    def from_value(cls, value: Mapping[str, Any] | ScaleConfig | None) -> ScaleConfig:
        """Build from a ``[scale]`` table (or return a config as is).

        Raises:
            ScaleConfigError: For an unknown key or a bad value.
        """
        if value is None:
            return cls()
        if isinstance(value, ScaleConfig):
            return value
        if not isinstance(value, Mapping):
            raise ScaleConfigError("", f"must be a table, got {type(value).__name__}")
        known = {f.name for f in fields(cls)}
        for key in value:
            if key not in known:
                raise ScaleConfigError(
                    str(key), f"unknown key (known: {', '.join(sorted(known))})"
                )
        return cls(**dict(value))

    @property
    def uses_ray(self) -> bool:
        """Whether actors run on Ray."""
        return self.backend == "ray"


def _check_choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        options = " or ".join(f'"{c}"' for c in choices)
        raise ScaleConfigError(key, f"must be {options}, got {value!r}")


def _check_int(key: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ScaleConfigError(key, f"must be an integer >= {minimum}, got {value!r}")


def _check_positive(key: str, value: Any, allow_zero: bool) -> None:
    ok = not isinstance(value, bool) and isinstance(value, int | float)
    if ok:
        ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ScaleConfigError(key, f"must be a finite number {bound}, got {value!r}")
