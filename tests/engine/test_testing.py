"""engine.testing: unit-testing agents and trainers without launching (PAMIQ-Core's testing)."""

from __future__ import annotations

from unittest.mock import Mock

import pytest

from engine.data import DataCollectorsDict, DataUsersDict, SequentialBuffer
from engine.model import (
    InferenceModel,
    InferenceModelsDict,
    TrainingModel,
    TrainingModelsDict,
)
from engine.testing import (
    ConnectedComponents,
    connect_components,
    create_mock_buffer,
    create_mock_models,
)
from tests.engine.tiny import CollectingAgent, NudgeTrainer, ScaleModel
from trainers import TrainersDict


def test_connected_agent_and_trainer_run_a_step_and_a_training_by_hand() -> None:
    agent, trainer, model = CollectingAgent(), NudgeTrainer(min_new=3), ScaleModel()
    connected = connect_components(
        agent=agent,
        trainers=trainer,
        buffers={"obs": SequentialBuffer[int](10)},
        models={"scale": model},
    )
    assert isinstance(connected, ConnectedComponents)

    agent.setup()
    assert [agent.step(i) for i in (1, 2, 3)] == [0.0, 0.0, 0.0]
    agent.teardown()
    assert connected.data_users["obs"].collected_total == 3

    assert trainer.run()  # setup, train, sync_models, teardown
    assert trainer.seen == 3
    assert model.weight == 1.0
    assert agent.step(4) == 4.0  # the agent's inference model got the synced weight
    assert not trainer.run()  # no new data yet


def test_one_trainer_or_trainers_by_name_are_connected() -> None:
    single = NudgeTrainer()
    connected = connect_components(
        trainers=single,
        buffers={"obs": SequentialBuffer[int](5)},
        models={"scale": ScaleModel()},
    )
    assert single.get_data_user("obs") is connected.data_users["obs"]

    first, second = NudgeTrainer(), NudgeTrainer()
    connected = connect_components(
        trainers={"first": first, "second": second},
        buffers={"obs": SequentialBuffer[int](5)},
        models={"scale": ScaleModel()},
    )
    for trainer in (first, second):
        assert trainer.get_data_user("obs") is connected.data_users["obs"]
        assert trainer.get_training_model("scale") is connected.training_models["scale"]


def test_connect_components_with_nothing_returns_empty_dicts() -> None:
    connected = connect_components()
    assert isinstance(connected.data_users, DataUsersDict)
    assert isinstance(connected.data_collectors, DataCollectorsDict)
    assert isinstance(connected.training_models, TrainingModelsDict)
    assert isinstance(connected.inference_models, InferenceModelsDict)
    assert all(len(d) == 0 for d in connected)


def test_a_trainer_naming_a_missing_buffer_is_refused_as_in_a_launch() -> None:
    with pytest.raises(KeyError, match="'obs' is not a buffer"):
        connect_components(trainers=NudgeTrainer(), buffers={})


@pytest.mark.parametrize(
    "has_inference_model, inference_thread_only",
    [(True, False), (True, True), (False, False)],
)
def test_mock_models_carry_the_flags_and_wire_like_real_ones(
    has_inference_model: bool, inference_thread_only: bool
) -> None:
    training, inference = create_mock_models(has_inference_model, inference_thread_only)
    assert isinstance(training, Mock) and isinstance(training, TrainingModel)
    assert isinstance(inference, Mock) and isinstance(inference, InferenceModel)
    assert training.has_inference_model is has_inference_model
    assert training.inference_thread_only is inference_thread_only

    connected = connect_components(models={"m": training})
    if has_inference_model:
        assert training.inference_model is inference
        assert connected.inference_models["m"] is inference
    else:
        assert "m" not in connected.inference_models


def test_an_agent_collects_into_a_mock_buffer() -> None:
    agent, model = CollectingAgent(), ScaleModel()
    buffer = create_mock_buffer(max_queue_size=100)
    assert buffer.max_queue_size == 100
    connected = connect_components(
        agent=agent, buffers={"obs": buffer}, models={"scale": model}
    )
    agent.setup()
    agent.step(7)
    connected.data_users["obs"].update()
    buffer.add.assert_called_once_with(7)


def test_trainers_dict_is_importable_from_trainers_as_from_pamiq_core_trainer() -> None:
    from engine.runtime.trainer_contract import TrainersDict as EngineTrainersDict

    assert TrainersDict is EngineTrainersDict
