"""``engine``'s public names (its face) load on first use, each the same object
as before, and importing a module of the engine does not import them all."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import engine

INIT = Path(engine.__file__)


def _in_a_fresh_interpreter(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_every_public_name_is_the_object_its_module_defines() -> None:
    for module, names in engine._SOURCES.items():
        source = __import__(f"engine{module}", fromlist=["_"])
        for name in names:
            assert getattr(engine, name) is getattr(source, name), name
    for name in engine._SUBMODULES:
        assert getattr(engine, name) is sys.modules[f"engine.{name}"]
    assert sorted(engine.__all__) == sorted([*engine._SOURCE_OF, *engine._SUBMODULES])
    assert set(engine.__all__) <= set(dir(engine))


def test_the_names_for_type_checkers_are_the_names_that_load() -> None:
    tree = ast.parse(INIT.read_text())
    [block] = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "_TYPE_CHECKING"
    ]
    imported: dict[str, tuple[str, ...]] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        imported["." + (node.module or "")] = tuple(a.name for a in node.names)
    submodules = imported.pop(".")
    assert submodules == engine._SUBMODULES
    assert imported == engine._SOURCES


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        engine.NoSuchName  # noqa: B018
    except AttributeError as e:
        assert "NoSuchName" in str(e)
    else:
        raise AssertionError("engine.NoSuchName resolved")


def test_launch_is_the_function_even_once_its_module_is_imported() -> None:
    out = _in_a_fresh_interpreter(
        "import engine.launch, engine\n"
        "from engine import launch\n"
        "print(callable(launch) and engine.launch is launch)"
    )
    assert out == "True"


def test_a_console_command_imports_neither_numpy_nor_the_runtime() -> None:
    """What every ``pamiq-console`` command imports before it parses its
    arguments (the dashboard, a config's build load the rest when needed)."""
    out = _in_a_fresh_interpreter(
        "import sys, console.cli\n"
        "print(sorted(m for m in ('numpy', 'engine.system', 'engine.data', "
        "'textual', 'console.config') if m in sys.modules))"
    )
    assert out == "[]"
