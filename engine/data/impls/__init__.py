"""Built-in buffers (PAMIQ-Core's ``pamiq_core.data.impls``)."""

from .random_replacement_buffer import (
    DictRandomReplacementBuffer,
    RandomReplacementBuffer,
)
from .sequential_buffer import DictSequentialBuffer, SequentialBuffer

__all__ = [
    "DictRandomReplacementBuffer",
    "DictSequentialBuffer",
    "RandomReplacementBuffer",
    "SequentialBuffer",
]
