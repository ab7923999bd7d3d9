"""REINFORCE by composition: the algorithm's arithmetic, and the sample config learning."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import cycle, pairwise
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from algorithms.reinforce import PolicyNetwork, Reinforce, ReinforceAgent
from console import config as run_config
from console.cli import app
from engine import Interaction
from engine.data import EpisodeBuffer
from engine.gym import GymEnvironment
from engine.scale import ActorParts, ScaleConfig
from engine.scale.actor_runner import ActorRunner
from engine.scale.batches import decode_items
from engine.telemetry.events import Metric, TrainingRunFinished
from engine.torch import TorchTrainingModel
from trainers.pushbutton import PushbuttonTrainer

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_configs" / "cartpole_reinforce.toml"
WAIT = 90.0


def test_flatten_attaches_discounted_returns_to_go() -> None:
    algorithm = Reinforce(gamma=0.5)
    episode = [
        {"obs": [0.0], "action": 1, "reward": 1.0, "done": False},
        {"obs": [1.0], "action": 0, "reward": 2.0, "done": False},
        {"obs": [2.0], "action": 1, "reward": 4.0, "done": True},
    ]
    steps = algorithm.flatten(episode)
    assert [s["ret"] for s in steps] == [1 + 0.5 * (2 + 0.5 * 4), 2 + 0.5 * 4, 4.0]
    assert [s["action"] for s in steps] == [1, 0, 1]


def test_the_gradient_favours_actions_with_above_average_returns() -> None:
    torch.manual_seed(0)
    policy = PolicyNetwork(1, 2, [])
    nn.init.zeros_(policy.net[0].weight)
    nn.init.zeros_(policy.net[0].bias)
    algorithm = Reinforce()
    algorithm.on_models_attached({"policy": policy})
    batch = {
        "obs": torch.ones(4, 1),
        "action": torch.tensor([1, 1, 0, 0]),
        "ret": torch.tensor([10.0, 9.0, 1.0, 0.0]),
    }
    loss, logs = algorithm.step(batch)
    loss.backward()
    optimizer = torch.optim.SGD(policy.parameters(), lr=0.1)
    optimizer.step()
    probs = torch.softmax(policy(torch.ones(1, 1)), 1)[0]
    assert probs[1] > 0.5 > probs[0]
    assert logs["return_to_go"] == pytest.approx(5.0)
    assert logs["entropy"] == pytest.approx(float(torch.log(torch.tensor(2.0))))


def test_the_sample_validates_and_a_wrong_buffer_kind_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    result = runner.invoke(app, ["validate", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(
        SAMPLE.read_text().replace(
            'target = "engine.data:EpisodeBuffer"\nmax_size = 20000\ndone_key = "done"',
            'target = "engine.data:SequentialBuffer"\nmax_size = 20000',
        )
    )
    result = runner.invoke(app, ["validate", str(wrong)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"{wrong}: trainers.reinforce: TypeError: experience: buffer 'episodes' is a "
        "SequentialBuffer; a PushbuttonTrainer trains on complete episodes, so "
        "collect into an engine.data:EpisodeBuffer"
    )


def test_the_sample_learns_while_it_plays(tmp_path: Path) -> None:
    built = run_config.load(
        SAMPLE,
        overrides={
            "states_dir": str(tmp_path),
            "save_final_state": False,
            "metrics": False,
        },
        cwd=ROOT,
    )
    system = built.system
    trainer = system.trainers["reinforce"]
    assert isinstance(trainer, PushbuttonTrainer)
    sub = system.events.subscribe(maxsize=100_000)
    start = time.monotonic()
    mean20 = 0.0
    rounds: list[float] = []
    system.start()
    try:
        report = system.status().trainers["reinforce"].condition
        assert report.min_new_episodes == 8
        assert not system.status().trainers["reinforce"].custom_condition
        # Random play lasts about 22 steps; learning makes it last much longer.
        while mean20 < 100:
            remaining = WAIT - (time.monotonic() - start)
            if remaining <= 0:
                pytest.fail(f"mean return of 20 episodes still {mean20} after {WAIT} s")
            event = sub.get(timeout=remaining)
            if isinstance(event, Metric):
                if event.name == "episode_return_mean20":
                    mean20 = event.value
                elif event.name == "experience_episodes":
                    rounds.append(event.value)
        path = system.save_state()
        assert (path / "trainers" / "reinforce" / "optimizer.optim.pt").exists()
        assert (path / "data" / "episodes" / "buffer.json").exists()
        system.load_state(path)
        run = sub.get(timeout=WAIT)
        while not isinstance(run, TrainingRunFinished):
            run = sub.get(timeout=WAIT)
    finally:
        system.shutdown()
        assert system.wait(WAIT)
    assert not system.failures
    assert rounds and min(rounds) >= 8, "every round had its 8 new episodes"


class _Sink:
    def collect(self, item: object) -> None:
        pass


def _uniform_policy(obs: torch.Tensor) -> torch.Tensor:
    return torch.zeros(len(obs), 2)


def _play(agent: ReinforceAgent, lengths: list[int]) -> dict[str, tuple[float, int]]:
    """Episodes of the given lengths (reward 1 a step); the last value of each metric."""
    reported: dict[str, tuple[float, int]] = {}
    agent.bind_metrics("agent", lambda s, n, v, step: reported.update({n: (v, step)}))
    obs = np.zeros(4, np.float32)
    for length in lengths:
        agent.on_reset(obs, {})
        for t in range(length):
            agent.on_step(obs, 1.0, t == length - 1, False, {})
    return reported


def _agent() -> ReinforceAgent:
    agent = ReinforceAgent(seed=0)
    agent.policy = _uniform_policy  # type: ignore[assignment]
    agent.collector = _Sink()  # type: ignore[assignment]
    return agent


def test_a_resumed_agent_counts_episodes_and_its_mean_on_from_the_saved_state(
    tmp_path: Path,
) -> None:
    first = _agent()
    _play(first, [10, 30])
    first.save_state(tmp_path / "agent")
    resumed = _agent()
    resumed.load_state(tmp_path / "agent")
    # Episode 3 at step 90, its mean over all three: not episode 1 at step 50.
    reported = _play(resumed, [50])
    assert reported["episodes"] == (3.0, 90)
    assert reported["episode_return_mean20"] == (30.0, 90)


# Each actor's episode lengths, in the order it plays them (then again).
SCRIPTS = {0: [3, 5, 2, 7], 1: [4, 6, 1, 3]}


class _LabelledEpisodes(gym.Env[np.ndarray, int]):
    """Episodes of scripted lengths whose observations are ``[actor, t, 0, 0]``."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, actor: int) -> None:
        self.actor = actor
        self.lengths = cycle(SCRIPTS[actor])
        self.length = 0
        self.t = 0

    def _obs(self) -> np.ndarray:
        return np.array([self.actor, self.t, 0, 0], np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        self.length = next(self.lengths)
        self.t = 0
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.t += 1
        return self._obs(), 1.0, self.t == self.length, False, {}


def _labelled_actor(index: int) -> ActorParts:
    return ActorParts(
        Interaction(
            ReinforceAgent(seed=index), GymEnvironment(_LabelledEpisodes(index))
        ),
        {"policy": TorchTrainingModel(PolicyNetwork())},
    )


@pytest.fixture
def runners() -> Iterator[list[ActorRunner]]:
    made: list[ActorRunner] = []
    yield made
    for runner in made:
        runner.stop()


def test_two_actors_episodes_reach_the_learners_buffer_whole(
    runners: list[ActorRunner],
) -> None:
    # A batch closes as soon as one item is unsent, and an actor holding one
    # unread batch waits: an agent collecting step by step would ship a batch
    # per step, and taking the actors' batches in turn (arrival order, as the
    # feed does) would splice their steps into each other's episodes.
    config = ScaleConfig(
        backend="ray", batch_items=1, max_in_flight_batches=1, when_behind="wait"
    )
    for index in SCRIPTS:
        runners.append(ActorRunner(index, _labelled_actor, ["episodes"], config))
    for runner in runners:
        runner.start()
    buffer = EpisodeBuffer[dict[str, Any]](max_size=10_000)
    taken = {0: 0, 1: 0}
    for turn in range(16):
        runner = runners[turn % 2]
        batch = runner.next_batch(timeout=30)
        assert batch is not None, f"actor {runner.index} shipped no batch in 30 s"
        taken[batch.actor] += batch.sizes["episodes"]
        for step in decode_items(batch.items["episodes"]):
            buffer.add(step)

    episodes = buffer.get_data()
    actors = [int(episode[0]["obs"][0]) for episode in episodes]
    # Every batch holds whole episodes, one actor's, and the batches alternate.
    switches = sum(a != b for a, b in pairwise(actors))
    assert actors[0] == 0 and switches == 15
    assert sum(len(e) for e in episodes) == len(buffer) == sum(taken.values())
    for actor, script in SCRIPTS.items():
        own = [e for e, a in zip(episodes, actors, strict=True) if a == actor]
        assert sum(len(e) for e in own) == taken[actor]
        assert [len(e) for e in own] == [script[i % 4] for i in range(len(own))]
        for episode in own:
            assert [int(s["obs"][0]) for s in episode] == [actor] * len(episode)
            assert [int(s["obs"][1]) for s in episode] == list(range(len(episode)))
            assert [s["done"] for s in episode] == [False] * (len(episode) - 1) + [True]
