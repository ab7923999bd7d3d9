"""Figure 18 reference: Stable-Baselines3's SAC on Pendulum-v1 with the rl-baselines3-zoo settings.

Runs in the suite's cached SB3 virtualenv (``benchmarks/.cache/sb3-*``, made by
``benchmarks.procs.sb3_python``), never with our code. SB3 acts and trains in
turn on one thread: one environment step, then one gradient step (critics,
actor and temperature, each with its own optimizer), and so on.

The hyperparameters are rl-baselines3-zoo's ``hyperparams/sac.yml`` entry for
Pendulum-v1 (https://github.com/DLR-RM/rl-baselines3-zoo): n_timesteps 2e4,
MlpPolicy, learning_rate 1e-3, and SB3's SAC defaults for the rest (the zoo
sets nothing else): buffer_size 1e6, learning_starts 100, batch_size 256,
tau 0.005, gamma 0.99, train_freq 1, gradient_steps 1, ent_coef "auto"
(target entropy -1), net_arch [256, 256] for the actor and each critic. The
run is bounded by wall time instead of n_timesteps (nothing in SAC's settings
depends on the total: the learning rate is constant). The settings SB3 ended
up using are read back from the model and printed with the result.

    python benchmarks/sb3/pendulum_sac.py --seed 0 --seconds 300 [--extend-to 600]

``--extend-to T``: a run whose 20-episode mean has not reached -200 after
``--seconds`` goes on to T seconds (as ours does).

Prints one JSON object: every episode (wall seconds, return, environment
steps at its end), progress samples (wall seconds, environment steps,
gradient steps) about once a second, and the versions used.
"""

from __future__ import annotations

from typing import Any

import budgeted_learn

ZOO_PENDULUM_SAC: dict[str, Any] = {
    "n_timesteps": 20_000,
    "policy": "MlpPolicy",
    "learning_rate": 1e-3,
}

# Large enough never to end a run before its wall-time budget.
TOTAL_TIMESTEPS = 20_000_000

TARGET = -200.0


def main() -> None:
    args = budgeted_learn.parse_args()

    import gymnasium as gym
    import torch
    from stable_baselines3 import SAC
    from stable_baselines3.common.monitor import Monitor

    zoo = dict(ZOO_PENDULUM_SAC)
    del zoo["n_timesteps"]  # the run is bounded by wall time (above)
    env = Monitor(gym.make("Pendulum-v1"))
    model = SAC(zoo.pop("policy"), env, seed=args.seed, device="cpu", verbose=0, **zoo)
    run = budgeted_learn.learn(
        model, TOTAL_TIMESTEPS, args.seconds, args.extend_to, TARGET
    )
    budgeted_learn.emit(
        {
            "seed": args.seed,
            **run,
            "versions": budgeted_learn.versions(),
            "torch_threads": torch.get_num_threads(),
            "hyperparameters": ZOO_PENDULUM_SAC,
            # What SB3 used: the zoo's values and its own defaults for the rest.
            "effective": {
                "learning_rate": model.learning_rate,
                "buffer_size": model.buffer_size,
                "learning_starts": model.learning_starts,
                "batch_size": model.batch_size,
                "tau": model.tau,
                "gamma": model.gamma,
                "train_freq": list(model.train_freq),
                "gradient_steps": model.gradient_steps,
                "ent_coef": str(model.ent_coef),
                "target_entropy": float(model.target_entropy),
                "net_arch": model.policy.net_arch,
            },
        }
    )


if __name__ == "__main__":
    main()
