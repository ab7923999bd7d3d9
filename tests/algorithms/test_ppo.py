"""PPO with lag correction: V-trace's arithmetic, the update, state, and short real runs."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from algorithms.ppo import (
    ROLLOUT_END,
    ActorCritic,
    Minibatch,
    PPOAgent,
    PPOTrainer,
    vtrace,
)
from console import config as run_config
from engine.data import EpisodeBuffer, SequentialBuffer
from engine.telemetry.events import Metric, TrainingRunFinished
from engine.testing import connect_components
from engine.torch import TorchTrainingModel

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_configs" / "cartpole_ppo.toml"
RAY_SAMPLE = ROOT / "sample_configs" / "cartpole_ppo_ray.toml"
WAIT = 60.0

# -- V-trace on a hand-computed example ---------------------------------------------
#
# One rollout of three steps ending in a termination, gamma 0.9, lambda 0.8:
# TD errors d2 = 1 - 0.3 = 0.7, d1 = 1 + 0.9 * 0.3 - 0.4 = 0.87,
# d0 = 1 + 0.9 * 0.4 - 0.5 = 0.86.
REWARDS = np.array([1.0, 1.0, 1.0])
VALUES = np.array([0.5, 0.4, 0.3])
NEXT_VALUES = np.array([0.4, 0.3, 0.2])
TERMINATED = np.array([False, False, True])
END = np.array([False, False, True])


def test_without_lag_v_trace_is_gae_and_its_targets_lambda_returns() -> None:
    targets = vtrace(
        REWARDS, VALUES, NEXT_VALUES, TERMINATED, END, np.zeros(3), 0.9, 0.8
    )
    # GAE: A2 = 0.7, A1 = 0.87 + 0.72 * 0.7, A0 = 0.86 + 0.72 * A1.
    a1 = 0.87 + 0.72 * 0.7
    gae = [0.86 + 0.72 * a1, a1, 0.7]
    assert targets.advantage == pytest.approx(gae)
    assert targets.value_target == pytest.approx(VALUES + np.array(gae))
    assert list(targets.rho) == [1.0, 1.0, 1.0]


def test_a_stale_step_s_weights_are_truncated() -> None:
    # pi/mu = 2 (truncated to rho = 1), 0.5, 1.
    log_ratio = np.log([2.0, 0.5, 1.0])
    targets = vtrace(REWARDS, VALUES, NEXT_VALUES, TERMINATED, END, log_ratio, 0.9, 0.8)
    assert list(targets.rho) == pytest.approx([1.0, 0.5, 1.0])
    # t=2: A = v - V = 0.7. t=1: rho = 0.5, c = 0.8 * 0.5, tail 0.9 * 0.7 = 0.63:
    # A1 = 0.5 * (0.87 + 0.8 * 0.63) = 0.687, v1 - V1 = 0.5 * 0.87 + 0.4 * 0.63 = 0.687.
    # t=0: tail 0.9 * 0.687 = 0.6183: A0 = 0.86 + 0.8 * 0.6183 = v0 - V0.
    assert targets.advantage == pytest.approx([0.86 + 0.8 * 0.6183, 0.687, 0.7])
    assert targets.value_target == pytest.approx(
        [0.5 + 0.86 + 0.8 * 0.6183, 0.4 + 0.687, 1.0]
    )
    # A looser truncation lets the ratio of 2 through, and c_bar cuts the trace.
    loose = vtrace(
        REWARDS,
        VALUES,
        NEXT_VALUES,
        TERMINATED,
        END,
        log_ratio,
        0.9,
        0.8,
        rho_bar=4.0,
        c_bar=1.0,
    )
    assert list(loose.rho) == pytest.approx([2.0, 0.5, 1.0])
    assert loose.advantage[0] == pytest.approx(2.0 * (0.86 + 0.8 * 0.6183))
    assert loose.value_target[0] == pytest.approx(0.5 + 2.0 * 0.86 + 0.8 * 0.6183)


def test_a_rollout_s_end_stops_the_trace_and_bootstraps_unless_terminated() -> None:
    # Two rollouts: [step], cut by the rollout length (bootstraps from 2.0), then
    # the example above. gamma 0.9, lambda 0.8.
    targets = vtrace(
        np.concatenate([[1.0], REWARDS]),
        np.concatenate([[0.5], VALUES]),
        np.concatenate([[2.0], NEXT_VALUES]),
        np.concatenate([[False], TERMINATED]),
        np.concatenate([[True], END]),
        np.zeros(4),
        0.9,
        0.8,
    )
    a1 = 0.87 + 0.72 * 0.7
    assert targets.advantage == pytest.approx(
        [1.0 + 0.9 * 2.0 - 0.5, 0.86 + 0.72 * a1, a1, 0.7]
    )


# -- the trainer on fixed rollouts ----------------------------------------------------


def _rollouts(
    count: int, length: int, version: int = 0, seed: int = 0
) -> list[list[dict[str, Any]]]:
    """Rollouts of random 4-d observations, recorded under a uniform policy."""
    rng = np.random.default_rng(seed)
    rollouts = []
    for _ in range(count):
        steps = []
        for t in range(length):
            steps.append(
                {
                    "obs": rng.normal(size=4).astype(np.float32),
                    "action": int(rng.integers(2)),
                    "reward": 1.0,
                    "next_obs": rng.normal(size=4).astype(np.float32),
                    "terminated": t == length - 1,
                    "log_prob": math.log(0.5),
                    "version": version,
                    ROLLOUT_END: t == length - 1,
                }
            )
        rollouts.append(steps)
    return rollouts


def _trainer(
    seed: int = 0, **kwds: Any
) -> tuple[PPOTrainer, TorchTrainingModel[ActorCritic]]:
    buffer: EpisodeBuffer[Any] = EpisodeBuffer(10_000, ROLLOUT_END)
    trainer = PPOTrainer(
        {"seed": seed, "batch_size": 16, "num_episodes_per_experience": 2, "lr": 1e-3},
        torch_num_threads=None,
        epochs=kwds.pop("epochs", 2),
        **kwds,
    )
    model = TorchTrainingModel(ActorCritic(4, 2, [16], seed=seed))
    connect_components(
        trainers=trainer, buffers={"rollouts": buffer}, models={"policy": model}
    )
    return trainer, model


def _fill(trainer: PPOTrainer, rollouts: list[list[dict[str, Any]]]) -> None:
    """Collect the rollouts' steps as an agent would."""
    collector = trainer.get_data_user("rollouts").collector
    for rollout in rollouts:
        for step in rollout:
            collector.collect(step)


def test_lag_free_steps_get_plain_ppo_targets_and_stale_ones_are_weighted() -> None:
    trainer, model = _trainer()
    fresh = _rollouts(3, 5, version=0)
    # A behaviour log-prob a rounding away from the network's: the same weights
    # (version 0 = the trainer's) acted, so the ratio is exactly 1.
    corrected, metrics = trainer.round_targets(fresh)
    trainer.lag_correction = False
    plain, _ = trainer.round_targets(fresh)
    assert torch.equal(corrected["advantage"], plain["advantage"])
    assert torch.equal(corrected["value_target"], plain["value_target"])
    assert metrics["policy_lag_mean"] == 0.0 and metrics["policy_lag_max"] == 0.0
    assert metrics["rho_truncated"] == 0.0

    # Two versions later, the same steps are stale: their behaviour (uniform)
    # differs from the network's, and the weights follow pi/mu.
    trainer.lag_correction = True
    with torch.no_grad():
        model.model.policy_version += 2
        model.model.policy[-1].bias.copy_(torch.tensor([2.0, -2.0]))
    stale, metrics = trainer.round_targets(fresh)
    assert metrics["policy_lag_mean"] == 2.0 and metrics["policy_lag_max"] == 2.0
    actions = np.array([s["action"] for r in fresh for s in r])
    # Action 0 is now more likely than under mu (ratio > 1: truncated), action 1 less.
    assert metrics["rho_truncated"] == pytest.approx(float(np.mean(actions == 0)))
    assert not torch.equal(stale["advantage"], corrected["advantage"])
    trainer.lag_correction = False
    plain_stale, _ = trainer.round_targets(fresh)
    # Plain PPO clips around the behaviour policy; the correction around the round's own.
    assert torch.allclose(plain_stale["old_log_prob"], torch.full((15,), math.log(0.5)))
    assert not torch.allclose(stale["old_log_prob"], plain_stale["old_log_prob"])


def test_an_update_on_a_fixed_batch_lowers_the_loss_and_keeps_shapes_and_device() -> (
    None
):
    trainer, model = _trainer()
    data, _ = trainer.round_targets(_rollouts(4, 8))
    batch = Minibatch(**data)
    network = model.model
    out = network(batch.obs)
    assert out.logits.shape == (32, 2) and out.value.shape == (32,)
    assert out.version.shape == () and out.version.dtype == torch.int64
    device = next(network.parameters()).device
    for tensor in batch:
        assert tensor.device == device and len(tensor) == 32
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss, logs = trainer.step(batch)
        assert loss.shape == ()
        assert set(logs) == {
            "policy_loss",
            "value_loss",
            "entropy",
            "approx_kl",
            "clip_fraction",
        }
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0] - 0.1


def test_a_round_trains_every_epoch_of_minibatches_then_syncs_the_next_version() -> (
    None
):
    trainer, model = _trainer(epochs=3)
    _fill(trainer, _rollouts(2, 20))
    assert trainer.is_trainable()
    before = [p.detach().clone() for p in model.model.parameters()]
    assert trainer.run()
    # 40 steps in minibatches of 16: 3 a pass, 3 passes.
    assert trainer.global_step == 9
    assert any(
        not torch.equal(a, b)
        for a, b in zip(before, model.model.parameters(), strict=True)
    )
    assert trainer.policy_version == 1
    out = model.inference_model(torch.zeros(1, 4))
    assert int(out.version) == 1
    assert not trainer.is_trainable()  # its rollouts are used: it waits for new ones


def test_a_saved_trainer_and_model_resume_exactly(tmp_path: Path) -> None:
    first, second = _rollouts(2, 20, seed=1), _rollouts(3, 10, seed=2)
    trainer, model = _trainer(seed=3)
    _fill(trainer, first)
    assert trainer.run()
    trainer.save_state(tmp_path / "trainer")
    model.save_state(tmp_path / "model")
    _fill(trainer, second)
    assert trainer.run()

    # Another seed: everything that decides the next round comes from the state.
    resumed, resumed_model = _trainer(seed=99)
    _fill(resumed, first)
    resumed.load_state(tmp_path / "trainer")
    resumed_model.load_state(tmp_path / "model")
    _fill(resumed, second)
    assert resumed.run()
    assert resumed.global_step == trainer.global_step
    assert resumed.policy_version == trainer.policy_version == 2
    for a, b in zip(
        model.model.state_dict().values(),
        resumed_model.model.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b)


def test_the_trainer_refuses_a_buffer_that_does_not_hold_rollouts() -> None:
    trainer = PPOTrainer({"num_episodes_per_experience": 2}, torch_num_threads=None)
    with pytest.raises(TypeError, match="a PPOTrainer trains on complete rollouts"):
        connect_components(
            trainers=trainer,
            buffers={"rollouts": SequentialBuffer(10)},
            models={"policy": TorchTrainingModel(ActorCritic())},
        )
    with pytest.raises(ValueError, match="num_episodes_per_experience must be >= 1"):
        PPOTrainer({"num_episodes_per_experience": 0})
    with pytest.raises(ValueError, match="clip_range must be > 0"):
        PPOTrainer({}, clip_range=0.0)


# -- the agent ---------------------------------------------------------------------


def _connected_agent(
    rollout_length: int,
) -> tuple[PPOAgent, PPOTrainer, TorchTrainingModel[ActorCritic], Any]:
    agent = PPOAgent(rollout_length=rollout_length, seed=0)
    trainer = PPOTrainer({"num_episodes_per_experience": 1}, torch_num_threads=None)
    model = TorchTrainingModel(ActorCritic(4, 2, [8], seed=0))
    connected = connect_components(
        agent=agent,
        trainers=trainer,
        buffers={"rollouts": EpisodeBuffer(1000, ROLLOUT_END)},
        models={"policy": model},
    )
    return agent, trainer, model, connected.data_users["rollouts"]


def _play(agent: PPOAgent, lengths: list[int]) -> None:
    obs = np.zeros(4, np.float32)
    for length in lengths:
        agent.on_reset(obs, {})
        for t in range(length):
            agent.on_step(obs + t + 1, 1.0, t == length - 1, False, {})


def test_the_agent_collects_whole_rollouts_with_log_probs_and_versions() -> None:
    agent, trainer, model, user = _connected_agent(rollout_length=4)
    _play(agent, [6])  # a rollout of 4, then one of 2 ended by the episode
    assert user.collector.pending == 6
    user.update()
    rollouts = user.get_data()
    assert [len(r) for r in rollouts] == [4, 2]
    assert [s[ROLLOUT_END] for s in rollouts[0]] == [False, False, False, True]
    assert [s["terminated"] for s in rollouts[1]] == [False, True]
    for step in rollouts[0] + rollouts[1]:
        with torch.no_grad():
            logits = model.model(torch.as_tensor(step["obs"])[None]).logits[0]
        expected = float(torch.log_softmax(logits, 0)[step["action"]])
        assert step["log_prob"] == pytest.approx(expected, abs=1e-6)
        assert step["version"] == 0
    # Consecutive steps chain: each starts where the previous one led.
    assert np.array_equal(rollouts[0][1]["obs"], rollouts[0][0]["next_obs"])

    trainer.sync_models()  # what a round's end does
    _play(agent, [1])
    user.update()
    assert user.get_data()[-1][0]["version"] == 1


def test_a_half_played_rollout_is_held_back_and_a_load_drops_it(
    tmp_path: Path,
) -> None:
    agent, _, _, user = _connected_agent(rollout_length=10)
    _play(agent, [3])
    agent.save_state(tmp_path / "agent")
    saved = random.Random()
    saved.setstate(agent.random.getstate())
    obs = np.zeros(4, np.float32)
    agent.on_reset(obs, {})
    agent.on_step(obs, 1.0, False, False, {})
    assert user.collector.pending == 3  # the first episode's rollout only
    agent.load_state(tmp_path / "agent")
    assert agent.steps == 3 and agent.episodes == 1
    assert agent.random.getstate() == saved.getstate()
    _play(agent, [2])
    user.update()
    assert [len(r) for r in user.get_data()] == [3, 2]


# -- short real runs -----------------------------------------------------------------


def _watch(system: Any, rounds: int) -> Iterator[Metric]:
    """Start the system; yield its metrics until ``rounds`` training runs finished."""
    sub = system.events.subscribe(maxsize=100_000)
    system.start()
    finished = 0
    deadline = time.monotonic() + WAIT
    while finished < rounds:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"{finished}/{rounds} training rounds within {WAIT} s")
        event = sub.get(timeout=remaining)
        if isinstance(event, TrainingRunFinished):
            finished += 1
        elif isinstance(event, Metric):
            yield event


def test_the_sample_trains_rounds_on_threads_and_saves(tmp_path: Path) -> None:
    built = run_config.load(
        SAMPLE,
        overrides={
            "states_dir": str(tmp_path),
            "run_dir": str(tmp_path),
            "save_final_state": False,
            "metrics": False,
        },
        cwd=ROOT,
    )
    system = built.system
    trainer = system.trainers["ppo"]
    assert isinstance(trainer, PPOTrainer) and trainer.lag_correction
    try:
        metrics = {(e.source, e.name) for e in _watch(system, 3)}
        path = system.save_state()
        assert (path / "models" / "policy.safetensors").exists()
        assert (path / "trainers" / "ppo" / "optimizer.optim.pt").exists()
        system.load_state(path)
    finally:
        system.shutdown()
        assert system.wait(WAIT)
    assert not system.failures
    assert trainer.rounds >= 3
    assert {("ppo", "policy_lag_mean"), ("ppo", "rollouts"), ("ppo", "loss")} <= (
        metrics
    )
    assert ("agent", "episode_return") in metrics


@pytest.mark.ray
def test_the_ray_sample_trains_on_rollouts_from_two_actors(
    tmp_path: Path, ray_session: Any
) -> None:
    built = run_config.load(
        RAY_SAMPLE,
        overrides={
            "states_dir": str(tmp_path),
            "run_dir": str(tmp_path),
            "save_final_state": False,
            "metrics": False,
        },
        cwd=ROOT,
    )
    system = built.system
    trainer = system.trainers["ppo"]
    try:
        sources = {e.source for e in _watch(system, 3)}
    finally:
        system.shutdown()
        assert system.wait(WAIT)
    assert not system.failures
    assert trainer.rounds >= 3 and trainer.policy_version >= 3
    # Both actors' agents played (their metrics reach the learner named by actor).
    assert {"actor0.agent", "actor1.agent"} <= sources
