"""Rich renderings of a run's status and its saved states: one place for every view.

The dashboard's panels and ``pamiq-console status`` draw a
:class:`~engine.telemetry.status.SystemStatus` with the same functions, so they
read the same and use the same colours.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from engine.telemetry.status import (
    STEPS_OF_ACTORS,
    BufferStatus,
    SystemStatus,
    TrainerStatus,
)

from .activity import Rate
from .conditions import never_fed, never_met
from .eventlog import ERROR, INFO, NOTICE, OK, WARNING
from .render_actors import ACTORS_LEGEND, actors_table, actors_title


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


STATE_STYLES = {
    "active": "bold black on green",
    "pausing": "bold black on yellow",
    "paused": "bold black on yellow",
    "resuming": "bold black on yellow",
    "stopping": "bold white on red",
    "stopped": "bold white on red",
}
"""How each control state is marked, in the dashboard's header and ``status``."""

SEVERITY_STYLES = {
    INFO: "",
    OK: "green",
    NOTICE: "cyan",
    WARNING: "yellow",
    ERROR: "bold red",
}
"""The colour of each severity (:mod:`console.eventlog`): green is done, cyan
worth a look, yellow wrong but lived with, red failed. Waiting is not an error."""

BAR_WIDTH = 20
"""The buffers' fill bar where the width is not known (``status``)."""
MAX_BAR_WIDTH = 60
"""The widest fill bar: a wide panel gives the bar its room up to this."""


def _mark(ok: bool, never: bool = False) -> tuple[str, str]:
    """A met condition's check, an unmet one's cross: red only if it never can be met."""
    if ok:
        return ("✓", "bold green")
    return ("✗", SEVERITY_STYLES[ERROR if never else NOTICE])


ATTACHED = "attached"
"""``header_text``'s ``view``: the run is another process's; ``q`` detaches."""
READ_ONLY = "read-only"
"""``header_text``'s ``view``: attached, and no operation is offered."""


def short_duration(seconds: float) -> str:
    """Seconds as ``12s`` / ``4m05s`` / ``1h02m`` (for a crowded line)."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def save_text(status: SystemStatus, now: float, full: bool = True) -> str:
    """When the last state was saved and when the next periodic save is due.

    Args:
        status: The snapshot.
        now: Wall time for "ago" and "in".
        full: Add when the next is due (if the run saves periodically).
    """
    parts = []
    if status.last_save_time is not None:
        parts.append(f"saved {short_duration(now - status.last_save_time)} ago")
    elif status.last_save is None:
        parts.append("not saved yet")
    if full and status.next_save_time is not None:
        due = status.next_save_time - now
        parts.append(f"next in {short_duration(due)}" if due >= 1 else "next due now")
    return ", ".join(parts)


def header_text(
    status: SystemStatus,
    busy: str = "",
    width: int | None = None,
    *,
    now: float | None = None,
    view: str = "",
) -> Text:
    """The run's line: name, state, how it is viewed, uptime, time scale, steps,
    step rate, and when it was last saved and will be next.

    Args:
        status: The snapshot.
        busy: The operation in progress, if any.
        width: Columns available; narrower forms are used when the full one
            does not fit (they drop what matters least first: the brand, the
            next save, the words, the last save), so the state and the step
            rate are never cut off.
        now: Wall time for the saves' "ago" and "in" (default: the snapshot's).
        view: :data:`ATTACHED`, :data:`READ_ONLY`, or "" for the run in
            this process.
    """
    now = status.wall_time if now is None else now
    state = status.state
    badge = (f" {state.upper()} ", STATE_STYLES.get(state, "bold"))
    mode = (f" {view} ", "bold black on cyan") if view else ""
    long = Text.assemble(
        (f" {status.name} ", "bold reverse"),
        "  ",
        badge,
        *(("  ", mode) if mode else ()),
        "  uptime ",
        (human_duration(status.uptime), "bold"),
        "  time scale ",
        (f"x{status.time_scale:g}", "bold"),
        "  agent steps " if status.step_source == STEPS_OF_ACTORS else "  steps ",
        (f"{status.steps:,}", "bold"),
        "  ",
        (f"{status.steps_per_second:,.0f}", "bold"),
        " steps/s",
    )
    short = Text.assemble(
        (f" {status.name} ", "bold reverse"),
        " ",
        badge,
        *((" ", mode) if mode else ()),
        " up ",
        (human_duration(status.uptime), "bold"),
        " ",
        (f"x{status.time_scale:g}", "bold"),
        " ",
        (f"{status.steps:,}", "bold"),
        " steps ",
        (f"{status.steps_per_second:,.0f}", "bold"),
        "/s",
    )
    saves, last_save = save_text(status, now), save_text(status, now, full=False)
    # What matters least goes first: the brand, the next save, the words.
    forms = [
        (Text.assemble((" pamiq-console ", "bold"), long), "  ", saves),
        (long, "  ", saves),
        (long, "  ", last_save),
        (short, " ", saves),
        (short, " ", last_save),
        (short, " ", ""),
    ]
    text = Text()
    for line, gap, saved in forms:
        text = line.copy()
        if saved:
            text.append(f"{gap}{saved}", style="dim")
        if busy:
            text.append(f"{gap}{busy}", style="bold yellow")
        if width is None or text.cell_len <= width:
            break
    return text


def fill_bar(size: int, capacity: int | None, width: int = BAR_WIDTH) -> Text:
    """A text bar of ``size`` over ``capacity``."""
    if not capacity:
        return Text("·" * width, style="dim")
    filled = min(width, round(width * size / capacity))
    style = "green" if size < capacity else "cyan"
    return Text.assemble(("█" * filled, style), ("░" * (width - filled), "dim"))


def new_items(status: SystemStatus, buffer: str) -> int:
    """Items collected into ``buffer`` since its trainers last trained."""
    watchers = [
        t.condition.new_data
        for t in status.trainers.values()
        if t.condition.data_user == buffer
    ]
    return max(watchers) if watchers else status.buffers[buffer].pending


def buffers_table(status: SystemStatus, width: int | None = None) -> Table:
    """One row per buffer: fill bar, size/capacity, collected, new since training.

    Args:
        status: The snapshot.
        width: Columns available: the fill bar gets what the numbers leave
            (at most :data:`MAX_BAR_WIDTH`, none below 4), so numbers are
            never cut; what is left after that widens the name column, so
            the numbers stay by the bar.
    """
    rows = []
    for name, buffer in status.buffers.items():
        capacity = "∞" if buffer.capacity is None else f"{buffer.capacity:,}"
        rows.append(
            (
                name,
                buffer,
                f"{buffer.size:,}/{capacity}",
                f"{buffer.collected:,}",
                f"{new_items(status, name):,}",
            )
        )
    headers = ("buffer", "size", "collected", "new")
    cells = [(name, size, collected, new) for name, _, size, collected, new in rows]
    widths = [
        max([len(header)] + [len(row[i]) for row in cells])
        for i, header in enumerate(headers)
    ]
    bar_width = BAR_WIDTH
    if width is not None:
        # Five columns, one space of padding on each side of each.
        bar_width = min(MAX_BAR_WIDTH, width - sum(widths) - 10)
        if bar_width < 4:
            bar_width = 0
    table = Table(box=None, expand=True, padding=(0, 1))
    table.add_column("buffer", style="bold", no_wrap=True, overflow="ellipsis", ratio=1)
    if bar_width:
        table.add_column("fill", no_wrap=True, min_width=bar_width)
    for header, column_width in zip(headers[1:], widths[1:], strict=True):
        table.add_column(header, justify="right", no_wrap=True, min_width=column_width)
    for name, buffer, size, collected, new in rows:
        row: list[RenderableType] = [name]
        if bar_width:
            row.append(fill_bar(buffer.size, buffer.capacity, bar_width))
        row += [size, collected, new]
        table.add_row(*row)
    if not status.buffers:
        table.add_row(Text("no buffers", style="dim"), *[""] * (len(table.columns) - 1))
    return table


def per_second(rate: Rate | None) -> str:
    """``3.2/s`` (``-`` while not known)."""
    if rate is None:
        return "-"
    return (
        f"{rate.per_second:.3g}/s"
        if rate.per_second < 100
        else f"{rate.per_second:,.0f}/s"
    )


def models_table(
    status: SystemStatus, now: float, rates: Mapping[str, Rate | None] | None = None
) -> Table:
    """One row per model: version, time since its last sync, how long that took.

    The numbers are never cut short (a cut "28.8 ms" reads as minutes): a name
    too long for the panel is.

    Args:
        status: The snapshot.
        now: Wall time for "ago".
        rates: Each model's syncs per second lately (the dashboard's): adds
            a ``syncs`` column.
    """
    rows = []
    for name, model in status.models.items():
        version = f"v{model.version}"
        if model.inference_thread_only:
            ago = Text("inference only", style="dim")
        elif model.training_only:
            # Nothing to sync: "v0, never" would read as a stuck model.
            version, ago = "-", Text("training only", style="dim")
        elif model.last_sync_time is None:
            ago = Text("never", style="dim")
        else:
            ago = Text(f"{human_duration(max(0.0, now - model.last_sync_time))} ago")
        rows.append((name, version, ago, human_duration(model.last_sync_duration)))
    table = Table(box=None, expand=True, padding=(0, 1))
    # The room a wide panel has goes to the names: the numbers stay together.
    table.add_column("model", style="bold", no_wrap=True, overflow="ellipsis", ratio=1)
    table.add_column(
        "version",
        justify="right",
        no_wrap=True,
        min_width=max([7] + [len(r[1]) for r in rows]),
    )
    table.add_column(
        "last sync",
        justify="right",
        no_wrap=True,
        min_width=max([9] + [r[2].cell_len for r in rows]),
    )
    table.add_column(
        "took",
        justify="right",
        no_wrap=True,
        min_width=max([4] + [len(r[3]) for r in rows]),
    )
    synced: dict[str, str] | None = None
    if rates is not None:
        synced = {
            name: "-" if model.training_only else per_second(rates.get(name))
            for name, model in status.models.items()
        }
        table.add_column(
            "syncs",
            justify="right",
            no_wrap=True,
            min_width=max([5] + [len(r) for r in synced.values()]),
        )
    for name, version, ago, took in rows:
        row: list[RenderableType] = [name, version, ago, took]
        if synced is not None:
            row.append(synced[name])
        table.add_row(*row)
    if not status.models:
        table.add_row(Text("no models", style="dim"), *[""] * (len(table.columns) - 1))
    return table


def _trainer_head(
    name: str,
    trainer: TrainerStatus,
    state: str,
    impossible: str,
    unfed: str,
    activity: Rate | None,
    detail: int,
) -> Text:
    """A trainer's first line; ``detail`` 4 is all of it, each step down leaves
    out what matters least: the last run's time, why it waits (the condition
    line under it says it in numbers), the mean run time, the run rate."""
    c = trainer.condition
    text = Text()
    text.append(name, style="bold")
    text.append("  ")
    error, notice = SEVERITY_STYLES[ERROR], SEVERITY_STYLES[NOTICE]
    if impossible:
        text.append("✗ can never train", style=error)
        text.append(f": {impossible}", style="red")
    elif unfed:
        text.append("✗ never fed", style=error)
        text.append(f": {unfed}, so it can never train", style="red")
    elif state in ("paused", "pausing"):
        text.append("paused", style="bold yellow")
    elif state in ("stopped", "stopping"):
        text.append(state, style="bold")
    elif c.trainable:
        text.append("✓ trainable", style="bold green")
    else:
        text.append("waiting", style=f"bold {notice}")
        if c.reason and detail >= 3:
            text.append(f": {c.reason}", style=notice)
    text.append(f"   runs {trainer.runs:,}")
    if activity is not None and detail >= 1:
        text.append(f" ({per_second(activity)}")
        if activity.mean_duration is not None and detail >= 2:
            text.append(f", mean {human_duration(activity.mean_duration)}")
        text.append(")")
    if detail >= 4:
        text.append(f"   last run {human_duration(trainer.last_duration)}")
    return text


def _metrics_line(metrics: Sequence[tuple[str, float]], width: int | None) -> str:
    """The latest values as ``  name value   name value``: as many as fit in
    ``width``, then how many more there are (the learning curves have them all)."""
    cells = [f"{k} {v:.4g}" for k, v in metrics]
    if width is None:
        return "  " + "   ".join(cells)
    for gap in ("   ", "  "):
        line = "  " + gap.join(cells)
        if len(line) <= width:
            return line
    for shown in range(len(cells) - 1, 0, -1):
        line = "  " + "  ".join(cells[:shown]) + f"  +{len(cells) - shown} more"
        if len(line) <= width:
            return line
    return f"  {len(cells)} metrics (c: curves)"


def trainer_text(
    name: str,
    trainer: TrainerStatus,
    charted: str | None = None,
    *,
    state: str = "active",
    buffers: Mapping[str, BufferStatus] | None = None,
    activity: Rate | None = None,
    steps: int = 0,
    width: int | None = None,
) -> Text:
    """A trainer: trainable or why not, runs, each condition as have/need, metrics.

    Waiting for data is ordinary (cyan); a condition that can never hold (a
    buffer too small, or one nothing collects into: "never fed") is an error
    (red), whatever the system's state.

    Args:
        name: The trainer's name.
        trainer: Its status.
        charted: The metric shown next to this text (left out of the list).
        state: The system's control state: a paused or stopped system's
            trainers are not waiting for data.
        buffers: The system's buffers, to tell a condition that can never be met.
        activity: Its runs per second and their mean duration lately (the
            dashboard's, which logs no line per run).
        steps: The run's steps (a buffer is known to be never fed once the
            run has stepped).
        width: Columns available (the dashboard's card): the first line
            leaves out its details rather than wrap, and the metrics line
            shows as many as fit. An error (can never train) still wraps:
            it is never cut.
    """
    c = trainer.condition
    impossible = never_met(trainer, buffers or {})
    unfed = "" if impossible else never_fed(trainer, buffers or {}, steps)
    for detail in range(4, -1, -1):
        text = _trainer_head(name, trainer, state, impossible, unfed, activity, detail)
        if width is None or text.cell_len <= width:
            break
    text.append("\n")
    if c.data_user is None:
        text.append("  no data condition (always trainable)", style="dim")
    else:
        size_ok = c.buffer_size >= c.min_buffer_size
        new_ok = c.new_data >= c.min_new_data_count
        text.append(f"  buffer {c.data_user}: ")
        text.append(f"{c.buffer_size:,}/{c.min_buffer_size:,} ")
        text.append(*_mark(size_ok, bool(impossible or unfed)))
        if c.min_new_data_count:  # a need of 0 is always met: not worth a mark
            text.append("   new data: ")
            text.append(f"{c.new_data:,}/{c.min_new_data_count:,} ")
            text.append(*_mark(new_ok, bool(unfed)))
        if c.min_new_episodes:
            text.append("   new episodes: ")
            text.append(f"{c.new_episodes:,}/{c.min_new_episodes:,} ")
            text.append(*_mark(c.new_episodes >= c.min_new_episodes, bool(unfed)))
    if trainer.custom_condition:
        text.append("   (custom is_trainable: may not be the whole story)", style="dim")
    others = [(k, v) for k, v in trainer.last_metrics.items() if k != charted]
    if others:
        # The other metrics' latest values (the charted one is by its sparkline).
        shown = others if width is not None else others[:8]
        text.append("\n" + _metrics_line(shown, width), style="dim")
    return text


def status_renderable(
    status: SystemStatus | Mapping[str, Any],
    run: Mapping[str, Any] | None = None,
    now: float | None = None,
    width: int | None = None,
) -> RenderableType:
    """A run's status as ``pamiq-console status`` prints it.

    It is drawn from the same pieces as the dashboard's panels, in the same
    colours.

    Args:
        status: The snapshot, or its :meth:`~SystemStatus.to_dict` form (a
            socket reply, whose ``run`` entry is used when ``run`` is not given).
        run: The run's pid and directory.
        now: Wall time for "ago" (default: the snapshot's own time).
        width: Columns available: the header line takes a shorter form
            rather than be cut or wrapped.
    """
    if not isinstance(status, SystemStatus):
        run = run if run is not None else status.get("run")
        status = SystemStatus.from_dict(status)
    now = status.wall_time if now is None else now
    parts: list[RenderableType] = [header_text(status, width=width, now=now)]
    if run:
        parts.append(
            Text(f"pid {run.get('pid')}  run dir {run.get('run_dir')}", style="dim")
        )
    if status.buffers:
        parts.append(buffers_table(status))
    for name, trainer in status.trainers.items():
        parts.append(
            trainer_text(
                name,
                trainer,
                state=status.state,
                buffers=status.buffers,
                steps=status.steps,
            )
        )
    if status.models:
        parts.append(models_table(status, now))
    if status.step_source == STEPS_OF_ACTORS:
        parts.append(Text(actors_title(status), style="bold"))
        parts.append(actors_table(status))
        parts.append(Text(ACTORS_LEGEND, style="dim"))
    for error in status.errors:
        parts.append(Text(f"error: {error}", style="bold red"))
    for alert in status.alerts:
        parts.append(Text(f"alert: {alert}", style="bold yellow"))
    if status.telemetry_dropped:
        dropped = f"{status.telemetry_dropped:,} metrics not written (disk full?)"
        parts.append(Text(f"alert: {dropped}; the run goes on", style="bold yellow"))
    if status.started_from:
        parts.append(Text(f"started from: {status.started_from}", style="dim"))
    if status.last_save:
        when = (
            ""
            if status.last_save_time is None
            else f" ({format_time(status.last_save_time)})"
        )
        parts.append(Text(f"last save: {status.last_save}{when}", style="dim"))
    return Group(*parts)


def states_table(
    states: Sequence[Mapping[str, Any]], verified: Mapping[str, str] | None = None
) -> Table:
    """A table of states (dicts from :func:`engine.services.operations.state_summary`).

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
