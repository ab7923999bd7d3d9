"""Online representation learning: an autoencoder on a synthetic sensor stream.

A :class:`SensorStream` emits readings of a few hidden sources mixed into many
noisy channels, at a fixed interval. The :class:`EncodingAgent` encodes each
reading with the inference copy (its action is the code) and collects it; the
:class:`AutoencoderTrainer` learns to reconstruct readings from the replay of
recent ones, so the reconstruction loss falls while the stream goes on.

Components (TOML targets): ``algorithms.sensor_autoencoder:AutoEncoder`` (wrapped
by ``engine.torch:TorchTrainingModel`` with ``inference_procedure = "encode"``),
``algorithms.sensor_autoencoder:SensorStream``,
``algorithms.sensor_autoencoder:EncodingAgent``, an ``engine.data`` buffer, and
``algorithms.sensor_autoencoder:AutoencoderTrainer``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from typing_extensions import override

from engine import Agent, Environment
from engine.data import DataCollector
from engine.model import InferenceModel
from trainers.config import TrainingConfiguration
from trainers.config_driven import ConfigDrivenTrainer


class AutoEncoder(nn.Module):
    """An MLP encoder and decoder.

    Args:
        input_dim: Channels per reading.
        latent_dim: Size of the code.
        hidden_dim: Width of the hidden layers.
    """

    def __init__(
        self, input_dim: int = 16, latent_dim: int = 3, hidden_dim: int = 64
    ) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(input_dim, hidden_dim),
            nn.Tanh(),
            nn.Linear(hidden_dim, latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim),
            nn.Tanh(),
            nn.Linear(hidden_dim, input_dim),
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Return the code of ``x``."""
        return self.encoder(x)

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the reconstruction of ``x``."""
        return self.decoder(self.encoder(x))


class SensorStream(Environment[np.ndarray, np.ndarray]):
    """Readings of ``sources`` hidden oscillators mixed into ``channels`` noisy channels.

    Args:
        channels: Channels per reading.
        sources: Hidden sources (the true dimension of the data).
        noise: Standard deviation of the per-channel noise.
        seed: Seed of the mixing matrix, frequencies and noise.
    """

    def __init__(
        self, channels: int = 16, sources: int = 3, noise: float = 0.05, seed: int = 0
    ) -> None:
        super().__init__()
        rng = np.random.default_rng(seed)
        self._mixing = rng.normal(size=(sources, channels)).astype(
            np.float32
        ) / math.sqrt(sources)
        self._frequencies = rng.uniform(0.01, 0.1, size=sources)
        self._noise = noise
        self._rng = rng
        self.t = 0

    @override
    def observe(self) -> np.ndarray:
        phases = self._frequencies * self.t * 2 * math.pi
        hidden = np.sin(phases + np.arange(len(phases))).astype(np.float32)
        # numpy types ``@`` as ndarray[Any, Any], whose Any shape would pick
        # normal()'s scalar overload.
        reading: np.ndarray = hidden @ self._mixing
        reading += self._rng.normal(0.0, self._noise, reading.shape).astype(np.float32)
        self.t += 1
        return reading

    @override
    def affect(self, action: np.ndarray) -> None:
        """Readings do not depend on the code (a passive sensor)."""

    @override
    def save_state(self, path: Path) -> None:
        """Save the time index (JSON)."""
        path.with_suffix(".json").write_text(json.dumps({"t": self.t}))

    @override
    def load_state(self, path: Path) -> None:
        """Load what :meth:`save_state` wrote."""
        self.t = int(json.loads(path.with_suffix(".json").read_text())["t"])


class EncodingAgent(Agent[np.ndarray, np.ndarray]):
    """Encodes each reading with the current encoder and collects the reading.

    Args:
        model: Name of the autoencoder's inference model (procedure ``encode``).
        collector: Name of the buffer that receives readings.
    """

    def __init__(self, model: str = "autoencoder", collector: str = "readings") -> None:
        super().__init__()
        self.model_name = model
        self.collector_name = collector
        self.last_code: np.ndarray | None = None

    @override
    def on_inference_models_attached(self) -> None:
        super().on_inference_models_attached()
        self.encoder: InferenceModel = self.get_inference_model(self.model_name)

    @override
    def on_data_collectors_attached(self) -> None:
        super().on_data_collectors_attached()
        self.collector: DataCollector[np.ndarray] = self.get_data_collector(
            self.collector_name
        )

    @override
    def step(self, observation: np.ndarray) -> np.ndarray:
        self.collector.collect(observation)
        code = self.encoder(torch.from_numpy(observation)[None])
        self.last_code = code[0].numpy()
        return self.last_code


class AutoencoderTrainer(ConfigDrivenTrainer[torch.Tensor]):
    """Minimizes reconstruction error (MSE) on readings sampled from the buffer.

    Each run takes ``config.max_steps_per_run`` optimizer steps (required).

    Args:
        config: Optimizer, batch size and steps per run (a table in TOML).
        model: Name of the autoencoder training model.
        data_user: Name of the readings buffer.
        min_buffer_size: Readings the buffer must hold before training.
        min_new_data_count: New readings needed between runs.
    """

    endless_batches = True

    def __init__(
        self,
        config: TrainingConfiguration | Mapping[str, Any],
        model: str = "autoencoder",
        data_user: str = "readings",
        min_buffer_size: int = 64,
        min_new_data_count: int = 16,
    ) -> None:
        super().__init__(config, model, data_user, min_buffer_size, min_new_data_count)
        self.model_name = model
        self.data_user_name = data_user

    @override
    def batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        readings = torch.from_numpy(
            np.stack(self.get_data_user(self.data_user_name).get_data())
        )
        while True:
            picks = torch.randint(
                len(readings), (batch_size,), generator=self.generator
            )
            yield readings[picks]

    @override
    def step(self, batch: torch.Tensor) -> tuple[torch.Tensor, Mapping[str, float]]:
        autoencoder = self.models[self.model_name].model
        return F.mse_loss(autoencoder(batch), batch), {}
