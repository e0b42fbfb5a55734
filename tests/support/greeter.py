"""A seventh function for the tests that show adding one takes a manifest entry and a handler."""

from __future__ import annotations

from healthcoach_realtime.manifest import FunctionEntry, Route

__all__ = ["GREETER"]

GREETER = FunctionEntry(
    "greeter",
    "greet: answer a custom route",
    Route("greet"),
    settings=("CONNECTIONS_TABLE", "WS_API_ENDPOINT"),
    required=("WS_API_ENDPOINT",),
    connections=("POST",),
    memory_mb=128,
    timeout_seconds=5,
)
