"""Telemetry that cannot be written is dropped and counted, never a failure (issue 23 B).

The disk is made full for real at the level of the system call: the metrics
file's descriptor is pointed at ``/dev/full`` (every write fails with
``ENOSPC``), then back at the file (writes work again), with ``dup2``.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import engine.telemetry.metrics_log as metrics_log
from engine.host.owner_only import append_owned, append_whole
from engine.telemetry.events import ErrorOccurred, EventBus, LogMessage, Metric
from engine.telemetry.metrics_log import MetricsLog, tensorboard_available
from tests.engine.telemetry.metrics_lines import read_metrics

WAIT = 10.0
needs_dev_full = pytest.mark.skipif(
    not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)"
)


def wait_for(condition: Callable[[], Any], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


class Disk:
    """Makes the writes of files a module opens fail with ENOSPC, and work again."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: Any) -> None:
        self.full = True
        self.fds: list[tuple[int, Path]] = []

        def opened(path: Path) -> int:
            fd = append_owned(path)  # created and checked as usual
            self.fds.append((fd, Path(path)))
            if self.full:
                self._point(fd, "/dev/full")
            return fd

        monkeypatch.setattr(module, "append_owned", opened)

    @staticmethod
    def _point(fd: int, target: str | Path) -> None:
        new = os.open(target, os.O_WRONLY | os.O_APPEND)
        os.dup2(new, fd)
        os.close(new)

    def _open(self, now: str | Path) -> list[tuple[int, Path]]:
        """The files opened that are still open and pointed at ``now``."""
        still = []
        for fd, path in self.fds:
            try:
                if os.readlink(f"/proc/self/fd/{fd}") == str(now or path):
                    still.append((fd, path))
            except OSError:
                continue  # closed since
        return still

    def fill(self) -> None:
        self.full = True
        for fd, path in self.fds:
            if (fd, path) in self._open(path):
                self._point(fd, "/dev/full")

    def free(self) -> None:
        self.full = False
        for fd, path in self._open("/dev/full"):
            self._point(fd, path)


def warnings(events: list[Any]) -> list[str]:
    return [
        e.message
        for e in events
        if isinstance(e, LogMessage) and e.message.startswith("metrics:")
    ]


def publish(bus: EventBus, n: int, start: int = 0) -> None:
    for step in range(start, start + n):
        bus.publish(Metric(source="agent", name="x", value=float(step), step=step))


@needs_dev_full
def test_a_full_disk_drops_and_counts_lines_and_warns_once_each_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = Disk(monkeypatch, metrics_log)
    bus = EventBus()
    seen: list[Any] = []
    bus.add_callback(seen.append)
    failures: list[str] = []
    log = MetricsLog(
        bus,
        tmp_path,
        tensorboard=False,
        flush_interval=0.01,
        on_failure=lambda thread, exc, tb: failures.append(tb),
    )
    with log:
        for batch in range(5):  # five flushes fail: one warning
            publish(bus, 10, batch * 10)
            wait_for(lambda b=batch: log.unwritten == (b + 1) * 10, "lines dropped")
        assert log.failing and log.written == 0
        assert len(warnings(seen)) == 1
        assert "No space left on device" in warnings(seen)[0]
        assert "dropped so far: 10 metric line(s)" in warnings(seen)[0]
        disk.free()
        publish(bus, 3, 50)
        wait_for(lambda: log.written == 3, "lines written again")
        assert not log.failing
        wait_for(lambda: len(warnings(seen)) == 2, "the warning that it works again")
        publish(bus, 2, 53)
    assert failures == [] and not any(isinstance(e, ErrorOccurred) for e in seen)
    assert len(warnings(seen)) == 2
    assert "again" in warnings(seen)[1] and "50 metric line(s)" in warnings(seen)[1]
    assert log.unwritten == 50 and log.written == 5
    assert [r["step"] for r in read_metrics(tmp_path)] == [50, 51, 52, 53, 54]


def test_an_append_that_fails_part_way_is_cut_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "metrics.jsonl"
    fd = append_owned(path)
    append_whole(fd, b'{"a": 1}\n')
    real_write = os.write
    calls = []

    def half_then_full(target: int, data: Any) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(target, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(OSError, match="No space"):
        append_whole(fd, b'{"b": 2}\n{"c": 3}\n')
    monkeypatch.undo()
    assert path.read_bytes() == b'{"a": 1}\n'  # no torn line for the next to join
    append_whole(fd, b'{"d": 4}\n')
    os.close(fd)
    assert path.read_bytes() == b'{"a": 1}\n{"d": 4}\n'


@needs_dev_full
@pytest.mark.skipif(not tensorboard_available(), reason="needs the tensorboard extra")
def test_tensorboard_scalars_that_cannot_be_written_are_dropped_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    import engine.telemetry.tensorboard_scalars as tensorboard_scalars

    disk = Disk(monkeypatch, tensorboard_scalars)
    bus = EventBus()
    seen: list[Any] = []
    bus.add_callback(seen.append)
    failures: list[str] = []
    log = MetricsLog(
        bus,
        tmp_path,
        tensorboard=True,
        flush_interval=0.01,
        on_failure=lambda thread, exc, tb: failures.append(tb),
    )
    with log:
        publish(bus, 4)
        wait_for(
            lambda: log.unwritten_scalars == 4 and log.written == 4, "scalars dropped"
        )
        assert log.failing and log.unwritten == 0 and log.written == 4
        disk.free()
        publish(bus, 3, 4)
        wait_for(lambda: log.written == 7 and not log.failing, "scalars again")
        wait_for(lambda: len(warnings(seen)) == 2, "the warning that it works again")
    assert failures == []
    assert len(warnings(seen)) == 2
    assert "4 TensorBoard scalar(s)" in warnings(seen)[1]
    reader = EventAccumulator(str(tmp_path / "tensorboard"))
    reader.Reload()
    # The event file that could not be written was removed; the new one holds
    # what came after.
    assert [s.step for s in reader.Scalars("agent/x")] == [4, 5, 6]
    assert len(list((tmp_path / "tensorboard").iterdir())) == 1


@needs_dev_full
def test_the_writer_keeps_up_with_publishers_while_the_disk_fills_and_frees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Publishers on several threads while the disk fills and frees: every
    # line is written, counted as dropped, or lost to the bounded queue.
    disk = Disk(monkeypatch, metrics_log)
    # A real disk fills between two system calls of one append, not in the
    # middle of the file: the descriptor is re-pointed between appends only.
    swapping = threading.Lock()

    def append_between_swaps(fd: int, data: bytes) -> None:
        with swapping:
            append_whole(fd, data)

    monkeypatch.setattr(metrics_log, "append_whole", append_between_swaps)
    bus = EventBus()
    seen: list[Any] = []
    bus.add_callback(seen.append)
    failures: list[str] = []
    log = MetricsLog(
        bus,
        tmp_path,
        tensorboard=False,
        flush_interval=0.002,
        on_failure=lambda thread, exc, tb: failures.append(tb),
    )
    done = threading.Event()
    published = [0] * 4

    def publisher(i: int) -> None:
        while not done.is_set():
            publish(bus, 10, published[i])
            published[i] += 10
            time.sleep(0.0005)

    with log:
        threads = [threading.Thread(target=publisher, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for episode in range(6):
            told = 2 * episode
            wait_for(lambda n=told: len(warnings(seen)) == n + 1, "dropping")
            with swapping:
                disk.free()
            wait_for(lambda n=told: len(warnings(seen)) == n + 2, "writing again")
            with swapping:
                disk.fill()
            # Full again at once: told at once, however short the good spell.
            wait_for(lambda: log.failing, "failing")
        with swapping:
            disk.free()
        wait_for(lambda: not log.failing, "writing")
        done.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert log.written + log.unwritten + log.dropped == sum(published)
    assert log.unwritten > 0
    assert len(read_metrics(tmp_path)) == log.written
    told = warnings(seen)
    assert len(told) == 13  # each "cannot" once, each followed by one "again"
    assert all("cannot" in m for m in told[::2])
    assert all("again" in m for m in told[1::2])


@needs_dev_full
def test_a_disk_on_the_edge_of_full_warns_once_not_every_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every other append fits (the room left in a file's last block): one
    # warning, not one per flush; "again" only once writing keeps working.
    disk = Disk(monkeypatch, metrics_log)
    bus = EventBus()
    seen: list[Any] = []
    bus.add_callback(seen.append)
    log = MetricsLog(bus, tmp_path, tensorboard=False, flush_interval=0.01)
    with log:
        for batch in range(20):
            if batch % 2:
                disk.free()
            else:
                disk.fill()
            publish(bus, 1, batch)
            wait_for(lambda b=batch: log.written + log.unwritten == b + 1, "the flush")
        assert len(warnings(seen)) == 1
        disk.free()
        wait_for(lambda: len(warnings(seen)) == 2, "the warning that it works again")
    assert log.written == 10 and log.unwritten == 10
