"""Built-in buffers (PAMIQ-Core's ``pamiq_core.data.impls``, plus :class:`EpisodeBuffer` and :class:`ArrayBuffer`)."""

from .array_buffer import ArrayBuffer
from .episode_buffer import Episode, EpisodeBuffer
from .random_replacement_buffer import (
    DictRandomReplacementBuffer,
    RandomReplacementBuffer,
)
from .sequential_buffer import DictSequentialBuffer, SequentialBuffer

__all__ = [
    "ArrayBuffer",
    "DictRandomReplacementBuffer",
    "DictSequentialBuffer",
    "Episode",
    "EpisodeBuffer",
    "RandomReplacementBuffer",
    "SequentialBuffer",
]
