"""What a run's state must hold to load, checked offline as a load checks it.

A run (:class:`engine.System`) registers the same components every time
(:data:`RUN_COMPONENTS`), and a load refuses a state that lacks one of them or
one of the run's parts (``models/NAME``, ``data/NAME``, ``trainers/NAME``). An
offline check (``pamiq-console states verify``) knows the components from the
manifest's kind (a state a run wrote records its steps and uptime), and the
parts only when it knows the run's config (:func:`run_parts`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .manifest import check_holds, verify_state

RUN_COMPONENTS = ("interaction", "models", "data", "trainers", "time", "system")
"""The components every run registers, in order (see :class:`engine.System`)."""


def written_by_a_run(manifest: dict[str, Any]) -> bool:
    """Whether a run wrote the state (a bare :class:`StateStore` records no steps or uptime)."""
    return "steps" in manifest and "uptime" in manifest


def run_parts(
    models: Iterable[str], buffers: Iterable[str], trainers: Iterable[str]
) -> list[str]:
    """The parts a run of these models, buffers and trainers loads, in load order."""
    return [
        "interaction",
        *(f"models/{name}" for name in models),
        *(f"data/{name}" for name in buffers),
        *(f"trainers/{name}" for name in trainers),
        "time",
        "system",
    ]


def verify_for_run(path: Path, parts: Iterable[str] = ()) -> dict[str, Any]:
    """:func:`~engine.state.manifest.verify_state`, plus what a load into a run needs.

    Args:
        path: The state directory.
        parts: The parts of the run it is for (:func:`run_parts`), if known.

    Returns:
        The manifest.

    Raises:
        StateError: Naming the first problem.
    """
    manifest = verify_state(path)
    components = RUN_COMPONENTS if written_by_a_run(manifest) else ()
    check_holds(Path(path), manifest, components, parts)
    return manifest
