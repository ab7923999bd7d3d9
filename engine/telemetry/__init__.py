"""What the engine tells: events, status snapshots, metrics and log lines.

Flow: components and threads publish typed events on an
:class:`~engine.telemetry.events.EventBus` (bounded per subscriber, never blocking
the engine); :meth:`engine.System.status` assembles an immutable
:class:`~engine.telemetry.status.SystemStatus` (the buffers' and models' parts
read by :mod:`engine.telemetry.status_report`);
the metrics log writes metric events to ``metrics.jsonl`` and TensorBoard, and
notices and errors reach Python's ``logging`` (:mod:`engine.telemetry.log_forwarding`).
The console, the control socket and library users are all just subscribers.
"""
