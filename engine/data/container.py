"""Name-to-user and name-to-collector mappings."""

from __future__ import annotations

from collections import UserDict
from collections.abc import Iterator, Mapping
from typing import Any, Self

from typing_extensions import override

from ..state.persistence import Persistent, StateGroup
from .buffer import DataBuffer
from .interface import DataCollector, DataUser


class DataCollectorsDict(UserDict[str, DataCollector[Any]]):
    """Collectors by name; each may be acquired by one agent only."""

    def __init__(self, *args: Any, **kwds: Any) -> None:
        super().__init__(*args, **kwds)
        self._acquired: set[str] = set()

    def acquire(self, collector_name: str) -> DataCollector[Any]:
        """Take a collector for exclusive use.

        Raises:
            KeyError: If it does not exist or was already acquired.
        """
        if collector_name in self._acquired:
            raise KeyError(f"data collector '{collector_name}' is already acquired")
        if collector_name not in self.data:
            known = ", ".join(sorted(self.data)) or "none"
            raise KeyError(
                f"data collector '{collector_name}' not found (known: {known})"
            )
        self._acquired.add(collector_name)
        return self.data[collector_name]

    def acquired(self, collector_name: str) -> bool:
        """Whether an agent took the collector (a buffer nothing else fills)."""
        return collector_name in self._acquired


class DataUsersDict(UserDict[str, DataUser[Any]], StateGroup):
    """Data users by name, with the matching :class:`DataCollectorsDict`."""

    def __init__(self, *args: Any, **kwds: Any) -> None:
        self._data_collectors_dict = DataCollectorsDict()
        super().__init__(*args, **kwds)

    @property
    def data_collectors_dict(self) -> DataCollectorsDict:
        """The collectors, by the same names."""
        return self._data_collectors_dict

    @override
    def __setitem__(self, key: str, item: DataUser[Any]) -> None:
        super().__setitem__(key, item)
        self._data_collectors_dict[key] = item.collector

    @classmethod
    def from_data_buffers(
        cls,
        buffer_map: Mapping[str, DataBuffer[Any, Any]] | None = None,
        /,
        **buffers: DataBuffer[Any, Any],
    ) -> Self:
        """Create a user (and collector) for each buffer.

        Args:
            buffer_map: Buffers by name.
            **buffers: More buffers by name (these win over ``buffer_map``'s).
        """
        users = cls()
        for name, buffer in {**(buffer_map or {}), **buffers}.items():
            users[name] = DataUser(buffer)
        return users

    @override
    def state_parts(self) -> Iterator[tuple[str, Persistent]]:
        """Each user by name: its state is saved under ``path/<name>``."""
        return iter(self.data.items())
