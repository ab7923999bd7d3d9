"""Measure PAMIQ-Core parity: run PAMIQ-Core's own public-API tests against pamiq-console.

    .venv/bin/python scripts/pamiq_parity.py [--git-dir DIR] [--tag 0.6.0]
                                             [--failures] [--keep] [--json FILE]

The script exports the test files of PAMIQ-Core's public-API modules (data,
interaction, model, trainer, gym, torch, time, state persistence, launcher,
testing, utils; not the console or the thread internals) from a git directory
into a temporary folder, never into this repository. A ``conftest.py`` written
there installs an import alias that maps each ``pamiq_core`` module onto ours as
in the README's "API: PAMIQ-Core names" table (:data:`ALIASES`,
:data:`COMPOSITES`). pytest then runs the files with this interpreter, and the
script prints pass/fail counts per file and the overall share.

Nothing of PAMIQ-Core is copied into the repository: the tests live only in the
temporary folder (``--keep`` leaves it for inspection). On Python 3.11, two
things of Python 3.12 that PAMIQ-Core's tests use are supplied there and
reported in the output: ``typing.override`` (bound to
``typing_extensions.override``) and PEP 695 generic class headers
(``class C[T](Base):`` is rewritten as ``class C(Base, Generic[T]):``).

Two names internal to PAMIQ-Core's implementation are imported by test files
that otherwise test public behaviour (:data:`INTERNALS`); each is a placeholder
that raises when used, so its own tests fail and count while the rest of the
file runs. pytest runs with PAMIQ-Core's settings that decide outcomes (log
capture at INFO, its warning filters).

The share counts passed / (passed + failed); tests skipped by PAMIQ-Core's own
markers (platform checks) are shown but not counted. A file that fails to
import counts each test it defines as failed (counted from its source).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.abc
import importlib.machinery
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import types
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_GIT_DIR = Path("/work/.mirror/MLShukai+pamiq-core/repo")
DEFAULT_TAG = "0.6.0"

# PAMIQ-Core test files of public-API modules, as path prefixes in its repository.
SCOPE = (
    "tests/pamiq_core/data/",
    "tests/pamiq_core/interaction/",
    "tests/pamiq_core/model/",
    "tests/pamiq_core/trainer/",
    "tests/pamiq_core/gym/",
    "tests/pamiq_core/torch/",
    "tests/pamiq_core/utils/",
    "tests/pamiq_core/test_time.py",
    "tests/pamiq_core/test_state_persistence.py",
    "tests/pamiq_core/test_launcher.py",
    "tests/pamiq_core/test_testing.py",
)
# Package markers and shared helpers the test files import.
SUPPORT = ("tests/__init__.py", "tests/helpers.py", "tests/pamiq_core/__init__.py")

# PAMIQ-Core module -> our module that plays its part (the very module object,
# so that patching ``pamiq_core.time.time`` patches what our code calls).
ALIASES: dict[str, str] = {
    "pamiq_core.data": "engine.data",
    "pamiq_core.data.buffer": "engine.data.buffer",
    "pamiq_core.data.container": "engine.data.container",
    "pamiq_core.data.interface": "engine.data.interface",
    "pamiq_core.data.impls": "engine.data.impls",
    "pamiq_core.data.impls.sequential_buffer": "engine.data.impls.sequential_buffer",
    "pamiq_core.data.impls.random_replacement_buffer": (
        "engine.data.impls.random_replacement_buffer"
    ),
    "pamiq_core.interaction": "engine.interaction",
    "pamiq_core.interaction.agent": "engine.interaction.agent",
    "pamiq_core.interaction.env": "engine.interaction.environment",
    "pamiq_core.interaction.event_mixin": "engine.interaction.event_mixin",
    "pamiq_core.interaction.interactions": "engine.interaction.interactions",
    "pamiq_core.interaction.interval_adjustors": "engine.interaction.interval_adjustors",
    "pamiq_core.interaction.modular_env": "engine.interaction.modular_env",
    "pamiq_core.interaction.wrappers": "engine.interaction.wrappers",
    "pamiq_core.model": "engine.model",
    "pamiq_core.model.container": "engine.model.container",
    "pamiq_core.model.interface": "engine.model.interface",
    "pamiq_core.trainer": "trainers",
    "pamiq_core.trainer.base": "trainers.base",
    "pamiq_core.trainer.container": "engine.runtime.trainer_contract",
    "pamiq_core.torch.model": "engine.torch",
    "pamiq_core.torch.agent": "engine.torch.agent",
    "pamiq_core.torch.trainer": "trainers.torch",
    "pamiq_core.gym": "engine.gym",
    "pamiq_core.gym.agent": "engine.gym.agent",
    "pamiq_core.gym.env": "engine.gym.env",
    "pamiq_core.gym.types": "engine.gym.types",
    "pamiq_core.time": "engine.time",
    "pamiq_core.launcher": "engine.launch",
    "pamiq_core.state_persistence": "engine.state_persistence",
    "pamiq_core.testing": "engine.testing",
    "pamiq_core.utils": "engine.utils",
    "pamiq_core.utils.reflection": "engine.utils.reflection",
    "pamiq_core.utils.schedulers": "engine.utils.schedulers",
    "pamiq_core.thread": "engine.thread",
}
# PAMIQ-Core modules whose names are split over several of ours: the public
# names of each source (or the listed ones) are gathered into one module.
COMPOSITES: dict[str, tuple[tuple[str, tuple[str, ...] | None], ...]] = {
    "pamiq_core": (("engine", None), ("trainers", ("Trainer",))),
    "pamiq_core.torch": (("engine.torch", None), ("trainers.torch", None)),
}


# PAMIQ-Core names internal to its implementation, with no counterpart here,
# that test files import next to public ones. Each becomes a placeholder that
# raises when used, so the tests of the internal name fail (and count) while the
# file's other tests still run against our code.
INTERNALS: dict[str, tuple[str, ...]] = {
    # The queue inside PAMIQ-Core's DataCollector (ours keeps a plain deque).
    "pamiq_core.data.interface": ("TimestampingQueue",),
    # The lock PAMIQ-Core's unwrap() holds (ours is lock-free: double-buffered).
    "pamiq_core.torch.model": ("UnwrappedContextManager",),
}


# -- the import alias (runs inside the pytest process) ---------------------------


def _placeholder(module: str, name: str) -> type:
    """A class standing for an internal PAMIQ-Core name: using it raises."""

    def refuse(*args: Any, **kwds: Any) -> None:
        raise NotImplementedError(
            f"{module}.{name} is internal to PAMIQ-Core; pamiq-console has no "
            "counterpart (see docs/pamiq_compat.md)"
        )

    return type(
        name,
        (),
        {"__init__": refuse, "__class_getitem__": classmethod(lambda cls, _: cls)},
    )


def _public_names(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return list(names)


class _AliasLoader(importlib.abc.Loader):
    """Makes a ``pamiq_core`` module name resolve to one of our modules."""

    def __init__(self, fullname: str) -> None:
        self._fullname = fullname

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # a fresh module; exec_module fills it or replaces it

    def exec_module(self, module: types.ModuleType) -> None:
        name = self._fullname
        if name in COMPOSITES or name in INTERNALS:
            module.__path__ = []  # a package: its submodules resolve through ALIASES
            sources = (
                COMPOSITES[name] if name in COMPOSITES else ((ALIASES[name], None),)
            )
            for source, names in sources:
                target = importlib.import_module(source)
                for attr in names if names is not None else _public_names(target):
                    setattr(module, attr, getattr(target, attr))
            for attr in INTERNALS.get(name, ()):
                setattr(module, attr, _placeholder(name, attr))
            return
        # The import system returns whatever sys.modules holds after exec_module,
        # so the alias is our module object itself, not a copy.
        sys.modules[name] = importlib.import_module(ALIASES[name])


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds the ``pamiq_core`` names of :data:`ALIASES` and :data:`COMPOSITES`."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        del path, target
        if fullname not in ALIASES and fullname not in COMPOSITES:
            return None
        return importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(fullname), is_package=True
        )


def install_aliases() -> None:
    """Map ``pamiq_core`` imports onto ours and supply Python 3.12's ``typing.override``."""
    import typing

    if not hasattr(typing, "override"):
        import typing_extensions

        typing.override = typing_extensions.override  # type: ignore[attr-defined]
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())


# -- exporting the tests ------------------------------------------------------------

_PEP695_CLASS = re.compile(
    r"^(?P<indent>[ \t]*)class (?P<name>\w+)\[(?P<params>[\w, ]+)\]\((?P<bases>[^)]*)\):",
    re.MULTILINE,
)


def _without_pep695_classes(source: str) -> tuple[str, int]:
    """Rewrite ``class C[T](Base):`` as ``class C(Base, Generic[T]):`` (Python 3.11)."""
    params: list[str] = []

    def replace(match: re.Match[str]) -> str:
        names = [p.strip() for p in match["params"].split(",") if p.strip()]
        params.extend(n for n in names if n not in params)
        bases = match["bases"].strip()
        generic = f"Generic[{', '.join(names)}]"
        bases = f"{bases}, {generic}" if bases else generic
        return f"{match['indent']}class {match['name']}({bases}):"

    rewritten, count = _PEP695_CLASS.subn(replace, source)
    if not count:
        return source, 0
    header = "from typing import Generic, TypeVar\n" + "".join(
        f'{p} = TypeVar("{p}")\n' for p in params
    )
    lines = rewritten.splitlines(keepends=True)
    insert_at = max(
        (i + 1 for i, line in enumerate(lines) if line.startswith("from __future__")),
        default=0,
    )
    lines.insert(insert_at, header)
    return "".join(lines), count


def in_scope(path: str) -> bool:
    """Whether a PAMIQ-Core repository path is a test file this harness runs."""
    return path in SUPPORT or (
        path.endswith(".py") and any(path.startswith(s) for s in SCOPE)
    )


def export_tests(git_dir: Path, tag: str, dest: Path) -> tuple[list[str], list[str]]:
    """Write the in-scope test files of ``tag`` under ``dest``.

    Returns:
        The test files (``test_*.py``) and the Python 3.11 adaptations made.

    Raises:
        SystemExit: If git cannot read the tag.
    """
    git = ["git", f"--git-dir={git_dir}"]
    listing = subprocess.run(
        [*git, "ls-tree", "-r", "--name-only", tag, "--", "tests"],
        capture_output=True,
        text=True,
    )
    if listing.returncode != 0:
        raise SystemExit(
            f"{git_dir}: cannot list tag {tag!r}: {listing.stderr.strip()}"
        )
    paths = [p for p in listing.stdout.splitlines() if in_scope(p)]
    archive = subprocess.run(
        [*git, "archive", "--format=tar", tag, "--", *paths], capture_output=True
    )
    if archive.returncode != 0:
        raise SystemExit(f"{git_dir}: git archive failed: {archive.stderr.decode()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    adaptations = []
    if sys.version_info < (3, 12):
        for path in paths:
            file = dest / path
            rewritten, count = _without_pep695_classes(file.read_text("utf-8"))
            if count:
                file.write_text(rewritten, "utf-8")
                adaptations.append(f"{path}: {count} PEP 695 class header(s) rewritten")
        adaptations.append("typing.override = typing_extensions.override")
    tests = [p for p in paths if Path(p).name.startswith("test_")]
    return tests, adaptations


def write_harness_files(dest: Path) -> None:
    """The conftest that installs the alias, and a pytest.ini that pins the rootdir."""
    scripts = Path(__file__).resolve().parent
    (dest / "conftest.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(scripts)!r})\n"
        "import pamiq_parity\n"
        "pamiq_parity.install_aliases()\n",
        "utf-8",
    )
    # PAMIQ-Core's own pytest settings that decide outcomes (log capture at
    # INFO, its warning filters), plus a timeout so that a hang is one failure.
    (dest / "pytest.ini").write_text(
        "[pytest]\n"
        "junit_family = xunit1\n"
        "timeout = 60\n"
        "log_level = INFO\n"
        "filterwarnings =\n"
        "    ignore::DeprecationWarning\n"
        "    ignore::UserWarning\n",
        "utf-8",
    )


# -- counting -------------------------------------------------------------------------


def _parametrize_cases(decorators: list[ast.expr]) -> int:
    cases = 1
    for deco in decorators:
        if (
            isinstance(deco, ast.Call)
            and isinstance(deco.func, ast.Attribute)
            and deco.func.attr == "parametrize"
            and len(deco.args) >= 2
            and isinstance(deco.args[1], ast.List | ast.Tuple)
        ):
            cases *= max(1, len(deco.args[1].elts))
    return cases


def count_defined_tests(source: str) -> int:
    """How many tests a file defines (test functions and Test* class methods,
    times literal parametrize cases): the count for a file that fails to import."""
    tree = ast.parse(source)
    total = 0
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            total += _parametrize_cases(node.decorator_list)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            per_class = _parametrize_cases(node.decorator_list)
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name.startswith("test"):
                    total += per_class * _parametrize_cases(item.decorator_list)
    return total


@dataclass
class FileResult:
    """Outcome of one PAMIQ-Core test file."""

    path: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    import_error: str = ""
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def counted(self) -> int:
        """Tests that count towards the share."""
        return self.passed + self.failed


def _first_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:160]
    return ""


def parse_report(report: Path, tests: list[str], dest: Path) -> list[FileResult]:
    """Per-file results from pytest's junit report."""
    results = {path: FileResult(path) for path in tests}
    by_module = {path.removesuffix(".py").replace("/", "."): path for path in tests}
    root = ET.parse(report).getroot()
    for case in root.iter("testcase"):
        file = case.get("file")
        classname = case.get("classname") or ""
        name = case.get("name") or ""
        path = file if file in results else None
        if path is None:
            dotted = classname or name
            path = next(
                (
                    p
                    for m, p in by_module.items()
                    if dotted == m or dotted.startswith(m + ".")
                ),
                None,
            )
        if path is None:
            continue
        result = results[path]
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if case.find("skipped") is not None and problem is None:
            result.skipped += 1
        elif problem is None:
            result.passed += 1
        elif not classname and "collection" in (problem.get("message") or ""):
            # The file did not import: its last "E   " line is the exception.
            errors = [
                line.removeprefix("E   ").strip()
                for line in (problem.text or "").splitlines()
                if line.startswith("E   ")
            ]
            result.import_error = (errors[-1] if errors else _first_line(problem.text))[
                :160
            ]
            result.failed += count_defined_tests((dest / path).read_text("utf-8"))
        else:
            test_id = f"{classname.rsplit('.', 1)[-1]}::{name}" if classname else name
            result.failed += 1
            result.failures.append(
                (
                    test_id,
                    _first_line(problem.get("message")) or _first_line(problem.text),
                )
            )
    return list(results.values())


def area_of(path: str) -> str:
    """The PAMIQ-Core module a test file belongs to (data, torch, time, ...)."""
    rel = path.removeprefix("tests/pamiq_core/")
    head = rel.split("/", 1)[0]
    return head.removeprefix("test_").removesuffix(".py")


# -- main -----------------------------------------------------------------------------


def run(
    git_dir: Path, tag: str, keep: bool, pytest_args: Sequence[str] = ()
) -> tuple[list[FileResult], list[str], Path]:
    """Export, run and parse; return the results, the adaptations and the folder."""
    dest = Path(tempfile.mkdtemp(prefix="pamiq-parity-"))
    tests, adaptations = export_tests(git_dir, tag, dest)
    write_harness_files(dest)
    report = dest / "report.xml"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--continue-on-collection-errors",
            "--rootdir",
            str(dest),
            "-c",
            str(dest / "pytest.ini"),
            f"--junitxml={report}",
            *pytest_args,
            *tests,
        ],
        cwd=dest,
        env=env,
        stdout=subprocess.DEVNULL if not keep else None,
        stderr=subprocess.STDOUT if not keep else None,
        check=False,
    )
    if not report.is_file():
        raise SystemExit(f"pytest wrote no report in {dest}")
    results = parse_report(report, tests, dest)
    if not keep:
        shutil.rmtree(dest, ignore_errors=True)
    return results, adaptations, dest


def summary(results: list[FileResult]) -> dict[str, Any]:
    """Totals per area and overall."""
    areas: dict[str, dict[str, int]] = {}
    for r in results:
        area = areas.setdefault(
            area_of(r.path), {"passed": 0, "failed": 0, "skipped": 0}
        )
        area["passed"] += r.passed
        area["failed"] += r.failed
        area["skipped"] += r.skipped
    passed = sum(r.passed for r in results)
    counted = sum(r.counted for r in results)
    return {
        "areas": areas,
        "passed": passed,
        "failed": counted - passed,
        "skipped": sum(r.skipped for r in results),
        "percent": 100.0 * passed / counted if counted else 0.0,
    }


def _percent(passed: int, counted: int) -> str:
    return f"{100.0 * passed / counted:5.1f} %" if counted else "    - "


def print_results(
    results: list[FileResult], adaptations: list[str], tag: str, failures: bool
) -> None:
    """The per-file table, the per-area table and the overall share."""
    width = max(len(r.path) for r in results)
    print(f"PAMIQ-Core {tag} public-API tests against pamiq-console")
    for note in adaptations:
        print(f"  (Python {sys.version_info.major}.{sys.version_info.minor}: {note})")
    print()
    print(f"{'file':<{width}}  passed  failed  skipped   share")
    for r in sorted(results, key=lambda r: r.path):
        print(
            f"{r.path:<{width}}  {r.passed:>6}  {r.failed:>6}  {r.skipped:>7}  "
            f"{_percent(r.passed, r.counted)}"
        )
        if r.import_error:
            print(f"{'':<{width}}  import failed: {r.import_error}")
        if failures:
            for test_id, reason in r.failures:
                print(f"    FAIL {test_id}: {reason}")
    total = summary(results)
    print()
    print(f"{'area':<20}  passed  failed  skipped   share")
    for area, counts in sorted(total["areas"].items()):
        counted = counts["passed"] + counts["failed"]
        print(
            f"{area:<20}  {counts['passed']:>6}  {counts['failed']:>6}  "
            f"{counts['skipped']:>7}  {_percent(counts['passed'], counted)}"
        )
    print()
    print(
        f"overall: {total['passed']} passed, {total['failed']} failed "
        f"({total['skipped']} skipped): {total['percent']:.1f} %"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--git-dir", type=Path, default=DEFAULT_GIT_DIR)
    parser.add_argument("--tag", default=DEFAULT_TAG)
    parser.add_argument(
        "--failures", action="store_true", help="list each failing test"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder, show pytest"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--min-percent", type=float, help="exit 1 when the share is below this"
    )
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest")
    args = parser.parse_args(argv)
    results, adaptations, dest = run(
        args.git_dir, args.tag, args.keep, args.pytest_args
    )
    print_results(results, adaptations, args.tag, args.failures)
    if args.keep:
        print(f"\ntests kept in {dest}")
    total = summary(results)
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "tag": args.tag,
                    **total,
                    "files": [
                        {
                            "path": r.path,
                            "passed": r.passed,
                            "failed": r.failed,
                            "skipped": r.skipped,
                            "import_error": r.import_error,
                            "failures": [list(f) for f in r.failures],
                        }
                        for r in results
                    ],
                },
                indent=1,
            )
        )
    if args.min_percent is not None and total["percent"] < args.min_percent:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
