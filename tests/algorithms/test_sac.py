"""SAC: the update on a fixed batch, an exact resume, the agent's NumPy path, and a short run of the sample."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from algorithms.sac import (
    GaussianPolicy,
    SACAgent,
    SACTrainer,
    Transitions,
    TwinQNetwork,
    pack_transition,
    unpack_batch,
)
from console import config as run_config
from console.cli import app
from engine import System
from engine.data import ArrayBuffer, DataUsersDict
from engine.model import TrainingModelsDict
from engine.telemetry.events import Metric, ModelSynced, TrainingRunFinished
from engine.torch import TorchTrainingModel, load_weights, save_weights

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_configs" / "pendulum_sac.toml"
WAIT = 60.0
OBS, ACT = 3, 2

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _models(device: str = "cpu", seed: int = 0) -> TrainingModelsDict:
    return TrainingModelsDict(
        {
            "policy": TorchTrainingModel(
                GaussianPolicy(OBS, ACT, [32, 32], seed=seed), device=device
            ),
            "critic": TorchTrainingModel(
                TwinQNetwork(OBS, ACT, [32, 32], seed=seed + 1),
                has_inference_model=False,
                device=device,
            ),
        }
    )


def _trainer(seed: int = 0, **kwargs: object) -> SACTrainer:
    config = {
        "seed": seed,
        "max_steps_per_run": 4,
        "batch_size": 64,
        "optimizer": "adam",
        "lr": 1e-3,
        "training_steps": None,
        "log_every": 4,
    }
    return SACTrainer(config, torch_num_threads=None, **kwargs)  # type: ignore[arg-type]


def _rows(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        pack_transition(
            rng.standard_normal(OBS).astype(np.float32),
            rng.uniform(-1, 1, ACT).astype(np.float32),
            float(rng.standard_normal()),
            rng.standard_normal(OBS).astype(np.float32),
            bool(rng.random() < 0.1),
        )
        for _ in range(n)
    ]


def _batch(device: str, n: int = 64) -> Transitions:
    return Transitions(*(t.to(device) for t in unpack_batch(_rows(n), ACT)))


def _replay(rows: list[np.ndarray]) -> DataUsersDict:
    users = DataUsersDict.from_data_buffers(replay=ArrayBuffer(10_000))
    for row in rows:
        users["replay"].collector.collect(row)
    return users


def _ready(trainer: SACTrainer, device: str = "cpu", seed: int = 0) -> SACTrainer:
    trainer.attach_training_models(_models(device, seed))
    trainer.attach_data_users(_replay(_rows(500)))
    return trainer


# -- the networks and the update --------------------------------------------------


def test_pack_and_unpack_keep_every_field() -> None:
    row = pack_transition(
        np.array([1, 2, 3], np.float32),
        np.array([0.5, -0.5], np.float32),
        7.0,
        np.array([4, 5, 6], np.float32),
        True,
    )
    batch = unpack_batch([row, row], ACT)
    assert batch.obs.tolist() == [[1, 2, 3]] * 2
    assert batch.action.tolist() == [[0.5, -0.5]] * 2
    assert batch.reward.tolist() == [7.0, 7.0]
    assert batch.next_obs.tolist() == [[4, 5, 6]] * 2
    assert batch.terminated.tolist() == [1.0, 1.0]


def test_sampled_actions_are_squashed_and_their_log_probability_is_the_density() -> (
    None
):
    policy = GaussianPolicy(OBS, ACT, [16], seed=0)
    obs = torch.randn(1000, OBS)
    noise = torch.randn(1000, ACT)
    action, log_prob = policy.sample(obs, noise)
    assert action.shape == (1000, ACT) and log_prob.shape == (1000,)
    assert float(action.detach().abs().max()) < 1.0
    # The density of tanh(u), u ~ N(mean, std): N(u) / prod(1 - tanh(u)^2).
    mean, log_std = policy(obs)
    u = mean + log_std.exp() * noise
    normal = torch.distributions.Normal(mean, log_std.exp())
    expected = (normal.log_prob(u) - torch.log(1 - torch.tanh(u) ** 2)).sum(1)
    torch.testing.assert_close(log_prob, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
def test_the_update_on_a_fixed_batch_lowers_the_critic_loss(device: str) -> None:
    trainer = _ready(_trainer(), device)
    trainer.setup()
    optimizer = trainer.optimizers["optimizer"]
    batch = _batch(device)
    losses = []
    for step in range(1, 301):
        loss, logs = trainer.step(batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        trainer.after_optimizer_step(step)
        losses.append(logs["critic_loss"])
        assert set(logs) == {"critic_loss", "actor_loss", "alpha", "entropy", "q_mean"}
    trainer.teardown()
    assert np.mean(losses[-20:]) < 0.2 * np.mean(losses[:5]), losses[::30]
    # Nothing moved to another device or dtype.
    for net in (trainer.policy, trainer.critic, trainer.target_critic):
        for p in net.parameters():
            assert p.device.type == device and p.dtype == torch.float32
    assert trainer.log_alpha.device.type == device
    action, log_prob = trainer.policy.sample(
        batch.obs, torch.randn(64, ACT, device=device)
    )
    assert action.shape == (64, ACT) and log_prob.shape == (64,)
    assert action.device.type == device
    assert float(action.detach().abs().max()) <= 1.0
    q1, q2 = trainer.critic(batch.obs, action)
    assert q1.shape == q2.shape == (64,)
    # The target critics followed the critics (Polyak), not stayed or copied.
    online = torch.cat([p.detach().flatten() for p in trainer.critic.parameters()])
    target = torch.cat([p.flatten() for p in trainer.target_critic.parameters()])
    assert not torch.equal(online, target)
    assert float((online - target).abs().max()) < 0.5


def test_one_loss_gives_each_part_the_gradient_of_its_own_update() -> None:
    """The sum's gradients are those of three separate SAC updates (see the module)."""
    trainer = _ready(_trainer())
    trainer.setup()
    batch = _batch("cpu")
    with torch.no_grad():
        trainer.log_alpha.fill_(-1.0)
    state = trainer.generator.get_state()
    loss, _ = trainer.step(batch)
    loss.backward()
    actor = list(trainer.policy.parameters())
    critic = list(trainer.critic.parameters())
    combined = [p.grad.clone() for p in [*actor, *critic, trainer.log_alpha]]  # type: ignore[union-attr]
    for p in [*actor, *critic, trainer.log_alpha]:
        p.grad = None

    # The same draws, each loss on its own, the way SB3 writes them.
    trainer.generator.set_state(state)
    noise = trainer._noise(64)
    alpha = trainer.log_alpha.detach().exp()
    with torch.no_grad():
        next_action, next_log_prob = trainer.policy.sample(batch.next_obs, noise[0])
        next_q = torch.min(*trainer.target_critic(batch.next_obs, next_action))
        target = batch.reward + 0.99 * (1 - batch.terminated) * (
            next_q - alpha * next_log_prob
        )
    q1, q2 = trainer.critic(batch.obs, batch.action)
    critic_loss = 0.5 * (((q1 - target) ** 2).mean() + ((q2 - target) ** 2).mean())
    critic_grads = torch.autograd.grad(critic_loss, critic)
    action, log_prob = trainer.policy.sample(batch.obs, noise[1])
    actor_loss = (
        alpha * log_prob - torch.min(*trainer.critic(batch.obs, action))
    ).mean()
    actor_grads = torch.autograd.grad(actor_loss, actor)
    alpha_loss = -(trainer.log_alpha * (log_prob.detach() - ACT)).mean()
    (alpha_grad,) = torch.autograd.grad(alpha_loss, [trainer.log_alpha])
    for got, expected in zip(
        combined, [*actor_grads, *critic_grads, alpha_grad], strict=True
    ):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    trainer.teardown()


def test_a_fixed_alpha_is_not_trained_and_is_tunable() -> None:
    trainer = _ready(_trainer(alpha=0.2))
    params = list(trainer.parameters())
    assert all(p is not trainer.log_alpha for p in params)
    trainer.setup()
    trainer.train()
    trainer.teardown()
    assert float(trainer.log_alpha) == 0.0  # untouched (its initial_alpha of 1)
    settings = trainer.tunables()
    assert "alpha" in settings and "target_entropy" not in settings
    settings["alpha"].set(0.05)
    _, logs = trainer.step(_batch("cpu"))
    assert logs["alpha"] == pytest.approx(0.05)
    auto = _ready(_trainer()).tunables()
    assert "target_entropy" in auto and "alpha" not in auto
    assert auto["target_entropy"].get() == -ACT


def test_bad_settings_are_one_line_errors() -> None:
    with pytest.raises(ValueError, match=r"^tau must be within \(0, 1\], got 0.0$"):
        _trainer(tau=0.0)
    with pytest.raises(ValueError, match="max_steps_per_run"):
        SACTrainer({"seed": 0})
    with pytest.raises(ValueError, match="below its action_high"):
        SACAgent(action_low=[1.0], action_high=[-1.0])
    with pytest.raises(ValueError, match="same length"):
        SACAgent(action_low=[-1.0, -1.0], action_high=[1.0])


# -- resuming -------------------------------------------------------------------


def _weights(trainer: SACTrainer) -> list[torch.Tensor]:
    return [
        t.detach().clone()
        for net in (trainer.policy, trainer.critic, trainer.target_critic)
        for t in net.parameters()
    ] + [trainer.log_alpha.detach().clone()]


def _round(trainer: SACTrainer) -> None:
    assert trainer.run()


def test_a_loaded_state_resumes_the_very_same_updates(tmp_path: Path) -> None:
    first = _ready(_trainer(seed=0))
    for _ in range(3):
        _round(first)
    models = tmp_path / "models"
    models.mkdir()
    for name, net in (("policy", first.policy), ("critic", first.critic)):
        save_weights(net, models / f"{name}.safetensors")
    first.save_state(tmp_path / "trainer")
    _round(first)
    _round(first)
    expected = _weights(first)

    # Other seeds, other weights: everything that matters comes from the state.
    second = _ready(_trainer(seed=7), seed=3)
    _round(second)
    assert not all(
        torch.equal(a, b) for a, b in zip(_weights(second), expected, strict=True)
    )
    for name, net in (("policy", second.policy), ("critic", second.critic)):
        load_weights(net, models / f"{name}.safetensors")
    second.load_state(tmp_path / "trainer")
    _round(second)
    _round(second)
    got = _weights(second)
    assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))
    assert second.global_step == first.global_step == 20


# -- the agent --------------------------------------------------------------------


class Rows:
    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []

    def collect(self, row: np.ndarray) -> None:
        self.rows.append(row)


def _agent(
    learning_starts: int = 0, **kwargs: object
) -> tuple[SACAgent, TorchTrainingModel]:
    model = TorchTrainingModel(GaussianPolicy(OBS, ACT, [16, 8], seed=1))
    agent = SACAgent(
        action_low=[-2.0, 0.0],
        action_high=[2.0, 1.0],
        learning_starts=learning_starts,
        seed=0,
        **kwargs,  # type: ignore[arg-type]
    )
    agent.attach_inference_models({"policy": model.inference_model})
    agent.collector = Rows()  # type: ignore[assignment]
    return agent, model


def test_the_numpy_actions_are_the_network_s_and_follow_every_sync() -> None:
    model = TorchTrainingModel(GaussianPolicy(OBS, ACT, [16, 8], seed=1))
    inference = model.inference_model
    rng = np.random.default_rng(0)
    obs = rng.standard_normal((5, OBS)).astype(np.float32)
    noise = rng.standard_normal((5, ACT)).astype(np.float32)

    def both(noise: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        with inference.unwrap() as network:
            mean, log_std = network(torch.from_numpy(obs))
            if noise is not None:
                mean = mean + log_std.exp() * torch.from_numpy(noise)
            return network.act(obs, noise), torch.tanh(mean).numpy()

    for draw in (noise, None):
        fast, reference = both(draw)
        np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-6)
    before = both(noise)[0]
    with torch.no_grad():
        model.model.net[0].weight.mul_(3.0)
    for _ in range(3):  # onto every copy in turn
        model.sync()
        fast, reference = both(noise)
        np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-6)
        assert not np.allclose(fast, before)
    # A network that is no longer float32 on the CPU goes through torch.
    model.model.double()
    model.sync()
    with inference.unwrap() as network:
        fast = network.act(obs, noise)
    mean, log_std = model.model(torch.from_numpy(obs).double())
    expected = torch.tanh(mean + log_std.exp() * torch.from_numpy(noise).double())
    np.testing.assert_allclose(fast, expected.detach().numpy(), rtol=1e-6)


def test_the_agent_acts_with_the_actor_within_the_bounds() -> None:
    agent, model = _agent()
    assert agent._numpy_policy is not None  # the NumPy path is the one tested
    twin = np.random.default_rng(0)  # the agent's generator, replayed
    for obs in np.random.default_rng(1).standard_normal((50, OBS)).astype(np.float32):
        action = agent._act(obs)
        noise = twin.standard_normal((1, ACT), np.float32)
        mean, log_std = model.model(torch.from_numpy(obs[None]))
        squashed = torch.tanh(mean + log_std.exp() * torch.from_numpy(noise))[0]
        expected = (
            np.array([0.0, 0.5]) + np.array([2.0, 0.5]) * squashed.detach().numpy()
        )
        np.testing.assert_allclose(action, expected, rtol=1e-5, atol=1e-6)
        assert -2.0 <= action[0] <= 2.0 and 0.0 <= action[1] <= 1.0
    agent.deterministic = True
    obs = np.ones(OBS, np.float32)
    mean, _ = model.model(torch.from_numpy(obs[None]))
    expected = (
        np.array([0.0, 0.5])
        + np.array([2.0, 0.5]) * torch.tanh(mean)[0].detach().numpy()
    )
    np.testing.assert_allclose(agent._act(obs), expected, rtol=1e-5, atol=1e-6)


def test_the_agent_s_torch_path_acts_as_its_numpy_path() -> None:
    fast, model = _agent()
    slow, _ = _agent()
    slow.attach_inference_models({"policy": model.inference_model})
    slow._numpy_policy = None  # as for a network not float32 on the CPU
    for obs in np.random.default_rng(2).standard_normal((20, OBS)).astype(np.float32):
        np.testing.assert_allclose(slow._act(obs), fast._act(obs), rtol=1e-5, atol=1e-6)


def test_random_actions_first_and_transitions_keep_the_actor_s_actions() -> None:
    agent, _ = _agent(learning_starts=3)
    rows = agent.collector
    obs = [np.full(OBS, float(i), np.float32) for i in range(6)]
    actions = [agent.on_reset(obs[0], {})]
    for t in range(1, 5):
        actions.append(agent.on_step(obs[t], -1.0, False, False, {}))
    agent.on_step(obs[5], -1.0, False, True, {})  # a time limit: not terminal
    batch = unpack_batch(rows.rows, ACT)  # type: ignore[attr-defined]
    assert batch.obs[:, 0].tolist() == [0, 1, 2, 3, 4]
    assert batch.next_obs[:, 0].tolist() == [1, 2, 3, 4, 5]
    assert batch.terminated.tolist() == [0, 0, 0, 0, 0]
    # Stored unscaled, in [-1, 1]; sent to the environment scaled.
    for action, stored in zip(actions, batch.action.numpy(), strict=True):
        assert np.all(np.abs(stored) <= 1.0)
        np.testing.assert_allclose(
            action, np.array([0.0, 0.5]) + np.array([2.0, 0.5]) * stored, rtol=1e-6
        )
    assert agent.episodes == 1 and agent.episode_returns[-1][1] == -5.0
    assert list(agent.episode_end_steps) == [5]


def test_a_resumed_agent_counts_on_and_draws_the_same_actions(tmp_path: Path) -> None:
    first, _ = _agent(learning_starts=2)
    reported: list[tuple[str, float, int]] = []
    obs = np.zeros(OBS, np.float32)
    first.on_reset(obs, {})
    first.on_step(obs, -3.0, True, False, {})
    first.save_state(tmp_path / "agent")
    after = [first.on_reset(obs, {}) for _ in range(4)]

    resumed, _ = _agent(learning_starts=2)
    resumed.random = np.random.default_rng(99)
    resumed.load_state(tmp_path / "agent")
    resumed.bind_metrics("agent", lambda s, n, v, step: reported.append((n, v, step)))
    again = [resumed.on_reset(obs, {}) for _ in range(4)]
    for a, b in zip(after, again, strict=True):
        np.testing.assert_array_equal(a, b)
    resumed.on_step(obs, -1.0, True, False, {})
    values = {n: (v, step) for n, v, step in reported}
    assert values["episodes"] == (2.0, 5)
    assert values["episode_return_mean20"] == (-2.0, 5)


# -- the sample -------------------------------------------------------------------


def _sample_system(states: Path) -> System:
    """The sample's system (not started), its states under ``states``, no metrics file."""
    overrides = {"states_dir": str(states), "save_final_state": False, "metrics": False}
    return run_config.load(SAMPLE, overrides=overrides, cwd=ROOT).system


def test_the_sample_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, ["validate", str(SAMPLE)])
    assert result.exit_code == 0, result.output


def test_the_sample_acts_trains_syncs_and_saves_through_the_system(
    tmp_path: Path,
) -> None:
    system = _sample_system(tmp_path)
    agent = system.interaction.agent
    trainer = system.trainers["sac"]
    assert isinstance(agent, SACAgent) and isinstance(trainer, SACTrainer)
    sub = system.events.subscribe(maxsize=100_000)
    synced: set[str] = set()
    returns: list[float] = []
    runs = 0
    start = time.monotonic()
    system.start()
    try:
        # Two Pendulum episodes (200 steps each) and trained rounds meanwhile.
        while len(returns) < 2 or runs < 3 or "policy" not in synced:
            remaining = WAIT - (time.monotonic() - start)
            if remaining <= 0:
                pytest.fail(f"{len(returns)} episodes, {runs} runs after {WAIT} s")
            event = sub.get(timeout=remaining)
            if isinstance(event, TrainingRunFinished):
                runs += 1
            elif isinstance(event, ModelSynced):
                synced.add(event.model)
            elif isinstance(event, Metric) and event.name == "episode_return":
                returns.append(event.value)
        path = system.save_state()
        trainer_dir = path / "trainers" / "sac"
        for name in (
            "optimizer.optim.pt",
            "target_critic.safetensors",
            "temperature.safetensors",
        ):
            assert (trainer_dir / name).exists(), name
        assert (path / "models" / "policy.safetensors").exists()
        system.load_state(path)
    finally:
        system.shutdown()
        assert system.wait(WAIT)
    assert not system.failures
    assert synced == {"policy"}  # the critics have no inference copy
    assert trainer.global_step > 0 and agent.steps >= 400
    assert all(-2000.0 < r <= 0.0 for r in returns)  # Pendulum's range per episode
    # Learning while acting: the replay ratio (1.0) held the agent to about one
    # step per update (it may run a round and the buffer's 100 ahead, and a
    # load counts afresh); unheld it makes thousands of steps a second.
    assert agent.steps <= trainer.global_step + 400


def test_the_target_critics_start_as_a_frozen_copy_of_the_critics() -> None:
    trainer = _ready(_trainer())
    original = copy.deepcopy(list(trainer.target_critic.parameters()))
    assert all(not p.requires_grad for p in trainer.target_critic.parameters())
    for a, b in zip(original, trainer.critic.parameters(), strict=True):
        assert torch.equal(a, b)  # starts as a copy of the critics


@pytest.mark.slow
def test_the_sample_reaches_a_mean_of_minus_200_within_five_minutes(
    tmp_path: Path,
) -> None:
    from benchmarks.learning_stats import first_reach

    system = _sample_system(tmp_path)
    agent = system.interaction.agent
    start = time.time()
    system.start()
    reach = None
    try:
        while reach is None and time.time() - start < 300:
            time.sleep(1.0)
            # Copies first (one call each): the agent's thread appends meanwhile.
            returns, ends = list(agent.episode_returns), list(agent.episode_end_steps)
            count = min(len(returns), len(ends))
            episodes = [
                (t - start, r, n)
                for (t, r), n in zip(returns[:count], ends[:count], strict=True)
            ]
            reach = first_reach(episodes, target=-200.0)
    finally:
        system.shutdown()
        assert system.wait(WAIT)
    assert not system.failures
    best = max((r for _, r in agent.episode_returns), default=None)
    assert reach is not None, (
        f"no 20-episode mean of -200 in 300 s (best return {best})"
    )
