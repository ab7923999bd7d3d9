"""Trainers: the seed ``Trainer`` API, torch trainers, configuration and algorithms."""

from .base import Trainer

__all__ = ["Trainer"]
