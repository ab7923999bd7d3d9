"""Pickle files for user components that choose pickle (PAMIQ-Core's helpers).

No built-in component uses pickle: their states are JSON, raw arrays and
safetensors, which loading cannot turn into code. Unpickling runs whatever the
file says, so :func:`load_pickle` is an explicit opt-in of the component that
calls it, for states it trusts (saved by this program, not received).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any


def save_pickle(obj: Any, path: str | Path) -> None:
    """Write ``obj`` to ``path`` with :mod:`pickle`.

    Raises:
        OSError: If the file cannot be written.
        pickle.PicklingError: If ``obj`` cannot be pickled.
    """
    with open(path, "wb") as f:
        pickle.dump(obj, f)


def load_pickle(path: str | Path) -> Any:
    """Read an object written by :func:`save_pickle`; only for trusted files.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        pickle.UnpicklingError: If the file is not a pickle.
    """
    with open(path, "rb") as f:
        return pickle.load(f)
