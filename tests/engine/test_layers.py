"""The engine's packages stand in layers, and every import runs down them.

Each package of the engine, and each of its top-level modules, has a place in
:data:`LAYERS`, the lowest first. A module may import from a lower layer only:
never from a higher one, and never from another package of its own layer (those
stand side by side, knowing nothing of each other). Every import counts: the
ones inside functions, and those under ``if TYPE_CHECKING:`` (naming a type is
knowing it). A new package or top-level module must be given its place here
before it can pass.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"

FACE = "__init__"
"""The unit of ``engine/__init__.py``: the names a program imports from ``engine``."""

LAYERS: tuple[tuple[str, ...], ...] = (
    # Import nothing of the engine.
    ("thread", "host", "tunables"),
    # What is saved and loaded; the clock (a persistent component); the user
    # helpers that stand on both (persistent schedulers on the engine clock).
    ("state",),
    ("time",),
    ("utils",),
    # PAMIQ-Core's state_persistence (its keepers and save condition use the
    # schedulers); data and models (persistent, on the clock).
    ("state_persistence", "data", "model"),
    # What the engine tells: events, status snapshots (of buffers and models).
    ("telemetry",),
    # Agents, environments, interactions (they report metrics).
    ("interaction",),
    # What runs (the threads and the control state machine); the torch and
    # gymnasium adapters of the interaction.
    ("runtime", "torch", "gym"),
    # A run's launch settings; unit-testing helpers.
    ("launch_config", "testing"),
    # What every run has beside its threads (they know the system they serve
    # only as engine.services.served.ServedSystem).
    ("services",),
    ("system",),
    # What stands on a system: PAMIQ-Core's launch(), and scaled runs.
    ("launch", "scale"),
    (FACE,),
)


@dataclass(frozen=True)
class Arrow:
    """One import of one engine unit by a module of another."""

    file: Path
    line: int
    statement: str
    source: str
    target: str


def units(engine: Path) -> set[str]:
    """The engine's packages and top-level modules (and its face)."""
    found = {p.name for p in engine.iterdir() if (p / "__init__.py").is_file()}
    found |= {p.stem for p in engine.glob("*.py")}
    return found


def unit_of(module: str, engine: Path) -> str | None:
    """The unit that ``module`` (a dotted name) is in, or None if not the engine's."""
    parts = module.split(".")
    if parts[0] != engine.name:
        return None
    if len(parts) == 1:
        return FACE
    return parts[1]


def _imported_modules(
    node: ast.Import | ast.ImportFrom, package: Sequence[str], engine: Path
) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = list(package[: len(package) - node.level + 1])
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    if module != engine.name:
        return [module]
    # ``from engine import time`` or ``from .. import time`` names a unit;
    # ``from engine import System`` takes a name from the face.
    return [
        f"{module}.{a.name}"
        if (engine / a.name).is_dir() or (engine / f"{a.name}.py").is_file()
        else module
        for a in node.names
    ]


def arrows(engine: Path) -> list[Arrow]:
    """Every import from one engine unit to another, in file order."""
    found: list[Arrow] = []
    for file in sorted(engine.rglob("*.py")):
        rel = file.relative_to(engine.parent).with_suffix("")
        parts = list(rel.parts)
        package = parts[:-1]  # what a relative import starts from
        source = FACE if parts == [engine.name, "__init__"] else parts[1]
        text = file.read_text()
        lines = text.splitlines()
        imports = (
            node
            for node in ast.walk(ast.parse(text, str(file)))
            if isinstance(node, ast.Import | ast.ImportFrom)
        )
        for node in sorted(imports, key=lambda node: node.lineno):
            for module in _imported_modules(node, package, engine):
                target = unit_of(module, engine)
                if target is None or target == source:
                    continue
                found.append(
                    Arrow(
                        file=file,
                        line=node.lineno,
                        statement=lines[node.lineno - 1].strip(),
                        source=source,
                        target=target,
                    )
                )
    return found


def wrong_way(engine: Path, layers: Sequence[Sequence[str]]) -> list[str]:
    """One line for each import that does not run down the layers."""
    layer = {unit: i for i, names in enumerate(layers) for unit in names}
    problems = []
    for arrow in arrows(engine):
        where = (
            f"{arrow.file.relative_to(engine.parent)}:{arrow.line}: {arrow.statement}"
        )
        low, high = layer.get(arrow.source), layer.get(arrow.target)
        if low is None or high is None:
            unplaced = arrow.source if low is None else arrow.target
            problems.append(f"{where}: {unplaced!r} has no layer")
        elif high > low:
            problems.append(
                f"{where}: {arrow.source} (layer {low}) imports {arrow.target},"
                f" which stands above it (layer {high})"
            )
        elif high == low:
            problems.append(
                f"{where}: {arrow.source} imports {arrow.target}, which stands"
                f" beside it (layer {low})"
            )
    return problems


def test_every_import_between_engine_packages_runs_down_the_layers() -> None:
    assert wrong_way(ENGINE, LAYERS) == []


def test_every_engine_package_has_exactly_one_place_and_every_place_exists() -> None:
    placed = [unit for layer in LAYERS for unit in layer]
    assert len(placed) == len(set(placed)), "a unit placed twice"
    assert sorted(units(ENGINE) - set(placed)) == [], "packages without a layer"
    assert sorted(set(placed) - units(ENGINE)) == [], "layers naming no package"


def test_the_engine_has_arrows_to_check() -> None:
    # The parser sees the imports it must: relative ones, one inside a
    # function, one of a unit through ``from .. import``, one of the package's
    # face (a type-only one: see the planted tree below).
    seen = {(a.source, a.target) for a in arrows(ENGINE)}
    assert ("system", "runtime") in seen
    assert ("services", "system") not in seen
    assert ("services", "launch_config") in seen  # ServedSystem.config's type
    assert ("system", "services") in seen
    assert ("launch_config", "telemetry") in seen  # inside a function
    assert ("data", "time") in seen  # from .. import time
    assert (FACE, "system") in seen


def _package(root: Path, name: str, files: Mapping[str, str]) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "__init__.py").write_text("")
    for file, text in files.items():
        (root / name / file).write_text(text)


def test_an_upward_or_sideways_import_is_named_with_its_file_and_line(
    tmp_path: Path,
) -> None:
    engine = tmp_path / "engine"
    _package(engine, "low", {"a.py": "import os\n\nfrom ..high.b import B\n"})
    _package(
        engine,
        "high",
        {
            "b.py": "def f():\n    from engine.side import c\n",
            "ok.py": "from ..low import a\nfrom engine import low\n",
        },
    )
    _package(engine, "side", {"c.py": "from .. import high\n"})
    (engine / "__init__.py").write_text("from .high import b\n")
    (engine / "top.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from engine import Thing\n"
    )
    layers = [("low",), ("high", "side"), ("top",), (FACE,)]
    assert wrong_way(engine, layers) == [
        "engine/high/b.py:2: from engine.side import c: high imports side, which"
        " stands beside it (layer 1)",
        "engine/low/a.py:3: from ..high.b import B: low (layer 0) imports high,"
        " which stands above it (layer 1)",
        "engine/side/c.py:1: from .. import high: side imports high, which stands"
        " beside it (layer 1)",
        "engine/top.py:3: from engine import Thing: top (layer 2) imports __init__,"
        " which stands above it (layer 3)",
    ]
    unplaced = wrong_way(engine, [("high",), ("side",), ("top",), (FACE,)])
    assert "engine/low/a.py:3: from ..high.b import B: 'low' has no layer" in unplaced
