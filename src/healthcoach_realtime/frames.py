"""The frames a browser receives: pure functions over plain data.

One WebSocket text frame per event, keeping the reference guide's ``{type, data}`` shape and
adding ``id`` (for de-duplication) and ``time``::

    {"type": "foodLogCreated", "data": {...}, "id": "<event id>", "time": "2026-11-29T10:00:00Z"}
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_MESSAGE_BYTES", "SEQ_BYTES", "encode_frame", "event_frame"]

# API Gateway's WebSocket message limit (128 KB); PostToConnection refuses larger data (413).
MAX_MESSAGE_BYTES = 128 * 1024
# What ``seq`` adds to an encoded event frame at most: ``,"seq":`` and up to 20 digits.
SEQ_BYTES = len(',"seq":') + 20


def event_frame(event_type: str, data: Any, event_id: str, time: str, **extra: Any) -> dict[str, Any]:
    """The frame for one domain event; ``extra`` adds fields such as ``seq``."""
    return {"type": event_type, "data": data, "id": event_id, "time": time, **extra}


def encode_frame(frame: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, the bytes PostToConnection sends."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
