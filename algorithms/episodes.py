"""The episode bookkeeping the gym agents share: returns, counts and what they report.

An agent calls :meth:`EpisodeLog.begin` when an episode starts,
:meth:`EpisodeLog.add` with each step's reward, and reports what
:meth:`EpisodeLog.end` returns when the episode ends; :meth:`EpisodeLog.state`
and :meth:`EpisodeLog.restore` carry the counts through a saved state.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np

#: How many recent episodes ``episode_return_mean20`` averages.
RECENT_EPISODES = 20


class EpisodeLog:
    """The returns of an agent's episodes: the one in progress, the recent ones
    and a bounded history of all of them.

    Attributes:
        current: Return of the episode in progress (after an episode's end: of
            that episode, until the next one begins).
        count: Episodes ended, in all.
        returns: (wall time, return) of the latest ``history`` episodes.
        end_steps: The agent step at which each of those episodes ended.
        recent: Returns of the latest :data:`RECENT_EPISODES` episodes.

    Args:
        history: How many episodes :attr:`returns` and :attr:`end_steps` keep
            (0: none; a run of any length holds bounded memory).
    """

    def __init__(self, history: int = 0) -> None:
        self.current = 0.0
        self.count = 0
        self.returns: deque[tuple[float, float]] = deque(maxlen=history)
        self.end_steps: deque[int] = deque(maxlen=history)
        self.recent: deque[float] = deque(maxlen=RECENT_EPISODES)

    def begin(self) -> None:
        """Start an episode's return from zero."""
        self.current = 0.0

    def add(self, reward: float) -> None:
        """Add a step's reward to the episode in progress."""
        self.current += reward

    @property
    def mean20(self) -> float:
        """Mean return of the latest :data:`RECENT_EPISODES` episodes (nan: none yet)."""
        return float(np.mean(self.recent)) if self.recent else float("nan")

    def end(self, steps: int) -> dict[str, float]:
        """Record the episode in progress as ended at agent step ``steps``.

        Returns:
            The agent metrics of the episode's end: ``episode_return``,
            ``episode_return_mean20`` and ``episodes``.
        """
        self.returns.append((time.time(), self.current))
        self.end_steps.append(steps)
        self.count += 1
        self.recent.append(self.current)
        return {
            "episode_return": self.current,
            "episode_return_mean20": self.mean20,
            "episodes": self.count,
        }

    def state(self) -> dict[str, Any]:
        """The counts a saved state keeps, as JSON-ready values:
        ``episodes`` and ``recent_returns``."""
        return {"episodes": self.count, "recent_returns": list(self.recent)}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take back what :meth:`state` gave (a state saved before it had a key
        leaves that count as it is). The history is not saved, nor restored."""
        count = int(state.get("episodes", self.count))
        recent = [float(r) for r in state.get("recent_returns", self.recent)]
        self.count = count
        self.recent.clear()
        self.recent.extend(recent)
