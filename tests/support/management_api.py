"""A real HTTP server on 127.0.0.1 that plays API Gateway's @connections management API.

moto's stand-in never answers 410 (its PostToConnection always succeeds), so the dispatcher is
tested against this. boto3 sends ``POST /<stage>/@connections/<url-encoded id>`` with the frame
as body; each connection can be told how to answer, in order::

    with ManagementApiFake() as api:
        api.script("c1", 429, 429)          # two throttles, then 200
        api.script("c2", then=410)          # gone, every time
        api.faults(0.3, seed=7)             # any POST: 30 % 429/500 or a reset TCP connection
        api.gone("c3")                      # GET and DELETE answer 410 for c3 (POSTs: script)
        ... WS_API_ENDPOINT=api.endpoint ...
        assert api.frames("c1") == [b'{"type":...}']
        assert api.deleted() == ["c2"]      # DeleteConnection calls, in order
"""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from tests.support.network import ServedInBackground

__all__ = ["RESET", "ManagementApiFake", "Post"]

STAGE = "test"
# ``Post.status`` of a POST answered by resetting the TCP connection (no HTTP status at all).
RESET = 0
# What AWS sends with each status: x-amzn-ErrorType and a JSON message.
_ERRORS = {
    403: ("ForbiddenException", "Forbidden"),
    410: ("GoneException", None),
    413: ("PayloadTooLargeException", "Request entity too large"),
    429: ("LimitExceededException", "Rate exceeded"),
    500: ("InternalServerErrorException", "Internal server error"),
    503: ("ServiceUnavailableException", "Service unavailable"),
}


@dataclass(frozen=True)
class Post:
    """One POST as received, and how it was answered."""

    connection_id: str
    body: bytes
    status: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.posts: list[Post] = []
        self.scripts: dict[str, deque[int]] = defaultdict(deque)
        self.then: dict[str, int] = {}
        self.without_error_type: set[str] = set()
        self.rendezvous: set[str] = set()
        self.barrier: threading.Barrier | None = None
        self.rendezvous_failed = False
        self.fault_rate = 0.0
        self.fault_answers: tuple[int, ...] = ()
        self.fault_rng = random.Random(0)
        self.deletes: list[str] = []
        self.gone: set[str] = set()

    def answer_for(self, connection_id: str) -> int:
        with self.lock:
            script = self.scripts[connection_id]
            if script:
                return script.popleft()
            if self.fault_answers and self.fault_rng.random() < self.fault_rate:
                return self.fault_rng.choice(self.fault_answers)
            return self.then.get(connection_id, 200)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pooled connections expect

    def _connection_id(self) -> str | None:
        prefix = f"/{STAGE}/@connections/"
        return unquote(self.path[len(prefix) :]) if self.path.startswith(prefix) else None

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if len(body) < length:  # the client died mid-request: nothing reached the socket
            self.close_connection = True
            return
        connection_id = self._connection_id()
        if connection_id is None:
            self._reply(404, {"message": "Not Found"})
            return
        if connection_id in self.server.rendezvous and self.server.barrier is not None:
            try:
                self.server.barrier.wait()
            except threading.BrokenBarrierError:
                self.server.rendezvous_failed = True
        status = self.server.answer_for(connection_id)
        with self.server.lock:
            self.server.posts.append(Post(connection_id, body, status))
        if status == 200:
            self._reply(200, None)
            return
        if status == RESET:
            self._reset()
            return
        error_type, message = _ERRORS.get(status, ("UnknownError", "error"))
        with_type = connection_id not in self.server.without_error_type
        self._reply(status, {"message": message}, error_type if with_type else None)

    def _reset(self) -> None:
        """Close with SO_LINGER 0: the client reads a TCP RST where the response should be."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def do_GET(self) -> None:
        if self._connection_id() in self.server.gone:
            self._reply(410, {"message": None}, "GoneException")
            return
        self._reply(200, {"ConnectedAt": "2026-01-01T00:00:00.000Z", "Identity": {"SourceIp": "127.0.0.1"}})

    def do_DELETE(self) -> None:
        connection_id = self._connection_id()
        with self.server.lock:
            self.server.deletes.append(connection_id or "")
        if connection_id in self.server.gone:
            self._reply(410, {"message": None}, "GoneException")
            return
        self._reply(204, None)

    def _reply(self, status: int, document: Any, error_type: str | None = None) -> None:
        body = b"" if document is None else json.dumps(document).encode()
        self.send_response(status)
        self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test output is for assertions."""


class ManagementApiFake(ServedInBackground[_Server]):
    """The @connections API of stage ``test``, served from a background thread."""

    def __init__(self) -> None:
        super().__init__(_Server(), "management-api-fake")

    @property
    def endpoint(self) -> str:
        """What ``WS_API_ENDPOINT`` is set to: ``http://127.0.0.1:<port>/test``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/{STAGE}"

    def script(self, connection_id: str, *statuses: int, then: int = 200, error_type: bool = True) -> None:
        """Answer ``statuses`` in order, then ``then`` forever; ``error_type=False`` omits the
        ``x-amzn-ErrorType`` header (boto3 then raises a plain ClientError)."""
        with self._server.lock:
            self._server.scripts[connection_id].extend(statuses)
            self._server.then[connection_id] = then
            if not error_type:
                self._server.without_error_type.add(connection_id)

    def faults(self, rate: float, *, answers: tuple[int, ...] = (429, 500, RESET), seed: int = 0) -> None:
        """Answer a ``rate`` fraction of unscripted POSTs with one of ``answers`` (``RESET`` resets
        the connection), drawn from a ``seed``-ed RNG, so a failure reproduces from its seed."""
        with self._server.lock:
            self._server.fault_rate = rate
            self._server.fault_answers = answers
            self._server.fault_rng = random.Random(seed)

    def rendezvous(self, *connection_ids: str, timeout: float = 5.0) -> None:
        """Hold each POST to these connections until all of them are in flight at once.

        If the posts came one after another, the wait times out and ``rendezvous_failed`` is set.
        """
        self._server.rendezvous = set(connection_ids)
        self._server.barrier = threading.Barrier(len(connection_ids), timeout=timeout)

    @property
    def rendezvous_failed(self) -> bool:
        """True when posts meant to overlap did not."""
        return self._server.rendezvous_failed

    def gone(self, *connection_ids: str) -> None:
        """GET and DELETE of these connections answer 410 ``GoneException`` from now on."""
        with self._server.lock:
            self._server.gone.update(connection_ids)

    def deleted(self) -> list[str]:
        """The connection ids of every DELETE (DeleteConnection) received, in arrival order."""
        with self._server.lock:
            return list(self._server.deletes)

    def posts(self, connection_id: str | None = None) -> list[Post]:
        """Every POST received (to one connection, if given), in arrival order."""
        with self._server.lock:
            return [p for p in self._server.posts if connection_id in (None, p.connection_id)]

    def frames(self, connection_id: str) -> list[bytes]:
        """The bodies a connection received with a 200: what its browser would have seen."""
        return [p.body for p in self.posts(connection_id) if p.status == 200]
