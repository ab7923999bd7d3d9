"""The engine's threads use the torch thread count the program set on the main thread."""

from __future__ import annotations

import importlib.machinery
import json
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest

import engine.runtime.workers
from engine.runtime.library_threads import adopt_library_thread_settings
from tests.engine.tiny import make_system

ROOT = Path(__file__).resolve().parents[3]

# A fresh interpreter: set one torch thread on the main thread and run matrix
# products there, then on a new thread that adopts the setting; print what each
# saw as JSON.
_CHILD = """
import json, os, threading
import torch
from torch import nn
from engine.runtime.library_threads import adopt_library_thread_settings

def os_threads():
    return len(os.listdir("/proc/self/task"))

torch.set_num_threads(1)
layer, x = nn.Linear(1024, 1024), torch.randn(64, 1024)
for _ in range(5):
    layer(x)
seen = {"main_os_threads": os_threads()}

def body():
    adopt_library_thread_settings()
    for _ in range(5):
        layer(x)
    seen["thread_torch_threads"] = torch.get_num_threads()
    seen["thread_os_threads"] = os_threads()

thread = threading.Thread(target=body)
thread.start()
thread.join()
print(json.dumps(seen))
"""


@pytest.mark.skipif(
    not Path("/proc/self/task").is_dir(), reason="counts threads in Linux /proc"
)
def test_a_new_thread_computes_with_the_thread_count_set_on_the_main_thread() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    seen = json.loads(out.stdout)
    assert seen["thread_torch_threads"] == 1
    # The engine thread runs its products with no more helper threads than the
    # main thread did under the user's setting (+1: the new thread itself).
    assert seen["thread_os_threads"] <= seen["main_os_threads"] + 1


def test_a_torch_still_being_imported_by_another_thread_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What sys.modules holds while another thread runs torch's __init__ (the
    # metrics writer importing torch.utils.tensorboard): a module whose spec is
    # still initialising and which has none of its functions yet.
    half = types.ModuleType("torch")
    half.__spec__ = importlib.machinery.ModuleSpec("torch", None)
    half.__spec__._initializing = True  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", half)
    adopt_library_thread_settings()  # must not raise AttributeError

    calls: list[int] = []
    done = types.ModuleType("torch")
    done.get_num_threads = lambda: 1  # type: ignore[attr-defined]
    done.set_num_threads = calls.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", done)
    adopt_library_thread_settings()
    assert calls == [1]


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

    monkeypatch.setattr(engine.runtime.workers, "adopt_library_thread_settings", record)
    system, *_ = make_system(tmp_path)
    system.start()
    try:
        assert both.wait(10), f"only {sorted(adopted)} adopted the setting"
    finally:
        system.shutdown()
        assert system.wait(10)
