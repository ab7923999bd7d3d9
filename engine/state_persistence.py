"""PAMIQ-Core's ``pamiq_core.state_persistence`` names, gathered in one place.

``from pamiq_core.state_persistence import X`` becomes
``from engine.state_persistence import X``. Each name lives in its own module
(:mod:`engine.state.persistence`, :mod:`engine.state.store`, :mod:`engine.state.keepers`,
:mod:`engine.state.save_conditions`, :mod:`engine.state.pickle_io`). States are not
interchangeable with PAMIQ-Core's: see docs/pamiq_compat.md.
"""

from .state.keepers import LatestStatesKeeper, StatesKeeper
from .state.persistence import PersistentStateMixin
from .state.pickle_io import load_pickle, save_pickle
from .state.save_conditions import PeriodicSaveCondition
from .state.store import StateStore

__all__ = [
    "LatestStatesKeeper",
    "PeriodicSaveCondition",
    "PersistentStateMixin",
    "StateStore",
    "StatesKeeper",
    "load_pickle",
    "save_pickle",
]
