"""docs/architecture.md's map stays true: every module it names exists, and every
module of the packages it maps file by file is in it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAP = (ROOT / "docs" / "architecture.md").read_text()
MAPPED_FILE_BY_FILE = (
    "engine",
    "engine/runtime",
    "engine/thread",
    "engine/host",
    "engine/state_persistence",
    "engine/state",
    "engine/telemetry",
    "engine/services",
    "console",
    "console/cli",
)


def _layout_block() -> str:
    return MAP.split("```", 2)[1]


def test_every_module_of_the_mapped_packages_is_in_the_map() -> None:
    names = set(re.findall(r"[A-Za-z_]\w*", _layout_block()))
    missing = [
        str(p.relative_to(ROOT))
        for package in MAPPED_FILE_BY_FILE
        for p in sorted((ROOT / package).glob("*.py"))
        if p.name != "__init__.py" and p.stem not in names
    ]
    assert missing == []


def test_every_module_the_map_names_exists() -> None:
    # (PROGRAM.py is the user's program, not a module of ours.)
    named = set(re.findall(r"\b(\w+)\.py\b", _layout_block())) - {"PROGRAM"}
    modules = {p.stem for p in ROOT.glob("*/**/*.py")}
    assert sorted(named - modules) == []
