"""PAMIQ-Core 0.6.0's web API, served from the engine.

Programs written for PAMIQ-Core control their runs over HTTP with its
``WebApiClient``, its ``pamiq-console`` REPL and ``pamiq-kbctl``. This server
answers them as PAMIQ-Core 0.6.0's does (its Starlette app under uvicorn), from
the standard library alone:

* ``GET /api/status`` (and ``HEAD``): 200 ``{"status":N}``, ``N`` the value of
  PAMIQ-Core's ``SystemStatus``: 1 active, 2 pausing, 3 paused, 4 resuming,
  5 shutting down (stopping and stopped here).
* ``POST /api/pause``, ``/api/resume``, ``/api/shutdown``, ``/api/save-state``:
  200 ``{"result":"ok"}`` once the command is queued, 503 ``{"error":"Command
  queue is full, try again later"}`` when the bounded queue is full. A worker
  thread carries the commands out in order; one that fails (a pause that times
  out, a stopped system) becomes a warning :class:`LogMessage`.
* Anything else: 404 ``{"error":"Invalid API endpoint"}``, a known path with
  another method 405 ``{"error":"Invalid API method"}`` (no ``Allow`` header,
  as Starlette's handler drops it), a path with trailing slashes 307 to the
  path without them, and an error while answering 500 ``{"error":"Internal
  server error"}``.

The API is unauthenticated, as PAMIQ-Core's is, so it is served on a loopback
host unless the program allows more. Each connection is closed after its
response.
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
import socket
import socketserver
import sys
import threading
from collections import deque
from collections.abc import Callable
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import unquote, urlsplit

from typing_extensions import override

from ..launch_config import is_loopback
from ..runtime.control import SystemState
from ..telemetry.events import LogMessage
from ..thread.supervision import SupervisedThread

if TYPE_CHECKING:
    from .served import ServedSystem

STATUS_CODES: dict[SystemState, int] = {
    SystemState.ACTIVE: 1,
    SystemState.PAUSING: 2,
    SystemState.PAUSED: 3,
    SystemState.RESUMING: 4,
    SystemState.STOPPING: 5,
    SystemState.STOPPED: 5,
}
"""Our control states as PAMIQ-Core's ``SystemStatus`` values (6, OFFLINE, is
what its client reports when nothing answers)."""
SHUTDOWN_REASON = "web API shutdown request"
JOIN_TIMEOUT = 5.0
"""Seconds :meth:`WebApiServer.stop` waits for each of its threads."""
REQUEST_TIMEOUT = 10.0
"""Seconds a connection may take to send its request before it is closed."""
MAX_DISCARDED_BODY = 1 << 20
"""Request bodies (ignored, as PAMIQ-Core ignores them) are read up to this size."""
_HOST_HEADER = re.compile(r"^[A-Za-z0-9.:\[\]_-]+$")

_OK = {"result": "ok"}
_QUEUE_FULL = {"error": "Command queue is full, try again later"}
_INVALID_ENDPOINT = {"error": "Invalid API endpoint"}
_INVALID_METHOD = {"error": "Invalid API method"}
_INTERNAL_ERROR = {"error": "Internal server error"}


class WebApiError(Exception):
    """The web API cannot be served (a non-loopback host, a port in use)."""


class Command(Enum):
    """A command the web API queues, named by its endpoint."""

    PAUSE = "pause"
    RESUME = "resume"
    SHUTDOWN = "shutdown"
    SAVE_STATE = "save-state"


class _Route(NamedTuple):
    method: str
    command: Command | None  # None: the status


_ROUTES: dict[str, _Route] = {
    "/api/status": _Route("GET", None),
    **{f"/api/{c.value}": _Route("POST", c) for c in Command},
}


class _Response(NamedTuple):
    code: int
    body: dict[str, Any]
    location: str | None = None


class _CommandQueue:
    """A bounded FIFO whose reader can be woken for good by :meth:`close`."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: deque[Command] = deque()
        self._cond = threading.Condition()
        self._closed = False

    def offer(self, command: Command) -> bool:
        """Queue ``command``; False if the queue is full (size < 1: never full)."""
        with self._cond:
            if self._closed or (0 < self._size <= len(self._items)):
                return False
            self._items.append(command)
            self._cond.notify()
            return True

    def take(self) -> Command | None:
        """The next command, waiting for one; None once the queue is closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._items or self._closed)
            return None if self._closed else self._items.popleft()

    def close(self) -> None:
        """Drop what is queued and make :meth:`take` return None from now on."""
        with self._cond:
            self._closed = True
            self._items.clear()
            self._cond.notify_all()


class _HttpServer(ThreadingHTTPServer):
    """The listening socket; each request is answered on a daemon thread."""

    daemon_threads = True
    allow_reuse_port = False  # never share the port with another server
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        answer: Callable[[_Handler], _Response],
        warn: Callable[[str], None],
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.answer = answer
        self.warn = warn
        super().__init__(address, _Handler)

    @override
    def server_bind(self) -> None:
        # HTTPServer's own looks the host up in DNS (getfqdn), which may hang.
        socketserver.TCPServer.server_bind(self)
        host, self.server_port = self.server_address[:2]
        self.server_name = str(host)

    @override
    def handle_error(self, request: Any, client_address: Any) -> None:
        # Not to stderr (it would draw over the dashboard); a client that hung up is no news.
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError | TimeoutError):
            self.warn(f"web API: a request from {client_address[0]} failed: {exc!r}")


class _Handler(BaseHTTPRequestHandler):
    """Hands every request, whatever its method, to the server's ``answer``."""

    server: _HttpServer
    protocol_version = "HTTP/1.1"
    server_version = "pamiq-console"
    sys_version = ""
    timeout = REQUEST_TIMEOUT

    def __getattr__(self, name: str) -> Callable[[], None]:
        # BaseHTTPRequestHandler calls do_<METHOD>; every method is routed here,
        # so an unknown one gets 404 or 405 as from Starlette, not 501.
        if name.startswith("do_"):
            return self._respond
        raise AttributeError(name)

    def _respond(self) -> None:
        self._discard_body()
        response = self.server.answer(self)
        if response.location is None:
            # Starlette's JSONResponse: compact, UTF-8.
            data = json.dumps(
                response.body, ensure_ascii=False, separators=(",", ":")
            ).encode()
            header = ("Content-Type", "application/json")
        else:
            data, header = b"", ("Location", response.location)
        self.send_response(response.code)
        self.send_header(*header)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _discard_body(self) -> None:
        """Read the request's body, if any, so that closing cannot reset the reply."""
        with contextlib.suppress(ValueError, OSError):
            length = int(self.headers.get("Content-Length") or 0)
            if 0 < length <= MAX_DISCARDED_BODY:
                self.rfile.read(length)

    @override
    def version_string(self) -> str:
        """The ``Server`` header."""
        return self.server_version

    @override
    def log_message(self, format: str, *args: Any) -> None:
        """No access log (PAMIQ-Core's uvicorn runs with ``log_level="error"``)."""


class WebApiServer:
    """Serves PAMIQ-Core 0.6.0's web API for a :class:`~engine.System`.

    Args:
        system: The system the commands go to.
        address: ``(host, port)`` to listen on (port 0: any free port).
        queue_size: Commands that may wait to be carried out (a full queue
            answers 503); PAMIQ-Core's ``web_api_command_queue_size``.
        allow_remote: Serve on a host that is not a loopback address.
    """

    def __init__(
        self,
        system: ServedSystem,
        address: tuple[str, int],
        queue_size: int = 1,
        allow_remote: bool = False,
    ) -> None:
        self._system = system
        self._requested = (address[0], address[1])
        self._allow_remote = allow_remote
        self._commands = _CommandQueue(queue_size)
        self._lock = threading.Lock()
        self._httpd: _HttpServer | None = None
        self._threads: list[SupervisedThread] = []
        self._started = False
        self._stopped = False

    @property
    def address(self) -> tuple[str, int]:
        """The host as given and the port bound (the requested one before :meth:`start`)."""
        httpd = self._httpd
        if httpd is None:
            return self._requested
        return (self._requested[0], int(httpd.server_address[1]))

    def describe(self) -> str:
        """One line for the start-up notice: what is served and where."""
        host, port = self.address
        shown = f"[{host}]" if ":" in host else host
        return f"PAMIQ-Core web API (unauthenticated) on http://{shown}:{port}/api"

    def start(self) -> None:
        """Bind, then serve and carry out commands in background daemon threads.

        Both threads report a failure to the system's ``report_failure`` (an
        error while answering one request is a 500, not a failure).

        Raises:
            WebApiError: If the host is not a loopback address and remote
                access is not allowed, or the address cannot be bound.
            RuntimeError: If already started.
        """
        with self._lock:
            if self._started:
                raise RuntimeError("the web API server was already started")
            self._started = True
        where = f"web_api_address {self._requested!r}"
        if not self._allow_remote and not is_loopback(self._requested[0]):
            raise WebApiError(
                f"{where}: the web API is unauthenticated; serve it on a loopback "
                "host, or set LaunchConfig.web_api_allow_remote=True to expose it"
            )
        try:
            httpd = _HttpServer(self._requested, self._answer, self._warn)
        except (OSError, OverflowError) as e:
            raise WebApiError(f"{where}: {_bind_problem(e)}") from None
        self._httpd = httpd
        failed = self._system.report_failure
        self._threads = [
            SupervisedThread(
                "web-api", lambda: httpd.serve_forever(poll_interval=0.1), failed
            ),
            SupervisedThread("web-api-commands", self._carry_out_commands, failed),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop serving, close the socket and drop queued commands (idempotent).

        A command being carried out finishes on its own; the threads are
        joined for at most :data:`JOIN_TIMEOUT` seconds each.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._commands.close()
        httpd = self._httpd
        if httpd is None:
            return
        serving = self._threads[0] if self._threads else None
        # shutdown() waits for serve_forever(): never for a thread that died.
        if serving is not None and serving.is_alive():
            httpd.shutdown()
        httpd.server_close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(JOIN_TIMEOUT)

    # -- requests -------------------------------------------------------------------

    def _answer(self, request: _Handler) -> _Response:
        try:
            return self._route(request)
        except Exception as e:
            self._warn(
                f"web API: {request.command} {request.path} failed: "
                f"{type(e).__name__}: {e}"
            )
            return _Response(500, _INTERNAL_ERROR)

    def _route(self, request: _Handler) -> _Response:
        # The target as sent: BaseHTTPRequestHandler turns a leading "//" into "/".
        words = request.requestline.split()
        target = words[1] if len(words) > 1 else request.path
        raw, _, query = target.partition("?")
        if not raw.startswith("/"):  # absolute-form: http://host/api/status
            raw = urlsplit(raw).path
        path = unquote(raw)
        route = _ROUTES.get(path)
        if route is None:
            stripped = path.rstrip("/")
            if path != "/" and stripped in _ROUTES:
                return _Response(307, {}, self._url(request, stripped, query))
            return _Response(404, _INVALID_ENDPOINT)
        method = request.command
        if method != route.method and not (route.method == "GET" and method == "HEAD"):
            return _Response(405, _INVALID_METHOD)
        if route.command is None:
            return _Response(200, {"status": STATUS_CODES[self._system.state]})
        if self._commands.offer(route.command):
            return _Response(200, _OK)
        self._warn(f"web API: {route.command.value} refused: the command queue is full")
        return _Response(503, _QUEUE_FULL)

    def _url(self, request: _Handler, path: str, query: str) -> str:
        host = request.headers.get("Host", "")
        if not _HOST_HEADER.match(host):
            bound, port = self.address
            host = f"[{bound}]:{port}" if ":" in bound else f"{bound}:{port}"
        return f"http://{host}{path}" + (f"?{query}" if query else "")

    # -- commands -------------------------------------------------------------------

    def _carry_out_commands(self) -> None:
        while (command := self._commands.take()) is not None:
            self._carry_out(command)

    def _carry_out(self, command: Command) -> None:
        system = self._system
        system.events.publish(
            LogMessage(level="info", message=f"web API: {command.value} requested")
        )
        try:
            match command:
                case Command.PAUSE:
                    system.pause()
                case Command.RESUME:
                    system.resume()
                case Command.SHUTDOWN:
                    system.shutdown(SHUTDOWN_REASON)
                case Command.SAVE_STATE:
                    system.save_state()
        except Exception as e:
            self._warn(f"web API: {command.value} failed: {e}")

    def _warn(self, message: str) -> None:
        self._system.events.publish(LogMessage(level="warning", message=message))


def _bind_problem(e: OSError | OverflowError) -> str:
    """What stopped the bind, in a few words ("address already in use")."""
    if isinstance(e, OSError) and e.errno == errno.EADDRINUSE:
        return "address already in use"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror[0].lower() + e.strerror[1:]
    return str(e)
