"""Figure 11 reference: Stable-Baselines3's DQN on CartPole-v1 with the rl-baselines3-zoo settings.

Runs in the suite's cached SB3 virtualenv (``benchmarks/.cache/sb3-*``, made by
``benchmarks.procs.sb3_python``), never with our code. SB3 acts and trains in
turn on one thread: it collects ``train_freq`` steps, then takes
``gradient_steps`` optimizer steps, and so on.

The hyperparameters are rl-baselines3-zoo's ``hyperparams/dqn.yml`` entry for
CartPole-v1 (https://github.com/DLR-RM/rl-baselines3-zoo, "Almost Tuned"):
n_timesteps 5e4, MlpPolicy with net_arch [256, 256], learning_rate 2.3e-3,
batch_size 64, buffer_size 100000, learning_starts 1000, gamma 0.99,
target_update_interval 10, train_freq 256, gradient_steps 128,
exploration_fraction 0.16, exploration_final_eps 0.04. The run is bounded by
wall time instead of n_timesteps; so that exploration decays over the same
0.16 x 5e4 = 8,000 steps as in the zoo, exploration_fraction is rescaled to the
larger total_timesteps passed to ``learn`` (everything else is per step or
constant and unaffected).

    python benchmarks/sb3/cartpole_dqn.py --seed 0 --seconds 300 [--extend-to 600]

``--extend-to T``: a run whose 20-episode mean has not reached 475 after
``--seconds`` goes on to T seconds (as ours does).

Prints one JSON object: every episode (wall seconds, return, environment
steps at its end), progress samples (wall seconds, environment steps,
gradient steps) about once a second, and the versions used.
"""

from __future__ import annotations

from typing import Any

import budgeted_learn

ZOO_CARTPOLE_DQN: dict[str, Any] = {
    "n_timesteps": 50_000,
    "policy": "MlpPolicy",
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_final_eps": 0.04,
    "policy_kwargs": {"net_arch": [256, 256]},
}

# Large enough never to end a run before its wall-time budget.
TOTAL_TIMESTEPS = 20_000_000


TARGET = 475.0


def main() -> None:
    args = budgeted_learn.parse_args()

    import gymnasium as gym
    import torch
    from stable_baselines3 import DQN
    from stable_baselines3.common.monitor import Monitor

    zoo = dict(ZOO_CARTPOLE_DQN)
    exploration_steps = zoo.pop("exploration_fraction") * zoo.pop("n_timesteps")
    env = Monitor(gym.make("CartPole-v1"))
    model = DQN(
        zoo.pop("policy"),
        env,
        exploration_fraction=exploration_steps / TOTAL_TIMESTEPS,
        seed=args.seed,
        device="cpu",
        verbose=0,
        **zoo,
    )
    run = budgeted_learn.learn(
        model, TOTAL_TIMESTEPS, args.seconds, args.extend_to, TARGET
    )
    budgeted_learn.emit(
        {
            "seed": args.seed,
            **run,
            "versions": budgeted_learn.versions(),
            "torch_threads": torch.get_num_threads(),
            "hyperparameters": ZOO_CARTPOLE_DQN,
            "exploration_steps": exploration_steps,
        }
    )


if __name__ == "__main__":
    main()
