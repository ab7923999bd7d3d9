"""How long a model sync blocks the agent, and what it costs the training thread.

For models of about 1M, 10M and 100M fp32 parameters, a real inference thread
calls the :class:`~engine.torch.TorchInferenceModel` back to back (its
procedure runs the first layer on one input, so calls are short and many
overlap each sync) while the training thread syncs ``syncs`` times.

* blocked: for every inference call, the time from calling ``infer`` until the
  procedure starts running on a module (this is where a lock-based sync would
  make the agent wait). Per sync we take the longest such wait among the calls
  that started during it, and report the p99 and max over syncs (target <= 100 us).
  The same is measured for windows of plain copies (control_p99_us): the floor
  set by the machine (GIL hand-offs, other processes) with no sync protocol.
* sync_ratio: median training-side ``model.sync()`` time over the median time of
  a plain ``tensor.copy_`` of all parameters into another copy, interleaved
  with the syncs under the same concurrent inference load (target <= 1.5).
* fixed_us: what a sync costs besides its copy: the median sync of the same
  8 layers with one-element tensors, nothing else running.

    .venv/bin/python -m benchmarks.sync_bench [--sizes 1e6 1e7 1e8] [--syncs 200]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import threading
import time
from array import array
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.runtime.library_threads import adopt_library_thread_settings
from engine.torch import TorchTrainingModel

RESULTS = Path(__file__).parent / "results"
DEFAULT_SIZES = (1_000_000, 10_000_000, 100_000_000)
BLOCK_TARGET_US = 100.0
RATIO_TARGET = 1.5


def make_model(parameters: int) -> nn.Sequential:
    """An MLP of 8 square layers with about ``parameters`` parameters."""
    layers = 8
    width = int(math.sqrt(parameters / layers))
    return nn.Sequential(*(nn.Linear(width, width) for _ in range(layers)))


def _first_layer(model: nn.Sequential, x: torch.Tensor, stamps: list[float]) -> Any:
    stamps.append(time.perf_counter())
    return model[0](x)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def measure(parameters: int, syncs: int) -> dict[str, Any]:
    """Measure one model size; return a result row."""
    torch.manual_seed(0)
    module = make_model(parameters)
    actual = sum(p.numel() for p in module.parameters())
    stamps: list[float] = []
    model = TorchTrainingModel(
        module,
        inference_procedure=lambda m, x: _first_layer(m, x, stamps),  # type: ignore[misc]
    )
    inference = model.inference_model
    model.sync()  # creates the spare copy outside the measurement
    width = module[0].in_features
    x = torch.randn(1, width)
    # Flat float arrays, not a list of tuples: millions of tracked tuples would
    # make the garbage collector pause the inference thread for milliseconds,
    # and those pauses would be measured as sync blocking.
    call_starts = array("d")
    call_waits = array("d")
    stop = threading.Event()
    running = threading.Event()

    def infer_loop() -> None:
        # What the engine's inference thread does first (see engine.runtime.library_threads).
        adopt_library_thread_settings()
        running.set()
        while not stop.is_set():
            before = time.perf_counter()
            inference(x)
            call_starts.append(before)
            call_waits.append(stamps[-1] - before)
            if len(stamps) > 1024:
                del stamps[:-1]

    thread = threading.Thread(target=infer_loop, name="inference", daemon=True)
    thread.start()
    running.wait(10)
    target = make_model(parameters)
    sources = list(module.parameters())
    dests = list(target.parameters())
    sync_windows: list[tuple[float, float]] = []
    copy_windows: list[tuple[float, float]] = []
    try:
        # Interleaved so that load from other processes hits both alike.
        for _ in range(syncs):
            start = time.perf_counter()
            model.sync()
            sync_windows.append((start, time.perf_counter()))
            start = time.perf_counter()
            with torch.no_grad():
                for s, d in zip(sources, dests, strict=True):
                    d.copy_(s)
            copy_windows.append((start, time.perf_counter()))
    finally:
        stop.set()
        thread.join(30)

    fixed_us = _fixed_cost_us(len(module))
    calls = list(zip(call_starts, call_waits, strict=True))
    ordered = sorted(calls)
    blocks_us = [b * 1e6 for b in _longest_wait_per_window(ordered, sync_windows)]
    control_us = [b * 1e6 for b in _longest_wait_per_window(ordered, copy_windows)]
    sync_times = [end - start for start, end in sync_windows]
    copies = [end - start for start, end in copy_windows]
    p99 = _percentile(blocks_us, 0.99) if blocks_us else float("nan")
    ratio = statistics.median(sync_times) / statistics.median(copies)
    return {
        "parameters": actual,
        "syncs": syncs,
        "syncs_with_concurrent_calls": len(blocks_us),
        "inference_calls": len(calls),
        "blocked_p99_us": p99,
        "blocked_max_us": max(blocks_us) if blocks_us else float("nan"),
        "control_p99_us": (
            _percentile(control_us, 0.99) if control_us else float("nan")
        ),
        "sync_median_ms": statistics.median(sync_times) * 1e3,
        "copy_median_ms": statistics.median(copies) * 1e3,
        "sync_ratio": ratio,
        "fixed_us": fixed_us,
        "blocked_ok": p99 <= BLOCK_TARGET_US,
        "ratio_ok": ratio <= RATIO_TARGET,
    }


def _fixed_cost_us(layers: int, syncs: int = 2000) -> float:
    """Median time of a sync of the same structure with one-element tensors:
    what a sync costs besides copying (no other thread running)."""
    model = TorchTrainingModel(nn.Sequential(*(nn.Linear(1, 1) for _ in range(layers))))
    model.sync()
    model.sync()
    times = []
    for _ in range(syncs):
        start = time.perf_counter()
        model.sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def _longest_wait_per_window(
    calls: list[tuple[float, float]], windows: list[tuple[float, float]]
) -> list[float]:
    """For each window, the longest wait of the calls that started inside it."""
    longest: list[float] = []
    i = 0
    for start, end in windows:
        while i < len(calls) and calls[i][0] < start:
            i += 1
        j = i
        worst = None
        while j < len(calls) and calls[j][0] <= end:
            worst = calls[j][1] if worst is None else max(worst, calls[j][1])
            j += 1
        if worst is not None:
            longest.append(worst)
    return longest


def run(
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    syncs: int = 200,
    syncs_for_large: int | None = None,
) -> list[dict[str, Any]]:
    """Measure each size with the engine's GIL switch interval (0.5 ms) and one torch thread.

    Args:
        sizes: Parameter counts.
        syncs: Syncs per size.
        syncs_for_large: Syncs for sizes of 50M parameters and more (default ``syncs``).

    Returns:
        One dict per size (see :func:`measure`).
    """
    saved = sys.getswitchinterval()
    saved_threads = torch.get_num_threads()
    sys.setswitchinterval(0.0005)
    # One intra-op thread, as recommended for engine runs on small machines: a
    # multi-threaded copy_ would take every core from the inference thread.
    torch.set_num_threads(1)
    try:
        rows = []
        for size in sizes:
            count = (
                syncs
                if syncs_for_large is None or size < 50_000_000
                else syncs_for_large
            )
            rows.append(measure(size, count))
        return rows
    finally:
        sys.setswitchinterval(saved)
        torch.set_num_threads(saved_threads)


def main() -> None:
    """Command-line entry point: print a table and write benchmarks/results/sync_bench.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--syncs", type=int, default=200)
    parser.add_argument("--syncs-for-large", type=int, default=None)
    args = parser.parse_args()
    rows = run(tuple(int(s) for s in args.sizes), args.syncs, args.syncs_for_large)
    print(
        f"{'params':>12} {'syncs':>6} {'blocked p99':>12} {'max':>9} {'control':>9} "
        f"{'sync ms':>9} {'copy_ ms':>9} {'ratio':>6}"
    )
    for r in rows:
        print(
            f"{r['parameters']:>12,} {r['syncs']:>6} {r['blocked_p99_us']:>9.1f} us "
            f"{r['blocked_max_us']:>6.1f} us {r['control_p99_us']:>6.1f} us "
            f"{r['sync_median_ms']:>9.2f} "
            f"{r['copy_median_ms']:>9.2f} {r['sync_ratio']:>6.2f}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sync_bench.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
