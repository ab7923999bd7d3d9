"""docs/architecture.md's map stays true: every module it names exists, under the
package it is listed in, and every module of every package is in it.

The map's layout block is read as an indented tree: a line whose first column
holds names (``name.py`` or ``name/``, several separated by ", ") is an entry,
two spaces or more then a description; a package (``name/``) alone on its line
heads the lines indented under it. Any other line (a description going on) is
not an entry.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAP = (ROOT / "docs" / "architecture.md").read_text()
TOP_PACKAGES = ("engine", "trainers", "algorithms", "console")
MAPPED_FILE_BY_FILE = tuple(
    sorted(
        str(init.parent.relative_to(ROOT))
        for top in TOP_PACKAGES
        for init in (ROOT / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    )
)
"""Every package of the four: each of its modules must be in the map."""

_NAME = r"(?:\w+\.py|\w+/)"
_ENTRY = re.compile(rf"^( *)({_NAME}(?:, {_NAME})*,?)(?:  |$)")


def _layout_block() -> str:
    return MAP.split("```", 2)[1]


def parse_layout(block: str) -> tuple[set[str], set[str]]:
    """The modules (``engine/system.py``) and packages (``engine/state``) a
    layout block lists, each under the package heading it is indented below."""
    modules: set[str] = set()
    packages: set[str] = set()
    headings: list[tuple[int, str]] = []  # (indent, path), innermost last
    for line in block.splitlines():
        entry = _ENTRY.match(line)
        if entry is None:
            continue
        indent = len(entry.group(1))
        while headings and headings[-1][0] >= indent:
            headings.pop()
        parent = headings[-1][1] + "/" if headings else ""
        names = [n for n in entry.group(2).rstrip(",").split(", ")]
        for name in names:
            if name.endswith("/"):
                packages.add(parent + name.rstrip("/"))
            else:
                modules.add(parent + name)
        if len(names) == 1 and names[0].endswith("/"):
            headings.append((indent, parent + names[0].rstrip("/")))
    return modules, packages


def test_the_mapped_packages_are_every_package() -> None:
    # Found on disk, so a new package is mapped without being named here.
    assert {"engine", "engine/services", "console/widgets", "algorithms"} <= set(
        MAPPED_FILE_BY_FILE
    )


def test_every_module_of_the_mapped_packages_is_in_the_map() -> None:
    mapped, _ = parse_layout(_layout_block())
    missing = [
        str(p.relative_to(ROOT))
        for package in MAPPED_FILE_BY_FILE
        for p in sorted((ROOT / package).glob("*.py"))
        if p.name != "__init__.py" and str(p.relative_to(ROOT)) not in mapped
    ]
    assert missing == []


def test_every_package_has_its_heading_in_the_map() -> None:
    _, headed = parse_layout(_layout_block())
    assert sorted(set(MAPPED_FILE_BY_FILE) - headed) == []


def test_every_module_and_package_of_the_map_is_where_the_map_says() -> None:
    modules, packages = parse_layout(_layout_block())
    assert sorted(m for m in modules if not (ROOT / m).is_file()) == []
    assert sorted(p for p in packages if not (ROOT / p / "__init__.py").is_file()) == []


def test_every_module_the_map_names_exists() -> None:
    # (PROGRAM.py is the user's program, not a module of ours.)
    named = set(re.findall(r"\b(\w+)\.py\b", _layout_block())) - {"PROGRAM"}
    modules = {p.stem for p in ROOT.glob("*/**/*.py")}
    assert sorted(named - modules) == []


def test_a_planted_layout_is_read_as_the_tree_it_draws() -> None:
    block = """
engine/                  the runtime
  system.py              System
  runtime/               what runs
    workers.py, control.py
                         the threads: wake.py is not an entry here
    launch.py            wrongly placed: the map test would name it
  time.py                back at the engine's level
console/
  widgets/
    header.py,
    alerts.py            two modules over two lines
"""
    modules, packages = parse_layout(block)
    assert modules == {
        "engine/system.py",
        "engine/runtime/workers.py",
        "engine/runtime/control.py",
        "engine/runtime/launch.py",
        "engine/time.py",
        "console/widgets/header.py",
        "console/widgets/alerts.py",
    }
    assert packages == {"engine", "engine/runtime", "console", "console/widgets"}
    assert not (ROOT / "engine/runtime/launch.py").exists()
