"""System pause and resume callbacks (PAMIQ-Core's ``ThreadEventMixin``)."""

from __future__ import annotations


class ThreadEventMixin:
    """A component told when the system pauses and resumes.

    The callbacks run on the thread that owns the component (the inference
    thread for the interaction, the training thread for trainers).
    """

    def on_paused(self) -> None:
        """Called when the system pauses."""

    def on_resumed(self) -> None:
        """Called when the system resumes."""
