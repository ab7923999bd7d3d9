"""The engine's threads use the torch thread count the program set on the main thread."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

import engine.workers
from tests.engine.tiny import make_system

ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter: set one torch thread on the main thread, run matrix
# products on a new thread, and print how many OS threads the process has.
_CHILD = """
import os, sys, threading
import torch
from torch import nn
from engine.library_threads import adopt_library_thread_settings

torch.set_num_threads(1)
layer, x = nn.Linear(1024, 1024), torch.randn(1, 1024)
counts = []

def body():
    if sys.argv[1] == "adopt":
        adopt_library_thread_settings()
    for _ in range(5):
        layer(x)
    counts.append(len(os.listdir("/proc/self/task")))

thread = threading.Thread(target=body)
thread.start()
thread.join()
print(counts[0])
"""


def _os_threads_after_matmuls(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(out.stdout)


@pytest.mark.skipif(
    not Path("/proc/self/task").is_dir()
    or (os.cpu_count() or 1) < 2
    or "OpenMP" not in torch.__config__.parallel_info(),
    reason="needs Linux /proc, two or more cores and an OpenMP build of torch",
)
def test_adopting_the_setting_keeps_a_new_thread_to_one_torch_thread() -> None:
    adopted = _os_threads_after_matmuls("adopt")
    default = _os_threads_after_matmuls("default")
    # Without it, the new thread's first matrix product starts an OpenMP team
    # of one thread per core despite torch.set_num_threads(1).
    assert adopted < default


def test_inference_and_training_threads_adopt_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adopted: set[str] = set()
    both = threading.Event()
    lock = threading.Lock()

    def record() -> None:
        with lock:
            adopted.add(threading.current_thread().name)
            if {"inference", "training"} <= adopted:
                both.set()

    monkeypatch.setattr(engine.workers, "adopt_library_thread_settings", record)
    system, *_ = make_system(tmp_path)
    system.start()
    try:
        assert both.wait(10), f"only {sorted(adopted)} adopted the setting"
    finally:
        system.shutdown()
        assert system.wait(10)
