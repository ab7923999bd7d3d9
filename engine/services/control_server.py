"""The control endpoint of a live run: newline-delimited JSON over a Unix socket.

Each request is one JSON object on one line, answered by one line::

    {"op": "status"}                  -> {"ok": true, "result": {...}}
    {"op": "load", "state": "X.state"} -> {"ok": false, "error": "..."}

An optional ``"id"`` is echoed back. Operations: ``ping``, ``status``, ``pause``,
``resume``, ``save``, ``load`` (``state``: a name or path inside the run's
states directory, or ``"latest"``: the newest that verifies), ``states``, ``events`` (``limit``, optional ``kinds``),
``watch`` / ``feed`` / ``unwatch`` (a watcher's own bounded queue of events; each
``feed`` brings the status, the events since the last one, how many it lost, and
what changed in the learning curves it asks for), ``settings`` (the run's
tunable settings: name, type, bounds, value), ``set`` (``name``, ``value``:
change one from its owner's next step) and ``shutdown``. ``ping`` says the protocol version (:data:`PROTOCOL_VERSION`);
a request that names another ``"protocol"`` is refused. A malformed request gets an error reply; nothing a client sends
can stop the run except ``shutdown``. An error is one line: line breaks and
control characters in it (from what the client sent) are escaped. The socket
is 0600 in a 0700 directory.

One thread serves every connection (a selector loop): a client that connects
per request, as the CLI and the dashboard do, costs the run no thread start,
and the watchers' feeds come from one frame per tick
(:class:`~engine.services.feeds.FeedHub`). Operations that may take long
(``pause``, ``resume``, ``save``, ``load``, ``states``, ``shutdown``) run on a
thread of their own, so they never hold up the others; a connection's later
requests wait for its reply, so replies keep their order.
See docs/console.md.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..telemetry.events import EVENT_KINDS, Event, LogMessage
from ..telemetry.status import SystemStatus
from ..thread.supervision import FailureHandler, SupervisedThread
from ..tunables import no_such_setting
from .curves import MAX_CURVES, CurveBook, Key
from .feeds import FEED_TICK, JOURNAL_SIZE, FeedCursor, FeedHub
from .operations import LocalRun, OperationError

if TYPE_CHECKING:
    from .served import ServedSystem

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
PROTOCOL_VERSION = 2
"""The control protocol's version, sent by ``ping``; bumped when a reply changes shape
(2: ``feed`` brings the status and the curves asked for; a version-2 client relies on it)."""
WATCHER_QUEUE = JOURNAL_SIZE
"""Events kept for one watcher; past that the oldest are dropped (and counted)."""
MAX_WATCHERS = 64
"""Watchers at once; the one fed least recently gives way to a new one."""
WATCHER_TTL = 60.0
"""Seconds a watcher that is not fed is kept (its client may have vanished)."""
__all__ = [
    "MAX_WATCHERS",
    "OPS",
    "PROTOCOL_VERSION",
    "WATCHER_QUEUE",
    "WATCHER_TTL",
    "ControlHandler",
    "ControlServer",
    "RequestError",
    "one_line",
]
SLOW_OPS = frozenset({"pause", "resume", "save", "load", "states", "shutdown"})
"""Operations served on a thread of their own (they may wait or read many files)."""
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
    "settings",
    "set",
)


class RequestError(Exception):
    """A request that cannot be served (sent back as ``{"ok": false}``)."""


class _RawJSON:
    """A result already serialised (a feed): sent as it is, not encoded again."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def encode_reply(reply: dict[str, Any]) -> bytes:
    """A reply as the line sent back (a serialised feed is spliced in as it is)."""
    result = reply.get("result")
    if not isinstance(result, _RawJSON):
        return json.dumps(reply, default=str).encode() + b"\n"
    parts = [b'{"ok": true, "result": ', result.data]
    if "id" in reply:
        parts += [b', "id": ', json.dumps(reply["id"], default=str).encode()]
    parts.append(b"}\n")
    return b"".join(parts)


class ControlHandler:
    """Serves requests against one system (transport-independent; tests call it directly).

    Args:
        system: The running system.
        curves: The run's learning curves.
        run_info: Extra data returned by ``status`` under ``run``.
        history: How many recent events of each kind ``events`` can return
            (per kind, so a flood of metrics cannot push out the last save).
        feed_tick: Seconds one feed frame serves every watcher (see
            :class:`~engine.services.feeds.FeedHub`).
        clock: Monotonic seconds for the feed's ticks (tests pass their own).
    """

    def __init__(
        self,
        system: ServedSystem,
        curves: CurveBook,
        run_info: dict[str, Any] | None = None,
        history: int = 500,
        feed_tick: float = FEED_TICK,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.system = system
        self.run = LocalRun(system, curves)
        self.run_info = dict(run_info or {})
        self._history = history
        self._events: dict[str, deque[Event]] = {}
        self._remove_callback = system.events.add_callback(self._record)
        self._curves = curves
        self.idle_timeout: float | None = None  # set by the server that serves it
        self.feeds = FeedHub(
            system.events,
            curves,
            lambda: self._status_dict(self.run.status()),
            tick=feed_tick,
            clock=clock,
        )
        """Serves every watcher's ``feed`` from one frame per tick."""
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
            self._watchers.clear()
        self.feeds.shut()

    @property
    def states_dir(self) -> Path:
        """The run's states directory."""
        return self.run.states_dir

    def handle_line(self, line: bytes | str) -> dict[str, Any]:
        """Parse one request line and return the reply object (never raises)."""
        return _parsed(self._reply_to_line(line))

    def parse(self, line: bytes | str) -> dict[str, Any] | bytes:
        """A request line as a request object, or the encoded error reply to it."""
        try:
            request = json.loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            error = f"malformed request: not JSON ({type(e).__name__})"
            return encode_reply({"ok": False, "error": error})
        if not isinstance(request, dict):
            error = "malformed request: expected a JSON object"
            return encode_reply({"ok": False, "error": error})
        return request

    def reply(self, request: dict[str, Any]) -> bytes:
        """Serve a parsed request; the encoded reply line (never raises)."""
        return encode_reply(self._with_id(request.get("id"), self._serve(request)))

    def _reply_to_line(self, line: bytes | str) -> dict[str, Any]:
        request = self.parse(line)
        if isinstance(request, bytes):
            return json.loads(request)
        return self._with_id(request.get("id"), self._serve(request))

    @staticmethod
    def _with_id(request_id: Any, reply: dict[str, Any]) -> dict[str, Any]:
        if request_id is not None:
            reply["id"] = request_id
        return reply

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Serve a parsed request; errors become ``{"ok": false, "error": ...}``.

        An error is one line (see :func:`one_line`), whatever the client sent.
        """
        return _parsed(self._serve(request))

    def _serve(self, request: dict[str, Any]) -> dict[str, Any]:
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
        watcher = _Watcher(self.feeds.open(size))
        evicted: list[_Watcher] = []
        with self._watchers_lock:
            while len(self._watchers) >= MAX_WATCHERS:
                oldest = min(self._watchers, key=lambda k: self._watchers[k].fed)
                evicted.append(self._watchers.pop(oldest))
            watcher_id = f"w{next(self._watcher_ids)}"
            self._watchers[watcher_id] = watcher
        for old in evicted:
            self.feeds.close(old.cursor)
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

    def _op_feed(self, request: dict[str, Any]) -> _RawJSON:
        _, watcher = self._watcher(request)
        wanted = _curve_keys(request.get("curves", []))
        watcher.fed = time.monotonic()
        # This tick's frame, the same bytes for every watcher that is owed the same.
        with watcher.lock:
            feed = self.feeds.feed(watcher.cursor, wanted)
        self._expire_watchers()
        return _RawJSON(feed)

    def _op_unwatch(self, request: dict[str, Any]) -> dict[str, Any]:
        watcher_id, _ = self._watcher(request)
        with self._watchers_lock:
            gone = self._watchers.pop(watcher_id, None)
        if gone is not None:
            self.feeds.close(gone.cursor)
        return {"watcher": watcher_id}

    def _expire_watchers(self) -> None:
        """Drop watchers nobody fed for :data:`WATCHER_TTL` (their client is gone)."""
        cutoff = time.monotonic() - WATCHER_TTL
        with self._watchers_lock:
            stale = [k for k, w in self._watchers.items() if w.fed < cutoff]
            gone = [self._watchers.pop(k) for k in stale]
        for watcher in gone:
            self.feeds.close(watcher.cursor)

    @property
    def watchers(self) -> int:
        """How many watchers are kept now."""
        with self._watchers_lock:
            return len(self._watchers)

    def _op_shutdown(self, _: dict[str, Any]) -> dict[str, Any]:
        return self.run.shutdown("shutdown requested over the control socket")

    def _op_settings(self, _: dict[str, Any]) -> list[dict[str, Any]]:
        return self.run.settings()

    def _op_set(self, request: dict[str, Any]) -> dict[str, Any]:
        if "value" not in request:
            raise RequestError("'set' needs a 'name' and a 'value'")
        name = request.get("name")
        if not isinstance(name, str):
            known = [str(setting["name"]) for setting in self.run.settings()]
            raise RequestError(no_such_setting(name, known))
        return self.run.set_setting(name, request["value"])


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
    """One watcher: its place in the feed and when it was last fed (monotonic seconds)."""

    def __init__(self, cursor: FeedCursor) -> None:
        self.cursor = cursor
        self.fed = time.monotonic()
        # Two requests feeding the same watcher at once must not both take its events.
        self.lock = threading.Lock()


def _parsed(reply: dict[str, Any]) -> dict[str, Any]:
    """``reply`` with a serialised result parsed (callers in this process get objects)."""
    result = reply.get("result")
    if isinstance(result, _RawJSON):
        reply["result"] = json.loads(result.data)
    return reply


class _Connection:
    """One client connection: what it sent that is not served yet, what is
    waiting to go back, and where it stands."""

    __slots__ = (
        "active",
        "busy",
        "closed",
        "closing",
        "discard_left",
        "discard_until",
        "eof",
        "inbox",
        "mask",
        "outbox",
        "sock",
    )

    def __init__(self, sock: socket.socket, now: float) -> None:
        self.sock = sock
        self.inbox = bytearray()
        self.outbox = bytearray()
        self.active = now  # the last time it sent, or took some of its reply
        self.busy = False  # a slow operation of its is running on another thread
        self.eof = False  # the client will send nothing more
        self.closing = False  # close once the reply is out
        self.closed = False
        self.discard_left: int | None = (
            None  # reading what is left of a refused request
        )
        self.discard_until = 0.0
        self.mask = 0  # what the selector waits for on it


class _Server:
    """The control socket's listener and every connection, served by one thread.

    Fast operations are answered on the serving thread; :data:`SLOW_OPS` run
    on a thread each and hand their reply back through a queue and a wake-up
    socket. A connection idle for ``idle_timeout`` seconds (waiting for a
    request, or not taking its reply) is closed.
    """

    def __init__(
        self, path: str, handler: ControlHandler, idle_timeout: float | None
    ) -> None:
        self.handler = handler
        self.idle_timeout = idle_timeout
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._listener.bind(path)
            self._listener.listen(LISTEN_BACKLOG)
        except BaseException:
            self._listener.close()
            raise
        self._listener.setblocking(False)
        self._wake_in, self._wake_out = socket.socketpair()
        self._wake_in.setblocking(False)
        self._wake_out.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._done: queue.SimpleQueue[tuple[_Connection, bytes]] = queue.SimpleQueue()
        self._connections: set[_Connection] = set()
        self._stopping = False

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until :meth:`shutdown` (``poll_interval``: the longest select wait)."""
        self._selector.register(self._listener, selectors.EVENT_READ, "listener")
        self._selector.register(self._wake_in, selectors.EVENT_READ, "wake")
        while not self._stopping:
            for key, mask in self._selector.select(self._wait(poll_interval)):
                if key.data == "listener":
                    self._accept()
                elif key.data == "wake":
                    self._replies_ready()
                else:
                    self._guarded(key.data, self._ready, mask)
            self._expire()

    def shutdown(self) -> None:
        """Ask :meth:`serve_forever` to return (at once: it is woken)."""
        self._stopping = True
        self._wake()

    def server_close(self) -> None:
        """Close every connection and the listener."""
        for conn in list(self._connections):
            self._close(conn)
        for sock in (self._listener, self._wake_in, self._wake_out):
            sock.close()
        self._selector.close()

    def _wait(self, poll_interval: float) -> float | None:
        """How long select may wait: until the next connection may time out."""
        if not self._connections:
            return None
        deadlines = [self._deadline(c) for c in self._connections]
        due = [d for d in deadlines if d is not None]
        if not due:
            return poll_interval
        return min(poll_interval, max(0.0, min(due) - time.monotonic()))

    def _deadline(self, conn: _Connection) -> float | None:
        if conn.discard_left is not None:
            return conn.discard_until
        if conn.busy or self.idle_timeout is None:
            return None  # a request being served is not limited
        return conn.active + self.idle_timeout

    def _expire(self) -> None:
        now = time.monotonic()
        for conn in [c for c in self._connections if (d := self._deadline(c))]:
            if d is not None and now >= d:
                self._close(conn)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # out of file descriptors, say: the next select tries again
            sock.setblocking(False)
            conn = _Connection(sock, time.monotonic())
            self._connections.add(conn)
            # Its request has usually arrived with it: no select round for it.
            self._guarded(conn, self._ready, selectors.EVENT_READ)

    def _guarded(
        self, conn: _Connection, serve: Callable[[_Connection, Any], None], arg: Any
    ) -> None:
        """``serve(conn, arg)``; what goes wrong closes the connection, never the loop."""
        try:
            serve(conn, arg)
        except Exception as exc:
            self._close(conn)
            # Not a traceback over the dashboard: a warning in the event log.
            self.handler.system.events.publish(
                LogMessage(
                    level="warning",
                    message=f"a control connection failed: {type(exc).__name__}: {exc}",
                )
            )

    def _ready(self, conn: _Connection, mask: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self._flush(conn)
        if mask & selectors.EVENT_READ and not conn.closed:
            self._read(conn)

    def _read(self, conn: _Connection) -> None:
        try:
            data = conn.sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            self._interest(conn)
            return
        except OSError:
            self._close(conn)
            return
        conn.active = time.monotonic()
        if not data:
            conn.eof = True
        elif conn.discard_left is not None:
            self._discard(conn, data)
            return
        else:
            conn.inbox += data
        self._process(conn)

    def _process(self, conn: _Connection) -> None:
        """Serve the complete requests it sent, in order, one at a time."""
        while not (conn.busy or conn.outbox or conn.closing or conn.closed):
            end = conn.inbox.find(b"\n")
            if end > MAX_REQUEST_BYTES or (
                end < 0 and len(conn.inbox) > MAX_REQUEST_BYTES
            ):
                self._refuse(conn, end)
                break
            if end < 0 and not conn.eof:
                break
            if end < 0:  # the last request, without a newline
                line = bytes(conn.inbox)
                conn.inbox.clear()
                conn.closing = not line.strip()
            else:
                line = bytes(conn.inbox[: end + 1])
                del conn.inbox[: end + 1]
            if line.strip():
                self._serve(conn, line)
        self._interest(conn)
        if conn.closing and not conn.outbox and not conn.busy:
            self._close(conn)

    def _serve(self, conn: _Connection, line: bytes) -> None:
        request = self.handler.parse(line)
        if isinstance(request, bytes):
            self._send(conn, request)
        elif request.get("op") in SLOW_OPS:
            conn.busy = True
            threading.Thread(
                target=self._serve_slowly,
                args=(conn, request),
                name=f"control-{request['op']}",
                daemon=True,
            ).start()
        else:
            self._send(conn, self.handler.reply(request))

    def _serve_slowly(self, conn: _Connection, request: dict[str, Any]) -> None:
        try:
            reply = self.handler.reply(request)
        except Exception as exc:  # reply() answers errors itself: a last resort
            reply = encode_reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        self._done.put((conn, reply))
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full: a wake-up is pending anyway
            self._wake_out.send(b"\0")

    def _replies_ready(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_in.recv(4096):
                pass
        while True:
            try:
                conn, reply = self._done.get_nowait()
            except queue.Empty:
                return
            if conn.closed:
                continue
            conn.busy = False
            conn.active = time.monotonic()
            self._guarded(conn, self._answered, reply)

    def _answered(self, conn: _Connection, reply: bytes) -> None:
        """A slow operation's reply: send it, then serve what waited for it."""
        self._send(conn, reply)
        if not conn.closed:
            self._process(conn)

    def _refuse(self, conn: _Connection, end: int) -> None:
        """Answer a request that is too long, read the rest of it, then close.

        Closing with unread input resets the connection, and the reset can
        reach the client before the reply it was sent.
        """
        self._send(conn, encode_reply({"ok": False, "error": "request too long"}))
        if end >= 0:
            conn.inbox.clear()
            conn.closing = True
            return
        conn.discard_left = MAX_DISCARDED_BYTES
        conn.discard_until = time.monotonic() + DISCARD_TIMEOUT
        conn.inbox.clear()
        if conn.eof:
            conn.closing = True
            conn.discard_left = None

    def _discard(self, conn: _Connection, data: bytes) -> None:
        assert conn.discard_left is not None
        conn.discard_left -= len(data)
        if b"\n" in data or conn.discard_left <= 0:
            conn.discard_left = None
            conn.closing = True
        self._interest(conn)
        if conn.closing and not conn.outbox:
            self._close(conn)

    def _send(self, conn: _Connection, data: bytes) -> None:
        if not conn.outbox:
            try:
                sent = conn.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._close(conn)
                return
            data = data[sent:]
        conn.outbox += data
        self._interest(conn)

    def _flush(self, conn: _Connection) -> None:
        try:
            sent = conn.sock.send(conn.outbox)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn)
            return
        del conn.outbox[:sent]
        conn.active = time.monotonic()
        if not conn.outbox:
            self._process(conn)  # requests that waited for this reply to go out

    def _interest(self, conn: _Connection) -> None:
        """Tell the selector what ``conn`` waits for now (nothing: unregistered)."""
        if conn.closed:
            return
        mask = 0
        if conn.outbox:
            mask = selectors.EVENT_WRITE
        elif conn.discard_left is not None or not (
            conn.busy or conn.closing or conn.eof
        ):
            mask = selectors.EVENT_READ
        if mask == conn.mask:
            return
        if not conn.mask:
            self._selector.register(conn.sock, mask, conn)
        elif not mask:
            self._selector.unregister(conn.sock)
        else:
            self._selector.modify(conn.sock, mask, conn)
        conn.mask = mask

    def _close(self, conn: _Connection) -> None:
        if conn.closed:
            return
        conn.closed = True
        if conn.mask:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(conn.sock)
            conn.mask = 0
        conn.sock.close()
        self._connections.discard(conn)

    @property
    def connections(self) -> int:
        """Connections open now."""
        return len(self._connections)


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

    @property
    def connections(self) -> int:
        """Client connections open now (0 when not serving)."""
        return 0 if self._server is None else self._server.connections

    def stop(self) -> None:
        """Stop serving and remove the socket."""
        if self._server is not None:
            thread = self._thread
            # The loop is woken to stop at once; never waited for when its
            # thread already died (its failure was reported).
            if thread is not None and thread.is_alive():
                self._server.shutdown()
                if thread is not threading.current_thread():
                    thread.join()
            self._server.server_close()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        self.handler.close()
