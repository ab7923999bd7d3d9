"""Setup and teardown callbacks for interaction components."""

from __future__ import annotations


class InteractionEventMixin:
    """A component told when the interaction starts and ends (on the inference thread)."""

    def setup(self) -> None:
        """Called once before the first step."""

    def teardown(self) -> None:
        """Called once after the last step."""
