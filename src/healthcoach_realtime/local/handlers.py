"""Load a Lambda handler from ``functions/<name>/handler.py`` and invoke it as Lambda does.

Loaded by file path, as the Lambda runtime loads its bundle, so nothing in ``functions/`` knows
it is local. The local stack loads each function inside an execution environment of its own
(``environments``: one process, one invocation at a time); tests load one in their process::

    function = load_function("connect", timeout_seconds=10)
    response = function.invoke(event)
"""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "HandlerLoadError",
    "LambdaFunction",
    "LocalContext",
    "find_functions_dir",
    "function_name",
    "load_function",
]

# The functions infra/ deploys (one directory each under functions/).
FUNCTION_PREFIX = "healthcoach-realtime-"
ACCOUNT_ID = "000000000000"
DEFAULT_TIMEOUT_SECONDS = 30.0

Handler = Callable[[dict[str, Any], Any], Any]


class HandlerLoadError(RuntimeError):
    """A handler file is missing, fails to import, or has no ``handler`` callable."""


@dataclass
class LocalContext:
    """The Lambda context object: the attributes the runtime's own context has."""

    function_name: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    region: str = "us-east-1"
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


@dataclass(frozen=True)
class LambdaFunction:
    """One loaded handler; ``invoke`` calls it with a fresh context, as one Lambda invocation."""

    name: str
    handler: Handler
    region: str = "us-east-1"
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    memory_mb: int = 256
    after_invoke: Callable[[], None] | None = None

    def invoke(self, event: dict[str, Any]) -> Any:
        """Call the handler in this thread (blocking); its exceptions propagate."""
        context = LocalContext(
            function_name=function_name(self.name),
            memory_limit_in_mb=self.memory_mb,
            region=self.region,
            timeout_seconds=self.timeout_seconds,
        )
        try:
            return self.handler(event, context)
        finally:
            if self.after_invoke is not None:
                self.after_invoke()


def function_name(name: str) -> str:
    """The Lambda function name of ``functions/<name>/`` (what its context and environment say)."""
    return FUNCTION_PREFIX + name.replace("_", "-")


def find_functions_dir() -> Path | None:
    """``functions/`` of the repository this package runs from (an editable install), or None."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / "functions", Path.cwd() / "functions"):
        if candidate.is_dir():
            return candidate
    return None


def load_function(
    name: str,
    functions_dir: Path | None = None,
    *,
    region: str = "us-east-1",
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    memory_mb: int = 256,
    after_invoke: Callable[[], None] | None = None,
) -> LambdaFunction:
    """Import ``<functions_dir>/<name>/handler.py`` as its own module and take its ``handler``.

    ``after_invoke`` runs after every invocation (the stack drops the invocation's metrics).
    """
    directory = functions_dir or find_functions_dir()
    if directory is None:
        raise HandlerLoadError("no functions/ directory found: run hc-realtime from the repository")
    path = directory / name / "handler.py"
    if not path.is_file():
        raise HandlerLoadError(f"{path} does not exist")
    module_name = f"healthcoach_local_function_{name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise HandlerLoadError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise HandlerLoadError(f"{path} failed to import: {type(exc).__name__}: {exc}") from exc
    handler = getattr(module, "handler", None)
    if not callable(handler):
        raise HandlerLoadError(f"{path} has no callable named 'handler'")
    return LambdaFunction(
        name=name,
        handler=handler,
        region=region,
        timeout_seconds=timeout_seconds,
        memory_mb=memory_mb,
        after_invoke=after_invoke,
    )
