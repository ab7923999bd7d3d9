"""A side-effect-free account of whether a trainer can train, and why not."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class TrainabilityReport:
    """Have-versus-need for a trainer's data conditions.

    Attributes:
        data_user: Name of the buffer the condition watches (None: no condition).
        buffer_size: Items in the buffer, counting ones not yet moved in.
        min_buffer_size: Items needed in the buffer.
        new_data: Items collected since the trainer last trained.
        min_new_data_count: New items needed.
        trainable: Whether both conditions hold.
        reason: Why not, in words ("" when trainable).
    """

    data_user: str | None
    buffer_size: int
    min_buffer_size: int
    new_data: int
    min_new_data_count: int
    trainable: bool
    reason: str

    @classmethod
    def unconditional(cls) -> TrainabilityReport:
        """The report of a trainer with no data condition."""
        return cls(None, 0, 0, 0, 0, True, "")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)
