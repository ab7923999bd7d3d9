"""The control state machine shared by all worker threads.

ACTIVE -> PAUSING -> PAUSED -> RESUMING -> ACTIVE, and any state -> STOPPING ->
STOPPED. Every transition happens under one condition variable, so a request
can never fall between a worker's check and its wait. Workers look at a plain
boolean (``attention``) at each pause point and take the lock only when it is
set, which keeps the inference loop's fast path to one attribute read.

State-change events are published after the lock is released, in the order
of the transitions: an event callback (the console's ``post_message``) may
take its time or look at the system without holding up a transition.
"""

from __future__ import annotations

import threading
import time as _time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum

from ..telemetry.events import EventBus, SystemStateChanged
from ..thread import worker_binding
from ..time import TimeController


class SystemState(StrEnum):
    """The states of the control state machine."""

    ACTIVE = "active"
    PAUSING = "pausing"
    PAUSED = "paused"
    RESUMING = "resuming"
    STOPPING = "stopping"
    STOPPED = "stopped"

    @property
    def is_stopping(self) -> bool:
        """Whether the system is stopping or has stopped (no operation can start)."""
        return self in (SystemState.STOPPING, SystemState.STOPPED)


class ShutdownRequested(BaseException):
    """Raised at a pause point when the system is stopping.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that a trainer's
    ``except Exception`` cannot swallow it and keep a stopping system alive.
    """


class PauseTimeoutError(RuntimeError):
    """Some workers did not reach a pause point in time.

    Attributes:
        waiting_for: Names of the workers that had not paused.
    """

    def __init__(self, waiting_for: list[str], timeout: float) -> None:
        self.waiting_for = waiting_for
        names = ", ".join(f"{n} thread" for n in waiting_for)
        super().__init__(
            f"{names} did not reach a pause point within {timeout:g} s "
            "(a long train() should call pause_point())"
        )


class SystemStoppedError(RuntimeError):
    """An operation was asked of a system that is stopping or stopped."""


def pause_point() -> None:
    """Let the system pause (or stop) here if it has been asked to.

    Call it inside long loops in ``Trainer.train()`` (the torch and config-driven
    trainers call it after every optimizer step). On a thread that is not an
    engine worker it does nothing. When the system is stopping it raises
    :class:`ShutdownRequested`, which unwinds ``train()``.
    """
    worker = worker_binding.current_worker()
    if worker is not None:
        worker.pause_point()


class Worker:
    """A worker thread's registration with the controller."""

    def __init__(
        self,
        controller: Controller,
        name: str,
        on_paused: Callable[[], None],
        on_resumed: Callable[[], None],
        wake: Callable[[], None],
    ) -> None:
        self.name = name
        self._controller = controller
        self._on_paused = on_paused
        self._on_resumed = on_resumed
        self.wake = wake
        self.paused = False
        self.exited = False
        self._in_callback = False

    def pause_point(self) -> None:
        """Block while paused; raise :class:`ShutdownRequested` when stopping."""
        if self._controller.attention and not self._in_callback:
            self._controller._checkpoint(self)

    def wait_interruptibly(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when cut short by a pause or stop request."""
        if self._in_callback:
            _time.sleep(seconds)
            return False
        return self._controller._interrupt.wait(seconds)

    def wait_for(self, event: threading.Event, timeout: float | None = None) -> bool:
        """Wait until ``event`` is set, ``timeout`` passes, or a pause or stop is requested.

        Returns:
            True when a pause or stop request needs this worker (call
            :meth:`pause_point` next), False otherwise.
        """
        if self._in_callback:
            event.wait(timeout)
            return False
        controller = self._controller
        controller._add_interrupt_listener(event)
        try:
            # Listening before this check: a request made after it sets the event.
            if not controller.attention:
                event.wait(timeout)
            return controller.attention
        finally:
            controller._remove_interrupt_listener(event)

    @contextmanager
    def callbacks(self) -> Iterator[None]:
        """Run pause/resume callbacks: pause points and sleeps inside are plain."""
        self._in_callback = True
        try:
            yield
        finally:
            self._in_callback = False

    def bind(self) -> None:
        """Make this the worker of the calling thread."""
        worker_binding.bind_worker(self)

    def unbind(self) -> None:
        """Stop being the calling thread's worker (before teardown code runs)."""
        worker_binding.bind_worker(None)

    def exit(self) -> None:
        """Report that the thread has finished."""
        worker_binding.bind_worker(None)
        self._controller._worker_exited(self)


class Controller:
    """Owns the system state and coordinates pause, resume and shutdown."""

    def __init__(self, clock: TimeController, events: EventBus) -> None:
        self._clock = clock
        self._events = events
        self._cond = threading.Condition()
        self._state = SystemState.ACTIVE
        self._workers: list[Worker] = []
        self._interrupt = threading.Event()
        # Events that workers wait on besides the interrupt (see Worker.wait_for).
        self._interrupt_listeners: list[threading.Event] = []
        self.attention = False
        self._user_paused = False
        self._holds = 0
        # Transitions not yet published; one publisher at a time keeps their order.
        self._unpublished: list[SystemStateChanged] = []
        self._publish_lock = threading.Lock()

    @property
    def state(self) -> SystemState:
        """The current state."""
        return self._state

    def register(
        self,
        name: str,
        on_paused: Callable[[], None] = lambda: None,
        on_resumed: Callable[[], None] = lambda: None,
        wake: Callable[[], None] = lambda: None,
    ) -> Worker:
        """Register a worker before its thread starts."""
        worker = Worker(self, name, on_paused, on_resumed, wake)
        with self._cond:
            self._workers.append(worker)
        return worker

    def _set_state(self, state: SystemState) -> None:
        # Caller holds the lock.
        self._state = state
        self.attention = state is not SystemState.ACTIVE
        if self.attention:
            self._interrupt.set()
            for event in self._interrupt_listeners:
                event.set()
        else:
            self._interrupt.clear()
        self._cond.notify_all()
        self._unpublished.append(SystemStateChanged(state=state.value))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the state lock; publish the transitions made once it is released."""
        try:
            with self._cond:
                yield
        finally:
            self._publish()

    def _publish(self) -> None:
        """Publish pending transitions in order; the caller does not hold the state lock.

        One thread publishes at a time. A thread that finds another publishing
        leaves its transitions to it (that thread loops until none are left),
        so a callback that causes a transition, or hands work to a thread that
        does, never waits for the publisher.
        """
        while self._unpublished:
            if not self._publish_lock.acquire(blocking=False):
                return
            try:
                with self._cond:
                    events, self._unpublished = self._unpublished, []
                for event in events:
                    self._events.publish(event)
            finally:
                self._publish_lock.release()

    def _wait(
        self, predicate: Callable[[], bool], timeout: float | None = None
    ) -> bool:
        """``wait_for`` on the state lock, publishing pending transitions first.

        Caller holds the lock (once): it is released while publishing, which a
        wait does anyway, and ``wait_for`` checks the predicate again first.
        """
        if self._unpublished:
            self._cond.release()
            try:
                self._publish()
            finally:
                self._cond.acquire()
        return self._cond.wait_for(predicate, timeout)

    def _pause_if_all_paused(self) -> None:
        """PAUSING with every live worker parked: pause the clock, then PAUSED."""
        # Caller holds the lock.
        if self._state is SystemState.PAUSING and all(
            w.paused for w in self._live_workers()
        ):
            self._clock.pause()
            self._set_state(SystemState.PAUSED)

    def _add_interrupt_listener(self, event: threading.Event) -> None:
        with self._cond:
            self._interrupt_listeners.append(event)

    def _remove_interrupt_listener(self, event: threading.Event) -> None:
        with self._cond:
            self._interrupt_listeners.remove(event)

    def _live_workers(self) -> list[Worker]:
        return [w for w in self._workers if not w.exited]

    def pause(self, timeout: float = 10.0) -> None:
        """Pause every worker and the clock on the operator's behalf; return once paused.

        The system stays paused until :meth:`resume`, even if an operation that
        also needed it paused (a save, a load) finishes in between.

        Raises:
            PauseTimeoutError: If some worker did not reach a pause point within
                ``timeout``; the system stays PAUSING (it pauses when they get
                there) until :meth:`resume` is called.
            SystemStoppedError: If the system is stopping or stopped.
        """
        with self._locked():
            self._check_not_stopping()
            self._user_paused = True
            self._enter_pause(timeout)

    def resume(self) -> None:
        """Withdraw the operator's pause; the system runs again once no operation holds it."""
        with self._locked():
            self._user_paused = False
            if self._holds == 0:
                self._leave_pause()

    @contextmanager
    def hold(self, timeout: float) -> Iterator[None]:
        """Keep the system paused for the duration of an operation (save, load).

        Holds and the operator's pause are independent: the system resumes when
        neither wants it paused, and a shutdown waits for the holds to end before
        it releases the workers, so no component runs while another is saved.

        Raises:
            PauseTimeoutError: As :meth:`pause` (the hold is released).
            SystemStoppedError: If the system is stopping or stopped.
        """
        with self._locked():
            self._check_not_stopping()
            self._holds += 1
            try:
                self._enter_pause(timeout)
            except BaseException:
                self._release_hold()
                raise
        try:
            yield
        finally:
            with self._locked():
                self._release_hold()

    def _release_hold(self) -> None:
        # Caller holds the lock.
        self._holds -= 1
        if self._holds == 0 and not self._user_paused:
            self._leave_pause()
        self._cond.notify_all()

    def _check_not_stopping(self) -> None:
        if self._state.is_stopping:
            raise SystemStoppedError(f"the system is {self._state.value}")

    def _enter_pause(self, timeout: float) -> None:
        # Caller holds the lock.
        self._wait(lambda: self._state is not SystemState.RESUMING)
        self._check_not_stopping()
        if self._state is SystemState.PAUSED:
            return
        if self._state is SystemState.ACTIVE:
            self._set_state(SystemState.PAUSING)
            for worker in self._workers:
                worker.wake()
        done = self._wait(
            lambda: (
                self._state is not SystemState.PAUSING
                or all(w.paused for w in self._live_workers())
            ),
            timeout,
        )
        self._check_not_stopping()
        if self._state is SystemState.PAUSED:
            return
        if not done:
            late = [w.name for w in self._live_workers() if not w.paused]
            raise PauseTimeoutError(late, timeout)
        self._pause_if_all_paused()

    def _leave_pause(self) -> None:
        # Caller holds the lock.
        if self._state not in (SystemState.PAUSING, SystemState.PAUSED):
            return
        self._clock.resume()
        self._set_state(SystemState.RESUMING)
        self._wait(lambda: not any(w.paused for w in self._workers))
        if self._state is SystemState.RESUMING:
            self._set_state(SystemState.ACTIVE)

    def shutdown(self) -> None:
        """Ask every worker to stop at its next pause point (idempotent).

        Workers parked in a pause stay parked until running operations release
        their holds. The clock runs again so that teardown code can sleep.
        """
        with self._locked():
            if self._state.is_stopping:
                return
            self._clock.resume()
            self._set_state(SystemState.STOPPING)
            for worker in self._workers:
                worker.wake()

    def mark_stopped(self) -> None:
        """Record that the workers have exited and the final work is done."""
        with self._locked():
            self._set_state(SystemState.STOPPED)

    def wait_for_state(
        self, predicate: Callable[[SystemState], bool], timeout: float | None = None
    ) -> bool:
        """Wait until ``predicate(state)`` holds; return whether it did in time."""
        with self._locked():
            return self._wait(lambda: predicate(self._state), timeout)

    def _checkpoint(self, worker: Worker) -> None:
        with self._cond:
            state = self._state
        if state.is_stopping:
            raise ShutdownRequested
        if state not in (SystemState.PAUSING, SystemState.PAUSED):
            return
        # User callbacks run outside the lock so they may take their time; inside
        # them pause points and sleeps are plain (no re-entry into the checkpoint).
        with worker.callbacks():
            worker._on_paused()
        with self._locked():
            worker.paused = True
            self._cond.notify_all()
            self._pause_if_all_paused()
            self._wait(
                lambda: (
                    not (
                        self._state in (SystemState.PAUSING, SystemState.PAUSED)
                        or (self._state is SystemState.STOPPING and self._holds > 0)
                    )
                )
            )
            worker.paused = False
            self._cond.notify_all()
            stopping = self._state.is_stopping
        if stopping:
            raise ShutdownRequested
        with worker.callbacks():
            worker._on_resumed()

    def _worker_exited(self, worker: Worker) -> None:
        with self._locked():
            worker.exited = True
            worker.paused = False
            self._pause_if_all_paused()
            self._cond.notify_all()
