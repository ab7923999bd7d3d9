"""Config loading: valid configs build; every kind of mistake is one line and exit 2."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console import config as config_mod
from console.cli import app
from engine import FixedIntervalInteraction
from tests.console.helpers import ROOT, bandit_config

runner = CliRunner()


def test_minimal_sample_builds_a_system() -> None:
    built = config_mod.load(ROOT / "sample_configs" / "minimal.toml", cwd=ROOT)
    system = built.system
    assert set(system.models) == {"values"}
    assert set(system.data_users) == {"pulls"}
    assert set(system.trainers) == {"values"}
    assert isinstance(system.interaction, FixedIntervalInteraction)
    assert built.settings.run_dir == ROOT / "runs" / "minimal"
    assert built.settings.states_dir == ROOT / "runs" / "minimal" / "states"
    assert system.config.max_keep_states == 5
    assert system.config.save_state_interval == 60.0


def test_paths_are_relative_to_the_working_directory(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        bandit_config(tmp_path).replace(
            f'run_dir = "{tmp_path / "run"}"', 'states_dir = "st"'
        )
    )
    settings = config_mod.resolve_settings(
        config_mod.load_toml(path), path, cwd=tmp_path / "x"
    )
    assert settings.states_dir == tmp_path / "x" / "st"
    assert settings.run_dir == tmp_path / "x" / "runs" / "tiny"


def test_overrides_reach_the_launch_config(config_file: Callable[..., Path]) -> None:
    built = config_mod.load(config_file(), {"time_scale": 2.0, "max_uptime": 5.0})
    assert built.system.config.time_scale == 2.0
    assert built.system.config.max_uptime == 5.0


def test_nested_targets_are_built_recursively(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    builder = config_mod.ComponentBuilder(tmp_path / "x.toml")
    built = builder.value(
        "models.q",
        {
            "target": "engine.torch:TorchTrainingModel",
            "device": "cpu",
            "model": {
                "target": "algorithms.dqn:QNetwork",
                "obs_dim": 3,
                "num_actions": 2,
            },
        },
    )
    from algorithms.dqn import QNetwork

    assert isinstance(built.model, QNetwork)
    assert builder.components[id(built)] == "models.q"
    assert builder.components[id(built.model)] == "models.q.model"


def test_nested_target_errors_name_the_nested_key(tmp_path: Path) -> None:
    builder = config_mod.ComponentBuilder(tmp_path / "x.toml")
    with pytest.raises(config_mod.ConfigError) as info:
        builder.value(
            "buffers.b",
            {
                "target": "engine.data:SequentialBuffer",
                "max_size": {"target": "nowhere:X"},
            },
        )
    assert info.value.key == "buffers.b.max_size.target"


def test_training_table_becomes_a_training_configuration(tmp_path: Path) -> None:
    pytest.importorskip("pydantic")
    from trainers.config import TrainingConfiguration

    builder = config_mod.ComponentBuilder(tmp_path / "x.toml")
    cfg = config_mod.training_configuration(
        builder, "trainers.t.training", {"lr": 0.01, "batch_size": 8}
    )
    assert isinstance(cfg, TrainingConfiguration)
    assert cfg.lr == 0.01


ERRORS: list[tuple[str, Callable[[str], str], str]] = [
    ("toml syntax", lambda t: t + "\n[broken\n", "<file>: invalid TOML"),
    ("unknown section", lambda t: t + "\n[extras]\nx = 1\n", "extras: unknown section"),
    (
        "system typo",
        lambda t: t.replace("durable_saves", "durable_save"),
        "system.durable_save: unknown key (did you mean 'durable_saves'?)",
    ),
    (
        "system type",
        lambda t: t.replace(
            "durable_saves = false", 'durable_saves = false\ntime_scale = "fast"'
        ),
        "system.time_scale: expected float or int, got str",
    ),
    (
        "system range",
        lambda t: t.replace(
            "durable_saves = false", "durable_saves = false\nkeep_last = 0"
        ),
        "system.keep_last: must be >= 1",
    ),
    (
        "system infinite",
        lambda t: t.replace(
            "durable_saves = false", "durable_saves = false\ntime_scale = inf"
        ),
        "system.time_scale: must be a finite number",
    ),
    (
        "state name format",
        lambda t: t.replace(
            "durable_saves = false",
            'durable_saves = false\nstate_name_format = "%Y/%m"',
        ),
        "system.state_name_format: must not contain a path separator",
    ),
    (
        "bad module",
        lambda t: t.replace("algorithms.bandit:ValueTable", "trainers.nope:ValueTable"),
        "models.values.target: cannot import 'trainers.nope:ValueTable': no module named 'trainers.nope'",
    ),
    (
        "a module that moved",
        lambda t: t.replace(
            "algorithms.bandit:ValueTable", "trainers.bandit:ValueTable"
        ),
        "models.values.target: cannot import 'trainers.bandit:ValueTable': "
        "'trainers.bandit' moved to 'algorithms.bandit' "
        "(write 'algorithms.bandit:ValueTable')",
    ),
    (
        "bad attribute",
        lambda t: t.replace(
            "algorithms.bandit:ValueTable", "algorithms.bandit:ValueTabel"
        ),
        "models.values.target: cannot import 'algorithms.bandit:ValueTabel'",
    ),
    (
        "not a model",
        lambda t: t.replace(
            "algorithms.bandit:ValueTable", "algorithms.bandit:BanditAgent"
        ),
        "models.values.target: 'algorithms.bandit:BanditAgent' is not an engine.TrainingModel",
    ),
    (
        "unknown argument",
        lambda t: t.replace("arms = 3", "arms = 3\narm = 4"),
        "models.values.arm: unknown argument of algorithms.bandit:ValueTable (did you mean 'arms'?)",
    ),
    (
        "wrong type",
        lambda t: t.replace("arms = 3", 'arms = "three"'),
        "models.values.arms: expected int, got str 'three'",
    ),
    (
        "wrong list type",
        lambda t: t.replace("means = [0.1, 0.9, 0.5]", 'means = ["a"]'),
        "interaction.environment.means: expected list[float], got list",
    ),
    (
        "missing argument",
        lambda t: t.replace("arms = 3", ""),
        "models.values: algorithms.bandit:ValueTable needs argument(s) arms",
    ),
    (
        "constructor raises",
        lambda t: t.replace("arms = 3", "arms = 0"),
        "models.values: algorithms.bandit:ValueTable(...) raised ValueError: arms must be >= 1, got 0",
    ),
    (
        "missing target",
        lambda t: t.replace('target = "engine.data:SequentialBuffer"', ""),
        "buffers.pulls: missing 'target'",
    ),
    (
        "missing agent",
        lambda t: t.replace(
            'agent = { target = "algorithms.bandit:BanditAgent", seed = 0 }', ""
        ),
        "interaction.agent: missing",
    ),
    (
        "interaction typo",
        lambda t: t.replace("interval = 0.001", "intreval = 0.001"),
        "interaction.intreval: unknown key (did you mean 'interval'?)",
    ),
    (
        "condition buffer missing",
        lambda t: t.replace(
            "min_buffer_size = 20\n", 'min_buffer_size = 20\ndata_user = "pullz"\n', 1
        ),
        "trainers.values.data_user: names buffer 'pullz', which is not defined (buffers: pulls)",
    ),
    (
        "agent model missing",
        lambda t: t.replace("seed = 0 }", 'seed = 0, model = "valuez" }', 1),
        "interaction.agent.model: names model 'valuez', which is not defined (models: values)",
    ),
]


@pytest.mark.parametrize(
    ("case", "edit", "expected"), ERRORS, ids=[e[0] for e in ERRORS]
)
def test_config_errors_are_one_line_with_exit_2(
    tmp_path: Path, case: str, edit: Callable[[str], str], expected: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(edit(bandit_config(tmp_path)))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, (case, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{path}: "), lines[0]
    assert expected in lines[0], lines[0]
    assert "Traceback" not in result.output


def test_trainer_naming_a_missing_condition_buffer(tmp_path: Path) -> None:
    trainers = textwrap.dedent(
        """
        [trainers.plain]
        target = "console_test_parts:ExplodingTrainer"
        """
    )
    text = (
        bandit_config(tmp_path, trainers=trainers)
        + 'training_condition_data_user = "nope"\n'
    )
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"{path}: trainers.plain.training_condition_data_user: names buffer 'nope', "
        "which is not defined (buffers: pulls)"
    )


@pytest.mark.usefixtures("parts")
@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (
            "GreedyAgent",
            "interaction.agent: KeyError: inference model 'ghost' not found (known: values)",
        ),
        ("NeedsCollectorAgent", "interaction.agent: KeyError:"),
    ],
)
def test_agent_asking_for_missing_things_is_blamed(
    tmp_path: Path, agent: str, expected: str
) -> None:
    text = bandit_config(tmp_path).replace(
        '{ target = "algorithms.bandit:BanditAgent", seed = 0 }',
        f'{{ target = "console_test_parts:{agent}" }}',
    )
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"{path}: {expected}" in result.stderr


def test_training_table_errors_name_the_key(tmp_path: Path) -> None:
    trainers = textwrap.dedent(
        """
        [trainers.values]
        target = "algorithms.bandit:BanditTrainer"

        [trainers.values.training]
        lr = 0.1
        batch_sise = 3
        """
    )
    path = tmp_path / "bad.toml"
    path.write_text(bandit_config(tmp_path, trainers=trainers))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"{path}: trainers.values.training.batch_sise: unknown key "
        "(did you mean 'batch_size'?)"
    )


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "none.toml")])
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"{tmp_path / 'none.toml'}: <file>: cannot read the file (No such file or directory)"
    )


@pytest.mark.parametrize(
    "name",
    [
        "minimal",
        "cartpole_dqn",
        "pendulum_sac",
        "sensor_autoencoder",
        "cartpole_reinforce",
        "minimal_ray",
        "cartpole_ppo",
        "cartpole_ppo_ray",
    ],
)
def test_sample_configs_validate(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if name.endswith("_ray"):
        pytest.importorskip("ray")
    if name not in ("minimal", "minimal_ray"):
        pytest.importorskip("torch")
        pytest.importorskip("gymnasium")
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, ["validate", f"sample_configs/{name}.toml"])
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout


def test_a_file_name_starting_with_a_digit_is_a_valid_run_name(tmp_path: Path) -> None:
    path = tmp_path / "2026-01-run.toml"
    path.write_text(bandit_config(tmp_path).replace('name = "tiny"', ""))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert config_mod.load(path).settings.name == "2026-01-run"


def test_an_invalid_name_taken_from_the_file_name_says_so(tmp_path: Path) -> None:
    path = tmp_path / "my run.toml"
    path.write_text(bandit_config(tmp_path).replace('name = "tiny"', ""))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    line = result.output.strip()
    assert "system.name" in line and "taken from the file name" in line
    assert len(line.splitlines()) == 1


def test_an_empty_config_says_the_interaction_table_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"{path}: interaction: missing section (an agent and an environment)"
    )


def test_loading_leaves_sys_path_as_it_was(
    config_file: Callable[..., Path], tmp_path: Path
) -> None:
    import sys

    before = list(sys.path)
    config_mod.load(config_file(), cwd=tmp_path)
    assert sys.path == before


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("pause_attempts = 0", "system.pause_attempts: must be >= 1, got 0"),
        ("save_interval = -1", "system.save_interval: must be > 0, got -1"),
        (
            "gil_switch_interval = inf",
            "system.gil_switch_interval: must be a finite number > 0, got inf",
        ),
        ("resume = 1", "system.resume: expected bool, got int 1"),
        ("metrics_keep = 0", "system.metrics_keep: must be >= 1, got 0"),
        ("metrics_max_mb = 0", "system.metrics_max_mb: must be > 0, got 0"),
        ("metrics = true\nmetric = 1", "system.metric: unknown key (did you mean"),
    ],
)
def test_launch_settings_are_checked_once_and_named_by_their_config_key(
    tmp_path: Path, line: str, expected: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        bandit_config(tmp_path).replace(
            "durable_saves = false", f"durable_saves = false\n{line}"
        )
    )
    with pytest.raises(config_mod.ConfigError) as caught:
        config_mod.load(path)
    assert str(caught.value).startswith(f"{path}: {expected}")


def test_mlflow_tracking_is_asked_for_in_system_and_logs_the_whole_config(
    tmp_path: Path,
) -> None:
    pytest.importorskip("mlflow", reason="needs the mlflow extra")
    text = bandit_config(tmp_path).replace(
        "[system]", '[system]\nmlflow_tracking_uri = "sqlite:///mlflow.db"', 1
    )
    path = tmp_path / "tracked.toml"
    path.write_text(text)
    settings = config_mod.load(path).settings.launch
    assert settings.mlflow_tracking_uri == "sqlite:///mlflow.db"
    params = settings.mlflow_params
    assert params is not None and "trainers" in params and "interaction" in params
    assert params["system"]["mlflow_tracking_uri"] == "sqlite:///mlflow.db"
