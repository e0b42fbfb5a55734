"""A loopback HTTP proxy in front of moto that throttles a fraction of DynamoDB requests.

moto never throttles. This proxy answers a ``rate`` fraction of DynamoDB calls (requests with
an ``X-Amz-Target: DynamoDB_20120810.<Operation>`` header) as DynamoDB does when a table is
over its capacity, HTTP 400 with ``ProvisionedThroughputExceededException``, and forwards
everything else unchanged. Point only DynamoDB at it with ``AWS_ENDPOINT_URL_DYNAMODB``::

    with ThrottlingProxy(moto_endpoint, rate=0.2, seed=3) as proxy:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = proxy.endpoint
        ...
        assert proxy.throttled > 0
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.support.network import ServedInBackground

__all__ = ["THROTTLE_TYPE", "ThrottlingProxy"]

THROTTLE_TYPE = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
_THROTTLE_MESSAGE = (
    "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API."
)
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, rate: float, seed: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.lock = threading.Lock()
        self.rate = rate
        self.rng = random.Random(seed)
        self.throttled: dict[str, int] = {}
        self.forwarded = 0

    def throttle(self, operation: str) -> bool:
        with self.lock:
            if operation and self.rng.random() < self.rate:
                self.throttled[operation] = self.throttled.get(operation, 0) + 1
                return True
            self.forwarded += 1
            return False


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self._proxy("POST")

    def do_GET(self) -> None:
        self._proxy("GET")

    def _proxy(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        target = self.headers.get("X-Amz-Target", "")
        operation = target.split(".", 1)[1] if target.startswith("DynamoDB_") else ""
        if self.server.throttle(operation):
            self._reply(400, {"Content-Type": "application/x-amz-json-1.0"}, _throttle_body())
            return
        upstream = http.client.HTTPConnection(
            self.server.upstream_host, self.server.upstream_port, timeout=30
        )
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            upstream.request(method, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
            self._reply(response.status, kept, payload)
        finally:
            upstream.close()

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test output is for assertions."""


def _throttle_body() -> bytes:
    return json.dumps({"__type": THROTTLE_TYPE, "message": _THROTTLE_MESSAGE}).encode()


class ThrottlingProxy(ServedInBackground[_Server]):
    """Forwards to ``upstream`` (moto's server); throttles DynamoDB calls at ``rate`` (seeded)."""

    def __init__(self, upstream: str, *, rate: float, seed: int = 0) -> None:
        super().__init__(_Server(upstream, rate, seed), "throttling-proxy")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def throttled(self) -> dict[str, int]:
        """Operation -> how many calls were answered with a throttle."""
        with self._server.lock:
            return dict(self._server.throttled)

    def set_rate(self, rate: float) -> None:
        """Change the throttled fraction (0 to let everything through)."""
        with self._server.lock:
            self._server.rate = rate
