"""scripts/pamiq_parity.py: the parity harness's alias, export and counting."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pamiq_parity.py"
spec = importlib.util.spec_from_file_location("pamiq_parity", SCRIPT)
assert spec is not None and spec.loader is not None
parity = importlib.util.module_from_spec(spec)
sys.modules["pamiq_parity"] = parity  # its dataclasses look their module up
spec.loader.exec_module(parity)


def test_pep695_class_headers_become_generic_bases_that_run_on_311() -> None:
    source = (
        "from typing import override\n\n"
        "class Base:\n    pass\n\n"
        "class Buffer[T](Base):\n"
        "    def get(self, x: T) -> T:\n        return x\n"
    )
    rewritten, count = parity._without_pep695_classes(source)
    assert count == 1
    assert "class Buffer(Base, Generic[T]):" in rewritten
    namespace: dict[str, object] = {}
    exec(
        compile(rewritten.replace("from typing import override\n", ""), "m", "exec"),
        namespace,
    )
    assert namespace["Buffer"][int]().get(3) == 3  # type: ignore[index, operator]
    assert parity._without_pep695_classes("class Plain(Base):\n    pass\n") == (
        "class Plain(Base):\n    pass\n",
        0,
    )


def test_tests_defined_by_a_file_count_parametrize_cases() -> None:
    source = (
        "import pytest\n"
        "def test_a(): pass\n"
        "@pytest.mark.parametrize('x', [1, 2, 3])\n"
        "def test_b(x): pass\n"
        "def helper(): pass\n"
        "class TestC:\n"
        "    def test_d(self): pass\n"
        "    @pytest.mark.parametrize('y', [(1,), (2,)])\n"
        "    def test_e(self, y): pass\n"
        "    def fixture_like(self): pass\n"
    )
    assert parity.count_defined_tests(source) == 1 + 3 + 1 + 2


def test_scope_is_the_public_api_modules_only() -> None:
    assert parity.in_scope("tests/pamiq_core/data/test_buffer.py")
    assert parity.in_scope("tests/pamiq_core/test_time.py")
    assert parity.in_scope("tests/helpers.py")
    assert not parity.in_scope("tests/pamiq_core/console/test_cui.py")
    assert not parity.in_scope("tests/pamiq_core/thread/threads/test_base.py")
    assert not parity.in_scope("tests/test_pamiq_core.py")


def test_the_alias_maps_pamiq_core_modules_onto_ours() -> None:
    # In a fresh interpreter: the alias changes sys.meta_path for good.
    code = f"""
import sys
sys.path.insert(0, {str(SCRIPT.parent)!r})
import pamiq_parity
pamiq_parity.install_aliases()
import engine.time, trainers.torch
import pamiq_core.time
from pamiq_core import Trainer, ModularEnvironment
from pamiq_core.torch import TorchTrainer, TorchTrainingModel
from pamiq_core.interaction.env import Environment
from pamiq_core.data.interface import DataUser, TimestampingQueue
assert pamiq_core.time is engine.time
assert TorchTrainer is trainers.torch.TorchTrainer
from engine import Environment as Ours
assert Environment is Ours
try:
    TimestampingQueue[int](3)
except NotImplementedError as e:
    print(e)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "TimestampingQueue is internal to PAMIQ-Core" in out.stdout


MIRROR = parity.DEFAULT_GIT_DIR


@pytest.mark.skipif(not MIRROR.is_dir(), reason="no PAMIQ-Core mirror here")
def test_export_writes_the_test_files_into_the_given_folder_only(
    tmp_path: Path,
) -> None:
    tests, adaptations = parity.export_tests(MIRROR, parity.DEFAULT_TAG, tmp_path)
    assert "tests/pamiq_core/interaction/test_modular_env.py" in tests
    assert all(parity.in_scope(t) for t in tests)
    assert all((tmp_path / t).is_file() for t in tests)
    assert (tmp_path / "tests" / "helpers.py").is_file()
    if sys.version_info < (3, 12):
        assert any("PEP 695" in a for a in adaptations)
