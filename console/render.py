"""Rich renderings for the command line: run status and saved states."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text


def human_size(size: float) -> str:
    """Bytes as ``12.3 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def human_duration(seconds: float | None) -> str:
    """Seconds as ``1h02m03s`` / ``4.2 s`` / ``12 ms``."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def format_time(unix: float | None) -> str:
    """A wall time as ``YYYY-MM-DD HH:MM:SS`` (local)."""
    if unix is None:
        return "-"
    return _dt.datetime.fromtimestamp(unix).strftime("%Y-%m-%d %H:%M:%S")


def check(ok: bool) -> Text:
    """A green check mark or a red cross."""
    return Text("✓", style="bold green") if ok else Text("✗", style="bold red")


def status_renderable(status: Mapping[str, Any]) -> RenderableType:
    """A readable view of a ``status`` reply."""
    run = status.get("run", {})
    head = Text.assemble(
        (f"{status['name']}", "bold"),
        "  ",
        (
            status["state"].upper(),
            "bold green" if status["state"] == "active" else "bold yellow",
        ),
        f"  uptime {human_duration(status['uptime'])}",
        f"  x{status['time_scale']:g}",
        f"  steps {status['steps']:,}",
        f"  {status['steps_per_second']:,.0f} steps/s",
    )
    parts: list[RenderableType] = [head]
    if run:
        parts.append(
            Text(f"pid {run.get('pid')}  run dir {run.get('run_dir')}", style="dim")
        )
    if status.get("buffers"):
        table = Table("buffer", "size", "capacity", "collected", "pending", box=None)
        for name, b in status["buffers"].items():
            table.add_row(
                name,
                str(b["size"]),
                str(b["capacity"] or "-"),
                str(b["collected"]),
                str(b["pending"]),
            )
        parts.append(table)
    if status.get("trainers"):
        table = Table(
            "trainer",
            "trainable",
            "buffer",
            "new data",
            "runs",
            "last run",
            "metrics",
            box=None,
        )
        for name, t in status["trainers"].items():
            c = t["condition"]
            metrics = ", ".join(f"{k}={v:.4g}" for k, v in t["last_metrics"].items())
            table.add_row(
                name,
                Text.assemble(check(c["trainable"]), " ", c["reason"] or "yes"),
                f"{c['buffer_size']}/{c['min_buffer_size']}",
                f"{c['new_data']}/{c['min_new_data_count']}"
                + (
                    f", {c['new_episodes']}/{c['min_new_episodes']} episodes"
                    if c.get("min_new_episodes")
                    else ""
                ),
                str(t["runs"]),
                human_duration(t["last_duration"]),
                metrics or "-",
            )
        parts.append(table)
    if status.get("models"):
        table = Table("model", "version", "last sync", "sync took", box=None)
        for name, m in status["models"].items():
            table.add_row(
                name,
                str(m["version"]),
                format_time(m["last_sync_time"]),
                human_duration(m["last_sync_duration"]),
            )
        parts.append(table)
    for error in status.get("errors", ()):
        parts.append(Text(f"error: {error}", style="bold red"))
    if status.get("started_from"):
        parts.append(Text(f"started from: {status['started_from']}", style="dim"))
    if status.get("last_save"):
        parts.append(Text(f"last save: {status['last_save']}", style="dim"))
    return Group(*parts)


def states_table(
    states: Sequence[Mapping[str, Any]], verified: Mapping[str, str] | None = None
) -> Table:
    """A table of states (dicts from :func:`console.control_server.state_summary`).

    Args:
        states: The states, oldest first.
        verified: Name to "" (verified) or the problem, for states that were checked.

    ``seq`` shows each state's number among its directory's own states, or
    ``foreign`` for one its runs did not write (see ``engine.state.states_dir``).
    """
    table = Table(title=None)
    for column in (
        "state",
        "seq",
        "created",
        "uptime",
        "steps",
        "size",
        "components",
        "verified",
    ):
        table.add_column(
            column, justify="right" if column in ("uptime", "steps", "size") else "left"
        )
    for state in states:
        name = state["name"]
        if state.get("problem"):
            status = Text(f"✗ {state['problem']}", style="red")
        elif verified is None or name not in verified:
            status = Text("not checked", style="dim")
        elif verified[name]:
            status = Text(f"✗ {verified[name]}", style="red")
        else:
            status = Text("✓ verified", style="green")
        seq = state.get("seq")
        table.add_row(
            name,
            Text("foreign", style="dim") if seq is None else f"#{seq}",
            format_time(state.get("created_unix")),
            human_duration(state.get("uptime")),
            "-" if state.get("steps") is None else f"{state['steps']:,}",
            human_size(state.get("size", 0)),
            ", ".join(state.get("components", [])) or "-",
            status,
        )
    return table
