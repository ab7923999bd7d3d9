"""Run the performance suite and print one table.

    .venv/bin/python -m benchmarks            # everything (~5 min, plus ~1 h each for figures 11 and 18)
    .venv/bin/python -m benchmarks --quick    # shorter runs (~6 min)
    .venv/bin/python -m benchmarks --only 2 --only idle
    .venv/bin/python -m benchmarks --skip learning   # all but figure 11
    .venv/bin/python -m benchmarks --no-reference   # skip PAMIQ-Core
    .venv/bin/python -m benchmarks --lock /work/cpu.lock  # flock per program run
    .venv/bin/python -m benchmarks --only 11 --side ours --seeds 0-2  # part of figure 11
    .venv/bin/python -m benchmarks --only sac     # figure 18: Pendulum SAC, ours and SB3
    .venv/bin/python -m benchmarks --only ppo --seeds 0-2 --reuse-runs  # figure 17, resumable
    .venv/bin/python -m benchmarks --reuse-runs      # everything, kept figure-11, -17 and -18 runs taken

Results go to ``benchmarks/results/latest.json`` and a timestamped copy; a
full run also rewrites ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import procs
from .figures import NEEDS_REFERENCE, Context, Settings, annotate, failed_rows, select
from .stats import busy_share, machine_cpu_sample, machine_steal_sample
from .table import MISS, Row, notes_of, render_markdown, render_text, write_results

RESULTS_DIR = procs.BENCH_DIR / "results"
RESULTS_MD = procs.BENCH_DIR / "RESULTS.md"


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=procs.REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def machine_meta(reference_python: str | None) -> dict[str, Any]:
    """Where and on what the numbers were measured."""
    ref_version = ""
    if reference_python:
        marker = Path(reference_python).parent.parent / ".ready"
        ref_version = marker.read_text().strip() if marker.is_file() else ""
    return {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "python": sys.version.split()[0],
        "reference_python": ref_version.split()[0] if ref_version else None,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
    }


def markdown_document(rows: list[Row], meta: dict[str, Any]) -> str:
    """RESULTS.md: the latest table and how it was made."""
    notes = notes_of(rows)
    lines = [
        "# Benchmark results",
        "",
        "Written by `.venv/bin/python -m benchmarks` (see `benchmarks/README.md`); do not edit.",
        "",
        f"- When: {meta['finished']} ({meta['seconds']:.0f} s run, mode: {meta['mode']})",
        f"- Command: `python -m benchmarks {' '.join(meta.get('argv') or [])}`".rstrip(
            " `"
        )
        + "`",
        f"- Commit: `{meta['commit'][:12] or 'unknown'}`{' (with local changes)' if meta['dirty'] else ''}",
        f"- Machine: {meta['platform']}, {meta['cpus']} CPUs, load average at start "
        f"{', '.join(f'{x:.2f}' for x in meta['load_average_at_start'])}",
        f"- Ours on Python {meta['python']}; reference: PAMIQ-Core 0.6.0 on Python "
        f"{meta['reference_python'] or '(not available)'}",
        "- Ratio = ours / reference. Targets on `x ref` apply to the ratio.",
        "",
    ]
    misses = [r for r in rows if r.status == MISS]
    if misses:
        lines += [
            f"**{len(misses)} row(s) miss their target:** "
            + "; ".join(f"{r.figure} {r.metric}" for r in misses)
            + ".",
            "",
        ]
    else:
        lines += ["Every row with a target meets it in this run.", ""]
    lines += [render_markdown(rows), ""]
    busy = meta.get("machine_busy_percent_by_figure") or {}
    if busy:
        notes = [
            *notes,
            "machine busy during each figure (all CPUs, the benchmark included): "
            + ", ".join(f"fig {k}: {v:.0f} %" for k, v in busy.items()),
        ]
    steals = meta.get("host_steal_percent_by_figure") or {}
    if steals:
        notes = [
            *notes,
            "host steal during each figure (CPU time the hypervisor gave to other "
            "machines; stalls nothing inside can avoid): "
            + ", ".join(f"fig {k}: {v:.0f} %" for k, v in steals.items()),
        ]
    loads = meta.get("load_average_by_figure") or {}
    if loads:
        notes = [
            *notes,
            "load average (1, 5, 15 min) as each figure started: "
            + "; ".join(
                f"fig {k}: {', '.join(f'{x:.2f}' for x in v)}" for k, v in loads.items()
            ),
        ]
    if notes:
        lines += ["Notes:", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def _seeds(text: str) -> list[int]:
    """``"0-4"`` or ``"0,2,3"`` as a list of seeds."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            seeds += range(int(first), int(last or first) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds must look like 0-4 or 0,2 (got {text!r})"
        ) from None
    if not seeds:
        raise argparse.ArgumentTypeError(f"no seeds in {text!r}")
    return seeds


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="pamiq-console performance suite"
    )
    parser.add_argument(
        "--quick", action="store_true", help="shorter runs, smaller state"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="FIGURE",
        help="run only these figures (number or name: 1/step 2/realtime 3/idle "
        "4/pause 5/sync 6/state 7/console 8/infer 9/replay 10/training "
        "11/learning 12/scale 13/attach 14/launch 15/dashcpu 16/watched 17/ppo "
        "18/sac); "
        "repeat or comma-separate",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="FIGURE",
        help="run every figure but these (number or name, as --only)",
    )
    parser.add_argument(
        "--no-reference", action="store_true", help="do not run PAMIQ-Core side by side"
    )
    parser.add_argument(
        "--lock",
        type=Path,
        default=None,
        metavar="FILE",
        help="run each workload program holding an exclusive flock on FILE (for a "
        "shared machine: the lock is held one program at a time, not for the whole run)",
    )
    parser.add_argument(
        "--seeds",
        type=_seeds,
        default=None,
        metavar="SEEDS",
        help="figures 11's and 18's seeds, e.g. 0-4 (the default) or 0,2; "
        "figure 17's (default: 0)",
    )
    parser.add_argument(
        "--side",
        choices=["both", "ours", "sb3"],
        default="both",
        help="figures 11 and 18: run both sides (the default) or one; with --reuse-runs the "
        "other side's kept runs still count",
    )
    parser.add_argument(
        "--reuse-runs",
        action="store_true",
        help="figures 11, 17 and 18: take a kept run (results/learning-runs/) of the same code "
        "and settings instead of running it again, so a long run can be split or resumed",
    )
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS_DIR, help="where JSON results go"
    )
    parser.add_argument(
        "--markdown",
        choices=["auto", "always", "never"],
        default="auto",
        help="rewrite benchmarks/RESULTS.md (auto: on full runs, not --quick/--only/--skip)",
    )
    parser.add_argument(
        "--markdown-file",
        type=Path,
        default=RESULTS_MD,
        metavar="PATH",
        help="where --markdown writes (default: benchmarks/RESULTS.md); e.g. figure 11 "
        "alone, whose ten runs take over an hour, into a file of its own",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        figures = select(args.only)
        skipped = {f.number for f in select(args.skip)} if args.skip else set()
        figures = [f for f in figures if f.number not in skipped]
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    procs.use_lock(args.lock)
    started = time.perf_counter()
    settings = Settings(
        quick=args.quick,
        seeds=args.seeds,
        side=args.side,
        runs_dir=args.results_dir / "learning-runs",
        reuse_runs=args.reuse_runs,
    )
    reference_python, reason = None, "not measured (--no-reference)"
    if not args.no_reference and any(f.number in NEEDS_REFERENCE for f in figures):
        reference_python, reason = procs.reference_python()
        if reference_python is None:
            print(f"[bench] PAMIQ-Core: {reason}", file=sys.stderr)
    ctx = Context(settings, reference_python, reason)

    rows: list[Row] = []
    machine_busy: dict[str, float] = {}
    figure_seconds: dict[str, float] = {}
    load_by_figure: dict[str, list[float]] = {}
    steal_by_figure: dict[str, float] = {}
    for figure in figures:
        ctx.log(f"[bench] figure {figure.number}: {figure.title}")
        load_by_figure[figure.number] = [round(x, 2) for x in os.getloadavg()]
        before = machine_cpu_sample()
        steal_before = machine_steal_sample()
        figure_started = time.perf_counter()
        try:
            rows += figure.build(ctx)
        except Exception as e:
            ctx.log(f"[bench]   failed: {e}")
            rows += failed_rows(figure, e)
        figure_seconds[figure.number] = round(time.perf_counter() - figure_started, 1)
        steal = busy_share(steal_before, machine_steal_sample())
        if steal is not None:
            steal_by_figure[figure.number] = round(100.0 * steal, 1)
        busy = busy_share(before, machine_cpu_sample())
        if busy is not None:
            machine_busy[figure.number] = round(100.0 * busy, 1)
            ctx.log(
                f"[bench]   machine busy {100.0 * busy:.0f} % of all CPUs meanwhile"
            )

    annotate(ctx, rows)
    seconds = time.perf_counter() - started
    now = dt.datetime.now().astimezone()
    meta = {
        **machine_meta(reference_python),
        "finished": now.isoformat(timespec="seconds"),
        "seconds": seconds,
        "mode": "quick" if args.quick else "full",
        "only": [f.number for f in figures] if args.only or args.skip else None,
        "argv": sys.argv[1:] if argv is None else argv,
        "lock": None if args.lock is None else str(args.lock),
        "reuse_runs": args.reuse_runs,
        "machine_busy_percent_by_figure": machine_busy,
        "load_average_by_figure": load_by_figure,
        "host_steal_percent_by_figure": steal_by_figure,
        "seconds_by_figure": figure_seconds,
        "load_average_at_end": list(os.getloadavg()),
    }
    print()
    print(render_text(rows))
    for note in notes_of(rows):
        print(f"  note: {note}")
    if machine_busy:
        print(
            "  machine busy (all CPUs, includes the benchmark itself): "
            + ", ".join(f"fig {k}: {v:.0f} %" for k, v in machine_busy.items())
        )
    if steal_by_figure:
        print(
            "  host steal (hypervisor): "
            + ", ".join(f"fig {k}: {v:.0f} %" for k, v in steal_by_figure.items())
        )
    print(
        "  load average at each figure's start: "
        + "; ".join(f"fig {k}: {v[0]:.2f}" for k, v in load_by_figure.items())
    )
    latest, stamped = write_results(
        rows, meta, args.results_dir, now.strftime("%Y%m%d-%H%M%S")
    )
    print(f"\nresults: {latest} (and {stamped.name}); {seconds:.0f} s")
    partial = args.quick or args.only or args.skip or args.seeds or args.side != "both"
    write_md = args.markdown == "always" or (args.markdown == "auto" and not partial)
    if write_md:
        args.markdown_file.write_text(markdown_document(rows, meta), encoding="utf-8")
        print(f"markdown: {args.markdown_file}")
    misses = [r for r in rows if r.status == MISS]
    if misses:
        print(f"{len(misses)} figure(s) miss their target", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
