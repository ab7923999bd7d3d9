"""Figures 15 and 16: what someone watching a run costs it (issue 24 items 2 and 3).

* 15, the dashboard's own CPU while watching the CartPole DQN sample, in the
  run's process and attached (``workloads/dashboard_cpu.py``), beside the same
  run headless;
* 16, figure 2b's 100 Hz agent with the dashboard open in its process, and
  with 1 and 8 attached (``workloads/realtime_watched.py``), beside the same
  run without a dashboard.

Every dashboard draws on a real terminal (a 160x48 pty, read and thrown
away). Conditions are interleaved round by round, each round starting with
the next one, so a busy moment of the shared machine hits them alike; values
are medians over the rounds, with their range in the notes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from .stats import median, tick_stats
from .table import Row, Target

if TYPE_CHECKING:
    from .figures import Context

T = TypeVar("T")
CPU_MODES = ("headless", "inproc", "attached")
WATCHERS = (("none", 0), ("inproc", 1), ("attached", 1), ("attached", 8))
"""Figure 16's conditions: (dashboard, clients)."""


def _rotated(conditions: tuple[T, ...], round_: int) -> tuple[T, ...]:
    """The conditions in round ``round_``'s order: each goes first in turn."""
    shift = round_ % len(conditions)
    return conditions[shift:] + conditions[:shift]


def _spread(values: list[float], fmt: str = ".1f") -> str:
    low, high = format(min(values), fmt), format(max(values), fmt)
    return low if low == high else f"{low}-{high}"


def _cpu_windows(ctx: Context) -> tuple[float, float, int]:
    """Warm-up, window and rounds of figure 15."""
    return (5.0, 8.0, 1) if ctx.settings.quick else (5.0, 15.0, 3)


def figure_dashboard_cpu(ctx: Context) -> list[Row]:
    warmup, seconds, rounds = _cpu_windows(ctx)
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in CPU_MODES}
    for i in range(rounds):
        for mode in _rotated(CPU_MODES, i):
            args = [mode, "--warmup", str(warmup), "--duration", str(seconds)]
            runs[mode].append(ctx.ours("dashboard_cpu", args, warmup + seconds + 120.0))

    def values(mode: str, key: str) -> list[float]:
        return [r[key] for r in runs[mode]]

    def med(mode: str, key: str) -> float:
        return median(values(mode, key))

    inproc_cpu, attached_cpu = (
        values("inproc", "dashboard_cpu_percent"),
        values("attached", "dashboard_cpu_percent"),
    )
    headless_steps = med("headless", "steps_per_s")
    written = [r["attached"]["bytes_per_s"][0] / 1024 for r in runs["attached"]]
    threads = {
        name: median([r["thread_cpu_percent"].get(name, 0.0) for r in runs["inproc"]])
        for name in runs["inproc"][0]["thread_cpu_percent"]
        if name.startswith("dashboard:")
    }
    by_thread = ", ".join(
        f"{name.removeprefix('dashboard:')} {value:.1f}"
        for name, value in sorted(threads.items(), key=lambda kv: -kv[1])
    )

    def steps_note(mode: str) -> str:
        return (
            f"agent {med(mode, 'steps_per_s'):,.0f} steps/s, "
            f"{med(mode, 'optimizer_steps_per_s'):,.0f} optimizer steps/s "
            f"(headless {headless_steps:,.0f} / "
            f"{med('headless', 'optimizer_steps_per_s'):,.0f}); run's process CPU "
            f"{med(mode, 'process_cpu_percent'):.0f} % (headless "
            f"{med('headless', 'process_cpu_percent'):.0f} %)"
        )

    window = f"{seconds:g} s after {warmup:g} s, {rounds} round(s)"
    return [
        Row(
            "15",
            "dashboard CPU watching the CartPole sample, in the run's process",
            "% core",
            median(inproc_cpu),
            target=Target("<=", 5.0),
            lower_is_better=True,
            note=(
                f"range {_spread(inproc_cpu)}; its threads: {by_thread}; "
                f"{steps_note('inproc')}; {window}"
            ),
            details={"runs": runs},
        ),
        Row(
            "15",
            "dashboard CPU watching the CartPole sample, attached",
            "% core",
            median(attached_cpu),
            target=Target("<=", 5.0),
            lower_is_better=True,
            note=(
                f"range {_spread(attached_cpu)}; the attach process, all threads "
                f"(/proc/PID/stat), writing {median(written):.0f} KiB/s to its "
                f"terminal; {steps_note('attached')}"
            ),
        ),
        Row(
            "15",
            "CartPole agent steps/s, dashboard in the run's process",
            "steps/s",
            med("inproc", "steps_per_s"),
            headless_steps,
            "headless, same invocation",
            note=(
                "the sample's agent waits for its trainer (replay_ratio): a "
                "guide, not figure 7's unthrottled rate"
            ),
        ),
    ]


def _watch_windows(ctx: Context) -> tuple[float, float, int]:
    """Warm-up, window and rounds of figure 16."""
    return (1.0, 3.0, 3) if ctx.settings.quick else (1.0, 10.0, 3)


def figure_realtime_watched(ctx: Context) -> list[Row]:
    warmup, seconds, rounds = _watch_windows(ctx)
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {c: [] for c in WATCHERS}
    for i in range(rounds):
        for dashboard, clients in _rotated(WATCHERS, i):
            args = [
                "--dashboard",
                dashboard,
                "--clients",
                str(clients),
                "--warmup",
                str(warmup),
                "--duration",
                str(seconds),
            ]
            runs[(dashboard, clients)].append(
                ctx.ours("realtime_watched", args, warmup + seconds + 180.0)
            )

    def stats(condition: tuple[str, int]) -> list[Any]:
        return [
            tick_stats(r["ticks"], r["interval"], r["window_start"], r["window_end"])
            for r in runs[condition]
        ]

    summary = {c: stats(c) for c in WATCHERS}

    def p99(condition: tuple[str, int]) -> list[float]:
        return [s.p99_period * 1e3 for s in summary[condition]]

    def drift(condition: tuple[str, int]) -> list[float]:
        return [abs(s.drift) * 1e3 for s in summary[condition]]

    def dashboard_cpu(condition: tuple[str, int]) -> str:
        dashboard, _ = condition
        if dashboard == "inproc":
            cpu = [
                sum(
                    v
                    for k, v in r["thread_cpu_percent"].items()
                    if k.startswith("dashboard:")
                )
                for r in runs[condition]
            ]
            return f"the dashboard's threads {_spread(cpu)} % of a core"
        cpu = [c for r in runs[condition] for c in r["attached"]["cpu_percent"]]
        return f"each dashboard {_spread(cpu)} % of a core"

    none = ("none", 0)
    labels = {
        ("inproc", 1): "dashboard in the run's process",
        ("attached", 1): "1 attached dashboard",
        ("attached", 8): "8 attached dashboards",
    }
    reference = "no dashboard, same rounds"
    rows = []
    for condition, label in labels.items():
        shares = [s.share * 100 for s in summary[condition]]
        maxima = [s.max_period * 1e3 for s in summary[condition]]
        common = (
            f"{rounds} rounds of {seconds:g} s; ticks {_spread(shares)} % of expected "
            f"(none: {_spread([s.share * 100 for s in summary[none]])} %)"
        )
        rows += [
            Row(
                "16",
                f"100 Hz + busy trainer, {label}: p99 period",
                "ms",
                median(p99(condition)),
                median(p99(none)),
                reference,
                Target("<=", 10.5),
                lower_is_better=True,
                note=(
                    f"range {_spread(p99(condition), '.2f')} (none "
                    f"{_spread(p99(none), '.2f')}); max period "
                    f"{_spread(maxima)} ms; {dashboard_cpu(condition)}; {common}"
                ),
                details={"runs": {f"{d}x{c}": v for (d, c), v in runs.items()}}
                if condition == ("inproc", 1)
                else {},
            ),
            Row(
                "16",
                f"100 Hz + busy trainer, {label}: |drift| over the window",
                "ms",
                median(drift(condition)),
                median(drift(none)),
                reference,
                Target("<=", 10.0),
                lower_is_better=True,
                note=(
                    f"range {_spread(drift(condition), '.2f')} (none "
                    f"{_spread(drift(none), '.2f')})"
                ),
            ),
        ]
    return rows
