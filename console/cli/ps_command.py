"""``pamiq-console ps``: every live run of this user's on this machine.

However each was started (``pamiq-console run``, a program that calls
``launch()``, ``System`` from Python) and from whichever directory: the
registry of live runs lists them (:mod:`engine.services.registry`).
"""

from __future__ import annotations

from typing import Any

from engine.services.run_dir import RunInfo

from ..control_client import ControlClient, ControlError
from ..render import human_duration
from ..run_choice import all_live_runs
from .apps import app
from .common import JsonOpt, print_json

STATUS_TIMEOUT = 2.0
"""Seconds ``ps`` waits for each run's status (a stopped or busy run is shown as such)."""


def _row(info: RunInfo) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": info.name,
        "pid": info.pid,
        "state": "unreachable",
        "uptime": None,
        "steps_per_second": None,
        "run_dir": str(info.run_dir),
        "origin": str(info.data.get("origin") or info.data.get("config") or ""),
        "started": info.data.get("started"),
    }
    try:
        status = ControlClient(info.socket, timeout=STATUS_TIMEOUT).request("status")
    except ControlError as e:
        row["error"] = str(e)
        return row
    if isinstance(status, dict):
        row["state"] = status.get("state", "?")
        row["uptime"] = status.get("uptime")
        row["steps_per_second"] = status.get("steps_per_second")
    return row


def _rate(value: Any) -> str:
    return f"{value:,.0f}" if isinstance(value, int | float) else "-"


@app.command()
def ps(as_json: JsonOpt = False) -> None:
    """List this user's live runs on this machine, however and wherever they started."""
    rows = [_row(info) for info in all_live_runs()]
    if as_json:
        print_json(rows)
        return
    if not rows:
        print("no live runs")
        return
    headers = ("NAME", "PID", "STATE", "UPTIME", "STEPS/S", "RUN DIR", "STARTED BY")
    table = [
        (
            r["name"],
            str(r["pid"]),
            r["state"],
            human_duration(r["uptime"]) if r["uptime"] is not None else "-",
            _rate(r["steps_per_second"]),
            r["run_dir"],
            r["origin"],
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(headers)]
    # The last column is not padded: long command lines wrap as they are.
    for line in (headers, *table):
        cells = [c.ljust(w) for c, w in zip(line[:-1], widths[:-1], strict=True)]
        print("  ".join([*cells, line[-1]]).rstrip())
