"""TensorBoard scalars written with the ``tensorboard`` package alone.

``torch.utils.tensorboard.SummaryWriter`` would do the same but imports torch
(about 200 MB resident) into runs that have no torch model at all; the event
files are TensorBoard's own format either way. Import this module only when
``tensorboard`` is installed.

The records are written by the caller's thread (the metrics writer's), not by
a thread of TensorBoard's: a write that fails (a full disk) raises
``OSError`` to the caller, which drops and counts what it could not write,
and the file is left ending in a whole record, so writing can go on later.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import struct
import time
from pathlib import Path

from tensorboard.compat.proto.event_pb2 import Event, SourceMetadata
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

from ..host.owner_only import append_owned, append_whole

_files = itertools.count()


def _record(data: bytes) -> bytes:
    """One TFRecord: length, its masked CRC, the data, its masked CRC."""
    header = struct.pack("<Q", len(data))
    return (
        header
        + struct.pack("<I", masked_crc32c(header))
        + data
        + struct.pack("<I", masked_crc32c(data))
    )


class ScalarWriter:
    """Appends scalar summaries to a new event file in ``log_dir``.

    Scalars are kept until :meth:`flush`, which appends them whole or not at
    all; what a failed flush held is dropped.

    Args:
        log_dir: The run's TensorBoard directory (created if missing).

    Raises:
        OSError: If the event file cannot be created (nothing is left behind).
    """

    def __init__(self, log_dir: str | Path) -> None:
        log_dir = Path(log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        self.path = log_dir / (
            f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}"
            f".{os.getpid()}.{next(_files)}"
        )
        self._fd: int | None = append_owned(self.path)
        self._pending: list[bytes] = []
        version = Event(
            wall_time=time.time(),
            file_version="brain.Event:2",
            source_metadata=SourceMetadata(
                writer="tensorboard.summary.writer.event_file_writer"
            ),
        )
        try:
            append_whole(self._fd, _record(version.SerializeToString()))
        except OSError:
            os.close(self._fd)
            self._fd = None
            with contextlib.suppress(OSError):
                self.path.unlink()
            raise

    def add_scalar(self, tag: str, value: float, step: int, wall_time: float) -> None:
        """Record ``value`` under ``tag`` at ``step`` (``wall_time``: seconds since the epoch)."""
        summary = Summary(value=[Summary.Value(tag=tag, simple_value=float(value))])
        event = Event(wall_time=wall_time, step=step, summary=summary)
        self._pending.append(_record(event.SerializeToString()))

    def flush(self) -> None:
        """Append the scalars recorded since the last flush.

        Raises:
            OSError: If they could not be written (they are dropped; the file
                is as it was).
        """
        pending, self._pending = self._pending, []
        if pending and self._fd is not None:
            append_whole(self._fd, b"".join(pending))

    def close(self) -> None:
        """Flush and close the event file.

        Raises:
            OSError: If the last scalars could not be written (the file is
                closed all the same).
        """
        try:
            self.flush()
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
