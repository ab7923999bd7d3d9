"""Figures measured by other engineers' modules (sync and console cost).

``python -m benchmarks.external MODULE [--quick]`` imports ``benchmarks.MODULE``,
calls its ``run(...)`` (passing ``quick=`` only if it takes it) and prints the
result as one JSON line. The harness runs this in a subprocess, so a module that
is missing, slow or broken costs one row's "not available", never the suite.

Expected results (any mapping; extra keys are kept in the JSON details):

* ``sync_bench.run()``: the p99 time the inference thread is blocked by a sync
  (a key with ``p99`` and ``block``; unit from its suffix ``_us``/``_ms``/``_s``,
  seconds when there is none) and the sync cost relative to a plain ``copy_``
  (a key with ``ratio``, or both ``sync_*`` and ``copy_*`` times).
* ``console_cost.run()``: the share of headless throughput kept with the console
  attached (a key with ``percent``/``pct``, or ``ratio``/``share``/``fraction`` as
  a 0..1 number).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import inspect
import json
import math
import re
import sys
from collections.abc import Mapping
from typing import Any

MODULES = ("sync_bench", "console_cost")


def available(module: str) -> bool:
    """Whether ``benchmarks.<module>`` exists."""
    return importlib.util.find_spec(f"benchmarks.{module}") is not None


def to_jsonable(value: Any) -> Any:
    """Dataclasses, mappings and sequences as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def flatten(value: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested result, keyed by their lower-cased dotted path."""
    out: dict[str, float] = {}
    if isinstance(value, Mapping):
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}{str(k).lower()}."))
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int | float):
        out[prefix.rstrip(".")] = float(value)
    return out


def _unit_scale(key: str, to: str) -> float:
    """Factor turning a value whose key ends in a time unit into ``to`` ("us")."""
    seconds = {"_ns": 1e-9, "_us": 1e-6, "_ms": 1e-3, "_s": 1.0}
    leaf = key.rsplit(".", 1)[-1]
    for suffix, factor in seconds.items():
        if leaf.endswith(suffix):
            return factor / {"us": 1e-6, "ms": 1e-3, "s": 1.0}[to]
    return 1.0 / {"us": 1e-6, "ms": 1e-3, "s": 1.0}[to]


def _words(key: str) -> list[str]:
    return [w for w in re.split(r"[._\-\s]+", key) if w]


def _has(key: str, needle: str) -> bool:
    """Whether a word of ``key`` starts with ``needle`` ("blocked_p99" has "block"
    but "duration" has no "ratio")."""
    return any(word.startswith(needle) for word in _words(key))


def _find(
    flat: Mapping[str, float], *needles: str, exclude: tuple[str, ...] = ()
) -> str | None:
    for key in flat:
        if all(_has(key, n) for n in needles) and not any(
            _has(key, x) for x in exclude
        ):
            return key
    return None


def parts(result: Any) -> list[tuple[str, Any]]:
    """A result as labelled parts: one per model size when it is a list of them."""
    if isinstance(result, list):
        labelled = []
        for n, item in enumerate(result):
            label = f"#{n + 1}"
            if isinstance(item, Mapping) and isinstance(
                item.get("parameters"), int | float
            ):
                label = f"{item['parameters'] / 1e6:.0f}M params"
            labelled.append((label, item))
        return labelled
    return [("", result)]


def sync_figures(result: Any) -> dict[str, float | None]:
    """``block_p99_us`` and ``ratio_vs_copy`` read from one sync_bench result."""
    flat = flatten(result)
    block = None
    key = _find(flat, "p99", "block") or _find(flat, "block", "p99")
    if key is not None:
        block = flat[key] * _unit_scale(key, "us")
    ratio = None
    key = _find(flat, "ratio")
    if key is not None:
        ratio = flat[key]
    else:
        sync_key = _find(flat, "sync", exclude=("block", "ratio"))
        copy_key = _find(flat, "copy", exclude=("block", "ratio", "sync"))
        if sync_key and copy_key and flat[copy_key] > 0:
            ratio = (flat[sync_key] * _unit_scale(sync_key, "s")) / (
                flat[copy_key] * _unit_scale(copy_key, "s")
            )
    control = None
    key = _find(flat, "control", "p99")
    if key is not None:
        control = flat[key] * _unit_scale(key, "us")
    return {"block_p99_us": block, "ratio_vs_copy": ratio, "control_p99_us": control}


def console_figures(result: Any) -> dict[str, float | None]:
    """``percent`` of headless throughput kept, read from a console_cost result."""
    flat = flatten(result)
    key = _find(flat, "percent") or _find(flat, "pct")
    if key is not None:
        return {"percent": flat[key]}
    for needle in ("ratio", "share", "fraction", "relative"):
        key = _find(flat, needle)
        if key is not None:
            value = flat[key]
            return {"percent": value * 100.0 if value <= 2.0 else value}
    return {"percent": None}


# Keyword arguments offered to run(), by module and mode; only those that run()
# accepts are passed (a ``quick`` flag always is, when accepted).
RUN_KWARGS: dict[str, dict[str, dict[str, Any]]] = {
    "sync_bench": {
        "quick": {"sizes": (1_000_000, 10_000_000), "syncs": 50},
        "full": {"syncs": 200, "syncs_for_large": 50},
    },
    "console_cost": {"quick": {"duration": 1.0, "rounds": 2}, "full": {}},
}


def call_run(module: str, quick: bool) -> Any:
    """Import ``benchmarks.<module>`` and call its ``run``."""
    mod = importlib.import_module(f"benchmarks.{module}")
    run = mod.run
    params: Mapping[str, inspect.Parameter]
    try:
        params = inspect.signature(run).parameters
    except (TypeError, ValueError):
        params = {}
    offered = {
        "quick": quick,
        **RUN_KWARGS.get(module, {}).get("quick" if quick else "full", {}),
    }
    kwargs = {k: v for k, v in offered.items() if k in params}
    return run(**kwargs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("module", choices=MODULES)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result = to_jsonable(call_run(args.module, args.quick))
    # The module may print; our JSON goes last on its own line.
    sys.stdout.write("\n" + json.dumps({"result": result}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
