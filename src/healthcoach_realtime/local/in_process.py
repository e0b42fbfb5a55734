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

Nothing here checks signatures, so the stack's clients also skip SigV4 (``skip_signing``: ~6% of
the stack's CPU per event): a request carries only the credential scope, from which moto reads
the region and the account, as it does from a signed request.
"""

from __future__ import annotations

import asyncio
import io
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import boto3
import botocore
from botocore.awsrequest import AWSResponse
from werkzeug.test import EnvironBuilder, run_wsgi_app

if TYPE_CHECKING:
    from botocore.awsrequest import AWSPreparedRequest

    from healthcoach_realtime.local.management_api import ManagementApi

__all__ = ["route_posts_to", "route_to_app", "skip_signing"]

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
    target = urlsplit(endpoint_url)

    def send(request: AWSPreparedRequest, **_: Any) -> Any:  # an AWSResponse, or None: send it
        url = urlsplit(request.url)
        if (url.scheme, url.netloc) != (target.scheme, target.netloc):
            return None
        return _call(app, request, url.netloc)

    _default_session().events.register("before-send", send)


def route_posts_to(api: ManagementApi, loop: asyncio.AbstractEventLoop, management_url: str) -> None:
    """From now on, PostToConnection calls of default-session clients for ``management_url``
    (``http://host:port/<stage>``) run ``api.post`` on ``loop`` (never call them from it)."""
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

    _default_session().events.register("before-send.apigatewaymanagementapi", send)


def skip_signing(access_key: str) -> None:
    """From now on, default-session clients created after this call send their requests unsigned,
    with an ``Authorization`` header that names ``access_key``'s credential scope, no signature.

    Only for a process whose clients all talk to local endpoints that check no signature (the
    emulator, the local management API), as the local stack's do.
    """
    session = _default_session()
    day = time.strftime("%Y%m%d", time.gmtime())

    def unsigned(**_: Any) -> Any:
        return botocore.UNSIGNED

    def scope_only(request: Any, signing_name: str, region_name: str, **_: Any) -> None:
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={access_key}/{day}/{region_name}/{signing_name}/aws4_request, "
            "SignedHeaders=host, Signature=unsigned"
        )

    session.events.register("choose-signer", unsigned)
    session.events.register("before-sign", scope_only)


def _default_session() -> Any:
    """boto3's default session, created once: the hooks registered on it add up."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    return boto3.DEFAULT_SESSION


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
    """One request through ``app``, as werkzeug's server would pass it (werkzeug's test tools)."""
    url = urlsplit(request.url)
    headers = [
        (name, value.decode() if isinstance(value, bytes) else str(value))
        for name, value in request.headers.items()
        if name.lower() != "content-length"  # the builder sets it from the body
    ]
    environ = EnvironBuilder(
        method=request.method,
        base_url=f"{url.scheme}://{host}",
        path=url.path or "/",
        query_string=url.query,
        headers=headers,
        data=_body_bytes(request.body),
    ).get_environ()
    chunks, status, response_headers = run_wsgi_app(app, environ)
    try:
        payload = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    answer_headers: Any = dict(response_headers.items())
    return AWSResponse(request.url, int(status.split(" ", 1)[0]), answer_headers, _RawBody(payload))
