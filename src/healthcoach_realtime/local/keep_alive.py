"""HTTP/1.1 keep-alive for the AWS emulator's server.

werkzeug's development server answers every request with ``Connection: close``, then reads
whatever else the socket holds, for lack of a way to know where an unread request body ends.
Behind it, every boto3 call to the emulator would open a TCP connection, and the server a
thread, of its own: on this machine a DynamoDB call then costs the caller 3.5 ms of CPU, where a
PostToConnection to a keep-alive server costs 1.3 ms.

``KeepAliveRequestHandler`` keeps the connection open. The application reads the request body
through a ``LimitedStream`` of its ``Content-Length``, which is exhausted after the response,
so the next request starts where it should; werkzeug's own read-everything step is given a
stream with nothing in it, so it cannot eat the next request. A chunked request (no length to
drain by) still closes its connection. ``TCP_NODELAY`` is set: on a kept-open connection
Nagle's algorithm would hold each response's body back for the client's delayed ACK.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import DechunkedInput
from werkzeug.wsgi import LimitedStream

__all__ = ["KeepAliveRequestHandler", "close_connections"]

_LOCK = threading.Lock()


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler, with connections kept open between requests."""

    # The headers and the body go out in two writes: with Nagle's algorithm the body would
    # wait for the client's (delayed) ACK of the headers, ~40 ms on a kept-open connection.
    disable_nagle_algorithm = True

    _socket_file: Any = None  # the connection's buffered reader, while a request runs
    _body: LimitedStream | None = None

    def setup(self) -> None:
        super().setup()
        with _LOCK:
            _open_connections(self.server).add(self.connection)

    def finish(self) -> None:
        with _LOCK:
            _open_connections(self.server).discard(self.connection)
        super().finish()

    def run_wsgi(self) -> None:
        self._socket_file, self.rfile = self.rfile, io.BytesIO()
        try:
            super().run_wsgi()
        finally:
            self.rfile = self._socket_file
        if self._body is not None and not self.close_connection:
            self._body.exhaust()  # what the application left unread

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        self._body = None
        if environ.get("wsgi.input_terminated"):  # chunked: nothing says where the body ends
            self.close_connection = True
            environ["wsgi.input"] = DechunkedInput(self._socket_file)
        else:
            self._body = LimitedStream(self._socket_file, int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = self._body
        return environ

    def send_header(self, keyword: str, value: str) -> None:
        """Drop werkzeug's unconditional ``Connection: close`` unless this connection closes."""
        if keyword.lower() == "connection" and value.lower() == "close" and not self.close_connection:
            return
        super().send_header(keyword, value)


def close_connections(server: Any) -> None:
    """End every connection ``server`` still holds open (after ``shutdown()``): a kept-open one
    would otherwise go on being served by the stopped server's thread."""
    with _LOCK:
        connections = list(_open_connections(server))
    for connection in connections:
        with contextlib.suppress(OSError):  # already closed by its client
            connection.shutdown(socket.SHUT_RDWR)


def _open_connections(server: Any) -> set[socket.socket]:
    if not hasattr(server, "open_connections"):
        server.open_connections = set()
    connections: set[socket.socket] = server.open_connections
    return connections
