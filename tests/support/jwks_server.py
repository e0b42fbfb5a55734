"""A real HTTP server on 127.0.0.1 that publishes a JWKS where a verifier looks for it.

It counts the fetches, so tests can prove the JWKS cache's rate limit over a real socket::

    with JwksServer() as server:
        issuer = DevIssuer(server.issuer_url)
        server.publish(issuer.jwks())
        ...
        assert server.fetch_count == 1
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.network import ServedInBackground

__all__ = ["JwksServer"]

ISSUER_PATH = "/issuer"
JWKS_PATH = f"{ISSUER_PATH}/.well-known/jwks.json"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.document: dict[str, Any] = {"keys": []}
        self.fetch_count = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        if self.path != JWKS_PATH:
            self.send_error(404)
            return
        with self.server.lock:
            self.server.fetch_count += 1
            body = json.dumps(self.server.document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test output is for assertions."""


class JwksServer(ServedInBackground[_Server]):
    """Serves ``<issuer_url>/.well-known/jwks.json`` from a background thread."""

    def __init__(self) -> None:
        super().__init__(_Server(), "jwks-server")

    @property
    def issuer_url(self) -> str:
        """The issuer to give ``DevIssuer`` and ``TOKEN_ISSUER``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{ISSUER_PATH}"

    @property
    def fetch_count(self) -> int:
        """How many times the JWKS was fetched so far."""
        with self._server.lock:
            return self._server.fetch_count

    def publish(self, *documents: dict[str, Any]) -> None:
        """Serve the union of these key sets (two of them: a key rotation)."""
        keys = [key for document in documents for key in document["keys"]]
        with self._server.lock:
            self._server.document = {"keys": keys}
