"""Unit-test agents and trainers without launching a system (PAMIQ-Core's ``pamiq_core.testing``).

:func:`connect_components` wires an agent, trainers, buffers and models the
way :func:`engine.launch` does, so a test can call ``agent.setup()`` and
``agent.step(obs)``, or ``trainer.setup()``, ``trainer.train()`` and
``trainer.sync_models()``, and look at what reached the buffers and models::

    agent, trainer = MyAgent(), MyTrainer()
    connected = connect_components(
        agent=agent,
        trainers=trainer,
        buffers={"experience": SequentialBuffer(100)},
        models={"policy": MyModel()},
    )
    agent.setup()
    agent.step(observation)
    assert len(connected.data_users["experience"].get_data()) == 1

:func:`create_mock_models` and :func:`create_mock_buffer` make test doubles
for components a test does not care about.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple
from unittest.mock import MagicMock, Mock

from .data import DataBuffer, DataCollectorsDict, DataUsersDict
from .interaction import Agent
from .model import (
    InferenceModel,
    InferenceModelsDict,
    TrainingModel,
    TrainingModelsDict,
)
from .runtime.trainer_contract import TrainerLike, TrainersDict


class ConnectedComponents(NamedTuple):
    """What :func:`connect_components` wired together.

    Attributes:
        data_users: A user per buffer (the trainers' side).
        data_collectors: The matching collectors (the agent's side).
        training_models: The models (the trainers' side).
        inference_models: Their inference models (the agent's side).
    """

    data_users: DataUsersDict
    data_collectors: DataCollectorsDict
    training_models: TrainingModelsDict
    inference_models: InferenceModelsDict


def connect_components(
    agent: Agent[Any, Any] | None = None,
    trainers: TrainerLike | Mapping[str, TrainerLike] | None = None,
    buffers: Mapping[str, DataBuffer[Any, Any]] | None = None,
    models: Mapping[str, TrainingModel[Any]] | None = None,
) -> ConnectedComponents:
    """Attach models and data to an agent and trainers as a launched system would.

    The agent gets the inference models and the data collectors; each trainer
    gets the training models and the data users.

    Args:
        agent: The agent (and its child agents) to connect.
        trainers: One trainer (registered as ``"trainer"``) or trainers by name.
        buffers: Buffers by name.
        models: Training models by name.

    Returns:
        The dictionaries the components were attached to.
    """
    data_users = DataUsersDict.from_data_buffers(buffers or {})
    training_models = TrainingModelsDict(models or {})
    if agent is not None:
        agent.attach_data_collectors(data_users.data_collectors_dict)
        agent.attach_inference_models(training_models.inference_models_dict)
    if trainers is not None:
        by_name = trainers if isinstance(trainers, Mapping) else {"trainer": trainers}
        trainers_dict = TrainersDict(by_name)
        trainers_dict.attach_data_users(data_users)
        trainers_dict.attach_training_models(training_models)
    return ConnectedComponents(
        data_users=data_users,
        data_collectors=data_users.data_collectors_dict,
        training_models=training_models,
        inference_models=training_models.inference_models_dict,
    )


def create_mock_models(
    has_inference_model: bool = True, inference_thread_only: bool = False
) -> tuple[Mock, Mock]:
    """A mock training model and a mock inference model.

    Args:
        has_inference_model: The training model's flag; when True its
            ``inference_model`` is the returned inference model.
        inference_thread_only: The training model's flag.

    Returns:
        ``(training_model, inference_model)``, specced on
        :class:`~engine.model.TrainingModel` and :class:`~engine.model.InferenceModel`.
    """
    training_model = Mock(TrainingModel)
    inference_model = Mock(InferenceModel)
    training_model.has_inference_model = has_inference_model
    training_model.inference_thread_only = inference_thread_only
    if has_inference_model:
        training_model.inference_model = inference_model
    return training_model, inference_model


def create_mock_buffer(max_queue_size: int = 1) -> MagicMock:
    """A mock data buffer (``MagicMock(spec=DataBuffer)``) with ``max_queue_size`` set.

    A :class:`~engine.data.DataUser` accepts it: its other answers (``capacity``,
    ``len()``) are mocks or zero, and are treated as unknown or empty.

    Args:
        max_queue_size: How many collected items wait between updates.
    """
    buffer = MagicMock(DataBuffer)
    buffer.max_queue_size = max_queue_size
    return buffer
