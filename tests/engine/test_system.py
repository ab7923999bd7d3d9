"""Integration tests: a real system with real threads, synchronised by events."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine import StateError, SystemFailedError, SystemState, launch
from engine.runtime.control import PauseTimeoutError
from engine.state.catalogue import list_states
from engine.telemetry.events import (
    LogMessage,
    ModelSynced,
    StateLoaded,
    StateSaved,
    TrainingRunFinished,
)
from tests.engine.tiny import (
    FailingTrainer,
    LongTrainer,
    NudgeTrainer,
    advance_clock,
    make_system,
    newest_state,
    tamper,
)

WAIT = 10.0


def wait_for_event(sub, kind: type, timeout: float = WAIT):
    """Return the first event of type ``kind`` from the subscription, or fail."""
    import time

    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        event = sub.get(timeout=remaining)
        if isinstance(event, kind):
            return event
    pytest.fail(f"no {kind.__name__} event within {timeout} s")


def stop(system) -> None:
    system.shutdown()
    assert system.wait(WAIT), "system did not stop"


def test_agent_acts_and_trainer_trains_concurrently(tmp_path: Path) -> None:
    system, agent, env, model, trainer = make_system(tmp_path)
    sub = system.events.subscribe()
    system.start()
    try:
        run = wait_for_event(sub, TrainingRunFinished)
        sync = wait_for_event(sub, ModelSynced)
        assert run.trainer == "nudge"
        assert sync.model == "scale" and sync.version >= 1
        assert model.weight >= 1.0
        status = system.status()
        assert status.state == "active"
        assert status.trainers["nudge"].runs >= 1
        assert status.models["scale"].version >= 1
        assert status.buffers["obs"].collected >= 10
        assert status.buffers["obs"].capacity == 1000
    finally:
        stop(system)
    assert system.state is SystemState.STOPPED


def test_pause_stops_every_thread_and_the_clock_until_resume(tmp_path: Path) -> None:
    system, agent, env, *_ = make_system(tmp_path)
    system.start()
    try:
        assert agent.stepped.wait(WAIT)
        system.pause()
        assert system.state is SystemState.PAUSED
        assert agent.paused.is_set()
        assert system.clock.is_paused()
        steps = system.steps
        agent.stepped.clear()
        assert not agent.stepped.wait(0.2), "the agent stepped while paused"
        assert system.steps == steps
        system.resume()
        assert system.state is SystemState.ACTIVE
        assert agent.resumed.is_set()
        assert agent.stepped.wait(WAIT)
    finally:
        stop(system)


def test_pause_reaches_a_trainer_inside_a_long_train(tmp_path: Path) -> None:
    trainer = LongTrainer()
    system, *_ = make_system(
        tmp_path, trainer=trainer, timeout_for_all_threads_pause=5.0
    )
    system.start()
    try:
        assert trainer.inside.wait(WAIT)
        system.pause(timeout=5.0)
        chunks = trainer.chunks
        assert system.state is SystemState.PAUSED
        system.resume()
        trainer.finish.set()
        assert trainer.chunks >= chunks
    finally:
        stop(system)


def test_shutdown_unwinds_a_long_train_promptly(tmp_path: Path) -> None:
    trainer = LongTrainer()
    system, *_ = make_system(tmp_path, trainer=trainer)
    system.start()
    assert trainer.inside.wait(WAIT)
    system.shutdown()
    assert system.wait(WAIT)
    assert trainer.unwound.is_set()
    assert not trainer.finish.is_set()


def test_pause_timeout_names_the_thread_that_did_not_pause(tmp_path: Path) -> None:
    class Stubborn(LongTrainer):
        def train(self) -> None:
            self.inside.set()
            self.finish.wait(WAIT)  # never calls pause_point()

    trainer = Stubborn()
    system, *_ = make_system(tmp_path, trainer=trainer)
    system.start()
    try:
        assert trainer.inside.wait(WAIT)
        with pytest.raises(PauseTimeoutError, match="training thread"):
            system.pause(timeout=0.1)
        system.resume()
        assert system.state is SystemState.ACTIVE
    finally:
        trainer.finish.set()
        stop(system)


def test_save_load_round_trip_while_running(tmp_path: Path) -> None:
    system, agent, env, model, trainer = make_system(tmp_path)
    sub = system.events.subscribe()
    system.start()
    try:
        wait_for_event(sub, TrainingRunFinished)
        path = system.save_state()
        saved = wait_for_event(sub, StateSaved)
        assert saved.path == str(path)
        manifest = json.loads((path / "manifest.json").read_text())
        weight_at_save = float((path / "models" / "scale.txt").read_text())
        assert manifest["steps"] > 0
        assert set(manifest["components"]) >= {
            "interaction",
            "models",
            "data",
            "trainers",
        }
        env_count_at_save = int((path / "interaction" / "environment.txt").read_text())
        # Let the model move on, then go back while running.
        trainer.ran.clear()
        assert trainer.ran.wait(WAIT)
        system.load_state(path)
        wait_for_event(sub, StateLoaded)
        assert system.state is SystemState.ACTIVE
        # Loaded while paused, nothing moves afterwards: the values are exact.
        system.pause()
        system.load_state(path)
        assert system.state is SystemState.PAUSED
        assert model.weight == weight_at_save
        assert env.count == env_count_at_save
        assert system.steps == manifest["steps"]
        system.resume()
    finally:
        stop(system)


def test_failed_load_leaves_the_running_system_untouched(tmp_path: Path) -> None:
    system, agent, env, model, trainer = make_system(tmp_path)
    system.start()
    try:
        assert trainer.ran.wait(WAIT)
        path = system.save_state()
        # A state that verifies but cannot be applied: the model file holds junk
        # and the manifest is rewritten to match it.
        broken = tmp_path / "broken.state"
        shutil.copytree(path, broken)
        tamper(broken, {"models/scale.txt": b"not a number"})
        system.pause()  # keep it still so the comparison below is exact
        obs = system.data_users["obs"]
        before = (model.weight, env.count, system.steps, obs.get_data())
        with pytest.raises(StateError, match="left as it was"):
            system.load_state(broken)
        # Read-ahead parts (the buffer) are not installed either.
        assert (model.weight, env.count, system.steps, obs.get_data()) == before
        assert system.state is SystemState.PAUSED
        system.resume()
    finally:
        stop(system)


def test_corrupt_state_is_refused_with_the_file_named(tmp_path: Path) -> None:
    system, *_ = make_system(tmp_path)
    path = system.store.save()
    target = path / "models" / "scale.txt"
    target.write_text("1234.5")
    sub = system.events.subscribe()
    with pytest.raises(StateError, match=r"scale\.txt"):
        system.load_state(path)
    # Every watcher (dashboard, headless log) learns of it, whoever asked.
    logs = [e.message for e in sub.drain() if isinstance(e, LogMessage)]
    assert any(m.startswith("load refused: ") and "scale.txt" in m for m in logs)


def test_trainer_crash_stops_in_order_with_final_save(tmp_path: Path) -> None:
    system, *_ = make_system(tmp_path, trainer=FailingTrainer())
    with pytest.raises(SystemFailedError, match="boom in train"):
        system.run()
    assert system.state is SystemState.STOPPED
    assert any("boom in train" in f for f in system.failures)
    assert newest_state(tmp_path / "states") is not None


def test_max_uptime_stops_the_system_and_saves(tmp_path: Path) -> None:
    system, *_ = make_system(tmp_path, max_uptime=0.2)
    system.start()
    assert system.wait(WAIT)
    assert len(list_states(tmp_path / "states")) == 1


def test_time_scale_speeds_up_engine_time(tmp_path: Path) -> None:
    system, *_ = make_system(tmp_path, max_uptime=2.0, time_scale=20.0)
    system.start()
    assert system.wait(WAIT)
    assert system.clock.get_time_scale() == 20.0


def test_resume_loads_the_newest_state(tmp_path: Path) -> None:
    first, _, env, model, trainer = make_system(tmp_path)
    first.start()
    assert trainer.ran.wait(WAIT)
    stop(first)
    final = newest_state(tmp_path / "states")
    assert final is not None
    saved_steps = json.loads((final / "manifest.json").read_text())["steps"]
    saved_weight = float((final / "models" / "scale.txt").read_text())

    second, _, env2, model2, _ = make_system(
        tmp_path, resume=True, save_final_state=False
    )
    second.start()
    try:
        second.pause()
        assert second.steps >= saved_steps
        assert model2.weight >= saved_weight
        assert env2.count >= saved_steps
        second.resume()
    finally:
        stop(second)


def test_periodic_saves_and_retention(tmp_path: Path) -> None:
    system, *_ = make_system(
        tmp_path, save_state_interval=0.05, max_keep_states=2, save_final_state=False
    )
    sub = system.events.subscribe()
    system.start()
    try:
        for _ in range(4):
            wait_for_event(sub, StateSaved)
    finally:
        stop(system)
    assert len(list_states(tmp_path / "states")) == 2


def test_launch_is_blocking_and_returns_after_max_uptime(tmp_path: Path) -> None:
    _, agent, env, model, trainer = make_system(tmp_path)
    from engine import Interaction
    from engine.data import SequentialBuffer

    launch(
        interaction=Interaction(agent, env),
        models={"scale": model},
        buffers={"obs": SequentialBuffer(100)},
        trainers={"nudge": NudgeTrainer()},
        config={"states_dir": tmp_path / "launched", "max_uptime": 0.3},
    )
    assert newest_state(tmp_path / "launched") is not None


def test_status_is_cheap_to_poll(tmp_path: Path) -> None:
    import time

    system, *_ = make_system(tmp_path)
    system.start()
    try:
        start = time.perf_counter()
        for _ in range(200):
            status = system.status()
        per_call = (time.perf_counter() - start) / 200
        assert status.to_dict()["buffers"]["obs"]["capacity"] == 1000
        assert per_call < 0.01  # a 10 Hz poll must cost well under 10 % of a core
    finally:
        stop(system)


def test_save_while_stopped_is_refused_clearly(tmp_path: Path) -> None:
    system, *_ = make_system(tmp_path, save_final_state=False)
    system.start()
    stop(system)
    from engine import SystemStoppedError

    with pytest.raises(SystemStoppedError, match="stopped"):
        system.save_state()


def test_nudge_trainer_trains_again_only_on_new_data(tmp_path: Path) -> None:
    trainer = NudgeTrainer(min_new=10**9)
    system, *_ = make_system(tmp_path, trainer=trainer)
    system.start()
    try:
        status = system.status()
        report = status.trainers["nudge"].condition
        assert not report.trainable
        assert "new items" in report.reason
        assert status.trainers["nudge"].runs == 0
    finally:
        stop(system)


def test_a_trainer_failing_while_a_save_waits_for_it_stops_the_save_at_once(
    tmp_path: Path,
) -> None:
    from engine import SystemStoppedError
    from trainers import Trainer

    class FailsWhenPausing(Trainer):
        def train(self) -> None:
            assert system.controller.wait_for_state(
                lambda s: s is SystemState.PAUSING, WAIT
            )
            raise RuntimeError("failed during a pause")

    system, *_ = make_system(
        tmp_path, trainer=FailsWhenPausing(), save_final_state=False
    )
    system.start()
    with pytest.raises(SystemStoppedError):
        system.save_state()
    assert system.wait(WAIT)
    assert any("failed during a pause" in f for f in system.failures)


def test_a_save_neither_drops_nor_lets_go_of_the_operators_pause(
    tmp_path: Path,
) -> None:
    import threading

    system, agent, env, *_ = make_system(tmp_path, save_final_state=False)
    saving, release = threading.Event(), threading.Event()
    original = env.save_state

    def slow_save(path: Path) -> None:
        saving.set()
        assert release.wait(WAIT)
        original(path)

    env.save_state = slow_save  # type: ignore[method-assign]
    system.start()
    try:
        assert agent.stepped.wait(WAIT)
        saver = threading.Thread(target=system.save_state)
        saver.start()
        assert saving.wait(WAIT)
        system.pause()
        system.resume()  # the operator changes their mind while the save runs
        agent.stepped.clear()
        assert not agent.stepped.wait(0.1), "the agent ran while components were saved"
        release.set()
        saver.join(WAIT)
        assert agent.stepped.wait(WAIT)
        system.pause()
        system.save_state()
        assert system.state is SystemState.PAUSED, "a save resumed a paused system"
        system.resume()
    finally:
        release.set()
        stop(system)


def test_a_states_dir_that_cannot_be_made_refuses_the_start(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    system, *_ = make_system(tmp_path, states_dir=blocker, save_final_state=False)
    with pytest.raises(StateError, match="not-a-dir: not a directory"):
        system.start()


def test_an_unwritable_states_dir_fails_the_save_and_keeps_running(
    tmp_path: Path,
) -> None:
    states = tmp_path / "states"
    system, agent, *_ = make_system(tmp_path, states_dir=states, save_final_state=False)
    system.start()
    try:
        # The directory goes away under the running system.
        shutil.rmtree(states)
        states.write_text("")
        with pytest.raises(StateError, match="cannot create a state here"):
            system.save_state()
        assert system.state is SystemState.ACTIVE
        agent.stepped.clear()
        assert agent.stepped.wait(WAIT)
    finally:
        stop(system)


def test_callbacks_and_teardown_may_sleep(tmp_path: Path) -> None:
    from engine import time as engine_time

    system, agent, env, *_ = make_system(tmp_path, save_final_state=False)
    env.on_paused = lambda: engine_time.sleep(0.01)  # type: ignore[method-assign]
    env.on_resumed = lambda: engine_time.sleep(0.01)  # type: ignore[method-assign]
    env.teardown = lambda: engine_time.sleep(0.01)  # type: ignore[method-assign]
    system.start()
    assert agent.stepped.wait(WAIT)
    system.pause()
    system.resume()
    system.pause()
    stop(system)  # shut down from paused: teardown sleeps on a running clock
    assert system.failures == []
    assert not system.clock.is_paused()


def test_an_error_in_the_control_thread_stops_the_system(tmp_path: Path) -> None:
    def broken_condition() -> bool:
        raise ValueError("condition exploded")

    system, *_ = make_system(tmp_path, save_state_condition=broken_condition)
    with pytest.raises(SystemFailedError, match="condition exploded"):
        system.run()
    assert any("control thread failed" in f for f in system.failures)


def test_resume_skips_a_corrupt_newest_state(tmp_path: Path) -> None:
    first, *_ = make_system(tmp_path)
    older = first.store.save()
    newer = first.store.save()
    (newer / "models" / "scale.txt").write_text("garbage")
    second, *_ = make_system(tmp_path, resume=True, save_final_state=False)
    sub = second.events.subscribe()
    second.start()
    try:
        loaded = wait_for_event(sub, StateLoaded)
        assert loaded.path == str(older)
    finally:
        stop(second)


def test_the_runs_time_scale_wins_over_the_states(tmp_path: Path) -> None:
    first, *_ = make_system(tmp_path, time_scale=1.0)
    first.store.save()
    second, *_ = make_system(
        tmp_path, resume=True, time_scale=5.0, save_final_state=False
    )
    second.start()
    try:
        assert second.clock.get_time_scale() == 5.0
        second.load_state(newest_state(tmp_path / "states"))
        assert second.clock.get_time_scale() == 5.0
    finally:
        stop(second)


def test_resume_refuses_when_no_state_verifies(tmp_path: Path) -> None:
    first, *_ = make_system(tmp_path)
    path = first.store.save()
    (path / "models" / "scale.txt").write_text("garbage")
    second, *_ = make_system(tmp_path, resume=True, save_final_state=False)
    with pytest.raises(StateError, match="none of the 1 state"):
        second.start()
    assert not second._started


def test_retention_never_lets_states_that_fail_push_out_good_ones(
    tmp_path: Path,
) -> None:
    first, *_ = make_system(tmp_path)
    good = first.store.save()
    corrupt = [first.store.save(), first.store.save()]
    for path in corrupt:
        (path / "models" / "scale.txt").write_text("garbage")
    # Resuming skips both corrupt states; the final save must not then delete
    # the good one to keep 3: states that failed neither count nor get deleted.
    second, *_ = make_system(tmp_path, resume=True, max_keep_states=3)
    second.start()
    stop(second)
    remaining = {i.path for i in list_states(tmp_path / "states")}
    assert good in remaining and set(corrupt) <= remaining
    assert len(remaining) == 4


def test_a_load_publishes_the_loaded_weights_before_the_agents_next_step(
    tmp_path: Path,
) -> None:
    system, agent, _, model, trainer = make_system(tmp_path)
    system.start()
    try:
        assert trainer.ran.wait(WAIT)
        system.pause()
        path = system.save_state()
        saved_weight = model.weight
        system.resume()
        trainer.ran.clear()
        assert trainer.ran.wait(WAIT)
        system.pause()
        assert agent.model.weight != saved_weight
        system.load_state(path)
        # Still paused: the agent has not stepped since, and acts with the state's weights.
        assert agent.model.weight == saved_weight == model.weight
    finally:
        stop(system)


def test_resume_starts_acting_with_the_states_weights(tmp_path: Path) -> None:
    first, _, _, model, trainer = make_system(tmp_path)
    first.start()
    assert trainer.ran.wait(WAIT)
    stop(first)
    saved_weight = model.weight

    # This trainer never trains: whatever weight the agent acts with came from the load.
    second, agent, _, _, _ = make_system(
        tmp_path,
        trainer=NudgeTrainer(min_new=10**9),
        resume=True,
        save_final_state=False,
    )
    second.start()
    try:
        second.pause()
        assert agent.model.weight == saved_weight > 0
    finally:
        stop(second)


class ProtocolOnlyTrainer:
    """Implements only what ``TrainerLike`` declares (no trainers.Trainer base)."""

    def __init__(self) -> None:
        import threading

        self.runs = 0
        self.ran = threading.Event()

    def attach_training_models(self, training_models) -> None:
        self.models = training_models

    def attach_data_users(self, data_users) -> None:
        self.users = data_users

    def run(self) -> bool:
        self.runs += 1
        self.ran.set()
        return True

    def save_state(self, path: Path) -> None:
        path.write_text(str(self.runs))

    def load_state(self, path: Path) -> None:
        self.runs = int(path.read_text())

    def on_paused(self) -> None:
        pass

    def on_resumed(self) -> None:
        pass


def test_a_trainer_with_only_the_protocol_runs(tmp_path: Path) -> None:
    trainer = ProtocolOnlyTrainer()
    system, *_ = make_system(tmp_path, trainer=trainer)  # type: ignore[arg-type]
    system.start()
    try:
        assert trainer.ran.wait(WAIT)
        status = system.status().trainers["nudge"]
        assert status.runs >= 1 and status.condition.trainable
    finally:
        stop(system)


def test_the_save_condition_is_checked_at_least_ten_times_a_second(
    tmp_path: Path,
) -> None:
    import threading
    import time

    calls: list[float] = []
    ten = threading.Event()

    def condition() -> bool:
        calls.append(time.monotonic())
        if len(calls) >= 10:
            ten.set()
        return False

    system, *_ = make_system(tmp_path, save_state_condition=condition)
    system.start()
    try:
        # Ten checks take 0.5 s at the engine's 20 Hz; the old 1 Hz needed 10 s.
        assert ten.wait(3.0), f"only {len(calls)} checks in 3 s"
    finally:
        stop(system)


def test_a_stopped_systems_uptime_stands_still(tmp_path: Path) -> None:
    system, agent, *_ = make_system(tmp_path, save_final_state=False)
    system.start()
    assert agent.stepped.wait(WAIT)
    system.shutdown()
    assert system.wait(WAIT)
    stopped_at = system.status().uptime
    advance_clock(100.0)
    assert system.status().uptime == stopped_at
