"""PAMIQ-Core's ``pamiq_core.state_persistence`` names, gathered in one place.

``from pamiq_core.state_persistence import X`` becomes
``from engine.state_persistence import X``. The policies a program gives
``LaunchConfig`` about its saved states are defined here: which to keep
(:mod:`~engine.state_persistence.keepers`) and when to save
(:mod:`~engine.state_persistence.save_conditions`, on the engine clock's
schedulers, so above :mod:`engine.state`). The rest is :mod:`engine.state`'s
(:mod:`~engine.state.persistence`, :mod:`~engine.state.store`,
:mod:`~engine.state.pickle_io`). States are not interchangeable with
PAMIQ-Core's: see docs/pamiq_compat.md.
"""

from ..state.persistence import PersistentStateMixin
from ..state.pickle_io import load_pickle, save_pickle
from ..state.store import StateStore
from .keepers import LatestStatesKeeper, StatesKeeper
from .save_conditions import PeriodicSaveCondition

__all__ = [
    "LatestStatesKeeper",
    "PeriodicSaveCondition",
    "PersistentStateMixin",
    "StateStore",
    "StatesKeeper",
    "load_pickle",
    "save_pickle",
]
