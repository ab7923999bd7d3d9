"""The agent: turns observations into actions (PAMIQ-Core's ``Agent``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from typing_extensions import override

from ..data import DataCollector, DataCollectorsDict
from ..model import InferenceModel, InferenceModelsDict
from ..state.persistence import PersistentStateMixin
from ..telemetry.events import MetricSink
from ..telemetry.metric_reporting import MetricReporter
from ..thread.thread_events import ThreadEventMixin
from ..tunables import Tunable
from .event_mixin import InteractionEventMixin

ObsType = TypeVar("ObsType")
ActType = TypeVar("ActType")


class Agent(
    ABC,
    MetricReporter,
    InteractionEventMixin,
    PersistentStateMixin,
    ThreadEventMixin,
    Generic[ObsType, ActType],
):
    """Decides an action for each observation.

    Child agents receive the parent's inference models and data collectors, and
    their setup, teardown, pause/resume and state follow the parent's.

    Args:
        agents: Optional child agents by name.
    """

    _inference_models: InferenceModelsDict
    _data_collectors: DataCollectorsDict

    def __init__(self, agents: Mapping[str, Agent[Any, Any]] | None = None) -> None:
        self._agents: dict[str, Agent[Any, Any]] = dict(agents or {})

    @property
    def agents(self) -> Mapping[str, Agent[Any, Any]]:
        """The child agents."""
        return getattr(self, "_agents", {})

    @abstractmethod
    def step(self, observation: ObsType) -> ActType:
        """Return the action for ``observation``."""

    def attach_inference_models(self, inference_models: InferenceModelsDict) -> None:
        """Give this agent (and its children) the inference models."""
        self._inference_models = inference_models
        self.on_inference_models_attached()
        for agent in self.agents.values():
            agent.attach_inference_models(inference_models)

    def on_inference_models_attached(self) -> None:
        """Override to fetch models with :meth:`get_inference_model`."""

    def attach_data_collectors(self, data_collectors: DataCollectorsDict) -> None:
        """Give this agent (and its children) the data collectors."""
        self._data_collectors = data_collectors
        self.on_data_collectors_attached()
        for agent in self.agents.values():
            agent.attach_data_collectors(data_collectors)

    def on_data_collectors_attached(self) -> None:
        """Override to acquire collectors with :meth:`get_data_collector`."""

    def get_inference_model(self, name: str) -> InferenceModel:
        """Return the inference model called ``name``.

        Raises:
            KeyError: If there is no such model.
        """
        try:
            return self._inference_models[name]
        except KeyError:
            known = ", ".join(sorted(self._inference_models)) or "none"
            raise KeyError(
                f"inference model '{name}' not found (known: {known})"
            ) from None

    def get_data_collector(self, name: str) -> DataCollector[Any]:
        """Acquire the data collector called ``name`` (once per collector).

        Raises:
            KeyError: If there is no such collector or it was acquired already.
        """
        return self._data_collectors.acquire(name)

    # -- settings ---------------------------------------------------------------

    def tunables(self) -> dict[str, Tunable]:
        """The settings an operator may change while this agent runs, by name.

        The system offers each as ``agent.<setting>`` (a child agent's as
        ``agent.<child>.<setting>``) and changes it on the inference thread
        just before the agent's next step (see :mod:`engine.tunables`). None
        by default.
        """
        return {}

    # -- metrics ----------------------------------------------------------------

    @override
    def bind_metrics(self, source: str, sink: MetricSink | None) -> None:
        """Send this agent's metrics to ``sink`` as ``source`` (children: ``source.child``)."""
        super().bind_metrics(source, sink)
        for name, agent in self.agents.items():
            agent.bind_metrics(f"{source}.{name}", sink)

    @override
    def setup(self) -> None:
        super().setup()
        for agent in self.agents.values():
            agent.setup()

    @override
    def teardown(self) -> None:
        super().teardown()
        for agent in self.agents.values():
            agent.teardown()

    @override
    def save_state(self, path: Path) -> None:
        super().save_state(path)
        if not self.agents:
            return
        path.mkdir(exist_ok=True)
        for name, agent in self.agents.items():
            agent.save_state(path / name)

    @override
    def load_state(self, path: Path) -> None:
        super().load_state(path)
        for name, agent in self.agents.items():
            agent.load_state(path / name)

    @override
    def on_paused(self) -> None:
        super().on_paused()
        for agent in self.agents.values():
            agent.on_paused()

    @override
    def on_resumed(self) -> None:
        super().on_resumed()
        for agent in self.agents.values():
            agent.on_resumed()
