"""The errors of the emulated EventsV2 API (one per modelled exception) and of a delivery.

A ``ServiceError`` becomes an RPC v2 CBOR error response (``protocol``): its ``code`` is the
exception shape's name in botocore's model, its ``status`` that shape's HTTP status, so boto3
raises ``client.exceptions.<code>``. A ``DeliveryError`` is a failed attempt to deliver one event
to a subscriber's target; the delivery engine retries it or dead-letters the event.
"""

from __future__ import annotations

__all__ = [
    "DeliveryError",
    "InternalError",
    "InvalidInputError",
    "InvalidStateError",
    "LimitExceededError",
    "NotEmulatedOperationError",
    "ResourceAlreadyExistsError",
    "ResourceInUseError",
    "ResourceNotFoundError",
    "SerializationError",
    "ServiceError",
    "UnknownOperationError",
]


class ServiceError(Exception):
    """An error answer of the EventsV2 API."""

    code = "InternalException"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(ServiceError):
    """The request breaks a rule of the model or of the service (400)."""

    code = "InvalidInputException"
    status = 400


class ResourceNotFoundError(ServiceError):
    """No bus or subscriber has that ARN (404)."""

    code = "ResourceNotFoundException"
    status = 404


class ResourceAlreadyExistsError(ServiceError):
    """The name is taken (409)."""

    code = "ResourceAlreadyExistsException"
    status = 409


class ResourceInUseError(ServiceError):
    """The bus still has subscribers (409)."""

    code = "ResourceInUseException"
    status = 409


class InvalidStateError(ServiceError):
    """The resource is not in a state that allows the call (409)."""

    code = "InvalidStateException"
    status = 409


class LimitExceededError(ServiceError):
    """A quota the emulator was told to enforce is reached (400)."""

    code = "LimitExceededException"
    status = 400


class InternalError(ServiceError):
    """The emulator failed (500): a bug here, not the caller's fault."""

    code = "InternalException"
    status = 500


class SerializationError(ServiceError):
    """The body is not a CBOR map (400; smithy's name for it)."""

    code = "SerializationException"
    status = 400


class UnknownOperationError(ServiceError):
    """The path names no operation of the service (404; smithy's name for it)."""

    code = "UnknownOperationException"
    status = 404


class NotEmulatedOperationError(ServiceError):
    """The operation exists in the model but the emulator does not answer it (501)."""

    code = "NotImplemented"
    status = 501


class DeliveryError(Exception):
    """One delivery attempt failed; ``code`` and ``message`` are what a DLQ record carries."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
