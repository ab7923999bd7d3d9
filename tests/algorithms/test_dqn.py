"""DQN: the TD target, and a short run through the real engine System."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from algorithms.dqn import (
    DQNAgent,
    DQNTrainer,
    QNetwork,
    Transitions,
    pack_transition,
    unpack_batch,
)
from benchmarks.cartpole_curve import TARGET, build_system, first_success
from engine.model import TrainingModelsDict
from engine.telemetry.events import Metric, ModelSynced, TrainingRunFinished
from engine.torch import TorchTrainingModel

WAIT = 20.0


def wait_for(sub, kind: type, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        event = sub.get(timeout=remaining)
        if isinstance(event, kind):
            return event
    pytest.fail(f"no {kind.__name__} event within {timeout} s")


def test_double_dqn_target_stops_at_terminal_states() -> None:
    torch.manual_seed(0)
    trainer = DQNTrainer(
        {"seed": 0, "max_steps_per_run": 1}, torch_num_threads=None, gamma=0.5
    )
    trainer.attach_training_models(
        TrainingModelsDict({"q_network": TorchTrainingModel(QNetwork(2, 2, [4]))})
    )
    with torch.no_grad():
        for net in (trainer.q_network, trainer.target_network):
            for p in net.parameters():
                p.zero_()
            net.net[-1].bias.copy_(torch.tensor([1.0, 3.0]))
    batch = Transitions(
        obs=torch.zeros(2, 2),
        action=torch.tensor([0, 1]),
        reward=torch.tensor([1.0, 1.0]),
        next_obs=torch.zeros(2, 2),
        terminated=torch.tensor([0.0, 1.0]),
        steps=torch.tensor([1.0, 1.0]),
    )
    loss, logs = trainer.step(batch)
    # targets: 1 + 0.5 * 3 = 2.5 (q=1) and 1 (terminal, q=3): errors 1.5 and 2.
    expected = ((1.5 - 0.5) + (2.0 - 0.5)) / 2
    assert float(loss.detach()) == pytest.approx(expected)
    assert logs["q_mean"] == pytest.approx(2.0)


class Rows:
    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []

    def collect(self, row: np.ndarray) -> None:
        self.rows.append(row)


def test_n_step_transitions_sum_discounted_rewards_and_stop_at_episode_ends() -> None:
    agent = DQNAgent(epsilon_start=1.0, epsilon_end=1.0, seed=0, n_step=3, gamma=0.5)
    rows = Rows()
    agent.collector = rows  # type: ignore[assignment]
    obs = [np.full(2, float(i), np.float32) for i in range(6)]
    agent.on_reset(obs[0], {})
    for t in range(1, 5):
        agent.on_step(obs[t], float(t), False, False, {})
    agent.on_step(obs[5], 5.0, True, False, {})
    batch = unpack_batch(rows.rows)
    # Steps 0 and 1 span three steps; at the end, 2, 3 and 4 reach the last obs.
    assert batch.obs[:, 0].tolist() == [0, 1, 2, 3, 4]
    assert batch.next_obs[:, 0].tolist() == [3, 4, 5, 5, 5]
    assert batch.steps.tolist() == [3, 3, 3, 2, 1]
    assert batch.reward.tolist() == [
        1 + 1 + 0.75,
        2 + 1.5 + 1,
        3 + 2 + 1.25,
        4 + 2.5,
        5,
    ]
    assert batch.terminated.tolist() == [0, 0, 1, 1, 1]
    assert agent.episode_return == 15.0


class LoadsWhileCollecting(Rows):
    """A collector whose collect() is the pause point a state is loaded in."""

    def __init__(self, agent: DQNAgent, state: Path) -> None:
        super().__init__()
        self.agent, self.state = agent, state

    def collect(self, row: np.ndarray) -> None:
        super().collect(row)
        self.agent.load_state(self.state)


def test_a_state_loaded_while_a_transition_is_collected_keeps_the_agent_stepping(
    tmp_path: Path,
) -> None:
    # collect() waits as a pause point when a replay ratio limits collection;
    # a load that lands there clears the pending steps under the agent.
    agent = DQNAgent(epsilon_start=1.0, epsilon_end=1.0, seed=0, n_step=2)
    agent.save_state(tmp_path / "agent")
    rows = LoadsWhileCollecting(agent, tmp_path / "agent")
    agent.collector = rows  # type: ignore[assignment]
    obs = [np.full(2, float(i), np.float32) for i in range(5)]
    agent.on_reset(obs[0], {})
    for t in range(1, 4):
        agent.on_step(obs[t], 1.0, False, False, {})
    agent.on_step(obs[4], 1.0, True, False, {})
    # Each load drops the steps still pending (they belong to another episode).
    assert len(rows.rows) == 2
    assert agent.episode_returns[-1][1] == 4.0


def test_the_td_target_discounts_by_the_steps_a_transition_spans() -> None:
    trainer = DQNTrainer(
        {"seed": 0, "max_steps_per_run": 1}, torch_num_threads=None, gamma=0.5
    )
    trainer.attach_training_models(
        TrainingModelsDict({"q_network": TorchTrainingModel(QNetwork(2, 2, [4]))})
    )
    with torch.no_grad():
        for net in (trainer.q_network, trainer.target_network):
            for p in net.parameters():
                p.zero_()
            net.net[-1].bias.copy_(torch.tensor([4.0, 8.0]))
    row = pack_transition(np.zeros(2), 0, 1.0, np.zeros(2), False, steps=2)
    loss, _ = trainer.step(unpack_batch([row]))
    # target 1 + 0.5**2 * 8 = 3, q = 4: error 1, Huber 0.5.
    assert float(loss.detach()) == pytest.approx(0.5)


def test_dqn_acts_trains_syncs_and_saves_through_the_system(tmp_path: Path) -> None:
    system, agent = build_system(
        tmp_path,
        trainer_args={"min_buffer_size": 200, "torch_num_threads": None},
        training={"batch_size": 32, "max_steps_per_run": 4, "seed": 0},
        network={"hidden_sizes": [16]},
    )
    sub = system.events.subscribe()
    metrics = system.events.subscribe(maxsize=100_000)
    system.start()
    try:
        run = wait_for(sub, TrainingRunFinished)
        sync = wait_for(sub, ModelSynced)
        assert run.trainer == "dqn" and sync.model == "q_network"
        path = system.save_state()
        assert (path / "models" / "q_network.safetensors").exists()
        assert (path / "trainers" / "dqn" / "optimizer.optim.pt").exists()
        assert (path / "trainers" / "dqn" / "target_network.safetensors").exists()
        system.load_state(path)
    finally:
        system.shutdown()
        assert system.wait(WAIT)
    assert not system.failures
    assert agent.steps >= 200
    returns = [
        e.value
        for e in metrics.drain()
        if isinstance(e, Metric) and (e.source, e.name) == ("agent", "episode_return")
    ]
    assert returns and returns == [r for _, r in agent.episode_returns]


def test_first_success_needs_a_full_window() -> None:
    assert first_success([TARGET] * 19) is None
    assert first_success([0.0] * 20 + [500.0] * 20) == 38


@pytest.mark.slow
def test_cartpole_reaches_mean_475_within_five_minutes() -> None:
    from benchmarks.cartpole_curve import run

    result = run(max_seconds=300)
    assert result["reached_after_s"] is not None, result["best_mean20"]


def test_the_episode_history_is_bounded_but_every_episode_is_counted() -> None:
    agent = DQNAgent(epsilon_start=1.0, epsilon_end=1.0, seed=0, episode_history=3)
    agent.collector = Rows()  # type: ignore[assignment]
    obs = np.zeros(2, np.float32)
    for episode in range(5):
        agent.on_reset(obs, {})
        agent.on_step(obs, float(episode), True, False, {})
    assert [r for _, r in agent.episode_returns] == [2.0, 3.0, 4.0]
    assert len(agent.episode_end_steps) == 3
    assert agent.episodes == 5


def _play_episodes(agent: DQNAgent, returns: list[int]) -> list[tuple[str, float, int]]:
    """Episodes with the given returns (one reward per step); what the agent reported."""
    reported: list[tuple[str, float, int]] = []
    agent.bind_metrics("agent", lambda s, n, v, step: reported.append((n, v, step)))
    obs = np.zeros(2, np.float32)
    for length in returns:
        agent.on_reset(obs, {})
        for t in range(length):
            agent.on_step(obs, 1.0, t == length - 1, False, {})
    return reported


def test_a_resumed_agent_counts_episodes_and_its_mean_on_from_the_saved_state(
    tmp_path: Path,
) -> None:
    agent = DQNAgent(epsilon_start=1.0, epsilon_end=1.0, seed=0)
    agent.collector = Rows()  # type: ignore[assignment]
    _play_episodes(agent, [10, 20, 30])
    agent.save_state(tmp_path / "agent")
    resumed = DQNAgent(epsilon_start=1.0, epsilon_end=1.0, seed=0)
    resumed.collector = Rows()  # type: ignore[assignment]
    resumed.load_state(tmp_path / "agent")
    reported = dict((n, (v, s)) for n, v, s in _play_episodes(resumed, [40]))
    # Episode 4 at step 100, its mean over all four: not episode 1 at step 40.
    assert reported["episodes"] == (4.0, 100)
    assert reported["episode_return_mean20"] == (25.0, 100)
    assert resumed.epsilon == agent.epsilon  # exploration did not start again


def test_the_agent_s_numpy_q_values_are_the_network_s_and_follow_every_sync() -> None:
    model = TorchTrainingModel(QNetwork(4, 3, [16, 8], seed=1))
    inference = model.inference_model
    obs = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)

    def both() -> tuple[np.ndarray, np.ndarray]:
        with inference.unwrap() as network:
            return network.q_values(obs), network(torch.from_numpy(obs)).numpy()

    before, reference = both()
    np.testing.assert_allclose(before, reference, rtol=1e-5, atol=1e-6)
    # A sync copies new weights into the copies the views are of.
    with torch.no_grad():
        model.model.net[0].weight.mul_(3.0)
    for _ in range(3):  # onto every copy in turn
        model.sync()
        fast, reference = both()
        np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-6)
        assert not np.allclose(fast, before)
    # A network that is no longer float32 on the CPU goes through torch.
    model.model.double()
    model.sync()
    with inference.unwrap() as network:
        fast = network.q_values(obs)
    expected = model.model(torch.from_numpy(obs).double()).detach().numpy()
    np.testing.assert_allclose(fast, expected, rtol=1e-6)


def test_a_greedy_agent_picks_the_network_s_best_action() -> None:
    model = TorchTrainingModel(QNetwork(4, 3, [16], seed=2))
    agent = DQNAgent(num_actions=3, epsilon_start=0.0, epsilon_end=0.0, seed=0)
    agent.attach_inference_models({"q_network": model.inference_model})
    assert agent._numpy_q is not None  # the NumPy path is the one tested
    for obs in np.random.default_rng(1).standard_normal((50, 4)).astype(np.float32):
        q = model.model(torch.from_numpy(obs[None])).detach()
        assert agent._act(obs) == int(q.argmax())
