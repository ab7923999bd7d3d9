"""Optional libraries the engine uses only when the program has already imported them.

The engine never imports torch itself (a program without torch must not pay for it),
so it looks in ``sys.modules``. That needs care: another thread may be importing
the library at that very moment (the metrics writer imports
``torch.utils.tensorboard`` on its own thread), and a half-initialised module has
none of its attributes yet. Such a module counts as not imported: no object of the
library can exist before its import has finished, and the program cannot have
configured it yet.
"""

from __future__ import annotations

import sys
from types import ModuleType


def already_imported(name: str) -> ModuleType | None:
    """The module ``name`` if it is completely imported, else None (never imports it)."""
    module = sys.modules.get(name)
    if module is None:
        return None
    if getattr(getattr(module, "__spec__", None), "_initializing", False):
        return None
    return module
