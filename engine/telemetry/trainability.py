"""A side-effect-free account of whether a trainer can train, and why not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class TrainabilityReport:
    """Have-versus-need for a trainer's data conditions.

    Attributes:
        data_user: Name of the buffer the condition watches (None: no condition).
        buffer_size: Items in the buffer, counting ones not yet moved in.
        min_buffer_size: Items needed in the buffer.
        new_data: Items collected since the trainer last trained.
        min_new_data_count: New items needed.
        trainable: Whether every condition holds.
        reason: Why not, in words ("" when trainable).
        new_episodes: Complete episodes collected since the trainer last trained
            (0 unless it waits for episodes).
        min_new_episodes: New complete episodes needed (0: no episode condition).
    """

    data_user: str | None
    buffer_size: int
    min_buffer_size: int
    new_data: int
    min_new_data_count: int
    trainable: bool
    reason: str
    new_episodes: int = 0
    min_new_episodes: int = 0

    @classmethod
    def unconditional(cls) -> TrainabilityReport:
        """The report of a trainer with no data condition."""
        return cls(None, 0, 0, 0, 0, True, "")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


def predictable_condition(is_trainable: F) -> F:
    """Mark an ``is_trainable`` override whose wake-ups the trainer itself arranges.

    The training thread re-checks trainers that override ``is_trainable`` every
    ``trainability_poll_interval``, since it cannot know when their condition
    changes. An override whose condition is data only, and whose trainer says
    when it can next hold (``wake_target`` / ``episode_wake_target``), is
    marked with this decorator and waited on like the base condition instead.
    A subclass that overrides it again is polled unless it is marked too.
    """
    is_trainable.__predictable_condition__ = True  # type: ignore[attr-defined]
    return is_trainable
