"""Loading in two steps: read ahead while the system runs, install while it is held."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from typing_extensions import override

from engine import StateError, SystemState
from engine.data import DictSequentialBuffer, SequentialBuffer
from engine.state import serialization
from engine.state.persistence import (
    Commit,
    PersistentStateMixin,
    prepare_component_load,
)
from engine.telemetry.events import StateLoaded
from tests.engine.tiny import make_system, tamper

WAIT = 10.0


class WatchedBuffer(SequentialBuffer[Any]):
    """Records the system's state when a load is read and when it is installed."""

    system: Any = None

    def __init__(self, max_size: int) -> None:
        super().__init__(max_size)
        self.seen: list[tuple[str, SystemState]] = []

    @override
    def prepare_load(self, path: Path) -> Commit:
        self.seen.append(("read", self.system.state))
        commit = super().prepare_load(path)

        def watched() -> None:
            self.seen.append(("installed", self.system.state))
            commit()

        return watched


class BrokenCommitBuffer(SequentialBuffer[Any]):
    """Breaks the contract: its commit raises."""

    @override
    def prepare_load(self, path: Path) -> Commit:
        super().prepare_load(path)

        def commit() -> None:
            raise OSError("commit broke its promise")

        return commit


class LoadOnlyBuffer(SequentialBuffer[Any]):
    """Extends load_state alone: its inherited prepare_load would skip the extension."""

    def __init__(self, max_size: int) -> None:
        super().__init__(max_size)
        self.extra_loaded = False

    @override
    def load_state(self, path: Path) -> None:
        super().load_state(path)
        self.extra_loaded = True


def test_read_ahead_runs_while_the_system_runs_and_installs_while_held(
    tmp_path: Path,
) -> None:
    buffer = WatchedBuffer(1000)
    system, agent, *_ = make_system(tmp_path, buffer=buffer)
    buffer.system = system
    events = system.events.subscribe()
    system.start()
    try:
        assert agent.stepped.wait(WAIT)
        path = system.save_state()
        system.load_state(path)
        assert buffer.seen == [
            ("read", SystemState.ACTIVE),
            ("installed", SystemState.PAUSED),
        ]
        assert any(isinstance(e, StateLoaded) for e in events.drain())
        assert system.state is SystemState.ACTIVE
    finally:
        system.shutdown()
        assert system.wait(WAIT)


def test_a_state_that_cannot_be_read_changes_nothing(tmp_path: Path) -> None:
    system, _, env, model, trainer = make_system(tmp_path)
    system.start()
    try:
        assert trainer.ran.wait(WAIT)  # type: ignore[attr-defined]
        path = system.save_state()
        broken = tmp_path / "broken.state"
        shutil.copytree(path, broken)
        not_a_list = tmp_path / "not-a-list"
        serialization.dump({"a": 1}, not_a_list)
        tamper(
            broken,
            {
                "data/obs/buffer.json": not_a_list.with_suffix(".json").read_bytes(),
                "data/obs/buffer.bin": not_a_list.with_suffix(".bin").read_bytes(),
            },
        )
        system.pause()
        obs = system.data_users["obs"]
        before = (model.weight, env.count, system.steps, obs.get_data())
        with pytest.raises(StateError, match=r"component 'data/obs' failed.*list"):
            system.load_state(broken)
        assert (model.weight, env.count, system.steps, obs.get_data()) == before
        system.resume()
    finally:
        system.shutdown()
        assert system.wait(WAIT)


def test_a_failing_commit_restores_the_parts_loaded_the_plain_way(
    tmp_path: Path,
) -> None:
    system, _, env, model, trainer = make_system(
        tmp_path, buffer=BrokenCommitBuffer(1000)
    )
    system.start()
    try:
        assert trainer.ran.wait(WAIT)  # type: ignore[attr-defined]
        path = system.save_state()
        trainer.ran.clear()  # type: ignore[attr-defined]
        assert trainer.ran.wait(WAIT)  # type: ignore[attr-defined]
        system.pause()
        # The live values moved on, so restoring them is observable.
        assert model.weight != float((path / "models" / "scale.txt").read_text())
        before = (model.weight, env.count, system.steps)
        with pytest.raises(
            StateError, match="commit broke its promise.*left as it was"
        ):
            system.load_state(path)
        assert (model.weight, env.count, system.steps) == before
        system.resume()
    finally:
        system.shutdown()
        assert system.wait(WAIT)


def test_a_subclass_extending_load_state_alone_is_loaded_the_plain_way(
    tmp_path: Path,
) -> None:
    source = SequentialBuffer[int](10)
    for i in range(3):
        source.add(i)
    source.save_state(tmp_path / "b")
    plain = LoadOnlyBuffer(10)
    assert prepare_component_load(plain, tmp_path / "b") is None

    system, *_ = make_system(tmp_path, buffer=plain)
    system.load_state(system.store.save())
    assert plain.extra_loaded


def test_which_components_load_in_two_steps(tmp_path: Path) -> None:
    stateless = PersistentStateMixin()
    assert prepare_component_load(stateless, tmp_path / "x") is None

    keyed = DictSequentialBuffer[int](["a"], 5)
    keyed.add({"a": 1})
    keyed.save_state(tmp_path / "k")
    target = DictSequentialBuffer[int](["a"], 5)
    commit = prepare_component_load(target, tmp_path / "k")
    assert commit is not None
    assert target.get_data() == {"a": []}  # reading changed nothing
    commit()
    assert target.get_data() == {"a": [1]}


def test_the_agent_acts_on_a_loaded_models_weights_at_once(tmp_path: Path) -> None:
    # ScaleModel is not a torch model: it loads the plain way and is synced,
    # as PAMIQ-Core's TrainingModelsDict.load_state syncs every model.
    system, agent, env, model, trainer = make_system(tmp_path)
    system.start()
    try:
        assert trainer.ran.wait(WAIT)  # type: ignore[attr-defined]
        system.pause()
        path = system.save_state()
        saved = model.weight
        model.weight = saved + 100.0
        model.sync()
        assert agent.model.weight == saved + 100.0
        system.load_state(path)
        assert model.weight == saved
        assert agent.model.weight == saved
        system.resume()
    finally:
        system.shutdown()
        assert system.wait(WAIT)


def test_a_refused_load_publishes_nothing_it_read(tmp_path: Path) -> None:
    system, agent, env, model, trainer = make_system(tmp_path)
    system.start()
    try:
        assert trainer.ran.wait(WAIT)  # type: ignore[attr-defined]
        system.pause()
        path = system.save_state()
        # The trainers load after the models: their failure rolls the model back.
        tamper(path, {"trainers/nudge/previous_training_time": b"not a number"})
        model.weight += 100.0
        model.sync()
        with pytest.raises(StateError, match="nudge"):
            system.load_state(path)
        assert model.weight == agent.model.weight
        system.resume()
    finally:
        system.shutdown()
        assert system.wait(WAIT)


def test_a_models_dict_loaded_as_a_whole_syncs_each_model(tmp_path: Path) -> None:
    from engine.model import TrainingModelsDict
    from tests.engine.tiny import ScaleModel

    model = ScaleModel(weight=2.0)
    models = TrainingModelsDict({"scale": model})
    inference = models.inference_models_dict["scale"]
    models.save_state(tmp_path / "models")
    model.weight = 5.0
    model.sync()
    models.load_state(tmp_path / "models")
    assert model.weight == 2.0
    assert inference.weight == 2.0  # type: ignore[attr-defined]
