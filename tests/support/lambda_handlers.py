"""Load a Lambda handler by file path, as Lambda and the local stack do, and a context for it."""

from __future__ import annotations

import importlib.util
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from healthcoach_realtime import clients
from healthcoach_realtime.settings import get_settings

__all__ = ["FUNCTIONS_DIR", "LambdaContext", "forget_cached_clients", "load_handler"]

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"


def load_handler(name: str) -> ModuleType:
    """A fresh module from ``functions/<name>/handler.py`` (its per-process caches start empty)."""
    path = FUNCTIONS_DIR / name / "handler.py"
    spec = importlib.util.spec_from_file_location(f"handler_{name}_{uuid.uuid4().hex[:8]}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def forget_cached_clients() -> None:
    """Drop the settings and the boto3 clients a warm handler keeps, so the next ones are built
    from the environment as the test has set it."""
    get_settings.cache_clear()
    clients.dynamodb_client.cache_clear()
    clients.management_api_client.cache_clear()
    clients.sqs_client.cache_clear()


@dataclass
class LambdaContext:
    """The attributes Powertools reads from the real context object."""

    function_name: str = "healthcoach-realtime-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:healthcoach-realtime-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 30_000  # the dispatcher's deployed timeout

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
