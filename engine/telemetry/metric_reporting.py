"""Scalar metrics reported by agents and trainers, sent where the system binds them.

The system binds each agent and trainer to its metric sink once, at wiring
(:meth:`MetricReporter.bind_metrics`); from then on ``report_metrics`` publishes
one :class:`~engine.telemetry.events.Metric` event per value. Unbound (a unit
test, :mod:`engine.testing`), values are only remembered in ``last_metrics``.
"""

from __future__ import annotations

from collections.abc import Mapping

from .events import MetricSink


class MetricReporter:
    """Mixin for components that report metrics: agents and trainers.

    The attributes have class-level defaults because PAMIQ-Core programs do
    not always call the base ``__init__`` of their agents.
    """

    _metric_source: str | None = None
    _metric_sink: MetricSink | None = None
    _metric_step: int = 0

    def bind_metrics(self, source: str, sink: MetricSink | None) -> None:
        """Send this component's metrics to ``sink`` under the name ``source``.

        Called by the system when it is wired; ``sink=None`` unbinds.
        """
        self._metric_source = source
        self._metric_sink = sink

    @property
    def metric_source(self) -> str:
        """The name metrics are reported under (the class name until bound)."""
        return self._metric_source or type(self).__name__

    @property
    def last_metrics(self) -> dict[str, float]:
        """The latest value reported of each metric."""
        latest: dict[str, float] | None = self.__dict__.get("_last_metrics")
        if latest is None:
            latest = self.__dict__["_last_metrics"] = {}
        return latest

    def report_metrics(
        self, metrics: Mapping[str, float], step: int | None = None
    ) -> None:
        """Report scalar metrics (shown in the console, written to metrics.jsonl).

        Each call publishes one event per metric from the calling thread: an
        agent should report per episode or every N steps, not on every step.

        Not called ``log_metrics``: PAMIQ-Core projects define their own
        ``log_metrics(self)`` (a scheduler callback that writes to their
        tracker), and an engine method of that name would be shadowed by it.

        Args:
            metrics: Name to value.
            step: The step they belong to; defaults to a counter of calls.
        """
        if step is None:
            step = self._metric_step = self._metric_step + 1
        latest = self.last_metrics
        sink = self._metric_sink
        source = self.metric_source
        for key, value in metrics.items():
            value = float(value)
            latest[key] = value
            if sink is not None:
                sink(source, key, value, step)
