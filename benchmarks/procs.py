"""Running workload programs as subprocesses, and the cached PAMIQ-Core interpreter.

Every workload runs in a fresh process (ours with this interpreter, PAMIQ-Core's
with a Python 3.12 virtualenv that holds ``pamiq-core==0.6.0``), prints one JSON
object as its last stdout line, and is killed if it overruns its time limit.

With :func:`use_lock` set (``python -m benchmarks --lock FILE``), each program
runs while holding an exclusive ``flock`` on FILE, taken just before it starts
and dropped when it ends: on a machine shared with others who serialise their
heavy runs on the same file, the suite then holds it for one program at a time
(at most one learning run, ~10 min) instead of for the whole ~1.5 h.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
CACHE_DIR = BENCH_DIR / ".cache"
REFERENCE_DIR = BENCH_DIR / "reference"
PAMIQ_CORE_REQUIREMENT = "pamiq-core==0.6.0"
_REF_ENV_NAME = "pamiq-core-0.6.0"
SB3_REQUIREMENT = "stable-baselines3==2.9.2"
_SB3_ENV_NAME = "sb3-2.9.2"
SB3_DIR = BENCH_DIR / "sb3"
SB3_DQN = "cartpole_dqn.py"
"""Figure 11's SB3 program (in :data:`SB3_DIR`)."""
SB3_SAC = "pendulum_sac.py"
"""Figure 18's."""


_lock_file: Path | None = None


def use_lock(path: Path | None) -> None:
    """Run every later program under an exclusive ``flock`` on ``path`` (None: no lock)."""
    global _lock_file
    _lock_file = path


@contextlib.contextmanager
def _held_lock() -> Iterator[None]:
    if _lock_file is None:
        yield
        return
    with open(_lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class WorkloadError(RuntimeError):
    """A workload program failed, overran, or printed no JSON."""


@dataclass(frozen=True)
class Outcome:
    """A finished workload: its JSON result and how long the process took."""

    data: dict[str, Any]
    wall_seconds: float


def last_json_line(stdout: str) -> dict[str, Any]:
    """The last stdout line that parses as a JSON object.

    Raises:
        WorkloadError: If there is none.
    """
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    raise WorkloadError("the program printed no JSON result")


def run_json(
    argv: list[str],
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: Path = REPO_ROOT,
) -> Outcome:
    """Run ``argv``; return the JSON object it printed last.

    The program runs in its own process group, which is killed on timeout; the
    timeout starts once the lock of :func:`use_lock` (if any) is held.

    Raises:
        WorkloadError: On a non-zero exit, a timeout or missing JSON (with stderr's tail).
    """
    import time

    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("PYTHONHASHSEED", "0")
    with _held_lock():
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            raise WorkloadError(
                f"timed out after {timeout:g} s: {' '.join(argv[-3:])}; "
                f"stderr: {_tail(stderr)}"
            ) from None
        wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise WorkloadError(f"exit code {proc.returncode}; stderr: {_tail(stderr)}")
    try:
        return Outcome(last_json_line(stdout), wall)
    except WorkloadError as e:
        raise WorkloadError(f"{e}; stderr: {_tail(stderr)}") from None


def _tail(text: str, lines: int = 6) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


def run_ours(module: str, args: list[str], timeout: float) -> Outcome:
    """Run ``python -m benchmarks.workloads.<module> ARGS`` with this interpreter."""
    return run_json(
        [sys.executable, "-m", f"benchmarks.workloads.{module}", *args], timeout
    )


def run_reference(python: str, script: str, args: list[str], timeout: float) -> Outcome:
    """Run ``benchmarks/reference/<script>.py ARGS`` with PAMIQ-Core's interpreter."""
    return run_json([python, str(REFERENCE_DIR / f"{script}.py"), *args], timeout)


# -- locating Python 3.12 and the PAMIQ-Core virtualenv --------------------------


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    try:
        major, minor = (int(x) for x in out.stdout.split())
    except ValueError:
        return None
    return major, minor


def python312_candidates() -> list[str]:
    """Where a Python >= 3.12 may be, most explicit first."""
    candidates = []
    explicit = os.environ.get("PAMIQ_BENCH_PYTHON")
    if explicit:
        candidates.append(explicit)
    for name in ("python3.12", "python3.13"):
        found = shutil.which(name)
        if found:
            candidates.append(found)
    roots = [os.environ.get("PYENV_ROOT"), str(Path.home() / ".pyenv"), "/root/.pyenv"]
    for root in dict.fromkeys(r for r in roots if r):
        for pattern in ("3.12*", "3.13*"):
            candidates.extend(
                sorted(
                    glob.glob(os.path.join(root, "versions", pattern, "bin", "python"))
                )
            )
    return list(dict.fromkeys(candidates))


def find_python312() -> str | None:
    """A working Python >= 3.12 interpreter, or None."""
    for candidate in python312_candidates():
        version = _version_of(candidate)
        if version is not None and version >= (3, 12):
            return candidate
    return None


def reference_python(cache_dir: Path = CACHE_DIR) -> tuple[str | None, str]:
    """The interpreter of the cached PAMIQ-Core virtualenv, creating it once.

    Returns:
        ``(path, "")`` when ready, or ``(None, reason)`` when it cannot be had.
    """
    env_dir = cache_dir / _REF_ENV_NAME
    python = env_dir / "bin" / "python"
    marker = env_dir / ".ready"
    if marker.is_file() and python.exists():
        return str(python), ""
    base = find_python312()
    if base is None:
        return None, "not measured: no Python 3.12 (set PAMIQ_BENCH_PYTHON)"
    return _create_venv(
        base,
        env_dir,
        [PAMIQ_CORE_REQUIREMENT],
        "import pamiq_core, sys; print(sys.version)",
        what=PAMIQ_CORE_REQUIREMENT,
        install_timeout=600,
        check_timeout=60,
    )


def _create_venv(
    base: str,
    env_dir: Path,
    install: list[str],
    check_code: str,
    *,
    what: str,
    install_timeout: float,
    check_timeout: float,
) -> tuple[str | None, str]:
    """Create ``env_dir`` from ``base``, pip-install ``install``, check it, mark it ready.

    Returns:
        ``(python, "")``, or ``(None, reason)`` with the directory removed.
    """
    python = env_dir / "bin" / "python"
    shutil.rmtree(env_dir, ignore_errors=True)
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    print(f"[bench] creating {env_dir} with {what} (once)", flush=True)
    try:
        subprocess.run(
            [base, "-m", "venv", str(env_dir)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *install],
            check=True,
            capture_output=True,
            timeout=install_timeout,
        )
        check = subprocess.run(
            [str(python), "-c", check_code],
            check=True,
            capture_output=True,
            text=True,
            timeout=check_timeout,
        )
    except (OSError, subprocess.SubprocessError) as e:
        stderr = getattr(e, "stderr", b"") or b""
        if isinstance(stderr, bytes):
            stderr = stderr.decode(errors="replace")
        shutil.rmtree(env_dir, ignore_errors=True)
        return (
            None,
            f"not measured: could not install {what} ({_tail(stderr, 2) or e})",
        )
    (env_dir / ".ready").write_text(check.stdout.strip() + "\n")
    return str(python), ""


# -- the Stable-Baselines3 virtualenv (figures 11 and 18) --------------------------


def sb3_python(cache_dir: Path = CACHE_DIR) -> tuple[str | None, str]:
    """The interpreter of the cached Stable-Baselines3 virtualenv, creating it once.

    It is made from this interpreter's base Python with the repository's
    ``constraints.txt`` (the pinned CPU torch, whose wheel pip finds locally)
    and the gymnasium version installed here, so both sides run the same
    torch and the same CartPole and Pendulum.

    Returns:
        ``(path, "")`` when ready, or ``(None, reason)`` when it cannot be had.
    """
    from importlib import metadata

    env_dir = cache_dir / _SB3_ENV_NAME
    python = env_dir / "bin" / "python"
    marker = env_dir / ".ready"
    if marker.is_file() and python.exists():
        return str(python), ""
    try:
        gymnasium = f"gymnasium=={metadata.version('gymnasium')}"
    except metadata.PackageNotFoundError:
        return (
            None,
            "not measured: gymnasium is not installed here (pip install -e '.[gym]')",
        )
    base = getattr(sys, "_base_executable", None) or sys.executable
    constraints = REPO_ROOT / "constraints.txt"
    pins = ["-c", str(constraints)] if constraints.is_file() else []
    return _create_venv(
        base,
        env_dir,
        [*pins, SB3_REQUIREMENT, gymnasium],
        "import stable_baselines3, torch, sys; "
        "print(stable_baselines3.__version__, torch.__version__, sys.version.split()[0])",
        what=SB3_REQUIREMENT,
        install_timeout=1200,
        check_timeout=120,
    )


def run_sb3(
    python: str, args: list[str], timeout: float, program: str = SB3_DQN
) -> Outcome:
    """Run ``benchmarks/sb3/<program> ARGS`` with the SB3 interpreter."""
    return run_json([python, str(SB3_DIR / program), *args], timeout)
