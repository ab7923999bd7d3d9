"""Pickle-free serialization of buffer contents.

A value tree (None, bool, int, float, str, bytes, list, tuple, dict, NumPy
arrays and scalars, torch tensors) is written as ``<stem>.json`` (the tree's
shape) plus ``<stem>.bin`` (raw array bytes). Loading never executes code from
the files. Replay buffers are usually lists of same-shaped arrays or of dicts
with the same keys; those are stored column-wise as one stacked array each, so
saving a million transitions costs a few large writes, not a million small ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..host.imported import already_imported

FORMAT = "pamiq-console/tree-1"
_ALIGN = 64
_MIN_COLUMN = 8  # below this, plain JSON is as cheap as a column


class UnsupportedValueError(TypeError):
    """A value has a type that cannot be stored without pickle."""


class _Writer:
    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._offset = 0
        self.arrays: list[dict[str, Any]] = []

    def add(self, array: np.ndarray) -> int:
        """Store one array; return its index."""
        if array.dtype.hasobject:
            raise UnsupportedValueError("NumPy arrays of Python objects need pickle")
        return self._write([array], array.dtype, list(array.shape))

    def add_rows(self, rows: list[np.ndarray]) -> int:
        """Store same-shaped arrays as one stacked array without building it in memory."""
        first = rows[0]
        return self._write(rows, first.dtype, [len(rows), *first.shape])

    def _write(
        self, blocks: list[np.ndarray], dtype: np.dtype, shape: list[int]
    ) -> int:
        pad = -self._offset % _ALIGN
        if pad:
            self._stream.write(b"\0" * pad)
            self._offset += pad
        start = self._offset
        for block in blocks:
            if not block.flags.c_contiguous:
                block = block.copy(order="C")
            if block.size:
                self._stream.write(block.data.cast("B"))
            self._offset += block.nbytes
        self.arrays.append(
            {
                "dtype": dtype.str,
                "shape": shape,
                "offset": start,
                "nbytes": self._offset - start,
            }
        )
        return len(self.arrays) - 1


def _torch() -> Any:
    # Only look at torch if the program already imported it: no value can be a
    # tensor otherwise.
    return already_imported("torch")


def _is_tensor(value: Any) -> bool:
    torch = _torch()
    return torch is not None and isinstance(value, torch.Tensor)


def _tensor_to_numpy(tensor: Any) -> tuple[np.ndarray, str]:
    torch = _torch()
    dtype = str(tensor.dtype)
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.view(torch.int16)
    return tensor.numpy(), dtype


def _numpy_to_tensor(array: np.ndarray, dtype: str) -> Any:
    import torch

    tensor = torch.from_numpy(np.array(array))
    if dtype == "torch.bfloat16":
        return tensor.view(torch.bfloat16)
    return tensor


def _homogeneous_arrays(items: list[Any]) -> bool:
    first = items[0]
    if not isinstance(first, np.ndarray) or first.dtype.hasobject:
        return False
    shape, dtype = first.shape, first.dtype
    return all(
        isinstance(x, np.ndarray) and x.shape == shape and x.dtype == dtype
        for x in items
    )


def _homogeneous_tensors(items: list[Any]) -> bool:
    if not _is_tensor(items[0]):
        return False
    first = items[0]
    return all(
        _is_tensor(x)
        and x.shape == first.shape
        and x.dtype == first.dtype
        and x.device == first.device
        for x in items
    )


def _encode(value: Any, out: _Writer) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):  # before int/float: np.float64 subclasses float
        return {"t": "np", "i": out.add(np.asarray(value))}
    if isinstance(value, int | float):
        # Exact types only: subclasses (IntEnum...) would not come back as themselves.
        if type(value) in (int, float):
            return value
        raise UnsupportedValueError(
            f"cannot store {type(value).__name__} without pickle"
        )
    if isinstance(value, np.ndarray):
        return {"t": "nd", "i": out.add(value)}
    if _is_tensor(value):
        array, dtype = _tensor_to_numpy(value)
        return {"t": "tensor", "i": out.add(array), "dtype": dtype}
    if isinstance(value, bytes | bytearray):
        return {"t": "bytes", "i": out.add(np.frombuffer(bytes(value), np.uint8))}
    if isinstance(value, list | tuple):
        return _encode_sequence(
            list(value), out, tag="list" if isinstance(value, list) else "tuple"
        )
    if isinstance(value, dict):
        if all(type(k) is str for k in value):
            return {"t": "dict", "v": {k: _encode(v, out) for k, v in value.items()}}
        return {
            "t": "items",
            "v": [[_encode(k, out), _encode(v, out)] for k, v in value.items()],
        }
    raise UnsupportedValueError(
        f"cannot store a value of type {type(value).__module__}.{type(value).__qualname__} "
        "without pickle (use arrays, tensors, numbers, strings, lists or dicts)"
    )


def _encode_sequence(items: list[Any], out: _Writer, tag: str) -> Any:
    if len(items) >= _MIN_COLUMN:
        first = items[0]
        kind = type(first)
        if kind in (int, float, bool) and all(type(x) is kind for x in items):
            dtype = {int: np.int64, float: np.float64, bool: np.bool_}[kind]
            column: np.ndarray | None
            try:
                column = np.asarray(items, dtype=dtype)
            except OverflowError:
                column = None
            if column is not None:
                return {"t": tag, "col": kind.__name__, "i": out.add(column)}
        if _homogeneous_arrays(items):
            return {"t": tag, "col": "nd", "i": out.add_rows(items)}
        if _homogeneous_tensors(items):
            array, torch_dtype = _tensor_to_numpy(_torch().stack(items))
            return {
                "t": tag,
                "col": "tensor",
                "i": out.add(array),
                "dtype": torch_dtype,
            }
        if isinstance(first, dict) and all(type(k) is str for k in first):
            keys = list(first)
            key_set = set(keys)
            if all(isinstance(x, dict) and x.keys() == key_set for x in items):
                return {
                    "t": tag,
                    "col": "records",
                    "v": {
                        k: _encode_sequence([x[k] for x in items], out, "list")
                        for k in keys
                    },
                    "n": len(items),
                }
    return {"t": tag, "v": [_encode(x, out) for x in items]}


class _Reader:
    def __init__(self, meta: list[dict[str, Any]], blob: np.ndarray) -> None:
        self._meta = meta
        self._blob = blob

    def get(self, index: int) -> np.ndarray:
        m = self._meta[index]
        dtype = np.dtype(m["dtype"])
        if dtype.hasobject:
            raise ValueError("object arrays are not allowed")
        count = int(np.prod(m["shape"], dtype=np.int64))
        if m["offset"] + count * dtype.itemsize > len(self._blob):
            raise ValueError("array data runs past the end of the .bin file")
        return np.frombuffer(self._blob, dtype, count, m["offset"]).reshape(
            tuple(m["shape"])
        )


def _decode(node: Any, src: _Reader) -> Any:
    if node is None or isinstance(node, bool | int | float | str):
        return node
    tag = node["t"]
    if tag == "nd":
        return src.get(node["i"])
    if tag == "np":
        return src.get(node["i"])[()]
    if tag == "tensor":
        return _numpy_to_tensor(src.get(node["i"]), node["dtype"])
    if tag == "bytes":
        return src.get(node["i"]).tobytes()
    if tag == "dict":
        return {k: _decode(v, src) for k, v in node["v"].items()}
    if tag == "items":
        return {_hashable(_decode(k, src)): _decode(v, src) for k, v in node["v"]}
    if tag in ("list", "tuple"):
        items = _decode_sequence(node, src)
        return items if tag == "list" else tuple(items)
    raise ValueError(f"unknown node tag {tag!r}")


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def _decode_sequence(node: dict[str, Any], src: _Reader) -> list[Any]:
    column = node.get("col")
    if column is None:
        return [_decode(x, src) for x in node["v"]]
    if column in ("int", "float", "bool"):
        return src.get(node["i"]).tolist()
    if column == "nd":
        return list(src.get(node["i"]))
    if column == "tensor":
        return list(_numpy_to_tensor(src.get(node["i"]), node["dtype"]).unbind(0))
    if column == "records":
        columns = {k: _decode_sequence(v, src) for k, v in node["v"].items()}
        return [{k: columns[k][i] for k in columns} for i in range(node["n"])]
    raise ValueError(f"unknown column kind {column!r}")


def dump(value: Any, stem: Path) -> None:
    """Write ``value`` to ``<stem>.json`` and ``<stem>.bin``.

    Raises:
        UnsupportedValueError: If the tree holds a type that would need pickle.
    """
    with open(stem.with_suffix(".bin"), "wb") as stream:
        writer = _Writer(stream)
        tree = _encode(value, writer)
    doc = {"format": FORMAT, "arrays": writer.arrays, "tree": tree}
    stem.with_suffix(".json").write_text(json.dumps(doc, separators=(",", ":")))


def load(stem: Path) -> Any:
    """Read a value written by :func:`dump`.

    Raises:
        ValueError: If the files are not a tree written by :func:`dump`.
    """
    doc = json.loads(stem.with_suffix(".json").read_text())
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{stem.with_suffix('.json').name} is not a {FORMAT} file")
    bin_path = stem.with_suffix(".bin")
    # np.empty, not bytearray: no zero-filling pass over memory about to be overwritten.
    blob = np.empty(bin_path.stat().st_size, dtype=np.uint8)
    with open(bin_path, "rb", buffering=0) as stream:
        view = blob.data
        read = 0
        while read < len(blob) and (n := stream.readinto(view[read:])):
            read += n
    try:
        return _decode(doc["tree"], _Reader(doc["arrays"], blob))
    except (KeyError, TypeError, IndexError) as e:
        raise ValueError(f"{stem.with_suffix('.json').name} is malformed: {e}") from e
