"""Names of classes (PAMIQ-Core's ``pamiq_core.utils.reflection``)."""

from __future__ import annotations


def get_class_module_path(cls: type) -> str:
    """Return ``"<module>.<class name>"``, e.g. for a logger name.

    Args:
        cls: Any class.

    Returns:
        The module the class is defined in and its name, joined by a dot
        (``"builtins.int"`` for :class:`int`).
    """
    return f"{cls.__module__}.{cls.__name__}"
