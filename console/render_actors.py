"""The actors of a scaled run (``[scale] backend = "ray"``), as every view draws them.

The dashboard's actors panel and ``pamiq-console status`` use
:func:`actors_table`, so they read the same.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from engine.telemetry.status import ActorStatus, SystemStatus

NODE_WIDTH = 8
"""Characters of a node id shown (Ray's ids are 56 hex digits; the first 8 tell them apart)."""


def actor_state(actor: ActorStatus) -> Text:
    """``running``, ``paused``, ``failed`` or ``down``, with its restarts."""
    if actor.error:
        text = Text("failed", style="bold red")
    elif not actor.alive:
        text = Text("down", style="bold red")
    elif actor.paused:
        text = Text("paused", style="bold yellow")
    else:
        text = Text("running", style="green")
    if actor.restarts:
        text.append(f" r{actor.restarts}", style="yellow")
    return text


def _lag(actor: ActorStatus) -> str:
    if actor.lag_p50 is None or actor.lag_max is None:
        return "-"
    return f"{actor.lag_p50}/{actor.lag_max}"


def actors_title(status: SystemStatus) -> str:
    """The panel's title: how many actors, and whether every one is paused."""
    alive = sum(a.alive for a in status.actors)
    title = f"actors {alive}/{len(status.actors)} up"
    if status.all_actors_paused:
        title += " - all paused"
    if status.policy_version is not None:
        title += f" - policy v{status.policy_version}"
    return title


ACTORS_LEGEND = (
    "policy ver: the learner's weights the actor acts with; lag: versions its "
    "batches were behind the learner (median/max); queued: batches "
    "waiting for the learner; dropped: items the actor dropped while the "
    "learner was behind; stale: batches the learner refused as older than "
    "max_policy_lag"
)
"""What the actors table's columns count, for the help and ``status``."""


def actors_table(status: SystemStatus) -> Table:
    """One row per actor: node, state and restarts, steps/s, the policy version
    it acts with, lag, queued, dropped, stale (see :data:`ACTORS_LEGEND`).

    Each header names what its numbers count (two lines: the unit under the
    name). Items an actor holds in the batch it is filling are routine and
    not shown, nor the batches its dropped items came in.
    """
    # No padding at the edges: a laptop's 80 columns fit every column.
    table = Table(box=None, expand=True, padding=(0, 1), pad_edge=False)
    table.add_column("#", style="bold", no_wrap=True)
    table.add_column("node", no_wrap=True, overflow="ellipsis", max_width=NODE_WIDTH)
    # A wide panel's room goes after the state: the numbers stay together.
    table.add_column("state", no_wrap=True, ratio=1)
    for header in (
        "steps/s",
        "policy\nver",
        "lag\np50/max",
        "queued\nbatches",
        "dropped\nitems",
        "stale\nbatches",
    ):
        table.add_column(header, justify="right", no_wrap=True)
    for actor in status.actors:
        table.add_row(
            str(actor.actor),
            actor.node[:NODE_WIDTH],
            actor_state(actor),
            f"{actor.steps_per_second:,.0f}",
            f"v{actor.version}",
            _lag(actor),
            f"{actor.queued_batches:,}",
            _count(actor.dropped_items),
            _count(actor.stale_batches),
        )
    if not status.actors:
        table.add_row(Text("no actor has reported yet", style="dim"), *[""] * 8)
    return table


def _count(lost: int) -> Text:
    """A count of lost data: yellow when there is any (the run lives with it)."""
    return Text(f"{lost:,}", style="yellow" if lost else "")
