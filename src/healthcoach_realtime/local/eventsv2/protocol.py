"""Smithy RPC v2 CBOR, as botocore's ``eventbridgev2`` client speaks it, in front of moto's app.

botocore sends ``POST /service/AWSEventsV2/operation/<Operation>`` with ``smithy-protocol:
rpc-v2-cbor`` and a CBOR map as the body (timestamps as tag 1, epoch seconds). The answer is a
CBOR map with the same header and ``Content-Type: application/cbor``; timestamps go back as
tag 1. An error is answered with the exception's HTTP status and the body ``{"__type":
"<namespace>#<Code>", "Message": ...}``, which botocore's ``RpcV2CBORParser`` reads into
``client.exceptions.<Code>``. Every other request goes to the wrapped app (moto) unchanged.

The caller's region comes from the credential scope of the ``Authorization`` header
(``Credential=<key>/<date>/<region>/events/aws4_request``; ``us-east-1`` without one) and its
account as moto derives it: ``MOTO_ACCOUNT_ID``, else an ``x-moto-account-id`` header, else the
account of an access key moto's IAM knows, else moto's default account. Signatures are not
checked (nothing local checks them).
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import cbor2
from moto.core.models import DEFAULT_ACCOUNT_ID
from werkzeug.wrappers import Request

from healthcoach_realtime.local.eventsv2.exceptions import (
    InternalError,
    SerializationError,
    ServiceError,
    UnknownOperationError,
)
from healthcoach_realtime.local.eventsv2.service import Caller, EventsV2Service

__all__ = [
    "OPERATION_PATH_PREFIX",
    "EventsV2Middleware",
    "caller_of",
    "decode_request",
    "encode_error",
    "encode_response",
]

log = logging.getLogger(__name__)

OPERATION_PATH_PREFIX = "/service/AWSEventsV2/operation/"
ERROR_NAMESPACE = "com.amazonaws.eventsv2"
DEFAULT_REGION = "us-east-1"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]*/([^/]+)/")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def decode_request(body: bytes) -> dict[str, Any]:
    """A request body as a map (an empty body is an empty map); ``SerializationError`` otherwise."""
    if not body:
        return {}
    try:
        value = cbor2.loads(body)
    except Exception as exc:
        raise SerializationError(f"The request body is not valid CBOR: {exc}") from None
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise SerializationError("The request body must be a CBOR map with text keys")
    return value


def encode_response(value: Mapping[str, Any]) -> bytes:
    """A response structure as CBOR (datetimes as tag 1 epoch seconds)."""
    return cbor2.dumps(dict(value), datetime_as_timestamp=True)


def encode_error(error: ServiceError) -> bytes:
    """The RPC v2 CBOR error body botocore reads."""
    return cbor2.dumps({"__type": f"{ERROR_NAMESPACE}#{error.code}", "Message": error.message})


def caller_of(headers: Mapping[str, str]) -> Caller:
    """The calling account and region, from the request's headers (names in lower case)."""
    match = _CREDENTIAL.search(headers.get("authorization", ""))
    region = match.group(2) if match else DEFAULT_REGION
    account = os.environ.get("MOTO_ACCOUNT_ID") or headers.get("x-moto-account-id")
    if not account:
        account = _account_of_access_key(match.group(1)) if match else DEFAULT_ACCOUNT_ID
    return Caller(account=account, region=region)


class EventsV2Middleware:
    """WSGI: EventsV2 operations to ``service``, everything else to ``app``."""

    def __init__(self, service: EventsV2Service, app: WsgiApp) -> None:
        self.service = service
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(OPERATION_PATH_PREFIX):
            return self.app(environ, start_response)
        request = Request(environ)
        operation = path.removeprefix(OPERATION_PATH_PREFIX)
        headers = {name.lower(): value for name, value in request.headers.items()}
        status, body = self.answer(request.method, operation, headers, request.get_data())
        start_response(
            f"{status} {_REASONS.get(status, 'Error')}",
            [
                ("Content-Type", "application/cbor"),
                ("smithy-protocol", "rpc-v2-cbor"),
                ("x-amzn-requestid", str(uuid.uuid4())),
                ("Content-Length", str(len(body))),
            ],
        )
        return [body]

    def answer(
        self, method: str, operation: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, bytes]:
        """The status and CBOR body for one operation request (header names in lower case)."""
        try:
            if method != "POST" or not operation or "/" in operation:
                raise UnknownOperationError(f"{method} {OPERATION_PATH_PREFIX}{operation} names no operation")
            if headers.get("smithy-protocol") != "rpc-v2-cbor":
                raise SerializationError("The smithy-protocol header must be rpc-v2-cbor")
            result = self.service.call(operation, decode_request(body), caller_of(headers))
            return 200, encode_response(result)
        except ServiceError as error:
            return error.status, encode_error(error)
        except Exception:
            log.exception("eventsv2: %s failed", operation)
            return 500, encode_error(InternalError(f"The EventsV2 emulator failed on {operation}"))


_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    501: "Not Implemented",
}


def _account_of_access_key(access_key: str) -> str:
    from moto.iam.models import get_account_id_from

    return str(get_account_id_from(access_key))
