"""Training conditions that can never hold, found from a status snapshot.

A buffer that holds at most N items never reaches a ``min_buffer_size`` above
N, however long the run waits. ``validate`` (and ``run``) refuse such a config;
a buffer whose capacity is only known once it runs (a custom buffer) is shown
in the dashboard and ``status`` as "can never train" instead of waiting.

A buffer whose collector no agent took is never fed: nothing in the run can
collect into it, so its trainers wait for ever. ``validate`` warns of it where
the config shows it; once the run has stepped (agents take their collectors
when they are attached, the actors' feed when it starts), the dashboard and
``status`` show such a trainer as "never fed", not as waiting.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.telemetry.status import BufferStatus, TrainerStatus


def never_fed(
    trainer: TrainerStatus, buffers: Mapping[str, BufferStatus], steps: int
) -> str:
    """Why nothing will ever fill the trainer's buffer ("" if something may).

    Args:
        trainer: The trainer.
        buffers: The system's buffers.
        steps: The run's steps: before the first, the collectors may not all
            be taken yet.
    """
    c = trainer.condition
    buffer = buffers.get(c.data_user) if c.data_user is not None else None
    if buffer is None or buffer.collector_taken or steps <= 0 or c.trainable:
        return ""
    return f"no agent collects into buffer '{c.data_user}'"


def never_met(
    trainer: TrainerStatus,
    buffers: Mapping[str, BufferStatus],
    steps: int = 0,
) -> str:
    """Why the trainer's data condition can never hold ("" if it can).

    Args:
        trainer: The trainer.
        buffers: The system's buffers.
        steps: The run's steps; with more than 0, a buffer nothing collects
            into counts too (see :func:`never_fed`).
    """
    c = trainer.condition
    buffer = buffers.get(c.data_user) if c.data_user is not None else None
    if buffer is None:
        return ""
    if buffer.capacity is not None and c.min_buffer_size > buffer.capacity:
        return (
            f"buffer '{c.data_user}' holds at most {buffer.capacity:,} items, "
            f"needs {c.min_buffer_size:,}"
        )
    return never_fed(trainer, buffers, steps)
