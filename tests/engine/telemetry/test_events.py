"""The event stream."""

from __future__ import annotations

import threading

from engine.telemetry.events import EventBus, LogMessage, ModelSynced


def test_subscribers_receive_events_in_order() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    for v in range(3):
        bus.publish(ModelSynced(model="m", version=v, duration=0.0))
    assert [e.version for e in sub.drain()] == [0, 1, 2]


def test_a_full_subscription_drops_its_oldest_events_without_blocking() -> None:
    bus = EventBus()
    sub = bus.subscribe(maxsize=2)
    for v in range(5):
        bus.publish(ModelSynced(model="m", version=v, duration=0.0))
    assert [e.version for e in sub.drain()] == [3, 4]
    assert sub.dropped == 3


def test_get_waits_for_an_event_from_another_thread() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    threading.Thread(
        target=bus.publish, args=(LogMessage(level="info", message="hi"),)
    ).start()
    event = sub.get(timeout=10)
    assert isinstance(event, LogMessage) and event.message == "hi"


def test_close_stops_delivery_and_wakes_a_waiting_get() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    result: list[object] = []
    waiter = threading.Thread(target=lambda: result.append(sub.get(timeout=10)))
    waiter.start()
    sub.close()
    waiter.join(10)
    assert result == [None]
    bus.publish(LogMessage(level="info", message="late"))
    assert sub.drain() == []


def test_a_raising_callback_cannot_hurt_the_publisher() -> None:
    bus = EventBus()
    seen = []
    bus.add_callback(lambda e: 1 / 0)
    remove = bus.add_callback(seen.append)
    bus.publish(LogMessage(level="info", message="x"))
    remove()
    bus.publish(LogMessage(level="info", message="y"))
    assert [e.message for e in seen] == ["x"]


def test_events_serialise_with_their_kind() -> None:
    d = ModelSynced(model="m", version=2, duration=0.5).to_dict()
    assert d["kind"] == "sync" and d["version"] == 2 and "wall_time" in d


def test_library_users_hear_of_errors_and_notices_through_logging(
    tmp_path, caplog
) -> None:
    import logging

    from tests.engine.tiny import FailingTrainer, make_system

    system, *_ = make_system(tmp_path, trainer=FailingTrainer())
    with caplog.at_level(logging.INFO, logger="engine"):
        system.start()
        assert system.wait(10)
    records = [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name == "engine"
    ]
    assert any(level == "INFO" and msg.startswith("started") for level, msg in records)
    errors = [msg for level, msg in records if level == "ERROR"]
    assert errors and "thread failed: RuntimeError: boom in train" in errors[0]
    assert "Traceback" in errors[0]


def test_a_console_can_detach_the_logging(tmp_path, caplog) -> None:
    import logging

    from tests.engine.tiny import make_system

    system, *_ = make_system(tmp_path, max_uptime=0.05)
    system.detach_logging()
    with caplog.at_level(logging.INFO, logger="engine"):
        system.start()
        assert system.wait(10)
    assert not [r for r in caplog.records if r.name == "engine"]
