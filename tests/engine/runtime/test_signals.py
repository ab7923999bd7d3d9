"""Signals that stop a run in order: the stop never runs inside the handler."""

from __future__ import annotations

import signal
import threading

from engine.runtime.signals import ORDERLY_STOP, UNLESS_HANDLED, stop_on_signals


def test_a_stop_that_needs_a_lock_the_interrupted_thread_holds_still_happens() -> None:
    """Python runs the handler on the main thread between two of its bytecodes,
    here inside a ``with lock:`` (as the headless loop sits inside its event
    subscription's lock, which the stop's "stopping" event needs). A stop made
    in the handler would wait on the thread it interrupted for ever (here: 2 s,
    then give up); the stop waits for the lock on a thread of its own instead."""
    lock = threading.Lock()
    stopped = threading.Event()
    reasons: list[str] = []

    def shutdown(reason: str) -> None:
        if lock.acquire(timeout=2):
            lock.release()
            reasons.append(reason)
            stopped.set()

    with stop_on_signals(shutdown, (signal.SIGUSR1,)):
        with lock:
            # The handler runs before raise_signal returns, with the lock held.
            signal.raise_signal(signal.SIGUSR1)
            assert not stopped.is_set()  # it cannot have the lock yet
        assert stopped.wait(10), "the stop never happened"
    assert reasons == ["SIGUSR1 received"]


def test_every_signal_is_delivered_in_order_and_the_handlers_are_put_back() -> None:
    reasons: list[str] = []
    before = signal.getsignal(signal.SIGUSR1), signal.getsignal(signal.SIGUSR2)
    with stop_on_signals(reasons.append, (signal.SIGUSR1, signal.SIGUSR2)):
        signal.raise_signal(signal.SIGUSR1)
        signal.raise_signal(signal.SIGUSR2)
    # Leaving the block delivers what was taken before it left.
    assert reasons == ["SIGUSR1 received", "SIGUSR2 received"]
    assert (
        signal.getsignal(signal.SIGUSR1),
        signal.getsignal(signal.SIGUSR2),
    ) == before
    assert not [t for t in threading.enumerate() if t.name == "signal-stop"]


def test_a_hangup_the_process_was_started_ignoring_stays_ignored() -> None:
    """Under ``nohup`` (SIGHUP ignored from the start) a closed terminal must not
    stop the run: the console's signals and ``launch()``'s (``only_unhandled``)
    leave SIGHUP ignored, and SIGINT and SIGTERM still stop it in order."""
    before = {sig: signal.getsignal(sig) for sig in ORDERLY_STOP}
    # As a fresh process has them: ``launch()`` takes only signals still at
    # their defaults, and an earlier test in this process (ray.init) may have
    # left a SIGTERM handler of its own.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        for signals, only_unhandled in (
            (ORDERLY_STOP, False),
            (UNLESS_HANDLED, True),
        ):
            reasons: list[str] = []
            with stop_on_signals(reasons.append, signals, only_unhandled):
                assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
                signal.raise_signal(signal.SIGHUP)
                signal.raise_signal(signal.SIGTERM)
            assert reasons == ["SIGTERM received"]
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
