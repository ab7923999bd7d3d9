"""The engine is a library: importing all of it must not pull in a UI package."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
UI = ("textual", "typer", "rich")


def test_no_engine_module_imports_a_ui_library() -> None:
    pattern = re.compile(rf"^\s*(from|import)\s+({'|'.join(UI)})\b", re.MULTILINE)
    offenders = [str(p) for p in ENGINE.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_importing_every_engine_module_loads_no_ui_library() -> None:
    modules = sorted(
        ".".join(p.relative_to(ENGINE.parent).with_suffix("").parts).removesuffix(
            ".__init__"
        )
        for p in ENGINE.rglob("*.py")
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {UI!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == ""


def test_only_the_ray_backend_mentions_ray_and_only_inside_functions() -> None:
    # Module level: no engine module imports Ray (the backend imports it in calls).
    top_level = re.compile(r"^(from|import)\s+ray\b", re.MULTILINE)
    assert [
        str(p) for p in ENGINE.rglob("*.py") if top_level.search(p.read_text())
    ] == []
    anywhere = re.compile(r"^\s*(from|import)\s+ray\b", re.MULTILINE)
    users = sorted(
        str(p.relative_to(ENGINE))
        for p in ENGINE.rglob("*.py")
        if anywhere.search(p.read_text())
    )
    assert users == ["scale/ray_backend.py"]


def test_importing_every_engine_module_loads_no_ray() -> None:
    modules = sorted(
        ".".join(p.relative_to(ENGINE.parent).with_suffix("").parts).removesuffix(
            ".__init__"
        )
        for p in ENGINE.rglob("*.py")
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(','.join(m for m in sys.modules if m.split('.')[0] == 'ray'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == ""
