"""TensorBoard scalars written with the ``tensorboard`` package alone.

``torch.utils.tensorboard.SummaryWriter`` would do the same but imports torch
(about 200 MB resident) into runs that have no torch model at all; the event
files are TensorBoard's own format either way. Import this module only when
``tensorboard`` is installed.
"""

from __future__ import annotations

from pathlib import Path

from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter


class ScalarWriter:
    """Appends scalar summaries to a new event file in ``log_dir``.

    Args:
        log_dir: The run's TensorBoard directory (created if missing).
    """

    def __init__(self, log_dir: str | Path) -> None:
        self._writer = EventFileWriter(str(log_dir))

    def add_scalar(self, tag: str, value: float, step: int, wall_time: float) -> None:
        """Record ``value`` under ``tag`` at ``step`` (``wall_time``: seconds since the epoch)."""
        summary = Summary(value=[Summary.Value(tag=tag, simple_value=float(value))])
        self._writer.add_event(Event(wall_time=wall_time, step=step, summary=summary))

    def close(self) -> None:
        """Flush and close the event file."""
        self._writer.close()
