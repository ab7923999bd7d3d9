"""Reading a run's ``metrics.jsonl`` back in tests: one history across rotations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.telemetry.metrics_log import METRICS_FILE, metrics_files


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """Read every metric line of ``run_dir``, oldest first, across rotations.

    Torn lines (the end of a file a crash cut short) are skipped.

    Raises:
        FileNotFoundError: If the directory holds no metrics file.
    """
    files = metrics_files(run_dir)
    if not files:
        raise FileNotFoundError(f"{Path(run_dir) / METRICS_FILE}: no metrics file")
    records = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue  # rotated away while this read (a live run's)
        for line in text.splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records
