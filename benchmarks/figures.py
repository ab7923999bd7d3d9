"""The seven figures: run the workloads (ours, PAMIQ-Core's, baselines) and build rows."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import external, learning_runs, learning_stats, procs
from .ppo_figure import figure_ppo
from .stats import cpu_share, median, percentile, rate, throughput, tick_stats
from .table import Row, Target
from .watch_figures import figure_dashboard_cpu, figure_realtime_watched

PAMIQ = "PAMIQ-Core 0.6.0"
SB3 = "SB3 2.9.2 DQN, zoo settings"
MB = 1e6


@dataclass
class Settings:
    """Durations and sizes; ``quick`` shrinks them for a fast look."""

    quick: bool = False
    seeds: list[int] | None = None
    """Figures 11's and 18's seeds (None: 0-4, or 0 with ``quick``); figure 17's (None: 0)."""
    side: str = "both"
    """Figures 11's and 18's sides to run: "both", "ours" or "sb3"."""
    runs_dir: Path | None = None
    """Where figures 11, 17 and 18 keep every finished run (None: nowhere)."""
    reuse_runs: bool = False
    """Figures 11, 17 and 18 take a kept run of the same code and settings instead of running it."""

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

    @property
    def learning_seeds(self) -> list[int]:
        if self.seeds is not None:
            return self.seeds
        return [0] if self.quick else list(range(5))

    @property
    def learning_seconds(self) -> float:
        """The budget in which the target (figure 11: 475, 18: -200) must be reached (300 s of wall time)."""
        return 60.0 if self.quick else 300.0

    @property
    def learning_extend_to(self) -> float:
        """How long a run that has not reached the target within the budget goes on."""
        return 60.0 if self.quick else 600.0

    @property
    def attach_seconds(self) -> float:
        """Figure 12: steps/s measured for this long per condition and round."""
        return 3.0 if self.quick else 5.0

    @property
    def attach_rounds(self) -> int:
        return 1 if self.quick else 3

    @property
    def watcher_memory_seconds(self) -> float:
        """Figure 12: how long a run keeps a watcher that stopped reading."""
        return 60.0 if self.quick else 600.0

    @property
    def launch_seconds(self) -> float:
        """Figure 14: steps/s measured for this long per condition and round."""
        return 1.0 if self.quick else 3.0

    @property
    def launch_rounds(self) -> int:
        return 1 if self.quick else 9

    @property
    def launch_starts(self) -> int:
        """Figure 14: ``System.start()`` timed this many times per condition."""
        return 5 if self.quick else 20

    @property
    def share_seconds(self) -> tuple[float, float]:
        """Warm-up and measurement of figure 10."""
        return (10.0, 5.0) if self.quick else (20.0, 10.0)


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
    reference_of_spin: tuple[dict[str, Any] | None, str] = (None, "")
    for fig, trainer, label in (
        ("2a", "idle", "100 Hz idle"),
        ("2b", "spin", "100 Hz + user's busy trainer (no pause points)"),
        ("2c", "busy", "100 Hz + busy trainer calling pause_point()"),
    ):
        args = ["--interval", "0.01", "--duration", str(seconds), "--trainer", trainer]
        ours = ctx.ours("realtime", args, seconds)
        if trainer == "busy":
            # PAMIQ-Core has no pause point: its trainer is 2b's, measured once.
            ref, why = reference_of_spin
        else:
            ref, why = ctx.reference("realtime", args, seconds)
            if trainer == "spin":
                reference_of_spin = (ref, why)
        fig_rows = _tick_rows(fig, label, ours, ref, why)
        if trainer == "busy" and ref is not None:
            for row in fig_rows:
                row.note = "reference: PAMIQ-Core's run of 2b (it has no pause points)"
        rows += fig_rows
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
                note=_sync_note(part) if ratio is not None else missing,
                lower_is_better=True,
            ),
        ]
    return rows


def _sync_note(part: Any) -> str:
    """The sync's and the copy's medians, and the sync's cost besides copying."""
    if not isinstance(part, dict) or "sync_median_ms" not in part:
        return ""
    note = (
        f"sync {part['sync_median_ms']:.3f} ms, plain copy_ "
        f"{part['copy_median_ms']:.3f} ms (medians, interleaved, another thread "
        "calling infer() in a tight loop)"
    )
    if part.get("fixed_us") is not None:
        note += f"; besides copying a sync costs {part['fixed_us']:.1f} us"
    return note + (
        "; a sync writes into one of the two or three alternating inference "
        "copies, a plain copy_ into the same warm one"
    )


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


# -- 8: inference call overhead -----------------------------------------------------


def figure_infer(ctx: Context) -> list[Row]:
    quick = ctx.settings.quick
    args = ["--blocks", "10" if quick else "30", "--calls", "1000" if quick else "2000"]
    data = ctx.ours("infer_overhead", args, 120.0)
    rows = []
    for key, label in (
        ("identity", "trivial module (nn.Identity)"),
        ("mlp_4_128_128_2", "4-128-128-2 MLP (the DQN sample's)"),
    ):
        part = data[key]
        rows.append(
            Row(
                "8",
                f"inference call, {label}",
                "us",
                part["ours_us"],
                part["direct_us"],
                "module(x) under torch.inference_mode()",
                Target("<=", 1.1, on="ratio"),
                lower_is_better=True,
                details=part,
            )
        )
    return rows


# -- 9: drawing a replay batch --------------------------------------------------------


def figure_replay(ctx: Context) -> list[Row]:
    quick = ctx.settings.quick
    args = ["--blocks", "5" if quick else "20", "--draws", "100" if quick else "200"]
    data = ctx.ours("replay_draw", args, 300.0)
    batch = data["batch"]
    array, sequential = data["array"], data["sequential"]
    return [
        Row(
            "9",
            f"draw {batch} from a 1M-item ArrayBuffer (the DQN sample's)",
            "us",
            array["1000000"],
            array["10000"],
            "same draw, 10k items",
            Target("<=", 2.0, on="ratio"),
            lower_is_better=True,
            details=data,
        ),
        Row(
            "9",
            f"draw {batch} from a 1M-item SequentialBuffer (Python objects)",
            "us",
            sequential["1000000"],
            sequential["10000"],
            "same draw, 10k items",
            lower_is_better=True,
            note=(
                "each draw reads a list slot and an object the cache has not "
                "seen, so it grows with the buffer; get_data(), the whole-buffer "
                f"copy trainers drew from before, takes {data['sequential_get_data_ms']:.0f} ms "
                "at 1M items"
            ),
        ),
    ]


# -- 10: training while acting --------------------------------------------------------------


def figure_training(ctx: Context) -> list[Row]:
    warmup, duration = ctx.settings.share_seconds
    share = f"{warmup:g},{duration:g}"
    budget = warmup + 3 * duration + 60
    limited = ctx.ours("cartpole", ["--share", share], budget)
    free = ctx.ours("cartpole", ["--share", share, "--unthrottled"], budget)
    ratio = limited["optimizer_steps_per_s_acting"] / limited["agent_steps_per_s"]
    sb3 = ctx.raw.get("sb3_rates")
    note = f"agent {limited['agent_steps_per_s']:,.0f} steps/s, batch {limited['batch_size']}"
    note += _time_per_step(limited)
    if sb3:
        note += (
            f"; SB3 (zoo settings, batch 64, alternating): {sb3['gradient_steps_per_s']:,.0f} "
            f"gradient steps/s while acting {sb3['env_steps_per_s']:,.0f} steps/s"
        )
    return [
        Row(
            "10",
            "DQN sample: optimizer steps/s while the agent acts",
            "steps/s",
            limited["optimizer_steps_per_s_acting"],
            limited["optimizer_steps_per_s_alone"],
            "same loop alone, same data",
            Target(">=", 0.8, on="ratio"),
            note=note,
            details={"replay_ratio_limited": limited, "unthrottled": free},
        ),
        Row(
            "10",
            "DQN sample: replay ratio (optimizer steps per collected step)",
            "",
            ratio,
            limited["replay_ratio"],
            "training.replay_ratio",
            note="the agent waits when it gets one round ahead (see cartpole_dqn.toml)",
        ),
        Row(
            "10",
            "same, agent not held back (replay_ratio unset)",
            "steps/s",
            free["optimizer_steps_per_s_acting"],
            free["optimizer_steps_per_s_alone"],
            "same loop alone, same data",
            note=(
                f"agent {free['agent_steps_per_s']:,.0f} steps/s: replay ratio "
                f"{free['optimizer_steps_per_s_acting'] / free['agent_steps_per_s']:.3f}"
            ),
        ),
    ]


def _time_per_step(share: dict[str, Any]) -> str:
    """Where the trainer's time per optimizer step went, acting and alone (schedstat)."""
    acting = share.get("training_per_step_acting")
    alone = share.get("training_per_step_alone")
    if not acting or not alone:
        return ""
    return (
        f"; per optimizer step the trainer ran {acting['ran_us']:,.0f} us, waited "
        f"{acting['queued_us']:,.0f} us for a CPU (other processes) and "
        f"{acting['blocked_us']:,.0f} us blocked (the GIL, the agent) while the "
        f"agent acted ({share['agent_ran_us_per_step']:,.0f} us of CPU per agent "
        f"step), and ran {alone['ran_us']:,.0f} us, waited "
        f"{alone['queued_us']:,.0f} us alone; without the waits for a CPU "
        f"{share['ratio_without_cpu_waits']:.2f}x"
    )


# -- 11 and 18: learning, side by side with Stable-Baselines3 --------------------------------


@dataclass(frozen=True)
class LearningTask:
    """What a learning figure runs: our sample and SB3's program, and the target.

    Attributes:
        figure: The figure's number.
        task: How its rows name the task ("CartPole DQN").
        target: The 20-episode mean return to reach.
        workload: Our side, ``benchmarks/workloads/<workload>.py``.
        sample: Our side's sample config (part of a kept run's key).
        sb3_program: SB3's side, in ``benchmarks/sb3/``.
        sb3_label: The reference column's name.
        how: The first row's note: how the two sides learn.
        runs_subdir: Where under the kept-runs directory its runs go ("": there).
    """

    figure: str
    task: str
    target: float
    workload: str
    sample: Path
    sb3_program: str
    sb3_label: str
    how: str
    runs_subdir: str = ""


CARTPOLE_DQN = LearningTask(
    figure="11",
    task="CartPole DQN",
    target=475.0,
    workload="cartpole",
    sample=learning_runs.SAMPLE,
    sb3_program=procs.SB3_DQN,
    sb3_label=SB3,
    how="ours learns while acting; SB3 acts and trains in turn on one thread",
)
PENDULUM_SAC = LearningTask(
    figure="18",
    task="Pendulum SAC",
    target=-200.0,
    workload="pendulum_sac",
    sample=procs.REPO_ROOT / "sample_configs" / "pendulum_sac.toml",
    sb3_program=procs.SB3_SAC,
    sb3_label="SB3 2.9.2 SAC, zoo settings",
    how=(
        "ours learns while acting (64-64 networks, one update per step); SB3 acts "
        "and trains in turn on one thread (256-256, one update per step)"
    ),
    runs_subdir="pendulum_sac",
)


def _learning_summary(
    runs: list[dict[str, Any]], budget: float, extend_to: float, target: float
) -> dict[str, Any]:
    reaches = [learning_stats.first_reach(r["episodes"], target) for r in runs]
    within = [x for x in reaches if x is not None and x.wall_s <= budget]
    # A seed that never reached counts with the longest time it ran: a lower bound.
    times = [
        x.wall_s if x is not None else r["wall_s"]
        for x, r in zip(reaches, runs, strict=True)
    ]
    steps = [
        x.env_steps if x is not None else r["progress"][-1][1] if r["progress"] else 0
        for x, r in zip(reaches, runs, strict=True)
    ]
    best_budget = [learning_stats.best_mean(r["episodes"], budget) for r in runs]
    best_extended = [
        learning_stats.best_mean(r["episodes"], extend_to)
        for r in runs
        if r["wall_s"] >= extend_to - 1.0
    ]
    stays = [learning_stats.share_above(r["episodes"], budget, target) for r in runs]
    return {
        "seeds": len(runs),
        "reached_within_budget": len(within),
        "reached_at_all": sum(x is not None for x in reaches),
        "times": times,
        "steps": steps,
        "all_reached": all(x is not None for x in reaches),
        "best_budget": [b for b in best_budget if b is not None],
        "best_extended": [b for b in best_extended if b is not None],
        "extended_runs": len(best_extended),
        "stays": [x for x in stays if x is not None],
    }


def _per_seed(
    runs: list[dict[str, Any]], budget: float, extend_to: float, target: float
) -> str:
    """Each seed's time and steps to the target, best means and share above, for the notes."""
    parts = []
    for run in runs:
        episodes = run["episodes"]
        reach = learning_stats.first_reach(episodes, target)
        if reach is None:
            to = f"not reached in {run['wall_s']:.0f} s"
        else:
            to = (
                f"{target:g} at {reach.wall_s:.0f} s / "
                f"{reach.env_steps / 1000:.0f}k steps"
            )
        best = learning_stats.best_mean(episodes, budget)
        text = f"seed {run['seed']}: {to}, best {budget:g} s {_fmt(best)}"
        if run["wall_s"] >= extend_to - 1.0 and extend_to > budget:
            text += f", best {extend_to:g} s {_fmt(learning_stats.best_mean(episodes, extend_to))}"
        share = learning_stats.share_above(episodes, budget, target)
        if share is not None:
            text += f", {100 * share:.0f} % above after"
        parts.append(text)
    return "; ".join(parts)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def figure_learning(ctx: Context) -> list[Row]:
    """Figure 11: the CartPole DQN sample and SB3's DQN."""
    return learning_figure(ctx, CARTPOLE_DQN)


def figure_sac(ctx: Context) -> list[Row]:
    """Figure 18: the Pendulum SAC sample and SB3's SAC."""
    return learning_figure(ctx, PENDULUM_SAC)


def learning_figure(ctx: Context, spec: LearningTask) -> list[Row]:
    """Run (or take kept runs of) both sides on every seed and build the rows."""
    settings = ctx.settings
    budget, extend_to = settings.learning_seconds, settings.learning_extend_to
    seeds = settings.learning_seeds
    target = f"{spec.target:g}"
    sb3_python, sb3_why = procs.sb3_python()
    if sb3_python is None:
        ctx.log(f"[bench]   SB3: {sb3_why}")
    args = ["--seconds", f"{budget:g}", "--extend-to", f"{extend_to:g}"]
    runs_dir = settings.runs_dir
    if runs_dir is not None and spec.runs_subdir:
        runs_dir = runs_dir / spec.runs_subdir
    keep = learning_runs.Keeper(
        runs_dir, budget, extend_to, spec.sample, spec.sb3_program
    )
    ours_runs: list[dict[str, Any]] = []
    sb3_runs: list[dict[str, Any]] = []
    reused: list[str] = []

    def kept(side: str, seed: int) -> dict[str, Any] | None:
        if not settings.reuse_runs:
            return None
        found = keep.take(side, seed)
        if found is None:
            return None
        data, made = found
        ctx.log(f"[bench]   {side} seed {seed}: kept run of {made}")
        reused.append(f"{side} seed {seed} ({made})")
        return data

    for seed in seeds:
        # Interleaved, so that a busy spell of the machine hits both sides.
        # --side picks what runs; with --reuse-runs the other side's kept runs count too.
        run = kept("ours", seed)
        if run is None and settings.side in ("both", "ours"):
            run = ctx.ours(spec.workload, [*args, "--seed", str(seed)], extend_to)
            keep.save("ours", seed, run)
        if run is not None:
            ours_runs.append(run)
        if settings.side in ("both", "sb3") or settings.reuse_runs:
            run = kept("sb3", seed)
            if run is None and sb3_python is not None and settings.side != "ours":
                ctx.log(
                    f"[bench]   SB3: {spec.sb3_program} --seed {seed} {' '.join(args)}"
                )
                try:
                    run = procs.run_sb3(
                        sb3_python,
                        [*args, "--seed", str(seed)],
                        extend_to + 120.0,
                        spec.sb3_program,
                    ).data
                except procs.WorkloadError as e:
                    sb3_why = f"not measured: SB3 run failed: {e}"
                    sb3_python = None
                else:
                    keep.save("sb3", seed, run)
            if run is not None:
                sb3_runs.append(run)
    if not ours_runs:
        return [
            Row(
                spec.figure,
                f"{spec.task}, SB3 only (seeds {', '.join(map(str, seeds))}): runs kept",
                "seeds",
                None,
                float(len(sb3_runs)),
                spec.sb3_label,
                note=f"--side sb3: SB3's runs kept in {runs_dir} for --reuse-runs",
            )
        ]
    ours = _learning_summary(ours_runs, budget, extend_to, spec.target)
    ref = (
        _learning_summary(sb3_runs, budget, extend_to, spec.target)
        if sb3_runs
        else None
    )
    if sb3_runs and spec is CARTPOLE_DQN:
        # Figure 10's note compares its training rate with these.
        rates = [
            (r["gradient_steps"] / r["wall_s"], r["env_steps"] / r["wall_s"])
            for r in sb3_runs
        ]
        ctx.raw["sb3_rates"] = {
            "gradient_steps_per_s": median([g for g, _ in rates]),
            "env_steps_per_s": median([e for _, e in rates]),
        }
    n = len(ours_runs)
    label = f"{n} seed{'s' if n > 1 else ''}"
    how = spec.how
    sb3_note = ""
    if ref is not None and not ref["all_reached"]:
        sb3_note = (
            f"SB3 did not reach {target} in {ref['seeds'] - ref['reached_at_all']} of "
            f"{ref['seeds']} seeds within {extend_to:g} s; those count as the time "
            "they ran (a lower bound), so its time is at least this"
        )
    ours_note = ""
    if not ours["all_reached"]:
        ours_note = (
            f"ours did not reach {target} in {ours['seeds'] - ours['reached_at_all']} of "
            f"{ours['seeds']} seeds within {extend_to:g} s (counted as the time they ran)"
        )
    reuse_note = "" if not reused else "runs kept from earlier: " + ", ".join(reused)
    if ref is not None and len(sb3_runs) < len(ours_runs):
        sb3_note = "; ".join(
            x
            for x in (
                sb3_note,
                f"SB3 measured on seeds {', '.join(str(r['seed']) for r in sb3_runs)} only",
            )
            if x
        )
    notes = "; ".join(x for x in (ours_note, sb3_note, reuse_note) if x)

    def stat(
        summary: dict[str, Any] | None, key: str, pick: Callable[[list[float]], float]
    ) -> float | None:
        if summary is None or not summary[key]:
            return None
        return pick(summary[key])

    details = {
        "ours": ours_runs,
        "sb3": sb3_runs,
        "ours_summary": ours,
        "sb3_summary": ref,
    }
    sb3_label = spec.sb3_label
    rows = [
        Row(
            spec.figure,
            f"{spec.task}, {label}: seeds reaching a 20-episode mean of {target} within {budget:g} s",
            "seeds",
            float(ours["reached_within_budget"]),
            None if ref is None else float(ref["reached_within_budget"]),
            sb3_label,
            Target(">=", float(n)),
            note=how if sb3_python is not None or sb3_runs else f"{how}; SB3 {sb3_why}",
            details=details,
        ),
        Row(
            spec.figure,
            f"wall time to mean {target}, median of {label}",
            "s",
            stat(ours, "times", median),
            stat(ref, "times", median),
            sb3_label,
            Target("<=", 0.5, on="ratio"),
            note=notes,
            lower_is_better=True,
        ),
        Row(
            spec.figure,
            f"wall time to mean {target}, worst of {label}",
            "s",
            stat(ours, "times", max),
            stat(ref, "times", max),
            sb3_label,
            note="ours, " + _per_seed(ours_runs, budget, extend_to, spec.target),
            lower_is_better=True,
        ),
        Row(
            spec.figure,
            f"environment steps to mean {target}, median of {label}",
            "steps",
            stat(ours, "steps", median),
            stat(ref, "steps", median),
            sb3_label,
            lower_is_better=True,
        ),
        Row(
            spec.figure,
            f"environment steps to mean {target}, worst of {label}",
            "steps",
            stat(ours, "steps", max),
            stat(ref, "steps", max),
            sb3_label,
            note=""
            if not sb3_runs
            else "SB3, " + _per_seed(sb3_runs, budget, extend_to, spec.target),
            lower_is_better=True,
        ),
        Row(
            spec.figure,
            f"best 20-episode mean within {budget:g} s, median of {label}",
            "",
            stat(ours, "best_budget", median),
            stat(ref, "best_budget", median),
            sb3_label,
        ),
    ]
    if extend_to > budget:
        extended = [s for s in (ours, ref) if s is not None and s["extended_runs"]]
        if extended:
            rows.append(
                Row(
                    spec.figure,
                    f"best 20-episode mean within {extend_to:g} s, median of the seeds run that long",
                    "",
                    stat(ours, "best_extended", median),
                    stat(ref, "best_extended", median),
                    sb3_label,
                    note=(
                        f"runs that reached {target} within {budget:g} s stop there: "
                        f"ours {ours['extended_runs']}, SB3 "
                        f"{0 if ref is None else ref['extended_runs']} of {n} ran {extend_to:g} s"
                    ),
                )
            )
    rows.append(
        Row(
            spec.figure,
            f"after first reaching {target}: share of the time to {budget:g} s with the mean >= {target}, worst seed",
            "%",
            None if not ours["stays"] else 100.0 * min(ours["stays"]),
            None if ref is None or not ref["stays"] else 100.0 * min(ref["stays"]),
            sb3_label,
            note=(
                ""
                if not ours["stays"]
                else "per seed: " + ", ".join(f"{100 * x:.0f} %" for x in ours["stays"])
            ),
        )
    )
    return rows


# -- 12: scaling out on Ray ------------------------------------------------------------------


def _lag_text(row: dict[str, Any]) -> str:
    return f"lag p50 {row.get('lag_p50')}/max {row.get('lag_max')} publications"


def figure_scale(ctx: Context) -> list[Row]:
    """Issue 13's numbers: actors on a local Ray (2 CPUs) against the threads backend."""
    quick = ctx.settings.quick
    seconds = 3.0 if quick else 8.0
    args = ["--seconds", f"{seconds:g}", "--syncs", "10" if quick else "50"]
    if quick:
        args += ["--sleep-actors", "1", "2", "4", "--params", "1000000"]
    data = ctx.ours("scale", args, 600.0)
    rows: list[Row] = []
    sleep = data["sleep"]
    threads = sleep[0]["items_per_s"] if sleep else None
    for row in sleep[1:]:
        n = row["actors"]
        rows.append(
            Row(
                "12a",
                f"10 ms sleep env: learner items/s, {n} actor(s) on Ray",
                "items/s",
                row["items_per_s"],
                threads,
                "threads backend (1 agent)",
                Target(">=", 0.9 * n, on="ratio"),
                note=(
                    f"{_lag_text(row)}; {row.get('rss_mb_per_actor', 0):.0f} MB RSS per "
                    f"actor; {row.get('dropped_items', 0)} items dropped"
                ),
                details=row,
            )
        )
    burn = data["burn"]
    if burn:
        base = burn[0]["items_per_s"]
        for row in burn[1:]:
            rows.append(
                Row(
                    "12b",
                    f"1 ms pure-Python env: learner items/s, {row['actors']} actors on Ray",
                    "items/s",
                    row["items_per_s"],
                    base,
                    "threads backend (1 agent)",
                    Target(">=", 1.5, on="ratio"),
                    note=(
                        f"{_lag_text(row)}; {data['burn_loops']:,} loops per step, "
                        f"calibrated to 1 ms alone: the threads row's steps took "
                        f"{1000 / base:.2f} ms each; 2 cores for 2 actor processes, "
                        "the learner and Ray's own"
                    ),
                    details=row,
                )
            )
    for part in data["broadcast"]:
        rows.append(
            Row(
                "12c",
                f"weights broadcast p99, sync to installed on 2 actors, "
                f"{part['params'] / 1e6:g}M params",
                "ms",
                part["p99_ms"],
                None,
                note=(
                    f"p50 {part['p50_ms']:.1f} ms, max {part['max_ms']:.1f} ms over "
                    f"{part['syncs']} syncs; polling the actors adds a few ms"
                ),
                lower_is_better=True,
                details=part,
            )
        )
    lags = [(r, "12a sleep") for r in sleep[1:]] + [(r, "12b burn") for r in burn[1:]]
    for row, label in lags:
        rows.append(
            Row(
                "12d",
                f"policy lag max ({label}, {row['actors']} actors)",
                "publications",
                row.get("lag_max"),
                row.get("lag_p50"),
                "p50",
                lower_is_better=True,
                note=f"{row.get('publications', 0)} publications in the run",
            )
        )
    rows.append(
        Row(
            "12",
            "Ray start-up (ray.init, local, 2 CPUs)",
            "s",
            data["ray_init_s"],
            None,
            lower_is_better=True,
            note=f"learner RSS {data['learner_rss_mb']:.0f} MB after ray.init",
        )
    )
    memory = [r["rss_mb_per_actor"] for r in sleep[1:] if "rss_mb_per_actor" in r]
    if memory:
        rows.append(
            Row(
                "12",
                "resident memory per actor process (torch imported)",
                "MB",
                median(memory),
                None,
                lower_is_better=True,
                note="RSS, shared pages counted; median over the 12a rows",
            )
        )
    rows.append(_scale_learning_row(ctx))
    return rows


def _scale_learning_row(ctx: Context) -> Row:
    """12e: the CartPole DQN sample with 2 actors against the threads backend, one seed."""
    quick = ctx.settings.quick
    budget = 60.0 if quick else 300.0
    args = ["--seed", "0", "--seconds", f"{budget:g}", "--stop-at-target"]
    threads = ctx.ours("cartpole", args, budget + 60)
    ray = ctx.ours("cartpole", [*args, "--actors", "2"], budget + 120)
    times = []
    for run in (ray, threads):
        reach = learning_stats.first_reach(run["episodes"])
        times.append(reach.wall_s if reach is not None else None)
    ours, reference = times
    steps = [run["progress"][-1][1] if run["progress"] else 0 for run in (ray, threads)]
    not_reached = [
        name for name, t in (("2 actors", ours), ("threads", reference)) if t is None
    ]
    note = (
        f"one seed (0), for lack of time; stops at the target; agent steps at the end "
        f"{steps[0]:,} (2 actors) / {steps[1]:,} (threads); Ray and actors started "
        f"in {ray['startup_s']:.1f} s before the clock starts"
    )
    if not_reached:
        note += f"; not reached within {budget:g} s: {', '.join(not_reached)}"
    return Row(
        "12e",
        "CartPole DQN sample with 2 actors: wall time to a 20-episode mean of 475",
        "s",
        ours,
        reference,
        "threads backend, same seed",
        lower_is_better=True,
        note=note,
        details={"ray": ray, "threads": threads},
    )


# -- 13: attached dashboards ----------------------------------------------------------

ATTACH_CONDITIONS = ((0, "app"), (1, "app"), (8, "app"), (8, "poll"))
"""(clients, kind): headless alone, one and eight attached dashboards (Textual,
driven headless), and eight bare protocol clients polling as a dashboard does."""
MIB = 1024 * 1024


def figure_attach(ctx: Context) -> list[Row]:
    s = ctx.settings
    seconds = s.attach_seconds
    runs: dict[tuple[int, str], list[dict[str, Any]]] = {
        c: [] for c in ATTACH_CONDITIONS
    }
    # Rounds interleave the conditions, so a busy moment hits all of them alike.
    for _ in range(s.attach_rounds):
        for clients, kind in ATTACH_CONDITIONS:
            args = ["rate", "--clients", str(clients), "--kind", kind]
            runs[(clients, kind)].append(
                ctx.ours("attach", [*args, "--duration", str(seconds)], seconds + 180)
            )

    def steps(condition: tuple[int, str]) -> float:
        return median([r["steps_per_s"] for r in runs[condition]])

    headless = steps((0, "app"))

    def share(condition: tuple[int, str]) -> float:
        return 100.0 * steps(condition) / headless

    def polls(condition: tuple[int, str]) -> str:
        hz = [p for r in runs[condition] for p in r["polls_per_s"]]
        text = f"{min(hz):.1f}-{max(hz):.1f} polls/s each" if hz else ""
        return text + blocked(condition)

    def blocked(condition: tuple[int, str]) -> str:
        # Load-independent: the share of the time the agent's thread could
        # not run for the GIL (steps/s also move with other processes' load).
        ours = [a for r in runs[condition] if (a := r.get("agent_thread"))]
        base = [a for r in runs[(0, "app")] if (a := r.get("agent_thread"))]
        if not ours or not base:
            return ""

        def stuck(shares: list[dict[str, float]]) -> float:
            return 100 * median([1.0 - a["ran"] - a["queued"] for a in shares])

        return (
            f"; the agent's thread blocked {stuck(ours):.1f} % of the time "
            f"(headless {stuck(base):.1f} %), waited for a CPU "
            f"{100 * median([a['queued'] for a in ours]):.0f} %"
        )

    delays = [d * 1000 for r in runs[(1, "app")] for d in r["delays"]]
    delays8 = [d * 1000 for r in runs[(8, "app")] for d in r["delays"]]
    memory_seconds = s.watcher_memory_seconds
    memory = ctx.ours(
        "attach", ["memory", "--duration", str(memory_seconds)], memory_seconds
    )
    rss = [b for _, b in memory["samples"]]
    # The watcher's queue fills within its first minute (20,000 events); from
    # then on nothing may grow.
    settle = min(60.0, memory_seconds / 2)
    settled = [b for t, b in memory["samples"] if t >= settle]
    growth = (max(settled) - settled[0]) / MIB if settled else None
    kept = (
        "still kept" if memory["watchers_at_end"] else "dropped by the run (60 s unfed)"
    )
    rss_note = (
        f"RSS start {rss[0] / MIB:.1f} MiB, end {rss[-1] / MIB:.1f} MiB, "
        f"max {max(rss) / MIB:.1f} MiB over {memory_seconds:g} s; the stuck "
        f"watcher was {kept} at the end; {memory['steps']:,} steps, curve reports "
        + ", ".join(f"{k} {v:,}" for k, v in memory["curve_reports"].items())
    )
    base = f"headless {headless:,.0f} steps/s"
    return [
        Row(
            "13",
            "step rate, 1 attached dashboard: % of headless",
            "%",
            share((1, "app")),
            target=Target(">=", 97.0),
            note=f"{base}; {polls((1, 'app'))}",
            details={"runs": {f"{c}x{k}": v for (c, k), v in runs.items()}},
        ),
        Row(
            "13",
            "step rate, 8 attached dashboards: % of headless",
            "%",
            share((8, "app")),
            target=Target(">=", 90.0),
            note=f"{base}; {polls((8, 'app'))}; the 8 Textual apps run on the "
            "run's machine, sharing its cores",
        ),
        Row(
            "13",
            "step rate, 8 protocol clients polling at 5 Hz: % of headless",
            "%",
            share((8, "poll")),
            target=Target(">=", 95.0),
            note=f"the run's own cost of 8 watchers (no Textual); {polls((8, 'poll'))}",
        ),
        Row(
            "13",
            "engine event to attached dashboard, p99",
            "ms",
            percentile(delays, 99) if delays else None,
            target=Target("<=", 250.0),
            note=(
                f"p50 {percentile(delays, 50):.0f} ms over {len(delays):,} "
                f"training-run events; with 8 dashboards p99 "
                f"{percentile(delays8, 99):.0f} ms"
                if delays and delays8
                else "no events seen"
            ),
            lower_is_better=True,
        ),
        Row(
            "13",
            "RSS growth after the 1st minute, 1 watcher stopped reading",
            "MiB",
            growth,
            target=Target("<=", 16.0),
            note=rss_note,
            lower_is_better=True,
            details={"memory": memory},
        ),
    ]


# -- 14: the console's cost to a Python-launched run -----------------------------------


def _spread(values: list[float], fmt: str = ".0f") -> str:
    low, high = format(min(values), fmt), format(max(values), fmt)
    return low if low == high else f"{low}-{high}"


def figure_launch(ctx: Context) -> list[Row]:
    """Issue 14: the console on (the default) against ``console=False``, one process."""
    s = ctx.settings
    seconds, rounds = s.launch_seconds, s.launch_rounds
    args = ["rate", "--rounds", str(rounds), "--duration", str(seconds)]
    rate = ctx.ours("launch_cost", args, 2 * rounds * (seconds + 5.0))
    on = [r["steps_per_s"] for r in rate["on"]]
    off = [r["steps_per_s"] for r in rate["off"]]
    # Each round's pair ran back to back: their ratio leaves out slower spells.
    ratios = [a / b for a, b in zip(on, off, strict=True)]
    train = [r["train_runs_per_s"] for r in rate["on"]]
    lines = [r["metrics_lines"] for r in rate["on"]]

    def cpu(condition: str, key: str, thread: str = "") -> float:
        values = [r[key][thread] if thread else r[key] for r in rate[condition]]
        return 100.0 * median(values)

    def kilo(values: list[float]) -> str:
        return ", ".join(f"{v / 1000:,.0f}k" for v in values)

    starts = s.launch_starts
    up = ctx.ours("launch_cost", ["startup", "--starts", str(starts)], 4.0 * starts)

    def ms(condition: str, key: str) -> list[float]:
        return [r[key] * 1e3 for r in up[condition]]

    start_on, start_off = ms("on", "start_s"), ms("off", "start_s")
    added = median(start_on) - median(start_off)
    stop_on, stop_off = ms("on", "stop_s"), ms("off", "stop_s")
    build_on, build_off = ms("on", "construct_s"), ms("off", "construct_s")
    first = up["first"]
    listed = ms("on", "listed_after_s")
    at_once = sum(r["listed_at_once"] for r in up["on"])
    return [
        Row(
            "14a",
            f"step rate, console on (default LaunchConfig), median of {rounds}",
            "steps/s",
            median(on),
            median(off),
            "console=False, same process",
            Target(">=", 0.98, on="ratio"),
            note=(
                f"per-round on/off {median(ratios):.3f} (range "
                f"{_spread(ratios, '.3f')}); steps/s by round, on: {kilo(on)}; off: "
                f"{kilo(off)}; {seconds:g} s each, interleaved; the trainer reported "
                f"a loss {_spread(train)} times/s ({_spread(lines)} lines in "
                "metrics.jsonl per run with the console); CPU, % of a core: process "
                f"{cpu('on', 'process_cpu'):.0f} on / {cpu('off', 'process_cpu'):.0f} "
                f"off, the console's own threads {cpu('on', 'console_threads_cpu'):.1f}, "
                f"training thread {cpu('on', 'thread_cpu', 'training'):.1f} / "
                f"{cpu('off', 'thread_cpu', 'training'):.1f} (the curve book runs on it)"
            ),
            details={"rate": rate, "ratios": ratios},
        ),
        Row(
            "14b",
            f"System.start() wall time, console on, median of {starts}",
            "ms",
            median(start_on),
            median(start_off),
            "console=False",
            lower_is_better=True,
            note=(
                f"p90 {percentile(start_on, 90):.1f} ms on, "
                f"{percentile(start_off, 90):.1f} ms off; the process's first start "
                f"(imports, first uses; not counted): {first['on']['start_s'] * 1e3:.0f} "
                f"ms on, {first['off']['start_s'] * 1e3:.0f} ms off; System() built in "
                f"{median(build_on):.2f} / {median(build_off):.2f} ms; shutdown+wait "
                f"(not counted) {median(stop_on):.0f} / {median(stop_off):.0f} ms"
            ),
            details={"startup": up},
        ),
        Row(
            "14b",
            "start-up time the console adds (median on - median off)",
            "ms",
            added,
            lower_is_better=True,
        ),
        Row(
            "14b",
            "from start() returning to the run listed by live_runs()",
            "ms",
            max(listed),
            lower_is_better=True,
            note=f"worst of {starts}; listed at the first look in {at_once} of {starts}",
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
    Figure("8", "infer", "inference call overhead", figure_infer),
    Figure("9", "replay", "drawing a replay batch", figure_replay),
    Figure("10", "training", "training while acting", figure_training),
    Figure("11", "learning", "learning CartPole, ours and SB3", figure_learning),
    Figure("12", "scale", "scaling out on Ray", figure_scale),
    Figure("13", "attach", "attached dashboards", figure_attach),
    Figure("14", "launch", "console cost to a Python-launched run", figure_launch),
    Figure("15", "dashcpu", "the dashboard's own CPU", figure_dashboard_cpu),
    Figure("16", "watched", "real time with someone watching", figure_realtime_watched),
    Figure("17", "ppo", "PPO with lag correction on Ray actors", figure_ppo),
    Figure("18", "sac", "learning Pendulum with SAC, ours and SB3", figure_sac),
)

NEEDS_REFERENCE = {"1", "2", "3", "4"}


def annotate(ctx: Context, rows: list[Row]) -> None:
    """Notes that join figures measured separately (called after every figure ran)."""
    sb3 = ctx.raw.get("sb3_rates")
    for row in rows:
        if sb3 and row.figure == "10" and row.metric.endswith("while the agent acts"):
            row.note += (
                f"; SB3 (zoo settings, batch 64, alternating), figure 11's runs: "
                f"{sb3['gradient_steps_per_s']:,.0f} gradient steps/s while acting "
                f"{sb3['env_steps_per_s']:,.0f} steps/s"
            )


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
