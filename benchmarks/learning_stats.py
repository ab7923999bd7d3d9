"""Learning-curve figures from a run's episodes: when the target was first reached, best means, staying.

An episode is ``(wall seconds since the run started, return, environment steps at its end)``.
The running mean is over the last ``window`` episodes; it exists once ``window``
episodes have ended and changes only when an episode ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Episode = Sequence[float]

TARGET = 475.0
WINDOW = 20


def running_means(
    episodes: Sequence[Episode], window: int = WINDOW
) -> list[float | None]:
    """The mean return of the last ``window`` episodes after each episode (None before)."""
    means: list[float | None] = []
    total = 0.0
    for i, episode in enumerate(episodes):
        total += episode[1]
        if i >= window:
            total -= episodes[i - window][1]
        means.append(total / window if i >= window - 1 else None)
    return means


@dataclass(frozen=True)
class Reach:
    """When the running mean first reached the target."""

    wall_s: float
    env_steps: float


def first_reach(
    episodes: Sequence[Episode], target: float = TARGET, window: int = WINDOW
) -> Reach | None:
    """The end of the first episode whose running mean is ``>= target`` (None: never)."""
    for episode, mean in zip(episodes, running_means(episodes, window), strict=True):
        if mean is not None and mean >= target:
            return Reach(float(episode[0]), float(episode[2]))
    return None


def best_mean(
    episodes: Sequence[Episode], until_s: float, window: int = WINDOW
) -> float | None:
    """The best running mean among those complete by ``until_s`` (None: no full window yet)."""
    best = None
    for episode, mean in zip(episodes, running_means(episodes, window), strict=True):
        if episode[0] > until_s:
            break
        if mean is not None and (best is None or mean > best):
            best = mean
    return best


def share_above(
    episodes: Sequence[Episode],
    until_s: float,
    target: float = TARGET,
    window: int = WINDOW,
) -> float | None:
    """Share of the time from first reaching ``target`` to ``until_s`` with the running mean at or above it.

    None if the target was not reached before ``until_s``.
    """
    reach = first_reach(episodes, target, window)
    if reach is None or reach.wall_s >= until_s:
        return None
    means = running_means(episodes, window)
    above = 0.0
    for i, (episode, mean) in enumerate(zip(episodes, means, strict=True)):
        start = float(episode[0])
        if start < reach.wall_s:
            continue
        if start >= until_s:
            break
        end = float(episodes[i + 1][0]) if i + 1 < len(episodes) else until_s
        if mean is not None and mean >= target:
            above += min(end, until_s) - start
    return above / (until_s - reach.wall_s)
