"""Short-circuit the stack's own boto3 calls to the emulator and to PostToConnection: no socket.

Over loopback HTTP each call to moto costs ~5 ms here: a TCP connection per request (werkzeug's
dev server closes every connection), a server thread per connection, and HTTP parsing on both
ends. The handlers the local stack runs make three or four such calls per event, so the stack
hands their requests (the signed, serialized request botocore would send) straight to the
emulator's WSGI app instead. The request and response bytes are the same; outside processes
(the CLI, tests, the AWS CLI) still reach the emulator over HTTP on its port.

PostToConnection, one call per connection per event, is the other hot call: the handlers'
posts go straight to the management API's ``post`` on the event loop (GET and DELETE, rare,
still go over HTTP).
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import boto3
from botocore.awsrequest import AWSResponse

if TYPE_CHECKING:
    from botocore.awsrequest import AWSPreparedRequest

    from healthcoach_realtime.local.management_api import ManagementApi

__all__ = ["route_posts_to", "route_to_app"]

POST_TIMEOUT_SECONDS = 10.0


class _RawBody(io.BytesIO):
    """What botocore reads a response body from (``stream()`` like urllib3's)."""

    def stream(self, **_: Any) -> Any:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def route_to_app(app: Any, endpoint_url: str) -> None:
    """From now on, boto3 clients of the default session created after this call send every
    request for ``endpoint_url`` to ``app`` in this thread."""
    boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    target = urlsplit(endpoint_url)

    def send(request: AWSPreparedRequest, **_: Any) -> Any:  # an AWSResponse, or None: send it
        url = urlsplit(request.url)
        if (url.scheme, url.netloc) != (target.scheme, target.netloc):
            return None
        return _call(app, request, url.netloc)

    session.events.register("before-send", send)


def route_posts_to(api: ManagementApi, loop: asyncio.AbstractEventLoop, management_url: str) -> None:
    """From now on, PostToConnection calls of default-session clients for ``management_url``
    (``http://host:port/<stage>``) run ``api.post`` on ``loop`` (never call them from it)."""
    if boto3.DEFAULT_SESSION is None:  # else keep it: route_to_app's hook lives on it
        boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    prefix = f"{management_url}/@connections/"

    def send(request: AWSPreparedRequest, **_: Any) -> Any:  # an AWSResponse, or None: send it
        if request.method != "POST" or not request.url.startswith(prefix):
            return None
        connection_id = unquote(urlsplit(request.url).path.rsplit("/", 1)[-1])
        answer = asyncio.run_coroutine_threadsafe(api.post(connection_id, _body_bytes(request.body)), loop)
        response = answer.result(timeout=POST_TIMEOUT_SECONDS)
        body = response.body if isinstance(response.body, bytes) else b""
        headers: Any = dict(response.headers)
        return AWSResponse(request.url, response.status, headers, _RawBody(body))

    session.events.register("before-send.apigatewaymanagementapi", send)


def _body_bytes(body: Any) -> bytes:
    """botocore sends bytes, str or (for streaming operations) a file-like body."""
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    data = body.read()
    return data.encode() if isinstance(data, str) else bytes(data)


def _call(app: Any, request: AWSPreparedRequest, host: str) -> AWSResponse:
    url = urlsplit(request.url)
    body = _body_bytes(request.body)
    server_name, _, port = host.partition(":")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": url.path or "/",
        "QUERY_STRING": url.query,
        "SERVER_NAME": server_name,
        "SERVER_PORT": port or "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "HTTP_HOST": host,
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        text = value.decode() if isinstance(value, bytes) else str(value)
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = text
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = text
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"] = int(status.split(" ", 1)[0])
        answer["headers"] = dict(headers)

    chunks = app(environ, start_response)
    try:
        payload = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return AWSResponse(request.url, answer["status"], answer["headers"], _RawBody(payload))
