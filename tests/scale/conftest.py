"""One local Ray for the whole test session, started only by tests marked ``ray``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """Ray on this machine: 2 CPUs, no dashboard, a small object store."""
    ray = pytest.importorskip("ray")
    started = time.perf_counter()
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=80 * 1024 * 1024,
        log_to_driver=False,
        logging_level="warning",
        # Actors unpickle the tests' factories by module name.
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
    )
    print(f"\nray started in {time.perf_counter() - started:.1f} s")
    yield ray
    ray.shutdown()
