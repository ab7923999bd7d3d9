"""The seven figures: run the workloads (ours, PAMIQ-Core's, baselines) and build rows."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import external, procs
from .stats import cpu_share, median, rate, throughput, tick_stats
from .table import Row, Target

PAMIQ = "PAMIQ-Core 0.6.0"
MB = 1e6


@dataclass
class Settings:
    """Durations and sizes; ``quick`` shrinks them for a fast look."""

    quick: bool = False

    @property
    def step_seconds(self) -> float:
        return 1.0 if self.quick else 3.0

    @property
    def realtime_seconds(self) -> float:
        return 3.0 if self.quick else 10.0

    @property
    def idle_seconds(self) -> float:
        return 3.0 if self.quick else 10.0

    @property
    def pauses(self) -> int:
        return 5 if self.quick else 20

    @property
    def state_gigabytes(self) -> float:
        return 0.25 if self.quick else 1.0


@dataclass
class Context:
    """What every figure needs: settings, PAMIQ-Core's interpreter, a log."""

    settings: Settings
    reference_python: str | None
    reference_reason: str = ""
    log: Callable[[str], None] = lambda message: print(
        message, file=sys.stderr, flush=True
    )
    raw: dict[str, Any] = field(default_factory=dict)

    def ours(self, module: str, args: list[str], budget: float) -> dict[str, Any]:
        self.log(f"[bench]   ours: {module} {' '.join(args)}")
        return procs.run_ours(module, args, timeout=budget + 60.0).data

    def reference(
        self, script: str, args: list[str], budget: float
    ) -> tuple[dict[str, Any] | None, str]:
        """PAMIQ-Core's run of ``script``, or (None, why not)."""
        if self.reference_python is None:
            return None, self.reference_reason
        self.log(f"[bench]   PAMIQ-Core: {script} {' '.join(args)}")
        try:
            return (
                procs.run_reference(
                    self.reference_python, script, args, timeout=budget + 60.0
                ).data,
                "",
            )
        except procs.WorkloadError as e:
            return None, f"PAMIQ-Core run failed: {e}"


def _ref_note(reason: str) -> str:
    return (
        f"PAMIQ-Core {reason}" if reason and not reason.startswith("PAMIQ") else reason
    )


# -- 1: step overhead -------------------------------------------------------------


def figure_step(ctx: Context) -> list[Row]:
    seconds = ctx.settings.step_seconds
    args = ["--warmup", "0.5", "--duration", str(seconds)]
    ours = ctx.ours("step", args, seconds)
    ours_rate = rate(0, ours["steps"], 0.0, ours["seconds"])
    ref, why = ctx.reference("step", args, seconds)
    ref_rate = None if ref is None else rate(0, ref["steps"], 0.0, ref["seconds"])
    plain_args = ["--duration", str(min(seconds, 2.0))]
    script = str(procs.BENCH_DIR / "workloads" / "plain_step.py")
    ctx.log("[bench]   plain Python loop")
    plain = procs.run_json([sys.executable, script, *plain_args], timeout=60).data
    plain_rate = rate(0, plain["steps"], 0.0, plain["seconds"])
    details: dict[str, Any] = {"ours": ours, "pamiq_core": ref, "plain": plain}
    note = ""
    if ctx.reference_python is not None:
        try:
            plain312 = procs.run_json(
                [ctx.reference_python, script, *plain_args], timeout=60
            ).data
            details["plain_reference_python"] = plain312
            note = (
                f"plain loop on PAMIQ-Core's Python {plain312['python']}: "
                f"{rate(0, plain312['steps'], 0.0, plain312['seconds']):,.0f} steps/s"
            )
        except procs.WorkloadError as e:
            note = f"plain loop on Python 3.12 failed: {e}"
    return [
        Row(
            "1",
            "step rate (collect 1/step, train every 1,000)",
            "steps/s",
            ours_rate,
            ref_rate,
            PAMIQ,
            Target(">=", 300_000),
            note="" if ref is not None else _ref_note(why),
            details=details,
        ),
        Row(
            "1",
            "step rate vs same loop in plain Python (limit)",
            "steps/s",
            ours_rate,
            plain_rate,
            f"plain Python {plain['python']}",
            note=note,
        ),
    ]


# -- 2: real-time fidelity -----------------------------------------------------------


def _tick_rows(
    fig: str, label: str, ours: dict[str, Any], ref: dict[str, Any] | None, why: str
) -> list[Row]:
    def summarise(data: dict[str, Any] | None) -> Any:
        if data is None:
            return None
        return tick_stats(
            data["ticks"], data["interval"], data["window_start"], data["window_end"]
        )

    o, r = summarise(ours), summarise(ref)
    note = "" if r is not None else _ref_note(why)
    details = {
        "ours": None if o is None else o.__dict__,
        "pamiq_core": None if r is None else r.__dict__,
        "ours_train_runs": ours.get("train_runs"),
        "pamiq_core_train_runs": None if ref is None else ref.get("train_runs"),
    }

    def val(
        stats: Any, name: str, scale: float, absolute: bool = False
    ) -> float | None:
        if stats is None:
            return None
        value = getattr(stats, name) * scale
        return abs(value) if absolute else value

    return [
        Row(
            fig,
            f"{label}: share of expected ticks",
            "%",
            val(o, "share", 100),
            val(r, "share", 100),
            PAMIQ,
            Target(">=", 99.5),
            note=note,
            details=details,
        ),
        Row(
            fig,
            f"{label}: p50 period",
            "ms",
            val(o, "p50_period", 1e3),
            val(r, "p50_period", 1e3),
            PAMIQ,
            note=note,
            lower_is_better=True,
        ),
        Row(
            fig,
            f"{label}: p99 period",
            "ms",
            val(o, "p99_period", 1e3),
            val(r, "p99_period", 1e3),
            PAMIQ,
            Target("<=", 10.5),
            note=note,
            lower_is_better=True,
        ),
        Row(
            fig,
            f"{label}: |drift| over the window",
            "ms",
            val(o, "drift", 1e3, True),
            val(r, "drift", 1e3, True),
            PAMIQ,
            Target("<=", 10.0),
            note=note,
            lower_is_better=True,
        ),
    ]


def figure_realtime(ctx: Context) -> list[Row]:
    seconds = ctx.settings.realtime_seconds
    rows = []
    for fig, trainer, label in (
        ("2a", "idle", "100 Hz idle"),
        ("2b", "busy", "100 Hz + busy trainer"),
    ):
        args = ["--interval", "0.01", "--duration", str(seconds), "--trainer", trainer]
        ours = ctx.ours("realtime", args, seconds)
        ref, why = ctx.reference("realtime", args, seconds)
        rows += _tick_rows(fig, label, ours, ref, why)
    # The machine's floor: the same schedule as a one-thread plain-Python loop.
    ctx.log("[bench]   plain Python 100 Hz deadline loop (machine floor)")
    script = str(procs.BENCH_DIR / "workloads" / "plain_realtime.py")
    try:
        plain = procs.run_json(
            [sys.executable, script, "--interval", "0.01", "--duration", str(seconds)],
            timeout=seconds + 60,
        ).data
        floor = tick_stats(
            plain["ticks"],
            plain["interval"],
            plain["window_start"],
            plain["window_end"],
        )
        text = (
            f"machine floor (plain-Python deadline loop, same run): share "
            f"{floor.share * 100:.1f} %, p99 {floor.p99_period * 1e3:.2f} ms, "
            f"max {floor.max_period * 1e3:.1f} ms, drift {floor.drift * 1e3:.2f} ms"
        )
        for row in rows:
            if row.metric.endswith("p99 period"):
                row.note = f"{row.note}; {text}" if row.note else text
                break
        rows[0].details["plain_floor"] = floor.__dict__
    except procs.WorkloadError as e:
        ctx.log(f"[bench]   plain loop failed: {e}")
    return rows


# -- 3: idle cost ------------------------------------------------------------------


def figure_idle(ctx: Context) -> list[Row]:
    seconds = ctx.settings.idle_seconds
    args = ["--interval", "0.1", "--duration", str(seconds)]
    ours = ctx.ours("idle", args, seconds)
    ref, why = ctx.reference("idle", args, seconds)

    def pct(data: dict[str, Any] | None) -> float | None:
        if data is None:
            return None
        return 100.0 * cpu_share(data["cpu_seconds"], data["wall_seconds"])

    return [
        Row(
            "3",
            "idle CPU, 10 Hz loop, nothing trainable (% of a core)",
            "%",
            pct(ours),
            pct(ref),
            PAMIQ,
            Target("<", 3.0),
            note="" if ref is not None else _ref_note(why),
            lower_is_better=True,
            details={"ours": ours, "pamiq_core": ref},
        )
    ]


# -- 4: pause latency ------------------------------------------------------------------


def figure_pause(ctx: Context) -> list[Row]:
    count = ctx.settings.pauses
    args = ["--count", str(count), "--train-seconds", "1.0"]
    budget = count * 2.0
    ours = ctx.ours("pause", args, budget)
    ref, why = ctx.reference("pause", args, budget)
    note = "" if ref is not None else _ref_note(why)
    ol = ours["latencies"]
    rl = None if ref is None else ref["latencies"]
    details = {"ours": ours, "pamiq_core": ref, "train_seconds": 1.0}
    return [
        Row(
            "4",
            f"pause latency in a 1 s train(), median of {count}",
            "ms",
            median(ol) * 1e3,
            None if rl is None else median(rl) * 1e3,
            PAMIQ,
            Target("<=", 100.0),
            note=note,
            lower_is_better=True,
            details=details,
        ),
        Row(
            "4",
            f"pause latency in a 1 s train(), max of {count}",
            "ms",
            max(ol) * 1e3,
            None if rl is None else max(rl) * 1e3,
            PAMIQ,
            Target("<=", 100.0),
            note=note,
            lower_is_better=True,
        ),
    ]


# -- 5 and 7: other engineers' modules -----------------------------------------------


def _external(ctx: Context, module: str) -> tuple[Any, str]:
    if not external.available(module):
        return None, f"not available (benchmarks/{module}.py missing)"
    ctx.log(f"[bench]   {module}.run()")
    args = [sys.executable, "-m", "benchmarks.external", module]
    if ctx.settings.quick:
        args.append("--quick")
    try:
        return procs.run_json(args, timeout=600).data["result"], ""
    except procs.WorkloadError as e:
        return None, f"not available ({module}.run() failed: {e})"


def figure_sync(ctx: Context) -> list[Row]:
    result, why = _external(ctx, "sync_bench")
    labelled = external.parts(result) if result is not None else [("", None)]
    rows = []
    for label, part in labelled:
        found = external.sync_figures(part) if part is not None else {}
        block = found.get("block_p99_us")
        ratio = found.get("ratio_vs_copy")
        missing = why or "not available (sync_bench result lacks this figure)"
        prefix = f"sync {label}: " if label else "sync: "
        rows += [
            Row(
                "5",
                f"{prefix}inference-thread block, p99",
                "us",
                block,
                # The same wait measured over plain copy_ windows: the machine's floor.
                found.get("control_p99_us") if block is not None else None,
                "same wait, plain copy_ (floor)",
                note="" if block is not None else missing,
                target=Target("<=", 100.0),
                lower_is_better=True,
                details={"result": part},
            ),
            # The ratio is ours; the plain copy_ is the reference at 1.0.
            Row(
                "5",
                f"{prefix}sync time vs plain copy_",
                "x",
                ratio,
                1.0 if ratio is not None else None,
                "plain copy_",
                Target("<=", 1.5, on="ratio"),
                note="" if ratio is not None else missing,
                lower_is_better=True,
            ),
        ]
    return rows


def figure_console(ctx: Context) -> list[Row]:
    result, why = _external(ctx, "console_cost")
    percent = (external.console_figures(result) if result is not None else {}).get(
        "percent"
    )
    return [
        Row(
            "7",
            "console attached: % of headless throughput",
            "%",
            percent,
            target=Target(">=", 90.0),
            note=""
            if percent is not None
            else why or "not available (no percent in result)",
            details={"result": result},
        )
    ]


# -- 6: state save/load -----------------------------------------------------------------


def figure_state(ctx: Context) -> list[Row]:
    gigabytes = ctx.settings.state_gigabytes
    data = ctx.ours("state", ["--gigabytes", str(gigabytes)], 120.0 * gigabytes + 60)
    size = data["save_durable_bytes"]
    plain = data["plain_bytes"]
    label = f"{size / 1e9:.2f} GB"

    def mbps(nbytes: int, seconds: float) -> float:
        return throughput(nbytes, seconds) / MB

    return [
        Row(
            "6",
            f"save {label}, durable (fsync)",
            "MB/s",
            mbps(size, data["save_durable_s"]),
            mbps(plain, data["plain_write_durable_s"]),
            "plain write+fsync",
            Target(">=", 0.5, on="ratio"),
            details=data,
        ),
        Row(
            "6",
            f"save {label}, durable_saves=False",
            "MB/s",
            mbps(data["save_fast_bytes"], data["save_fast_s"]),
            mbps(plain, data["plain_write_s"]),
            "plain write",
            Target(">=", 0.5, on="ratio"),
        ),
        Row(
            "6",
            f"load {label} (verify + apply)",
            "MB/s",
            mbps(size, data["load_s"]),
            mbps(plain, data["plain_read_s"]),
            "plain read",
            Target(">=", 0.5, on="ratio"),
        ),
        Row(
            "6",
            "system paused by a durable save",
            "ms",
            data["save_durable_paused_s"] * 1e3,
            data["snapshot_s"] * 1e3,
            "in-memory snapshot",
            Target("<=", 1.1, on="ratio"),
            lower_is_better=True,
            note=f"longest agent tick gap during the save: "
            f"{data['save_durable_tick_gap_s'] * 1e3:.0f} ms (100 Hz agent)",
        ),
        Row(
            "6",
            "agent stalled by a load (longest tick gap)",
            "ms",
            data["load_tick_gap_s"] * 1e3,
            data["snapshot_s"] * 1e3,
            "in-memory snapshot",
            lower_is_better=True,
        ),
    ]


@dataclass(frozen=True)
class Figure:
    """One figure of the suite."""

    number: str
    name: str
    title: str
    build: Callable[[Context], list[Row]]


FIGURES = (
    Figure("1", "step", "step overhead", figure_step),
    Figure("2", "realtime", "real-time fidelity", figure_realtime),
    Figure("3", "idle", "idle cost", figure_idle),
    Figure("4", "pause", "pause latency", figure_pause),
    Figure("5", "sync", "model sync", figure_sync),
    Figure("6", "state", "state save/load", figure_state),
    Figure("7", "console", "console cost", figure_console),
)

NEEDS_REFERENCE = {"1", "2", "3", "4"}


def select(names: list[str]) -> list[Figure]:
    """Figures named by number or name ("1", "step", "2,idle"); all when empty.

    Raises:
        ValueError: For an unknown figure.
    """
    if not names:
        return list(FIGURES)
    wanted = {
        part.strip().lower()
        for name in names
        for part in name.split(",")
        if part.strip()
    }
    known = {f.number for f in FIGURES} | {f.name for f in FIGURES}
    unknown = sorted(wanted - known)
    if unknown:
        choices = ", ".join(f"{f.number}/{f.name}" for f in FIGURES)
        raise ValueError(
            f"unknown figure(s) {', '.join(unknown)} (choose from {choices})"
        )
    return [f for f in FIGURES if f.number in wanted or f.name in wanted]


def failed_rows(figure: Figure, error: BaseException) -> list[Row]:
    """A placeholder row for a figure whose run failed."""
    return [
        Row(
            figure.number,
            figure.title,
            "",
            note=f"failed: {type(error).__name__}: {error}",
        )
    ]
