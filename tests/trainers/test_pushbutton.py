"""PushbuttonTrainer: ASTRA-RL's composition (configuration, experience, algorithm)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import default_collate
from typing_extensions import override

from engine.data import DataUsersDict, EpisodeBuffer, SequentialBuffer
from engine.model import TrainingModelsDict
from engine.torch import TorchTrainingModel
from trainers import Algorithm, PushbuttonTrainer, TrainingConfiguration

SEED_EXAMPLE = {
    "lr": 1e-3,
    "batch_size": 16,
    "optimizer": "adamw",
    "gradient_accumulation_steps": 1,
    "training_steps": 1024,
    "num_episodes_per_experience": 8,
}


class LineFit(Algorithm[dict[str, Any], dict[str, torch.Tensor]]):
    """Fits y = 3x - 1 by mean squared error; remembers every batch it saw."""

    def __init__(self) -> None:
        self.batches: list[list[float]] = []
        self.calls = 0

    @override
    def on_models_attached(self, models: Mapping[str, nn.Module]) -> None:
        self.net = models["net"]

    @override
    def step(
        self, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        x = batch["x"].float()[:, None]
        self.batches.append(batch["x"].tolist())
        error = self.net(x) - (3 * x - 1)
        return error.pow(2).mean(), {"mae": error.abs().mean()}

    def save_state(self, path: Path) -> None:
        path.write_text(str(len(self.batches)))

    def load_state(self, path: Path) -> None:
        self.calls = int(path.read_text())


class Source:
    """Plays numbered episodes into an EpisodeBuffer's collector."""

    def __init__(self, users: DataUsersDict) -> None:
        self.collector = users["episodes"].collector
        self.n = 0

    def episodes(self, count: int, length: int) -> list[float]:
        """Collect episodes of distinct x in [0, 1); return the xs."""
        xs = []
        for _ in range(count):
            for k in range(length):
                self.n += 1
                x = round(self.n * 0.618034 % 1.0, 6)
                xs.append(x)
                self.collector.collect({"x": x, "done": k == length - 1})
        return xs


def build(
    config: Mapping[str, Any], algorithm: Any = None, **kwds: Any
) -> tuple[PushbuttonTrainer, Any, TorchTrainingModel[nn.Linear], Source]:
    torch.manual_seed(0)
    model = TorchTrainingModel(nn.Linear(1, 1))
    algorithm = LineFit() if algorithm is None else algorithm
    trainer = PushbuttonTrainer(
        TrainingConfiguration.model_validate(config), "episodes", algorithm, **kwds
    )
    users = DataUsersDict.from_data_buffers({"episodes": EpisodeBuffer(10_000)})
    trainer.attach_training_models(TrainingModelsDict({"net": model}))
    trainer.attach_data_users(users)
    trainer.users = users  # type: ignore[attr-defined]
    return trainer, algorithm, model, Source(users)


def test_the_seeds_example_trains_by_composition_alone() -> None:
    trainer, algorithm, model, source = build(SEED_EXAMPLE)
    pauses: list[int] = []
    trainer.pause_point = lambda: pauses.append(trainer.global_step)  # type: ignore[method-assign]
    metrics: dict[str, float] = {}
    trainer.bind_metrics(
        "pb", lambda _, name, value, step: metrics.update({name: value})
    )
    xs = source.episodes(7, 5)
    assert not trainer.run()
    assert trainer.trainability_report().reason == "7/8 new episodes"
    xs += source.episodes(1, 5)
    assert trainer.run()
    # One pass over the 40 new steps, shuffled, in batches of 16, 16 and 8.
    assert [len(b) for b in algorithm.batches] == [16, 16, 8]
    assert sorted(x for b in algorithm.batches for x in b) == sorted(xs)
    assert [x for b in algorithm.batches for x in b] != xs, "shuffled"
    assert trainer.global_step == 3 and pauses == [1, 2, 3]
    assert model.sync_version == 1
    assert isinstance(trainer.optimizer, torch.optim.AdamW)
    assert trainer.optimizer.param_groups[0]["lr"] == 1e-3
    assert metrics["experience_episodes"] == 8 and metrics["experience_steps"] == 40
    assert {"loss", "mae", "lr", "grad_norm"} <= metrics.keys()
    assert not trainer.run(), "the next round waits for 8 more episodes"


def test_rounds_learn() -> None:
    trainer, algorithm, model, source = build(
        {
            "lr": 0.1,
            "batch_size": 4,
            "optimizer": "adam",
            "num_episodes_per_experience": 2,
            "seed": 0,
        }
    )
    losses = []
    for _ in range(30):
        source.episodes(2, 8)
        assert trainer.run()
        losses.append(trainer.last_metrics["loss"])
    assert losses[-1] < 0.05 * losses[0], losses


def test_without_shuffle_steps_come_in_collection_order_and_seeds_repeat() -> None:
    trainer, algorithm, _, source = build(
        {"shuffle": False, "batch_size": 3, "num_episodes_per_experience": 2}
    )
    xs = source.episodes(2, 4)
    assert trainer.run()
    assert algorithm.batches == [xs[0:3], xs[3:6], xs[6:8]]
    orders = []
    for _ in range(2):
        trainer, algorithm, _, source = build(
            {"seed": 5, "batch_size": 4, "num_episodes_per_experience": 2}
        )
        source.episodes(2, 4)
        trainer.run()
        orders.append(algorithm.batches)
    assert orders[0] == orders[1]


def test_max_steps_per_run_and_accumulation_shape_a_round() -> None:
    trainer, algorithm, _, source = build(
        {
            "batch_size": 2,
            "gradient_accumulation_steps": 2,
            "max_steps_per_run": 2,
            "num_episodes_per_experience": 1,
        }
    )
    source.episodes(1, 20)
    assert trainer.run()
    assert trainer.global_step == 2 and len(algorithm.batches) == 4


def test_a_resumed_trainer_takes_exactly_the_same_next_round(tmp_path: Path) -> None:
    config = {"lr": 0.05, "optimizer": "adam", "num_episodes_per_experience": 2}
    config |= {"seed": 3, "batch_size": 4}
    trainer, algorithm, model, source = build(config)
    source.episodes(2, 6)
    assert trainer.run()
    trainer.users.save_state(tmp_path / "data")  # type: ignore[attr-defined]
    trainer.save_state(tmp_path / "trainer")
    model.save_state(tmp_path / "model")
    source.episodes(2, 6)
    assert trainer.run()
    expected = [p.detach().clone() for p in model.model.parameters()]
    expected_adam = trainer.optimizer.state_dict()["state"]

    other, other_algorithm, other_model, other_source = build({**config, "seed": 9})
    other.users.load_state(tmp_path / "data")  # type: ignore[attr-defined]
    other.load_state(tmp_path / "trainer")
    other_model.load_state(tmp_path / "model")
    assert other_algorithm.calls == 3, "the algorithm's state came back"
    other_source.n = source.n - 12
    other_source.episodes(2, 6)
    assert other.run()
    assert other_algorithm.batches == algorithm.batches[3:]
    for p, e in zip(other_model.model.parameters(), expected, strict=True):
        torch.testing.assert_close(p.detach(), e, rtol=0, atol=0)
    for key, state in other.optimizer.state_dict()["state"].items():
        for name, value in state.items():
            torch.testing.assert_close(value, expected_adam[key][name], rtol=0, atol=0)
    assert other.rounds == trainer.rounds == 2


ASTRA_WAY = {
    "lr": 0.05,
    "batch_size": 4,
    "optimizer": "adamw",
    "gradient_accumulation_steps": 3,
    "num_episodes_per_experience": 2,
    "episodes_per_round": "exact",
    "gradient_accumulation_remainder": "carry",
    "shuffle": False,
}


def astra_train(
    model: nn.Module, experiences: list[list[list[float]]], config: Mapping[str, Any]
) -> None:
    """ASTRA-RL's ``Trainer.train()`` as the seed prints it, on these experiences.

    Its harness's experience is ``num_episodes_per_experience`` rollouts, their
    steps flattened and batched in order.
    """
    algorithm = LineFit()
    algorithm.on_models_attached({"net": model})
    accumulation = config["gradient_accumulation_steps"]
    optimizer = torch.optim.AdamW(model.parameters(), config["lr"])
    global_step_counter = 0
    for experience in experiences:
        steps = [
            {"x": x, "done": k == len(episode) - 1}
            for episode in experience
            for k, x in enumerate(episode)
        ]
        size = config["batch_size"]
        buf = [default_collate(steps[i : i + size]) for i in range(0, len(steps), size)]
        for batch in buf:
            global_step_counter += 1
            loss = algorithm.step(batch)[0] / accumulation
            loss.backward()
            if global_step_counter % accumulation == 0:
                optimizer.step()
                optimizer.zero_grad()


def test_set_the_astra_rl_way_rounds_take_astra_rl_s_steps_bit_for_bit() -> None:
    trainer, _, model, source = build(ASTRA_WAY)
    initial = copy.deepcopy(model.model)
    xs = source.episodes(5, 3)
    assert trainer.run()  # episodes 1-2: 2 batches, accumulated, carried
    assert trainer.global_step == 0
    assert trainer.run()  # episodes 3-4, without waiting: a step, 1 batch carried
    assert not trainer.run(), "1 episode waits, 2 are needed"
    xs += source.episodes(1, 3)
    assert trainer.run()  # episodes 5-6: 2 batches, a step
    assert trainer.global_step == 2
    episodes = [xs[i : i + 3] for i in range(0, len(xs), 3)]
    astra_train(initial, [episodes[0:2], episodes[2:4], episodes[4:6]], ASTRA_WAY)
    for ours, theirs in zip(
        model.model.parameters(), initial.parameters(), strict=True
    ):
        assert torch.equal(ours, theirs)
    # Our defaults take other steps on the same episodes.
    default, _, default_model, default_source = build(
        {**ASTRA_WAY, "episodes_per_round": "all_new"}
    )
    default_source.episodes(5, 3)
    assert default.run() and not default.run()
    assert not all(
        torch.equal(a, b)
        for a, b in zip(
            default_model.model.parameters(), model.model.parameters(), strict=True
        )
    )


def test_models_default_to_every_torch_training_model() -> None:
    trainer, *_ = build(SEED_EXAMPLE)
    assert trainer.model_names == ["net"]
    named, *_ = build(SEED_EXAMPLE, models="net")
    assert named.model_names == ["net"]


def test_duck_typed_algorithms_returning_a_bare_loss_work() -> None:
    class Bare:
        net: nn.Module

        def on_models_attached(self, models: Mapping[str, nn.Module]) -> None:
            self.net = models["net"]

        def step(self, batch: Any) -> torch.Tensor:
            return self.net(batch["x"].float()[:, None]).pow(2).mean()

    trainer, *_, source = build({"num_episodes_per_experience": 1}, Bare())
    source.episodes(1, 3)
    assert trainer.run() and trainer.global_step == 1


def test_flatten_and_collate_come_from_the_algorithm() -> None:
    class Pairs(LineFit):
        @override
        def flatten(self, episode: Sequence[Any]) -> list[dict[str, Any]]:
            return [{"x": s["x"] + 100} for s in episode][::2]

        @override
        def collate_fn(self, steps: Sequence[dict[str, Any]]) -> dict[str, Any]:
            return {"x": torch.tensor([s["x"] for s in steps], dtype=torch.float64)}

    trainer, algorithm, _, source = build(
        {"num_episodes_per_experience": 1, "shuffle": False}, Pairs()
    )
    xs = source.episodes(1, 4)
    assert trainer.run()
    assert algorithm.batches == [[xs[0] + 100, xs[2] + 100]]


def test_bad_parts_are_clear_errors() -> None:
    with pytest.raises(TypeError, match="algorithm: object has no step.batch. method"):
        PushbuttonTrainer({}, "episodes", object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="num_episodes_per_experience must be >= 1"):
        PushbuttonTrainer({"num_episodes_per_experience": 0}, "episodes", LineFit())
    trainer = PushbuttonTrainer({}, "replay", LineFit())
    with pytest.raises(
        TypeError,
        match="experience: buffer .replay. is a SequentialBuffer; .*:EpisodeBuffer",
    ):
        trainer.attach_data_users(
            DataUsersDict.from_data_buffers({"replay": SequentialBuffer(10)})
        )
    with pytest.raises(KeyError, match="'episodez' is not a buffer"):
        PushbuttonTrainer({}, "episodez", LineFit()).attach_data_users(
            DataUsersDict.from_data_buffers({"episodes": EpisodeBuffer(10)})
        )


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (
            torch.ones(3),
            "must return a one-element loss tensor, or .loss, logs.; got a tensor of shape .3,.",
        ),
        ((torch.ones(()), ["x"]), "returned logs of type list"),
        (
            (torch.ones(()), {"name": "x"}),
            "logged 'name' = a str; logs must be numbers",
        ),
    ],
)
def test_what_step_returns_is_checked(result: Any, message: str) -> None:
    class Odd(LineFit):
        @override
        def step(self, batch: Any) -> Any:
            return result

    trainer, *_, source = build({"num_episodes_per_experience": 1}, Odd())
    source.episodes(1, 2)
    with pytest.raises(TypeError, match=f"Odd.step.batch. {message}"):
        trainer.run()
