"""What is saved and loaded: the persistence protocol, state directories, loading.

Flow of a save: the system holds still, every registered component writes itself
into a pending directory (:class:`~engine.state.store.StateStore`), then, with the
system running again, checksums and the manifest are written and the directory
is renamed into place (:mod:`engine.state.manifest`); retention prunes this run's
own older states (:mod:`engine.state.catalogue`). Flow of a load: verify against
the manifest, read ahead what can load in two steps while the system runs, then
install everything in a short hold (:mod:`engine.state.loading`). Components
store values without pickle (:mod:`engine.state.serialization`).

The protocol every component implements is re-exported here.
"""

from .persistence import (
    Commit,
    Persistent,
    PersistentStateMixin,
    StateError,
    StateGroup,
    prepare_component_load,
)

__all__ = [
    "Commit",
    "Persistent",
    "PersistentStateMixin",
    "StateError",
    "StateGroup",
    "prepare_component_load",
]
