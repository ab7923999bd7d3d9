"""A buffer of whole episodes: steps go in one at a time, complete episodes come out."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping
from itertools import islice
from pathlib import Path
from typing import Any, Generic, TypeAlias, TypeVar

from typing_extensions import override

from ...state import serialization
from ...state.persistence import Commit
from ..buffer import DataBuffer, draw

T = TypeVar("T")

Episode: TypeAlias = tuple[T, ...]


class EpisodeBuffer(DataBuffer[T, list[Episode[T]]], Generic[T]):
    """Groups collected steps into episodes; a step whose ``done_key`` is true ends one.

    The agent collects steps as usual (e.g. dicts ``{obs, action, reward, done}``).
    :meth:`get_data` returns the complete episodes, oldest first, each a tuple of
    its steps; the episode in progress is held back until its last step arrives.
    Because the buffer marks episode ends, its data user counts complete episodes
    as they are collected (``DataUser.episodes_total``), which is what a
    config-driven trainer's ``num_episodes_per_experience`` waits for.

    Sizes are in steps, like every other buffer: ``len()`` counts the steps held
    (the episode in progress included) and ``max_size`` bounds them. To make room
    the oldest complete episodes are dropped whole; an episode in progress that
    alone outgrows ``max_size`` loses its oldest steps, so a run whose episodes
    never end still holds a bounded amount. Make ``max_size`` hold a round's
    worth of episodes (``num_episodes_per_experience`` of them) with room to
    spare, or a trainer finds fewer than it waited for.

    Args:
        max_size: Most steps held.
        done_key: The key (mapping steps) or attribute (other steps) whose truth
            marks the last step of an episode.
    """

    def __init__(self, max_size: int, done_key: str = "done") -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {max_size}")
        if not done_key:
            raise ValueError("done_key must be a non-empty key or attribute name")
        super().__init__(max_size)
        self._max_size = max_size
        self._done_key = done_key
        self._episodes: deque[Episode[T]] = deque()
        self._current: deque[T] = deque()
        self._complete_steps = 0
        self._completed = 0

    @property
    def max_size(self) -> int:
        """Most steps held."""
        return self._max_size

    @property
    def done_key(self) -> str:
        """The key or attribute that marks an episode's last step."""
        return self._done_key

    @property
    def episodes_total(self) -> int:
        """Complete episodes ever added (dropped ones included)."""
        return self._completed

    @property
    def episodes_held(self) -> int:
        """Complete episodes held now."""
        return len(self._episodes)

    def ends_episode(self, step: T) -> bool:
        """Whether ``step`` is the last step of its episode (read from ``done_key``).

        Raises:
            KeyError: If the step has no such key or attribute.
        """
        key = self._done_key
        if isinstance(step, Mapping):
            if key not in step:
                raise KeyError(
                    f"EpisodeBuffer: a step has no '{key}' key (keys: "
                    f"{', '.join(map(str, step))}); collect a '{key}' flag with "
                    "every step or set done_key"
                )
            return bool(step[key])
        try:
            return bool(getattr(step, key))
        except AttributeError:
            raise KeyError(
                f"EpisodeBuffer: a {type(step).__name__} step has no '{key}' "
                "attribute; collect steps with one or set done_key"
            ) from None

    def episodes_since(self, count: int, until: int | None = None) -> list[Episode[T]]:
        """The complete episodes numbered ``count + 1`` to ``until``, if still held.

        Episodes are numbered from 1 in the order they ended, so pass values of
        :attr:`episodes_total` seen earlier.

        Args:
            count: Episodes to skip (e.g. the total at the previous round).
            until: The last episode to include (None: the newest).
        """
        first_held = self._completed - len(self._episodes)
        lo = max(0, count - first_held)
        hi = len(self._episodes) if until is None else max(0, until - first_held)
        return list(islice(self._episodes, lo, max(lo, hi)))

    @override
    def add(self, data: T) -> None:
        self._current.append(data)
        if len(self._current) > self._max_size:
            # Before it ends: the episode must fit once it is complete.
            self._current.popleft()
        if self.ends_episode(data):
            episode = tuple(self._current)
            self._current = deque()
            self._episodes.append(episode)
            self._complete_steps += len(episode)
            self._completed += 1
        self._trim()

    def _trim(self) -> None:
        while len(self._current) > self._max_size:
            self._current.popleft()
        while self._episodes and len(self) > self._max_size:
            self._complete_steps -= len(self._episodes.popleft())

    @override
    def get_data(self) -> list[Episode[T]]:
        """The complete episodes held, oldest first."""
        return list(self._episodes)

    @override
    def sample(self, k: int, rng: random.Random) -> list[Episode[T]]:
        """``k`` complete episodes drawn uniformly with replacement (no copy of the buffer).

        Raises:
            ValueError: If no episode is complete yet and ``k > 0``.
        """
        return draw(self._episodes, k, rng)

    @override
    def __len__(self) -> int:
        return self._complete_steps + len(self._current)

    @override
    def save_state(self, path: Path) -> None:
        """Write the steps and episode lengths to ``<path>.json`` / ``<path>.bin`` (no pickle)."""
        steps: list[Any] = [step for episode in self._episodes for step in episode]
        steps.extend(self._current)
        serialization.dump(
            {
                "steps": steps,
                "lengths": [len(e) for e in self._episodes],
                "episodes_total": self._completed,
            },
            path,
        )

    @override
    def load_state(self, path: Path) -> None:
        """Read what :meth:`save_state` wrote (keeping at most ``max_size`` steps)."""
        self.prepare_load(path)()

    @override
    def prepare_load(self, path: Path) -> Commit:
        """Read the episodes (see :meth:`load_state`); the commit swaps them in."""
        tree = serialization.load(path)
        if not isinstance(tree, dict) or set(tree) != {
            "steps",
            "lengths",
            "episodes_total",
        }:
            raise ValueError(f"{path.name}: not an EpisodeBuffer state")
        steps, lengths, total = tree["steps"], tree["lengths"], tree["episodes_total"]
        if (
            not isinstance(steps, list)
            or not isinstance(lengths, list)
            or not all(isinstance(n, int) and n >= 1 for n in lengths)
            or sum(lengths) > len(steps)
            or not isinstance(total, int)
            or total < len(lengths)
        ):
            raise ValueError(f"{path.name}: inconsistent EpisodeBuffer state")
        episodes: deque[Episode[T]] = deque()
        start = 0
        for n in lengths:
            episodes.append(tuple(steps[start : start + n]))
            start += n
        current = deque(steps[start:])

        def commit() -> None:
            self._episodes = episodes
            self._current = current
            self._complete_steps = start
            self._completed = total
            self._trim()

        return commit
