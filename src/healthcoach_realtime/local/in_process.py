"""Short-circuit the local stack process's own boto3 calls to the emulator: no socket.

The stack process itself calls the emulator all the time: the SQS event source's receives and
deletes, the stream poller, the TTL sweeps, and the dev API's emits and sign-outs. Over loopback
HTTP each call costs the emulator a connection thread and HTTP parsing on both ends, in the
process that also serves every socket, so the stack hands these requests (the signed, serialized
request botocore would send) straight to the emulator's WSGI app instead. The request and
response bytes are the same. The handlers run in execution-environment processes of their own
and reach the emulator over HTTP, as outside processes (the CLI, tests, the AWS CLI) do.

Nothing here checks signatures, so the stack's clients (and the handlers') also skip SigV4
(``skip_signing``): a request carries only the credential scope, from which moto reads the
region and the account, as it does from a signed request.
"""

from __future__ import annotations

import io
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
import botocore
from botocore.awsrequest import AWSResponse
from werkzeug.test import EnvironBuilder, run_wsgi_app

if TYPE_CHECKING:
    from botocore.awsrequest import AWSPreparedRequest


__all__ = ["route_to_app", "skip_signing"]


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
