"""The run's tunable settings: changed by an operator, applied by their owner's thread.

:class:`Settings` holds every :class:`~engine.tunables.Tunable` the agent and
the trainers declare, by full name (``agent.epsilon``, ``agent.<child>.x``,
``trainers.<name>.lr``). :meth:`Settings.request` checks a value and queues it;
the owner's worker thread applies what is queued for it just before the
owner's next step (the inference thread before ``interaction.step()``, the
training thread before that trainer's ``run()``), so a setter never runs
while its component is in the middle of a step. Each change is a
:class:`~engine.telemetry.events.SettingChanged` event and a metric
(source ``settings``, named after the setting, at the run's step count), so
the learning curves show when it happened.

Saved with every state (``settings.json``): each setting's value and the value
it had when this run was built (its configured value). A load uses the
state's value, unless the configured value differs from the one the state was
saved with: then the config was edited since, and the edited value wins
(an optimizer's saved state would otherwise bring back the old learning
rate). Either way a notice says which value is used when it is not the
config's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typing_extensions import override

from ..state.persistence import Commit, PersistentStateMixin
from ..telemetry.events import Event, LogMessage, Metric, SettingChanged
from ..tunables import (
    Tunable,
    TunableError,
    Value,
    format_value,
    no_such_setting,
    tunables_of,
)

AGENT = "agent"
"""The owner key of the agent's settings (and its children's): the inference thread."""
SOURCE = "settings"
"""The metric source of setting changes."""
FORMAT = 1


@dataclass
class _Setting:
    name: str
    owner: str
    tunable: Tunable
    configured: Value


class OwnerQueue:
    """The changes waiting for one owner's next step.

    Attributes:
        pending: Whether any change waits (a plain read on the worker's loop).
        wake: Called when a change is queued (the training thread sleeps
            between runs while no trainer can train).
    """

    def __init__(self, settings: Settings, owner: str) -> None:
        self._settings = settings
        self.owner = owner
        self.values: dict[str, Value] = {}
        self.pending = False
        self.wake: Callable[[], None] = lambda: None

    def apply(self) -> None:
        """Apply the waiting changes (call on the owner's thread, between steps)."""
        self._settings._apply(self)


class _NoQueue(OwnerQueue):
    def __init__(self) -> None:
        self.pending = False


NO_QUEUE: OwnerQueue = _NoQueue()
"""The queue of an owner without settings (never pending)."""


class Settings(PersistentStateMixin):
    """Every tunable setting of a run.

    Args:
        publish: Where the change events, metrics and notices go.
        step: The run's step count (the step of a change's metric).
    """

    def __init__(
        self, publish: Callable[[Event], None], step: Callable[[], int]
    ) -> None:
        self._publish = publish
        self._step = step
        self._settings: dict[str, _Setting] = {}
        self._queues: dict[str, OwnerQueue] = {}
        self._lock = threading.Lock()

    # -- wiring -------------------------------------------------------------------

    def declare_agent(self, agent: object) -> None:
        """Take the agent's settings (``agent.NAME``) and its children's
        (``agent.CHILD.NAME``), applied on the inference thread.

        Raises:
            TunableError: If a declaration is wrong (naming the setting).
        """
        self._declare_tree(agent, AGENT)

    def _declare_tree(self, agent: object, prefix: str) -> None:
        self.declare(AGENT, prefix, tunables_of(agent))
        children = getattr(agent, "agents", None)
        if isinstance(children, Mapping):
            for name, child in children.items():
                self._declare_tree(child, f"{prefix}.{name}")

    def declare_trainer(self, name: str, trainer: object) -> None:
        """Take a trainer's settings (``trainers.NAME.SETTING``), applied on the
        training thread before its runs.

        Raises:
            TunableError: If a declaration is wrong (naming the setting).
        """
        self.declare(name, f"trainers.{name}", tunables_of(trainer))

    def declare(self, owner: str, prefix: str, tunables: Mapping[str, Tunable]) -> None:
        """Add settings of ``owner`` named ``<prefix>.<name>``; their current
        values are their configured ones.

        Raises:
            TunableError: If a declaration is wrong or its value is not one it takes.
        """
        for short, tunable in tunables.items():
            name = f"{prefix}.{short}"
            tunable.check_declaration(name)
            if name in self._settings:
                raise TunableError(f"setting {name} is declared twice")
            try:
                value = tunable.parse(tunable.get(), name)
            except TunableError as e:
                raise TunableError(f"setting {name}: its value now: {e}") from None
            self._settings[name] = _Setting(name, owner, tunable, value)
        if tunables:
            self.queue(owner)

    def queue(self, owner: str) -> OwnerQueue:
        """The queue of ``owner`` (``agent`` or a trainer's name); its worker applies it."""
        queue = self._queues.get(owner)
        if queue is None:
            queue = self._queues[owner] = OwnerQueue(self, owner)
        return queue

    def queue_or_none(self, owner: str) -> OwnerQueue:
        """The queue of ``owner`` if it has settings, else :data:`NO_QUEUE`."""
        return self._queues.get(owner, NO_QUEUE)

    # -- reading ------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """Every setting's full name, in declaration order."""
        return list(self._settings)

    def value(self, name: str) -> Value:
        """The value ``name`` has now.

        Raises:
            TunableError: If there is no such setting.
        """
        return self._get(self._find(name))

    def describe(self) -> list[dict[str, Any]]:
        """Every setting as the ``settings`` operation lists it: name, type,
        bounds, value, configured value, the value waiting to apply (or None)
        and description."""
        with self._lock:
            waiting = {
                name: value
                for queue in self._queues.values()
                for name, value in queue.values.items()
            }
        return [
            {
                "name": name,
                "type": s.tunable.kind_name,
                "min": s.tunable.minimum,
                "max": s.tunable.maximum,
                "exclusive_min": s.tunable.exclusive_minimum,
                "bounds": s.tunable.bounds(),
                "value": self._get(s),
                "configured": s.configured,
                "pending": waiting.get(name),
                "description": s.tunable.description,
            }
            for name, s in self._settings.items()
        ]

    def _find(self, name: object) -> _Setting:
        setting = self._settings.get(name) if isinstance(name, str) else None
        if setting is None:
            raise TunableError(no_such_setting(name, list(self._settings)))
        return setting

    @staticmethod
    def _get(setting: _Setting) -> Value:
        value = setting.tunable.get()
        if setting.tunable.kind is float and not isinstance(value, bool):
            return float(value)
        return value  # type: ignore[no-any-return]

    # -- changing -----------------------------------------------------------------

    def request(self, name: object, value: object) -> dict[str, Any]:
        """Check ``value`` for the setting ``name`` and queue it for its owner's next step.

        Returns:
            ``name``, ``old`` (the value now), ``new`` (the value asked for) and
            ``owner`` (``agent`` or the trainer's name).

        Raises:
            TunableError: One line naming the setting and what it takes.
        """
        setting = self._find(name)
        new = setting.tunable.parse(value, setting.name)
        old = self._get(setting)
        queue = self.queue(setting.owner)
        with self._lock:
            queue.values[setting.name] = new
            queue.pending = True
        queue.wake()
        return {"name": setting.name, "old": old, "new": new, "owner": setting.owner}

    def _apply(self, queue: OwnerQueue) -> None:
        with self._lock:
            values, queue.values = queue.values, {}
            queue.pending = False
        for name, value in values.items():
            self._change(self._settings[name], value, "set")

    def apply_all(self) -> None:
        """Apply every waiting change now (only when no worker runs: before
        the final save, so a change asked for is not lost)."""
        for queue in list(self._queues.values()):
            if queue.pending:
                self._apply(queue)

    def _change(self, setting: _Setting, value: Value, reason: str) -> None:
        try:
            old = self._get(setting)
            setting.tunable.set(value)
        except Exception as e:
            # An operator's change must never take the run down: say so, go on.
            self._publish(
                LogMessage(
                    level="warning",
                    message=f"{setting.name}: setting it to {format_value(value)} failed: "
                    f"{type(e).__name__}: {e}",
                )
            )
            return
        if value == old:
            return
        self._publish(
            SettingChanged(name=setting.name, old=old, new=value, reason=reason)
        )
        self._publish(
            Metric(
                source=SOURCE, name=setting.name, value=float(value), step=self._step()
            )
        )

    # -- state ------------------------------------------------------------------------

    @override
    def save_state(self, path: Path) -> None:
        """Write ``settings.json``: each setting's value and configured value."""
        path.with_suffix(".json").write_text(
            json.dumps(
                {
                    "format": FORMAT,
                    "settings": {
                        name: {
                            "type": s.tunable.kind_name,
                            "value": self._get(s),
                            "configured": s.configured,
                        }
                        for name, s in self._settings.items()
                    },
                }
            )
        )

    @override
    def load_state(self, path: Path) -> None:
        """Load what :meth:`save_state` wrote (see :meth:`prepare_load`)."""
        self.prepare_load(path)()

    @override
    def prepare_load(self, path: Path) -> Commit:
        """Read the saved settings and decide each one's value (see the module's doc).

        A state without settings (saved before they existed) changes nothing.

        Raises:
            ValueError: If the file is not what :meth:`save_state` writes.
        """
        file = path.with_suffix(".json")
        if not file.exists():
            return _nothing
        data = json.loads(file.read_text())
        saved = data.get("settings") if isinstance(data, dict) else None
        if not isinstance(saved, dict) or not all(
            isinstance(entry, dict) and "value" in entry and "configured" in entry
            for entry in saved.values()
        ):
            raise ValueError("settings.json is not a settings object")
        plan: list[tuple[_Setting, Value]] = []
        notices: list[str] = []
        for name, entry in saved.items():
            setting = self._settings.get(name)
            if setting is None:
                continue  # a setting this run no longer declares
            target, notice = self._decide(setting, entry)
            plan.append((setting, target))
            if notice:
                notices.append(notice)

        def commit() -> None:
            for setting, target in plan:
                if self._get(setting) != target:
                    self._change(setting, target, "load")
            for notice in notices:
                self._publish(LogMessage(level="info", message=notice))

        return commit

    def _decide(self, setting: _Setting, entry: Mapping[str, Any]) -> tuple[Value, str]:
        """The value a load gives ``setting``, and the notice saying why (or "")."""
        tunable, name = setting.tunable, setting.name
        try:
            value = tunable.parse(entry["value"], name)
            configured = tunable.parse(entry["configured"], name)
        except TunableError as e:
            return (
                setting.configured,
                f"{name}: the state's value is not used ({e}); using the config's "
                f"{format_value(setting.configured)}",
            )
        if configured != setting.configured:
            if value == setting.configured:
                return setting.configured, ""
            return (
                setting.configured,
                f"{name}: the config says {format_value(setting.configured)}, the state "
                f"was saved with {format_value(value)}; using {format_value(setting.configured)}",
            )
        if value != configured:
            return (
                value,
                f"{name}: using {format_value(value)} from the state (set while it ran; "
                f"the config says {format_value(configured)})",
            )
        return value, ""


def _nothing() -> None:
    return None
