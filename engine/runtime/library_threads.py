"""Per-thread settings of numerical libraries, applied on every engine thread.

PyTorch's ``torch.set_num_threads(n)`` is process-wide for torch's own parallel
loops, but on some builds the OpenMP team size that MKL matrix products use is
a per-thread setting. A thread the engine starts could then run its first
``nn.Linear`` with a team of one thread per core, whatever the user set on the
main thread, and that team's workers spin on the cores between calls. Measured
on two cores with such a build: an agent calling a 10M-parameter model while the
trainer synced was preempted ~200 times in 2 s, for up to 4 ms at a time; with
the setting carried over, ~30 times and never for more than about 0.1 ms.
Builds that apply the setting to new threads themselves are unaffected.

The engine does not import torch: the setting is applied only when the program
has already imported it.
"""

from __future__ import annotations

from ..host.imported import already_imported


def adopt_library_thread_settings() -> None:
    """Give the calling thread the process's torch intra-op thread count.

    Call it first thing on a new thread that will run torch code (the engine's
    inference and training threads do). Does nothing if torch is not imported,
    or not yet completely imported.
    """
    torch = already_imported("torch")
    if torch is None:
        return
    # get_num_threads returns the process-wide count (or torch's default, one
    # per core); setting it from this thread sets this thread's OpenMP team size.
    torch.set_num_threads(torch.get_num_threads())
