"""Figure 8: what ``TorchInferenceModel.__call__`` adds to calling the module directly.

For each module, the same input is run (a) through the agent's inference model
of a ``TorchTrainingModel`` and (b) directly as ``with torch.inference_mode():
module(x)`` on the same copy, alternating blocks of calls so that the machine's
state hits both alike. One torch thread, as the engine recommends for small
machines. Reports the median over blocks of the per-call time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from engine.torch import TorchTrainingModel

from ._components import emit


def modules() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {
        "identity": nn.Identity(),
        "mlp_4_128_128_2": nn.Sequential(
            nn.Linear(4, 128),
            nn.ReLU(),
            nn.Linear(128, 128),
            nn.ReLU(),
            nn.Linear(128, 2),
        ),
    }


def per_call_us(call: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1e6


def measure(module: nn.Module, blocks: int, calls: int) -> dict[str, Any]:
    model = TorchTrainingModel(module)
    inference = model.inference_model
    raw = inference._raw_model
    x = torch.randn(1, 4)

    def direct() -> Any:
        with torch.inference_mode():
            return raw(x)

    def ours() -> Any:
        return inference(x)

    for call in (direct, ours):
        per_call_us(call, calls)  # warm-up
    direct_us, ours_us = [], []
    for _ in range(blocks):
        direct_us.append(per_call_us(direct, calls))
        ours_us.append(per_call_us(ours, calls))
    return {
        "direct_us": statistics.median(direct_us),
        "ours_us": statistics.median(ours_us),
        "direct_blocks_us": direct_us,
        "ours_blocks_us": ours_us,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=30)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    emit({name: measure(m, args.blocks, args.calls) for name, m in modules().items()})


if __name__ == "__main__":
    main()
