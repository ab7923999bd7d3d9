from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import app
from tests.console.helpers import bandit_config

runner = CliRunner()


def _validate(tmp_path: Path, scale: str):
    path = tmp_path / "run.toml"
    path.write_text(bandit_config(tmp_path) + "\n[scale]\n" + scale)
    return path, runner.invoke(app, ["validate", str(path)])


def test_a_threads_scale_table_validates(tmp_path: Path) -> None:
    path, result = _validate(tmp_path, 'backend = "threads"\nactors = 1\n')
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        ("actors = 0\n", "scale.actors: must be an integer >= 1, got 0"),
        (
            'when_behind = "later"\n',
            'scale.when_behind: must be "drop_oldest" or "wait"',
        ),
        ("actorz = 2\n", "scale.actorz: unknown key"),
        ("actors = 2\n", 'scale.actors: 2 actors need backend = "ray"'),
        (
            'backend = "ray"\nactors = 2\n',
            'scale.backend: "ray" is not run by the console yet',
        ),
    ],
)
def test_bad_scale_tables_get_one_line_errors(
    tmp_path: Path, scale: str, expected: str
) -> None:
    path, result = _validate(tmp_path, scale)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}: "), result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.output
