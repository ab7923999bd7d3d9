from __future__ import annotations

import sys
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


def test_a_ray_scale_table_validates_without_starting_ray(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    path, result = _validate(tmp_path, 'backend = "ray"\nactors = 2\n')
    assert result.exit_code == 0, result.output
    assert "ok" in result.output
    # Checking built one actor's parts here, and no Ray (that takes seconds).
    assert not (tmp_path / "run" / "ray.log").exists()


def test_without_the_ray_extra_a_ray_config_gets_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if Ray were not installed: its import fails and it has no spec.
    monkeypatch.setitem(sys.modules, "ray", None)
    path, result = _validate(tmp_path, 'backend = "ray"\nactors = 2\n')
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f'{path}: scale.backend: "ray" needs the ray extra: '
        "pip install -e '.[ray]' (or pip install ray)"
    ]


def test_an_actor_that_cannot_be_wired_is_refused_before_ray_starts(
    tmp_path: Path, parts: str
) -> None:
    pytest.importorskip("ray")
    path = tmp_path / "run.toml"
    text = bandit_config(tmp_path).replace(
        '{ target = "algorithms.bandit:BanditAgent", seed = 0 }',
        f'{{ target = "{parts}:NeedsCollectorAgent" }}',
    )
    path.write_text(text + '\n[scale]\nbackend = "ray"\nactors = 2\n')
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "interaction.agent: " in lines[0], lines
    assert "phantom" in lines[0]


def test_each_actor_builds_the_configs_interaction_with_its_own_seeds(
    tmp_path: Path,
) -> None:
    import pickle
    import tomllib

    from console.config.actor_factory import ConfigActorFactory, offset_seeds

    raw = tomllib.loads(bandit_config(tmp_path))
    factory = ConfigActorFactory(
        file=str(tmp_path / "run.toml"),
        interaction=raw["interaction"],
        models=raw["models"],
        cwd=str(tmp_path),
    )
    # Ray ships it to every actor by pickling it.
    parts = pickle.loads(pickle.dumps(factory))(3)
    assert type(parts.interaction.agent).__name__ == "BanditAgent"
    assert set(parts.models) == {"values"}
    assert offset_seeds(raw["interaction"], 3)["environment"]["seed"] == 4
    assert offset_seeds(
        {"a": {"seed": 0, "inner": [{"seed": 5}]}, "b": {"seed": True}}, 2
    ) == {"a": {"seed": 2, "inner": [{"seed": 7}]}, "b": {"seed": True}}
