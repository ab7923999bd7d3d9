"""The control endpoint of a live run: newline-delimited JSON over a Unix socket.

Each request is one JSON object on one line, answered by one line::

    {"op": "status"}                  -> {"ok": true, "result": {...}}
    {"op": "load", "state": "X.state"} -> {"ok": false, "error": "..."}

An optional ``"id"`` is echoed back. Operations: ``ping``, ``status``, ``pause``,
``resume``, ``save``, ``load`` (``state``: a name or path inside the run's
states directory, or ``"latest"``: the newest that verifies), ``states``, ``events`` (``limit``, optional ``kinds``),
``watch`` / ``feed`` / ``unwatch`` (a watcher's own bounded queue of events; each
``feed`` brings the status, the events since the last one, how many it lost, and
what changed in the learning curves it asks for)
and ``shutdown``. ``ping`` says the protocol version (:data:`PROTOCOL_VERSION`);
a request that names another ``"protocol"`` is refused. A malformed request gets an error reply; nothing a client sends
can stop the run except ``shutdown``. An error is one line: line breaks and
control characters in it (from what the client sent) are escaped. The socket
is 0600 in a 0700 directory.
See docs/console.md.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
import socketserver
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from ..runtime.supervision import FailureHandler, SupervisedThread
from ..state.catalogue import LATEST_NAMES
from ..telemetry.events import EVENT_KINDS, Event, LogMessage
from ..telemetry.status import SystemStatus
from .curves import MAX_CURVES, CurveBook, Key
from .operations import (
    MAX_PAUSE_TIMEOUT,
    LocalRun,
    LocalWatch,
    OperationError,
    state_summary,
)

if TYPE_CHECKING:
    from ..system import System

MAX_REQUEST_BYTES = 64 * 1024
MAX_DISCARDED_BYTES = 1 << 20
"""What is read of a refused (too long) request before its connection is closed."""
DISCARD_TIMEOUT = 1.0
LISTEN_BACKLOG = 1024
"""Connections the kernel queues before the server accepts them (the standard
library's default of 5 turned clients away when a few dozen connected at once;
Linux caps it at ``net.core.somaxconn``)."""
IDLE_TIMEOUT = 30.0
"""Seconds a connection may wait between requests before the run closes it
(each open connection holds a thread and a file descriptor)."""
LATEST = LATEST_NAMES  # state names meaning "the newest that verifies"
PROTOCOL_VERSION = 2
"""The control protocol's version, sent by ``ping``; bumped when a reply changes shape
(2: ``feed`` brings the status and the curves asked for; a version-2 client relies on it)."""
WATCHER_QUEUE = 20_000
"""Events one watcher's queue holds; past that the oldest are dropped (and counted)."""
MAX_WATCHERS = 64
"""Watchers at once; the one fed least recently gives way to a new one."""
WATCHER_TTL = 60.0
"""Seconds a watcher that is not fed is kept (its client may have vanished)."""
__all__ = [
    "LATEST",
    "MAX_PAUSE_TIMEOUT",
    "MAX_WATCHERS",
    "OPS",
    "PROTOCOL_VERSION",
    "WATCHER_QUEUE",
    "WATCHER_TTL",
    "ControlHandler",
    "ControlServer",
    "RequestError",
    "one_line",
    "state_summary",
]
OPS = (
    "ping",
    "status",
    "pause",
    "resume",
    "save",
    "load",
    "states",
    "events",
    "watch",
    "feed",
    "unwatch",
    "shutdown",
)


class RequestError(Exception):
    """A request that cannot be served (sent back as ``{"ok": false}``)."""


class ControlHandler:
    """Serves requests against one system (transport-independent; tests call it directly).

    Args:
        system: The running system.
        curves: The run's learning curves.
        run_info: Extra data returned by ``status`` under ``run``.
        history: How many recent events of each kind ``events`` can return
            (per kind, so a flood of metrics cannot push out the last save).
    """

    def __init__(
        self,
        system: System,
        curves: CurveBook,
        run_info: dict[str, Any] | None = None,
        history: int = 500,
    ) -> None:
        self.system = system
        self.run = LocalRun(system, curves)
        self.run_info = dict(run_info or {})
        self._history = history
        self._events: dict[str, deque[Event]] = {}
        self._remove_callback = system.events.add_callback(self._record)
        self._curves = curves
        self.idle_timeout: float | None = None  # set by the server that serves it
        self._watchers: dict[str, _Watcher] = {}
        self._watchers_lock = threading.Lock()
        self._watcher_ids = itertools.count(1)
        # One method per op, named after it: OPS is the only list of op names.
        self._ops: dict[str, Callable[[dict[str, Any]], Any]] = {
            op: getattr(self, f"_op_{op}") for op in OPS
        }

    def _op_ping(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "idle_timeout": self.idle_timeout,
            "protocol": PROTOCOL_VERSION,
        }

    def close(self) -> None:
        """Stop recording events and drop every watcher."""
        self._remove_callback()
        with self._watchers_lock:
            watchers = list(self._watchers.values())
            self._watchers.clear()
        for watcher in watchers:
            watcher.watch.close()

    @property
    def states_dir(self) -> Path:
        """The run's states directory."""
        return self.run.states_dir

    def handle_line(self, line: bytes | str) -> dict[str, Any]:
        """Parse one request line and return the reply object (never raises)."""
        request_id = None
        try:
            try:
                request = json.loads(line)
            except (ValueError, UnicodeDecodeError, RecursionError) as e:
                raise RequestError(
                    f"malformed request: not JSON ({type(e).__name__})"
                ) from None
            if not isinstance(request, dict):
                raise RequestError("malformed request: expected a JSON object")
            request_id = request.get("id")
            return self._with_id(request_id, self.handle(request))
        except RequestError as e:
            return self._with_id(request_id, {"ok": False, "error": one_line(str(e))})

    @staticmethod
    def _with_id(request_id: Any, reply: dict[str, Any]) -> dict[str, Any]:
        if request_id is not None:
            reply["id"] = request_id
        return reply

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Serve a parsed request; errors become ``{"ok": false, "error": ...}``.

        An error is one line (see :func:`one_line`), whatever the client sent.
        """
        reply = self._handle(request)
        if reply.get("ok") is False:
            reply["error"] = one_line(str(reply.get("error", "")))
        return reply

    def _handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if not isinstance(op, str):
            return {"ok": False, "error": "malformed request: missing 'op'"}
        protocol = request.get("protocol", PROTOCOL_VERSION)
        if protocol != PROTOCOL_VERSION:
            return {
                "ok": False,
                "error": f"this run speaks control protocol {PROTOCOL_VERSION}, "
                f"the client protocol {protocol}: use the same pamiq-console "
                "version on both sides",
            }
        handler = self._ops.get(op)
        if handler is None:
            return {
                "ok": False,
                "error": f"unknown op {op!r} (known: {', '.join(OPS)})",
            }
        try:
            return {"ok": True, "result": handler(request)}
        except (RequestError, OperationError) as e:
            return {"ok": False, "error": str(e)}
        except Exception as e:  # never let a request take the run down
            return {"ok": False, "error": f"{op} failed: {type(e).__name__}: {e}"}

    # -- operations -------------------------------------------------------------

    def _op_status(self, _: dict[str, Any]) -> dict[str, Any]:
        return self._status_dict(self.run.status())

    def _status_dict(self, status: SystemStatus) -> dict[str, Any]:
        result = status.to_dict()
        result["run"] = {**self.run_info, "states_dir": str(self.states_dir)}
        return result

    def _op_pause(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.run.pause(request.get("timeout"))

    def _op_resume(self, _: dict[str, Any]) -> dict[str, Any]:
        return self.run.resume()

    def _op_save(self, _: dict[str, Any]) -> dict[str, Any]:
        return self.run.save()

    def _op_load(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.run.load(request.get("state"))

    def _op_states(self, _: dict[str, Any]) -> list[dict[str, Any]]:
        return self.run.states()

    def _record(self, event: Event) -> None:
        recent = self._events.get(event.kind)
        if recent is None:
            recent = self._events.setdefault(event.kind, deque(maxlen=self._history))
        recent.append(event)

    def _op_events(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        limit = request.get("limit", 50)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise RequestError("'limit' must be a non-negative integer")
        kinds = request.get("kinds")
        if kinds is not None and (
            not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds)
        ):
            raise RequestError("'kinds' must be a list of event kinds")
        unknown = sorted(set(kinds or ()) - EVENT_KINDS)
        if unknown:
            raise RequestError(
                f"unknown event kind(s) {', '.join(unknown)} "
                f"(known: {', '.join(sorted(EVENT_KINDS))})"
            )
        chosen = [
            list(recent)
            for kind, recent in list(self._events.items())
            if kinds is None or kind in kinds
        ]
        events = sorted(
            (e for recent in chosen for e in recent), key=lambda e: e.wall_time
        )
        return [e.to_dict() for e in events[len(events) - min(limit, len(events)) :]]

    # -- watchers: each has its own bounded queue, fed to it on request --------

    def _op_watch(self, request: dict[str, Any]) -> dict[str, Any]:
        size = request.get("maxsize", WATCHER_QUEUE)
        if (
            isinstance(size, bool)
            or not isinstance(size, int)
            or not 1 <= size <= WATCHER_QUEUE
        ):
            raise RequestError(f"'maxsize' must be an integer in [1, {WATCHER_QUEUE}]")
        self._expire_watchers()
        watcher = _Watcher(self.run.watch(size))
        evicted: list[_Watcher] = []
        with self._watchers_lock:
            while len(self._watchers) >= MAX_WATCHERS:
                oldest = min(self._watchers, key=lambda k: self._watchers[k].fed)
                evicted.append(self._watchers.pop(oldest))
            watcher_id = f"w{next(self._watcher_ids)}"
            self._watchers[watcher_id] = watcher
        for old in evicted:
            old.watch.close()
        return {
            "watcher": watcher_id,
            "maxsize": size,
            "ttl": WATCHER_TTL,
            "plots": [list(k) for k in self._curves.plots],
        }

    def _watcher(self, request: dict[str, Any]) -> tuple[str, _Watcher]:
        watcher_id = request.get("watcher")
        with self._watchers_lock:
            watcher = self._watchers.get(str(watcher_id))
        if watcher is None:
            raise RequestError(
                f"no watcher {watcher_id!r} (it expired after {WATCHER_TTL:g} s "
                "unfed, or was never made): ask 'watch' for a new one"
            )
        return str(watcher_id), watcher

    def _op_feed(self, request: dict[str, Any]) -> dict[str, Any]:
        _, watcher = self._watcher(request)
        wanted = _curve_keys(request.get("curves", []))
        watcher.fed = time.monotonic()
        # The one feed: what an in-process dashboard's poll brings, as JSON.
        poll = watcher.watch.poll(wanted)
        self._expire_watchers()
        return {
            "status": self._status_dict(poll.status),
            "events": [e.to_dict() for e in poll.events],
            "dropped": poll.dropped,
            "curves": poll.curves,
            "metrics": [list(k) for k in poll.metrics],
        }

    def _op_unwatch(self, request: dict[str, Any]) -> dict[str, Any]:
        watcher_id, watcher = self._watcher(request)
        with self._watchers_lock:
            self._watchers.pop(watcher_id, None)
        watcher.watch.close()
        return {"watcher": watcher_id}

    def _expire_watchers(self) -> None:
        """Drop watchers nobody fed for :data:`WATCHER_TTL` (their client is gone)."""
        cutoff = time.monotonic() - WATCHER_TTL
        with self._watchers_lock:
            stale = [k for k, w in self._watchers.items() if w.fed < cutoff]
            gone = [self._watchers.pop(k) for k in stale]
        for watcher in gone:
            watcher.watch.close()

    @property
    def watchers(self) -> int:
        """How many watchers are kept now."""
        with self._watchers_lock:
            return len(self._watchers)

    def _op_shutdown(self, _: dict[str, Any]) -> dict[str, Any]:
        return self.run.shutdown("shutdown requested over the control socket")


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(message: str) -> str:
    """``message`` as one printable line: control characters and line breaks escaped.

    Error messages quote what the client sent (a state name, an op); a name
    holding a newline, or a terminal's escape sequence, must not print as two
    lines or repaint the client's screen. They are written as in Python's
    string literals: ``\\n``, ``\\r``, ``\\t``, ``\\xNN``, ``\\uNNNN``, ``\\UNNNNNNNN``.
    """
    if message.isprintable():
        return message
    return "".join(c if c.isprintable() else _escape(c) for c in message)


def _escape(c: str) -> str:
    code = ord(c)
    if c in _ESCAPES:
        return _ESCAPES[c]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _curve_keys(value: object) -> list[Key]:
    """The ``curves`` argument of ``feed``: a list of ``[source, name]`` pairs."""
    if not isinstance(value, list) or len(value) > MAX_CURVES:
        raise RequestError(
            f"'curves' must be a list of at most {MAX_CURVES} [source, name] pairs"
        )
    keys = []
    for item in value:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not all(isinstance(part, str) for part in item)
        ):
            raise RequestError("'curves' must be a list of [source, name] pairs")
        keys.append((item[0], item[1]))
    return keys


class _Watcher:
    """One watcher's watch of the run (its own event queue and curve cursors)
    and when it was last fed (monotonic seconds)."""

    def __init__(self, watch: LocalWatch) -> None:
        self.watch = watch
        self.fed = time.monotonic()


class _StreamHandler(socketserver.StreamRequestHandler):
    server: _Server

    @override
    def setup(self) -> None:
        # The socket's timeout: a connection idle that long is closed, so idle
        # clients cannot hold threads and file descriptors for ever.
        self.timeout = self.server.idle_timeout
        super().setup()

    @override
    def handle(self) -> None:
        while True:
            try:
                line = self.rfile.readline(MAX_REQUEST_BYTES + 1)
            except OSError:
                return
            if not line:
                return
            if len(line) > MAX_REQUEST_BYTES and not line.endswith(b"\n"):
                self._reply({"ok": False, "error": "request too long"})
                self._discard_rest_of_line()
                return
            if not line.strip():
                continue
            if not self._reply(self.server.handler.handle_line(line)):
                return

    def _discard_rest_of_line(self) -> None:
        """Read what is left of a refused request (bounded) before closing.

        Closing with unread input resets the connection, and the reset can
        reach the client before the reply it was sent.
        """
        left = MAX_DISCARDED_BYTES
        try:
            self.connection.settimeout(DISCARD_TIMEOUT)
            while left > 0:
                chunk = self.rfile.readline(min(left, 1 << 16))
                if not chunk or chunk.endswith(b"\n"):
                    return
                left -= len(chunk)
        except OSError:
            return

    def _reply(self, reply: dict[str, Any]) -> bool:
        try:
            self.wfile.write(json.dumps(reply, default=str).encode() + b"\n")
            self.wfile.flush()
        except OSError:
            return False
        return True


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self, path: str, handler: ControlHandler, idle_timeout: float | None
    ) -> None:
        self.handler = handler
        self.idle_timeout = idle_timeout
        super().__init__(path, _StreamHandler)

    @override
    def handle_error(self, request: Any, client_address: Any) -> None:
        # One client's broken connection must not stop the run, nor print a
        # traceback over the dashboard: it becomes a warning in the event log.
        exc = sys.exception()
        self.handler.system.events.publish(
            LogMessage(
                level="warning",
                message=f"a control connection failed: {type(exc).__name__}: {exc}",
            )
        )


class ControlServer:
    """Serves a :class:`ControlHandler` on a Unix socket (0600) in a background thread.

    Args:
        handler: What answers requests.
        socket_path: Where to listen (its directory should be 0700).
        on_failure: Told if the serving thread fails (default: the system's
            :meth:`~engine.System.report_failure`, which stops the run in order).
        idle_timeout: Seconds a connection may wait between requests before it
            is closed (None: never). A request being served is not limited.
    """

    def __init__(
        self,
        handler: ControlHandler,
        socket_path: Path,
        on_failure: FailureHandler | None = None,
        idle_timeout: float | None = IDLE_TIMEOUT,
    ) -> None:
        self.handler = handler
        self.handler.idle_timeout = idle_timeout
        self.idle_timeout = idle_timeout
        self.socket_path = socket_path
        self._on_failure = on_failure or handler.system.report_failure
        self._server: _Server | None = None
        self._thread: SupervisedThread | None = None

    def start(self) -> None:
        """Bind, restrict the socket to its owner, and serve in a daemon thread.

        Raises:
            OSError: If the socket cannot be bound.
        """
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        self._server = _Server(str(self.socket_path), self.handler, self.idle_timeout)
        # The directory is 0700, so nobody else can reach it before the chmod.
        os.chmod(self.socket_path, 0o600)
        server = self._server
        self._thread = SupervisedThread(
            "control-socket",
            lambda: server.serve_forever(poll_interval=0.1),
            self._on_failure,
        )
        self._thread.start()

    def _shutdown(self, server: _Server) -> None:
        """``server.shutdown()``, without waiting out the serving loop's poll
        interval: a connection wakes the loop to see the request at once."""
        stopping = threading.Thread(target=server.shutdown, name="control-stop")
        stopping.start()
        while stopping.is_alive():
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as poke:
                poke.settimeout(0.2)
                poke.connect(str(self.socket_path))
            stopping.join(0.005)

    def stop(self) -> None:
        """Stop serving and remove the socket."""
        if self._server is not None:
            # shutdown() waits for serve_forever() to return: never for a thread
            # that already died (its failure was reported).
            if self._thread is not None and self._thread.is_alive():
                self._shutdown(self._server)
            self._server.server_close()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        self.handler.close()
