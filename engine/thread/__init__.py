"""The thread primitives every layer of the engine may use; they import nothing of it.

:mod:`~engine.thread.worker_binding` says which worker the current thread is, so
that the clock's sleeps, a collector's waits and pause points find it;
:mod:`~engine.thread.supervision` runs a thread's whole body so that its failure
reaches whoever started it; :mod:`~engine.thread.thread_events` is the
``on_paused``/``on_resumed`` mixin of components (PAMIQ-Core's
``pamiq_core.thread.ThreadEventMixin``, hence the package's name). The threads
themselves, and the state machine they obey, are :mod:`engine.runtime`'s.
"""

from .thread_events import ThreadEventMixin

__all__ = ["ThreadEventMixin"]
