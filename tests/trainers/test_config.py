"""TrainingConfiguration: defaults, clear errors, optimizer and scheduler building."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

from trainers.config import TrainingConfiguration


def problems(**values: object) -> list[str]:
    """Each problem pydantic found, as ``key.path: message``."""
    with pytest.raises(ValidationError) as info:
        TrainingConfiguration.model_validate(values)
    return [
        ".".join(["trainers.dqn.training", *map(str, item["loc"])])
        + ": "
        + item["msg"].removeprefix("Value error, ")
        for item in info.value.errors(include_url=False)
    ]


def test_unknown_key() -> None:
    assert problems(learning_rate=0.1) == [
        "trainers.dqn.training.learning_rate: Extra inputs are not permitted"
    ]


def test_bad_optimizer() -> None:
    (line,) = problems(optimizer="lion")
    assert line.startswith("trainers.dqn.training.optimizer: Input should be 'adam'")


def test_accumulation_below_one() -> None:
    assert problems(gradient_accumulation_steps=0) == [
        "trainers.dqn.training.gradient_accumulation_steps: "
        "Input should be greater than or equal to 1"
    ]


def test_optimizer_kwargs_are_checked_by_name() -> None:
    (line,) = problems(optimizer="sgd", optimizer_kwargs={"betas": [0.9, 0.99]})
    assert "sgd does not accept betas" in line and "momentum" in line


def test_scheduler_errors_name_the_field() -> None:
    (line,) = problems(lr_scheduler={"name": "cosine"})
    assert "total_steps" in line and "Field required" in line
    (line,) = problems(lr_scheduler="exponential")
    assert "lr_scheduler" in line and "'cosine'" in line


def test_every_error_is_one_line() -> None:
    lines = problems(lr=-1, batch_size=0, extra=1)
    assert len(lines) == 3 and all("\n" not in line for line in lines)


def test_frozen_and_scheduler_by_name() -> None:
    config = TrainingConfiguration(lr_scheduler="none")
    with pytest.raises(ValidationError):
        config.lr = 1.0  # type: ignore[misc]
    assert config.create_lr_scheduler(config.create_optimizer([torch.zeros(1)])) is None


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "rmsprop", "adagrad"])
def test_builds_each_optimizer(name: str) -> None:
    config = TrainingConfiguration(optimizer=name, lr=0.01)  # type: ignore[arg-type]
    optimizer = config.create_optimizer([torch.zeros(2, requires_grad=True)])
    assert type(optimizer).__name__.lower() == name
    assert optimizer.param_groups[0]["lr"] == 0.01


def test_schedules_follow_their_formulas() -> None:
    def lrs(schedule: object, steps: int) -> list[float]:
        config = TrainingConfiguration.model_validate(
            {"optimizer": "sgd", "lr": 1.0, "lr_scheduler": schedule}
        )
        optimizer = config.create_optimizer([torch.zeros(1, requires_grad=True)])
        scheduler = config.create_lr_scheduler(optimizer)
        out = []
        for _ in range(steps):
            out.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        return out

    assert lrs({"name": "linear_warmup", "warmup_steps": 4}, 6) == [
        0.25,
        0.5,
        0.75,
        1,
        1,
        1,
    ]
    assert lrs({"name": "step", "step_size": 2, "gamma": 0.5}, 5) == [
        1,
        1,
        0.5,
        0.5,
        0.25,
    ]
    cosine = lrs({"name": "cosine", "total_steps": 4, "min_lr": 0.1}, 6)
    assert cosine[0] == 1.0 and cosine[2] == pytest.approx(0.55)
    assert cosine[4:] == [pytest.approx(0.1)] * 2


# --- the seed's fields (ASTRA-RL) ----------------------------------------------------

SEED_DEFAULTS = {
    "lr": 3e-3,
    "batch_size": 16,
    "optimizer": "adamw",
    "gradient_accumulation_steps": 1,
    "training_steps": 1024,
    "num_episodes_per_experience": 8,
}


def test_the_seeds_own_example_validates_unchanged() -> None:
    config = TrainingConfiguration(
        lr=1e-3,
        batch_size=16,
        optimizer="adamw",
        gradient_accumulation_steps=1,
        training_steps=1024,
        num_episodes_per_experience=8,
    )
    assert (config.lr, config.training_steps, config.num_episodes_per_experience) == (
        1e-3,
        1024,
        8,
    )


def test_defaults_are_the_seeds() -> None:
    config = TrainingConfiguration()
    assert {k: getattr(config, k) for k in SEED_DEFAULTS} == SEED_DEFAULTS
    # Ours, as additions: a round is one pass over its batches by default.
    assert config.max_steps_per_run is None and config.shuffle


def test_training_steps_inf_means_no_limit() -> None:
    assert (
        TrainingConfiguration.model_validate(
            {"training_steps": math.inf}
        ).training_steps
        is None
    )
    assert TrainingConfiguration(training_steps=None).training_steps is None
    (line,) = problems(training_steps=-math.inf)
    assert line.startswith("trainers.dqn.training.training_steps:")
    assert problems(training_steps=0) == [
        "trainers.dqn.training.training_steps: Input should be greater than or equal to 1"
    ]


def test_episode_and_step_counts_are_checked() -> None:
    assert problems(num_episodes_per_experience=-1, max_steps_per_run=0) == [
        "trainers.dqn.training.num_episodes_per_experience: "
        "Input should be greater than or equal to 0",
        "trainers.dqn.training.max_steps_per_run: "
        "Input should be greater than or equal to 1",
    ]


def test_how_rounds_take_episodes_is_checked() -> None:
    assert TrainingConfiguration().episodes_per_round == "all_new"
    assert (
        TrainingConfiguration(episodes_per_round="exact").episodes_per_round == "exact"
    )
    (line,) = problems(episodes_per_round="some")
    assert line == (
        "trainers.dqn.training.episodes_per_round: Input should be 'all_new' or 'exact'"
    )
    (line,) = problems(episodes_per_round="exact", num_episodes_per_experience=0)
    assert line == (
        "trainers.dqn.training: episodes_per_round: 'exact' takes "
        "num_episodes_per_experience episodes a round, which is 0; set it >= 1 or "
        "use 'all_new'"
    )


def test_what_a_round_does_with_a_remainder_is_checked() -> None:
    assert TrainingConfiguration().gradient_accumulation_remainder == "flush"
    (line,) = problems(gradient_accumulation_remainder="drop")
    assert line == (
        "trainers.dqn.training.gradient_accumulation_remainder: "
        "Input should be 'flush' or 'carry'"
    )
