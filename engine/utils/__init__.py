"""Small helpers for user components (PAMIQ-Core's ``pamiq_core.utils``)."""

from . import reflection, schedulers

__all__ = ["reflection", "schedulers"]
