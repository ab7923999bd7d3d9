"""PAMIQ-Core's ``pamiq_core.state_persistence`` names, gathered in one place.

``from pamiq_core.state_persistence import X`` becomes
``from engine.state_persistence import X``. Each name lives in its own module
(:mod:`engine.state`, :mod:`engine.state_store`, :mod:`engine.states_keeper`,
:mod:`engine.save_conditions`, :mod:`engine.pickle_io`). States are not
interchangeable with PAMIQ-Core's: see docs/pamiq_compat.md.
"""

from .pickle_io import load_pickle, save_pickle
from .save_conditions import PeriodicSaveCondition
from .state import PersistentStateMixin
from .state_store import StateStore
from .states_keeper import LatestStatesKeeper, StatesKeeper

__all__ = [
    "LatestStatesKeeper",
    "PeriodicSaveCondition",
    "PersistentStateMixin",
    "StateStore",
    "StatesKeeper",
    "load_pickle",
    "save_pickle",
]
