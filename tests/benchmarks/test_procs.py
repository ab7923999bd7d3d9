"""Subprocess running, JSON capture, timeouts, and finding Python 3.12."""

from __future__ import annotations

import fcntl
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import procs
from benchmarks.figures import select


def test_last_json_line_skips_noise() -> None:
    out = 'hello\n{"a": 1}\nnot json {\n{"b": 2}\n\n'
    assert procs.last_json_line(out) == {"b": 2}
    with pytest.raises(procs.WorkloadError):
        procs.last_json_line("no json here\n[1, 2]\n")


def test_run_json_returns_the_result_and_reports_failures() -> None:
    ok = procs.run_json([sys.executable, "-c", "print('x'); print('{\"v\": 3}')"], 30)
    assert ok.data == {"v": 3}
    with pytest.raises(procs.WorkloadError, match="exit code 3"):
        procs.run_json([sys.executable, "-c", "import sys; sys.exit(3)"], 30)


def test_run_json_kills_a_program_that_overruns() -> None:
    with pytest.raises(procs.WorkloadError, match="timed out"):
        procs.run_json([sys.executable, "-c", "import time; time.sleep(30)"], 0.5)


_TRY_LOCK = """
import fcntl, json, sys
with open(sys.argv[1], "a") as f:
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(json.dumps({"free": False}))
    else:
        print(json.dumps({"free": True}))
"""


@pytest.fixture
def no_lock_after() -> Iterator[None]:
    yield
    procs.use_lock(None)


def _lock_is_free(path: Path) -> bool:
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(f, fcntl.LOCK_UN)
        return True


def test_with_a_lock_each_program_runs_holding_it_and_it_is_dropped_after(
    tmp_path: Path, no_lock_after: None
) -> None:
    lock = tmp_path / "cpu.lock"
    argv = [sys.executable, "-c", _TRY_LOCK, str(lock)]
    assert procs.run_json(argv, 30).data == {"free": True}
    procs.use_lock(lock)
    assert procs.run_json(argv, 30).data == {"free": False}
    assert _lock_is_free(lock)
    with pytest.raises(procs.WorkloadError, match="timed out"):
        procs.run_json([sys.executable, "-c", "import time; time.sleep(30)"], 0.5)
    assert _lock_is_free(lock)


def test_explicit_interpreter_comes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAMIQ_BENCH_PYTHON", "/opt/somewhere/python3.12")
    assert procs.python312_candidates()[0] == "/opt/somewhere/python3.12"


def test_no_python312_means_not_measured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(procs, "find_python312", lambda: None)
    python, reason = procs.reference_python(tmp_path)
    assert python is None
    assert reason.startswith("not measured")


def test_an_old_interpreter_is_not_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        procs, "python312_candidates", lambda: ["/nonexistent/python", sys.executable]
    )
    found = procs.find_python312()
    assert found == (sys.executable if sys.version_info >= (3, 12) else None)


def test_figure_selection() -> None:
    assert [f.number for f in select([])] == [str(n) for n in range(1, 19)]
    assert [f.number for f in select(["idle", "1"])] == ["1", "3"]
    assert [f.name for f in select(["2,state"])] == ["realtime", "state"]
    assert [f.name for f in select(["learning,9"])] == ["replay", "learning"]
    assert [f.number for f in select(["sac"])] == ["18"]
    with pytest.raises(ValueError, match="unknown figure"):
        select(["19"])


def test_plain_loop_program_reports_steps() -> None:
    script = procs.BENCH_DIR / "workloads" / "plain_step.py"
    data = procs.run_json([sys.executable, str(script), "--duration", "0.05"], 30).data
    assert data["steps"] >= 1000 and data["steps"] % 1000 == 0
    assert data["consumed_total"] > 0


def test_our_realtime_program_emits_ticks() -> None:
    data = procs.run_ours(
        "realtime", ["--warmup", "0.05", "--duration", "0.2", "--interval", "0.01"], 30
    ).data
    ticks = data["ticks"]
    assert ticks == sorted(ticks)
    assert data["window_end"] - data["window_start"] == pytest.approx(0.2)
    assert sum(data["window_start"] <= t < data["window_end"] for t in ticks) >= 2


def test_the_cartpole_program_runs_the_sample_and_measures_training_alone() -> None:
    data = procs.run_ours("cartpole", ["--seed", "3", "--seconds", "2"], 120).data
    assert data["seed"] == 3 and not data["failures"]
    assert data["episodes"] and all(len(e) == 3 for e in data["episodes"])
    assert [p[1] for p in data["progress"]] == sorted(p[1] for p in data["progress"])
    share = procs.run_ours("cartpole", ["--share", "2,1"], 120).data
    assert share["optimizer_steps_per_s_alone"] > 0 and not share["failures"]
    assert share["replay_ratio"] == data["replay_ratio"]
