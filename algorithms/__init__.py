"""Algorithms that learn while acting, one file each, read top to bottom.

Each module holds an algorithm's agent, its network and its trainer, written
against the ``trainers`` API; the sample configs name them by import path
(``algorithms.dqn:DQNTrainer``):

- :mod:`algorithms.dqn`: DQN on a replay buffer (CartPole).
- :mod:`algorithms.sac`: Soft Actor-Critic, continuous actions (Pendulum).
- :mod:`algorithms.reinforce`: REINFORCE through the pushbutton trainer.
- :mod:`algorithms.ppo`: PPO with V-trace lag correction, on threads or Ray actors.
- :mod:`algorithms.bandit`: a drifting multi-armed bandit, no torch.
- :mod:`algorithms.sensor_autoencoder`: an autoencoder over a sensor stream.
"""
