"""``python -m console.cli``: the same as ``pamiq-console``."""

from . import main

main()
