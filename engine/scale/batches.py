"""What an actor ships to the learner: its collected items, columnar where that is exact.

Items whose structure repeats (numpy arrays of one dtype and shape, Python
``float``/``int``/``bool``, and tuples or string-keyed dicts of those) are
stacked into one array per leaf, so a batch of a thousand transitions is a
handful of arrays that Ray moves without pickling each item. Decoding gives
back items equal to and of the same types as the collected ones; anything else
(other types, items of differing shapes) travels as a plain list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_SCALARS: dict[type, np.dtype[Any]] = {
    float: np.dtype(np.float64),
    int: np.dtype(np.int64),
    bool: np.dtype(np.bool_),
}


@dataclass(frozen=True)
class Columns:
    """Items stacked leaf by leaf.

    Attributes:
        spec: The structure every item shares (see :func:`encode_items`).
        columns: One array per leaf, the items along the first axis.
        count: How many items.
    """

    spec: Any
    columns: tuple[np.ndarray, ...]
    count: int


Encoded = Columns | list[Any]


@dataclass(frozen=True)
class ActorBatch:
    """One shipment from an actor.

    Attributes:
        actor: The actor's index (0-based).
        version: The policy version (weight publication) the items were
            collected under: the newest the actor had installed when the
            batch was closed.
        items: Per buffer name, the items in collection order.
        steps: Interaction steps the actor took since its previous batch.
        dropped: Items the actor dropped since its previous batch because the
            learner was behind (``when_behind = "drop_oldest"``).
        created: Wall-clock time the batch was closed.
        sizes: Items per buffer name.
        metrics: What the actor's agent reported since its previous batch,
            as ``(source, name, value, step)``; the source names the actor
            (``actor0.agent``).
    """

    actor: int
    version: int
    items: dict[str, Encoded]
    steps: int = 0
    dropped: int = 0
    created: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)
    metrics: tuple[tuple[str, str, float, int], ...] = ()

    @property
    def item_count(self) -> int:
        """Items in the batch, over all buffers."""
        return sum(self.sizes.values())


def _spec_of(value: Any) -> Any:
    kind = type(value)
    if kind is np.ndarray:
        if value.dtype.hasobject:
            return None
        return ("array", value.dtype.str, value.shape)
    if kind in _SCALARS:
        return ("scalar", kind.__name__)
    if kind is tuple:
        parts = tuple(_spec_of(v) for v in value)
        return None if None in parts else ("tuple", parts)
    if kind is dict and all(type(k) is str for k in value):
        parts = tuple((k, _spec_of(v)) for k, v in value.items())
        return None if any(p is None for _, p in parts) else ("dict", parts)
    return None


def _leaves(value: Any, spec: Any, out: list[Any]) -> None:
    tag = spec[0]
    if tag in ("array", "scalar"):
        out.append(value)
    elif tag == "tuple":
        for v, s in zip(value, spec[1], strict=True):
            _leaves(v, s, out)
    else:
        for key, s in spec[1]:
            _leaves(value[key], s, out)


def _leaf_specs(spec: Any, out: list[Any]) -> None:
    tag = spec[0]
    if tag in ("array", "scalar"):
        out.append(spec)
    elif tag == "tuple":
        for s in spec[1]:
            _leaf_specs(s, out)
    else:
        for _, s in spec[1]:
            _leaf_specs(s, out)


def encode_items(items: Sequence[Any]) -> Encoded:
    """Stack items that share one exact structure; otherwise return them as a list.

    Args:
        items: Items as the agent collected them.

    Returns:
        :class:`Columns`, or a plain list of the items.
    """
    if not items:
        return []
    spec = _spec_of(items[0])
    if spec is None or any(_spec_of(item) != spec for item in items[1:]):
        return list(items)
    leaf_specs: list[Any] = []
    _leaf_specs(spec, leaf_specs)
    rows: list[list[Any]] = [[] for _ in leaf_specs]
    for item in items:
        values: list[Any] = []
        _leaves(item, spec, values)
        for row, value in zip(rows, values, strict=True):
            row.append(value)
    columns: list[np.ndarray] = []
    for leaf, row in zip(leaf_specs, rows, strict=True):
        if leaf[0] == "array":
            columns.append(np.stack(row))
        else:
            try:
                columns.append(np.array(row, dtype=_SCALARS[_scalar_type(leaf)]))
            except OverflowError:  # an int beyond 64 bits: keep it exact
                return list(items)
    return Columns(spec=spec, columns=tuple(columns), count=len(items))


def _scalar_type(leaf: Any) -> type:
    return {"float": float, "int": int, "bool": bool}[leaf[1]]


def decode_items(encoded: Encoded) -> list[Any]:
    """The items :func:`encode_items` was given, equal and of the same types.

    Read-only columns (what Ray hands out from its object store) are copied
    once per column, so no item keeps a shared-memory object alive.
    """
    if isinstance(encoded, list):
        return encoded
    columns = [
        c if c.flags.writeable else np.array(c, copy=True) for c in encoded.columns
    ]
    spec = encoded.spec
    items = []
    for i in range(encoded.count):
        position = [0]
        items.append(_build(spec, columns, i, position))
    return items


def _build(spec: Any, columns: list[np.ndarray], i: int, position: list[int]) -> Any:
    tag = spec[0]
    if tag == "array":
        column = columns[position[0]]
        position[0] += 1
        return column[i]
    if tag == "scalar":
        column = columns[position[0]]
        position[0] += 1
        return column[i].item()
    if tag == "tuple":
        return tuple(_build(s, columns, i, position) for s in spec[1])
    return {key: _build(s, columns, i, position) for key, s in spec[1]}
