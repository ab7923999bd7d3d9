"""Inference/training model base classes and their containers."""

from __future__ import annotations

import pytest

from engine.model import TrainingModelsDict
from tests.engine.tiny import ScaleInference, ScaleModel


def test_the_unusable_flag_combination_is_refused() -> None:
    with pytest.raises(ValueError, match="no thread can use"):
        ScaleModel(has_inference_model=False, inference_thread_only=True)


def test_inference_model_is_created_once_and_called_via_infer() -> None:
    model = ScaleModel(weight=2.0)
    inference = model.inference_model
    assert inference is model.inference_model
    assert isinstance(inference, ScaleInference)
    assert inference(3.0) == 6.0
    assert model(3.0) == 6.0


def test_sync_publishes_weights_bumps_the_version_and_notifies() -> None:
    model = ScaleModel(weight=1.0)
    calls = []
    model.add_sync_listener(
        lambda m, duration: calls.append((m.sync_version, duration))
    )
    model.weight = 5.0
    model.sync()
    assert model.inference_model.weight == 5.0
    assert model.sync_version == 1
    assert calls[0][0] == 1 and calls[0][1] >= 0
    assert model.last_sync_time is not None and model.last_sync_duration is not None


def test_models_without_sync_do_not_sync() -> None:
    frozen = ScaleModel(weight=1.0, inference_thread_only=True)
    assert frozen.inference_model.weight == 1.0
    frozen.weight = 9.0
    frozen.sync()
    assert frozen.inference_model.weight == 1.0 and frozen.sync_version == 0
    training_only = ScaleModel(has_inference_model=False)
    training_only.sync()
    with pytest.raises(RuntimeError, match="has_inference_model=False"):
        _ = training_only.inference_model


def test_models_dict_hides_inference_only_models_from_trainers() -> None:
    models = TrainingModelsDict(
        {
            "a": ScaleModel(),
            "frozen": ScaleModel(inference_thread_only=True),
            "train_only": ScaleModel(has_inference_model=False),
        }
    )
    assert set(models.inference_models_dict) == {"a", "frozen"}
    with pytest.raises(KeyError, match="inference thread only"):
        models["frozen"]
    assert models["train_only"] is not None


def test_a_restored_sync_version_is_counted_on_from() -> None:
    model = ScaleModel(weight=1.0)
    model.restore_sync_version(7)
    assert model.sync_version == 7
    model.sync()
    assert model.sync_version == 8


@pytest.mark.parametrize("version", [-1, 1.5, True, "3", None])
def test_an_impossible_sync_version_is_refused_and_changes_nothing(
    version: object,
) -> None:
    model = ScaleModel(weight=1.0)
    model.restore_sync_version(2)
    with pytest.raises(ValueError, match="impossible sync version"):
        model.restore_sync_version(version)  # type: ignore[arg-type]
    assert model.sync_version == 2
