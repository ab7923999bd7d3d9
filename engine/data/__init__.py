"""Data buffers and the collector/user hand-off."""

from . import impls
from .buffer import DataBuffer
from .container import DataCollectorsDict, DataUsersDict
from .impls import (
    ArrayBuffer,
    DictRandomReplacementBuffer,
    DictSequentialBuffer,
    Episode,
    EpisodeBuffer,
    RandomReplacementBuffer,
    SequentialBuffer,
)
from .interface import DataCollector, DataUser

__all__ = [
    "ArrayBuffer",
    "DataBuffer",
    "DataCollector",
    "DataCollectorsDict",
    "DataUser",
    "DataUsersDict",
    "DictRandomReplacementBuffer",
    "DictSequentialBuffer",
    "Episode",
    "EpisodeBuffer",
    "RandomReplacementBuffer",
    "SequentialBuffer",
    "impls",
]
