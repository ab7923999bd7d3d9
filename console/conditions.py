"""Training conditions that can never hold, found from a status snapshot.

A buffer that holds at most N items never reaches a ``min_buffer_size`` above
N, however long the run waits. ``validate`` (and ``run``) refuse such a config;
a buffer whose capacity is only known once it runs (a custom buffer) is shown
in the dashboard and ``status`` as "can never train" instead of waiting.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.telemetry.status import BufferStatus, TrainerStatus


def never_met(trainer: TrainerStatus, buffers: Mapping[str, BufferStatus]) -> str:
    """Why the trainer's data condition can never hold ("" if it can)."""
    c = trainer.condition
    buffer = buffers.get(c.data_user) if c.data_user is not None else None
    if buffer is None or buffer.capacity is None:
        return ""
    if c.min_buffer_size > buffer.capacity:
        return (
            f"buffer '{c.data_user}' holds at most {buffer.capacity:,} items, "
            f"needs {c.min_buffer_size:,}"
        )
    return ""
