"""Settings changed while a system runs: applied between two steps of their owner,
announced, measured, saved, and decided again at a load."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from typing_extensions import override

from algorithms.bandit import BanditAgent, BanditEnvironment, BanditTrainer, ValueTable
from engine import Interaction, LaunchConfig, System
from engine.data import SequentialBuffer
from engine.runtime.control import SystemStoppedError
from engine.runtime.settings import Settings
from engine.telemetry.events import Event, LogMessage, Metric, SettingChanged
from engine.tunables import Tunable, TunableError
from tests.engine.tiny import rewrite_manifest

WAIT = 10.0


class HeldAgent(BanditAgent):
    """A bandit agent whose steps record the epsilon they used, read at their
    start and at their end; with ``hold`` set, a step waits for ``go`` in between."""

    def __init__(self, **kwds: Any) -> None:
        super().__init__(**kwds)
        self.used: list[tuple[float, float]] = []
        self.hold = threading.Event()
        self.inside = threading.Event()
        self.go = threading.Event()

    @override
    def step(self, observation: float) -> int:
        first = self.epsilon
        if self.hold.is_set():
            self.hold.clear()
            self.inside.set()
            assert self.go.wait(WAIT)
        arm = super().step(observation)
        self.used.append((first, self.epsilon))
        return arm


class HeldTrainer(BanditTrainer):
    """A bandit trainer whose runs record the rate they used, read before and
    after a pause point; with ``hold`` set, a run waits for ``go`` in between."""

    def __init__(self, **kwds: Any) -> None:
        super().__init__(min_buffer_size=5, min_new_data_count=5, **kwds)
        self.used: list[tuple[float, float]] = []
        self.hold = threading.Event()
        self.inside = threading.Event()
        self.go = threading.Event()

    @override
    def train(self) -> None:
        first = self.learning_rate
        if self.hold.is_set():
            self.hold.clear()
            self.inside.set()
            assert self.go.wait(WAIT)
        self.pause_point()
        super().train()
        self.used.append((first, self.learning_rate))


def build(
    tmp_path: Path, epsilon: float = 0.1, rate: float = 0.5, **config: Any
) -> tuple[System, HeldAgent, HeldTrainer]:
    agent = HeldAgent(epsilon=epsilon, seed=0)
    trainer = HeldTrainer(learning_rate=rate)
    config.setdefault("states_dir", tmp_path / "states")
    config.setdefault("durable_saves", False)
    config.setdefault("console", False)
    system = System(
        Interaction(agent, BanditEnvironment([0.1, 0.9, 0.5], seed=1)),
        {"values": ValueTable(3)},
        {"pulls": SequentialBuffer(200)},
        {"values": trainer},
        LaunchConfig(**config),
    )
    return system, agent, trainer


def next_event(sub: Any, kind: type[Event], **fields: Any) -> Any:
    while (event := sub.get(timeout=WAIT)) is not None:
        if isinstance(event, kind) and all(
            getattr(event, k) == v for k, v in fields.items()
        ):
            return event
    pytest.fail(f"no {kind.__name__} {fields} within {WAIT} s")


def stop(system: System) -> None:
    system.shutdown()
    assert system.wait(WAIT)


def test_the_agent_uses_a_new_epsilon_from_its_next_step_never_mid_step(
    tmp_path: Path,
) -> None:
    system, agent, _ = build(tmp_path)
    sub = system.events.subscribe(maxsize=100_000)
    agent.hold.set()
    system.start()
    try:
        assert agent.inside.wait(WAIT)
        # Asked for while a step is under way: that step keeps the old value.
        reply = system.set_setting("agent.epsilon", "0.75")
        assert reply == {
            "name": "agent.epsilon",
            "old": 0.1,
            "new": 0.75,
            "owner": "agent",
        }
        agent.go.set()
        changed = next_event(sub, SettingChanged, name="agent.epsilon")
        metric = next_event(sub, Metric, source="settings", name="agent.epsilon")
        system.pause()
        used = list(agent.used)
    finally:
        stop(system)
    assert (changed.old, changed.new, changed.reason) == (0.1, 0.75, "set")
    assert metric.value == 0.75
    assert all(first == last for first, last in used), "changed in mid-step"
    switch = [first for first, _ in used].index(0.75)
    assert all(first == 0.1 for first, _ in used[:switch])
    assert all(first == 0.75 for first, _ in used[switch:])
    # The metric's step is the run's step count when it changed: the next step used it.
    assert switch == metric.step


def test_a_trainer_uses_a_new_rate_from_its_next_run_never_mid_run(
    tmp_path: Path,
) -> None:
    system, _, trainer = build(tmp_path)
    sub = system.events.subscribe(maxsize=100_000)
    trainer.hold.set()
    system.start()
    try:
        assert trainer.inside.wait(WAIT)
        system.set_setting("trainers.values.learning_rate", 0.125)
        trainer.go.set()
        next_event(sub, SettingChanged, name="trainers.values.learning_rate")
        # The run after the change, and one more: both use the new rate.
        next_event(sub, Metric, source="values", name="loss")
        next_event(sub, Metric, source="values", name="loss")
        system.pause()
        used = list(trainer.used)
    finally:
        stop(system)
    assert all(first == last for first, last in used), "changed in mid-run"
    rates = [first for first, _ in used]
    assert rates[0] == 0.5  # the run the request came in
    switch = rates.index(0.125)
    assert set(rates[:switch]) == {0.5}
    assert set(rates[switch:]) == {0.125}


def test_a_change_waits_while_paused_and_lists_as_pending(tmp_path: Path) -> None:
    system, agent, _ = build(tmp_path)
    sub = system.events.subscribe(maxsize=100_000)
    system.start()
    try:
        system.pause()
        system.set_setting("agent.epsilon", "1")
        listed = {s["name"]: s for s in system.settings.describe()}
        assert listed["agent.epsilon"]["value"] == 0.1
        assert listed["agent.epsilon"]["pending"] == 1.0
        assert agent.epsilon == 0.1
        system.resume()
        next_event(sub, SettingChanged, name="agent.epsilon")
        listed = {s["name"]: s for s in system.settings.describe()}
        assert listed["agent.epsilon"]["value"] == 1.0
        assert listed["agent.epsilon"]["pending"] is None
        assert listed["agent.epsilon"]["configured"] == 0.1
    finally:
        stop(system)


def test_bad_names_and_values_are_refused_in_one_line(tmp_path: Path) -> None:
    system, agent, _ = build(tmp_path)
    system.start()
    try:
        for name, value, message in [
            ("agent.epsilon", "2", "agent.epsilon takes a number in [0, 1], not 2"),
            ("agent.epsilon", "x", "agent.epsilon takes a number in [0, 1], not x"),
            (
                "trainers.values.learning_rate",
                0,
                "trainers.values.learning_rate takes a number in (0, 1], not 0",
            ),
            (
                "agent.epsilom",
                1,
                "no setting 'agent.epsilom' (did you mean agent.epsilon?)",
            ),
        ]:
            with pytest.raises(TunableError) as e:
                system.set_setting(name, value)
            assert str(e.value) == message
        assert system.settings.describe()[0]["pending"] is None
    finally:
        stop(system)
    with pytest.raises(SystemStoppedError, match="cannot set agent.epsilon"):
        system.set_setting("agent.epsilon", 0.5)
    assert agent.epsilon == 0.1


def test_a_change_asked_for_before_the_stop_is_in_the_final_state(
    tmp_path: Path,
) -> None:
    system, agent, trainer = build(tmp_path, save_final_state=True)
    system.start()
    system.pause()  # nothing steps again before the stop
    system.set_setting("trainers.values.learning_rate", 0.25)
    stop(system)
    assert trainer.learning_rate == 0.25
    saved = json.loads((system.store.own_states()[-1] / "settings.json").read_text())[
        "settings"
    ]
    assert saved["trainers.values.learning_rate"] == {
        "type": "float",
        "value": 0.25,
        "configured": 0.5,
    }


def resumed(tmp_path: Path, **kwds: Any) -> tuple[HeldAgent, HeldTrainer, list[Event]]:
    system, agent, trainer = build(tmp_path, resume=True, **kwds)
    sub = system.events.subscribe(maxsize=100_000)
    system.start()
    events = []
    try:
        system.pause()
    finally:
        stop(system)
    events = [e for e in sub.drain() if isinstance(e, SettingChanged | LogMessage)]
    return agent, trainer, events


def saved_run(tmp_path: Path, **kwds: Any) -> None:
    system, _, _ = build(tmp_path, save_final_state=True, **kwds)
    sub = system.events.subscribe(maxsize=100_000)
    system.start()
    try:
        system.set_setting("agent.epsilon", 0.75)
        next_event(sub, SettingChanged, name="agent.epsilon")
    finally:
        stop(system)


def test_a_value_set_while_running_survives_a_resume_and_is_said(
    tmp_path: Path,
) -> None:
    saved_run(tmp_path)
    agent, trainer, events = resumed(tmp_path)
    assert agent.epsilon == 0.75
    assert trainer.learning_rate == 0.5
    messages = [e.message for e in events if isinstance(e, LogMessage)]
    assert (
        "agent.epsilon: using 0.75 from the state (set while it ran; the config "
        "says 0.1)"
    ) in messages
    changed = [e for e in events if isinstance(e, SettingChanged)]
    assert [(e.name, e.old, e.new, e.reason) for e in changed] == [
        ("agent.epsilon", 0.1, 0.75, "load")
    ]


def test_an_edited_config_wins_over_the_state_and_is_said(tmp_path: Path) -> None:
    saved_run(tmp_path)
    agent, trainer, events = resumed(tmp_path, epsilon=0.3, rate=0.9)
    assert agent.epsilon == 0.3
    assert trainer.learning_rate == 0.9
    messages = [e.message for e in events if isinstance(e, LogMessage)]
    assert (
        "agent.epsilon: the config says 0.3, the state was saved with 0.75; using 0.3"
    ) in messages
    # Edited in the config only: the state's optimizer-like value does not come back.
    assert (
        "trainers.values.learning_rate: the config says 0.9, the state was saved "
        "with 0.5; using 0.9"
    ) in messages
    assert not any(isinstance(e, SettingChanged) for e in events)


def test_a_state_saved_before_settings_existed_still_loads(tmp_path: Path) -> None:
    saved_run(tmp_path)
    newest = sorted((tmp_path / "states").glob("*.state"))[-1]
    (newest / "settings.json").unlink()

    def forget(manifest: dict[str, Any]) -> None:
        del manifest["files"]["settings.json"]
        manifest["components"].remove("settings")

    rewrite_manifest(newest, forget)
    agent, _, events = resumed(tmp_path)
    assert agent.epsilon == 0.1
    assert not any(isinstance(e, SettingChanged) for e in events)


class Refusing(BanditAgent):
    @override
    def tunables(self) -> dict[str, Tunable]:
        def refuse(value: float) -> None:
            raise RuntimeError("not now")

        return {"epsilon": Tunable(float, lambda: self.epsilon, refuse, 0.0, 1.0)}


def test_a_setter_that_raises_is_a_warning_not_a_failed_run(tmp_path: Path) -> None:
    system = System(
        Interaction(Refusing(seed=0), BanditEnvironment([0.1, 0.9], seed=1)),
        {"values": ValueTable(2)},
        {"pulls": SequentialBuffer(100)},
        {"values": BanditTrainer(min_buffer_size=5, min_new_data_count=5)},
        LaunchConfig(states_dir=tmp_path / "states", console=False),
    )
    sub = system.events.subscribe(maxsize=100_000)
    system.start()
    try:
        system.set_setting("agent.epsilon", 0.5)
        warning = next_event(sub, LogMessage, level="warning")
        assert system.state.value == "active"
    finally:
        stop(system)
    assert warning.message == (
        "agent.epsilon: setting it to 0.5 failed: RuntimeError: not now"
    )
    assert not system.failures


class Parent(BanditAgent):
    """A bandit agent with a child agent (its settings are the child's too)."""

    def __init__(self) -> None:
        super().__init__(seed=0)
        self._agents = {"explorer": BanditAgent(epsilon=0.9, seed=1)}


def test_a_child_agent_s_settings_are_named_after_it_and_change_with_it() -> None:
    settings = Settings(lambda event: None, lambda: 0)
    parent = Parent()
    settings.declare_agent(parent)
    assert settings.names == ["agent.epsilon", "agent.explorer.epsilon"]
    assert settings.request("agent.explorer.epsilon", "0.5")["owner"] == "agent"
    settings.queue("agent").apply()  # what the inference thread does between steps
    assert parent.agents["explorer"].epsilon == 0.5  # type: ignore[attr-defined]
    assert parent.epsilon == 0.1
