"""A real run with a tiny metrics cap: metrics.jsonl rotates, stays bounded, and reads whole."""

from __future__ import annotations

import itertools
from pathlib import Path

from console import config as config_mod
from engine.telemetry.metrics_log import metrics_files
from tests.console.helpers import bandit_config, wait_until
from tests.engine.telemetry.metrics_lines import read_metrics


def test_a_run_s_metrics_rotate_at_the_configured_cap(tmp_path: Path) -> None:
    cap_mb, keep = 0.002, 2  # ~2 KiB: a rotation every few training runs
    path = tmp_path / "run.toml"
    path.write_text(
        bandit_config(
            tmp_path, system=f"metrics_max_mb = {cap_mb}\nmetrics_keep = {keep}"
        )
    )
    system = config_mod.load(path).system
    assert (system.config.metrics_max_mb, system.config.metrics_keep) == (cap_mb, keep)
    system.start()
    try:
        assert system.services is not None
        log = system.services.metrics
        assert log is not None
        wait_until(lambda: log.rotations >= 2 * keep + 1, what="rotations")
    finally:
        system.shutdown("test over")
        assert system.wait(timeout=30)
    run_dir = tmp_path / "run"
    files = metrics_files(run_dir)
    assert [p.name for p in files] == [
        "metrics.jsonl.2",
        "metrics.jsonl.1",
        "metrics.jsonl",
    ]
    cap = int(cap_mb * (1 << 20))
    # One flush may hold more than the cap (a busy second); never a file's worth more.
    print([p.stat().st_size for p in files], cap)
    assert all(p.stat().st_size <= 2 * cap for p in files)
    records = read_metrics(run_dir)
    times = [r["wall_time"] for r in records]
    assert times == sorted(times)  # oldest file first, each in order
    steps = [r["step"] for r in records if r["name"] == "loss"]
    assert all(b - a == 1 for a, b in itertools.pairwise(steps))  # no gap, no repeat
    assert steps[-1] == system.trainers["values"]._metric_step  # the newest is there
