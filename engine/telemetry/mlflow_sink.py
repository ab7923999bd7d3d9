"""Send the run's metrics to MLflow, beside ``metrics.jsonl`` and TensorBoard.

Where a run sets ``LaunchConfig.mlflow_tracking_uri`` (``[system]
mlflow_tracking_uri`` in a config), an :class:`MlflowSink` opens one MLflow run
per start of the engine, named after the run, in the experiment
``mlflow_experiment`` (default: the run's name). It logs the run's parameters
(a config's values, flattened to ``trainers.dqn.lr``), every metric event as
``source/name`` at its step, and what the operator changed while it ran
(states loaded and settings changed, as tags). It ends the MLflow run as
FINISHED, or FAILED when the run stopped on an error.

MLflow is imported only here, and only when asked for (the ``mlflow`` extra).
Like every telemetry sink it reads its own bounded subscription on a background
thread, so a slow or unreachable tracking server never slows or stops the
agent: what cannot be sent is dropped and counted (:attr:`MlflowSink.unsent`),
with one warning when that starts and one when sending works again.
"""

from __future__ import annotations

import importlib.util
import math
import time as _time
from collections.abc import Mapping
from typing import Any

from ..thread.supervision import FailureHandler, SupervisedThread
from .events import (
    ErrorOccurred,
    Event,
    EventBus,
    LogMessage,
    Metric,
    StateLoaded,
    Subscription,
)

MAX_BATCH = 1000
"""Metrics in one ``log_batch`` call (MLflow's own limit)."""
MAX_PARAMS = 100
"""Parameters in one ``log_batch`` call (MLflow's own limit)."""
MAX_PARAM_VALUE = 6000
"""Longest parameter value MLflow stores (longer ones are cut)."""
MAX_KEY = 250
"""Longest metric, parameter or tag key MLflow stores."""
RETRY_INTERVAL = 10.0
"""Seconds between attempts to reach a tracking server that did not answer."""


INSTALL_HINT = "MLflow: pip install 'pamiq-console[mlflow]'"


class MlflowUnavailableError(RuntimeError):
    """MLflow tracking was asked for and the ``mlflow`` extra is not installed."""


def mlflow_available() -> bool:
    """Whether the MLflow client can be imported (without importing it)."""
    return importlib.util.find_spec("mlflow") is not None


def require_mlflow() -> None:
    """Raise a one-line error when MLflow is not installed.

    Raises:
        MlflowUnavailableError: With the command that installs it.
    """
    if not mlflow_available():
        raise MlflowUnavailableError(f"MLflow tracking needs {INSTALL_HINT}")


def flatten_params(values: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested settings as MLflow parameters: ``{"trainers.dqn.lr": "0.001"}``.

    Lists and other values are written as text; keys and values are cut to
    MLflow's limits.
    """
    flat: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, f"{name}."))
        else:
            flat[name[:MAX_KEY]] = str(value)[:MAX_PARAM_VALUE]
    return flat


def _key(text: str) -> str:
    # MLflow keys allow letters, digits and _-./ and spaces; anything else is replaced.
    cleaned = "".join(c if c.isalnum() or c in "_-./ " else "_" for c in text)
    return cleaned[:MAX_KEY] or "_"


class MlflowSink:
    """Logs a run's parameters, metrics and operator changes to one MLflow run.

    Args:
        events: The system's event bus.
        tracking_uri: Where MLflow stores runs (``sqlite:///path/mlflow.db``,
            ``http://host:5000``, ``databricks``...).
        experiment: The MLflow experiment (created if missing).
        run_name: The MLflow run's name (the pamiq run's name).
        params: Parameters logged once, at the start.
        tags: Tags logged once, at the start (where the run directory is...).
        flush_interval: Longest time (s) a metric waits before it is sent.
        queue_size: Bound of the subscription queue.
        on_failure: Told if the sending thread itself fails.

    Raises:
        MlflowUnavailableError: If MLflow is not installed.
    """

    def __init__(
        self,
        events: EventBus,
        tracking_uri: str,
        experiment: str,
        run_name: str,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        flush_interval: float = 1.0,
        queue_size: int = 10_000,
        on_failure: FailureHandler | None = None,
    ) -> None:
        require_mlflow()
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.run_name = run_name
        self._params = flatten_params(params or {})
        self._tags = {
            _key(k): str(v)[:MAX_PARAM_VALUE] for k, v in (tags or {}).items()
        }
        self._flush_interval = flush_interval
        self._events = events
        self._subscription: Subscription = events.subscribe(queue_size)
        self._thread = SupervisedThread(
            "mlflow", self._run, on_failure or events.publish_failure
        )
        self._client: Any = None
        self.run_id: str | None = None
        """The MLflow run's id, once it was created."""
        self.sent = 0
        """Metrics sent to MLflow."""
        self.unsent = 0
        """Metrics dropped because MLflow could not be reached."""
        self._metrics: list[Any] = []
        self._tag_updates: dict[str, str] = {}
        self._failed_run = False
        self._problem: str | None = None
        self._next_try = 0.0
        self._started = False

    @property
    def dropped(self) -> int:
        """Events lost because the queue overflowed."""
        return self._subscription.dropped

    def start(self) -> MlflowSink:
        """Start the sending thread (it connects, so a slow server never delays start)."""
        self._started = True
        self._thread.start()
        return self

    def close(self, failed: bool = False, timeout: float = 30.0) -> None:
        """Send what is queued, end the MLflow run (FAILED if ``failed``), stop."""
        self._failed_run = self._failed_run or failed
        self._subscription.close()
        if self._started:
            self._thread.join(timeout)

    def _run(self) -> None:
        sub = self._subscription
        try:
            while True:
                event = sub.get(timeout=self._flush_interval)
                batch = [event] if event is not None else []
                batch.extend(sub.drain())
                for queued in batch:
                    self._take(queued)
                self._flush()
                if event is None and sub.closed:
                    break
        finally:
            sub.close()
            self._end()

    def _take(self, event: Event) -> None:
        if isinstance(event, Metric):
            if not math.isfinite(event.value):
                return  # MLflow refuses NaN and infinities; metrics.jsonl keeps them
            from mlflow.entities import Metric as MlflowMetric

            self._metrics.append(
                MlflowMetric(
                    _key(f"{event.source}/{event.name}"),
                    float(event.value),
                    int(event.wall_time * 1000),
                    int(event.step),
                )
            )
        elif isinstance(event, StateLoaded):
            self._tag_updates["pamiq.loaded_state"] = str(event.path)
        elif isinstance(event, ErrorOccurred):
            self._failed_run = True
        elif event.kind == "setting":
            # a tunable changed while running: the newest value is a tag
            name = str(getattr(event, "name", ""))
            self._tag_updates[_key(f"setting.{name}")] = str(getattr(event, "new", ""))

    def _connect(self) -> bool:
        if self._client is not None:
            return True
        if _time.monotonic() < self._next_try:
            return False
        from mlflow.entities import Param, RunTag
        from mlflow.tracking import MlflowClient

        try:
            client = MlflowClient(tracking_uri=self.tracking_uri)
            found = client.get_experiment_by_name(self.experiment)
            experiment_id = (
                found.experiment_id
                if found is not None
                else client.create_experiment(self.experiment)
            )
            run = client.create_run(experiment_id, run_name=self.run_name)
            run_id = run.info.run_id
            params = [Param(_key(k), v) for k, v in self._params.items()]
            for i in range(0, len(params), MAX_PARAMS):
                client.log_batch(run_id, params=params[i : i + MAX_PARAMS])
            if self._tags:
                client.log_batch(
                    run_id, tags=[RunTag(k, v) for k, v in self._tags.items()]
                )
        except Exception as e:  # any client error means "not reachable"
            self._failing(e)
            self._next_try = _time.monotonic() + RETRY_INTERVAL
            return False
        self._client, self.run_id = client, run_id
        return True

    def _flush(self) -> None:
        if not self._metrics and not self._tag_updates:
            return
        if not self._connect():
            self._drop()
            return
        from mlflow.entities import RunTag

        metrics, self._metrics = self._metrics, []
        tags, self._tag_updates = self._tag_updates, {}
        done = 0
        try:
            for i in range(0, len(metrics), MAX_BATCH):
                chunk = metrics[i : i + MAX_BATCH]
                self._client.log_batch(self.run_id, metrics=chunk)
                done += len(chunk)
            if tags:
                self._client.log_batch(
                    self.run_id, tags=[RunTag(k, v) for k, v in tags.items()]
                )
        except Exception as e:  # a server that went away
            self.sent += done
            self.unsent += len(metrics) - done
            self._failing(e)
            return
        self.sent += done
        self._working()

    def _drop(self) -> None:
        self.unsent += len(self._metrics)
        self._metrics = []

    def _failing(self, e: BaseException) -> None:
        why = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".strip()
        if self._problem is None:
            self._events.publish(
                LogMessage(
                    level="warning",
                    message=(
                        f"mlflow: cannot log to {self.tracking_uri} ({why}); "
                        "metrics are dropped until it answers (metrics.jsonl has them)"
                    ),
                )
            )
        self._problem = why

    def _working(self) -> None:
        if self._problem is not None:
            self._problem = None
            self._events.publish(
                LogMessage(
                    level="info",
                    message=(
                        f"mlflow: logging to {self.tracking_uri} again "
                        f"({self.unsent:,} metrics were dropped)"
                    ),
                )
            )

    def _end(self) -> None:
        if self._client is None or self.run_id is None:
            return
        try:
            self._client.set_terminated(
                self.run_id, status="FAILED" if self._failed_run else "FINISHED"
            )
        except Exception as e:  # the run ends either way
            self._failing(e)
