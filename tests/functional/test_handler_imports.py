"""Each Lambda handler imports only what it needs (no X-Ray, nothing of the local stack), and
checks its settings at a Lambda cold start.

Run in a fresh interpreter per handler, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from tests.support.lambda_handlers import FUNCTIONS_DIR

from healthcoach_realtime.settings import ENVIRONMENT_VARIABLES

HANDLERS = sorted(p.parent.name for p in FUNCTIONS_DIR.glob("*/handler.py"))

# Costly or local-only: none may be loaded by importing a handler.
FORBIDDEN = (
    "aws_xray_sdk",
    "moto",
    "aiohttp",
    "healthcoach_realtime.local",
    "healthcoach_realtime.dev_identity",
)

PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(sys.modules)))
"""


def test_every_required_handler_exists() -> None:
    """The four functions of the design each have a handler."""
    assert {"connect", "disconnect", "dispatcher", "stream_bridge"} <= set(HANDLERS)


@pytest.mark.parametrize("name", HANDLERS)
def test_handler_imports_nothing_it_does_not_need(name: str) -> None:
    """Importing the handler loads no X-Ray SDK, emulator, aiohttp or dev-only module."""
    result = _import_in_a_fresh_interpreter(name)
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout.strip().splitlines()[-1])
    loaded = [m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert loaded == []
    assert "aws_lambda_powertools" in modules


@pytest.mark.parametrize("name", HANDLERS)
def test_a_lambda_cold_start_names_each_missing_required_setting(name: str) -> None:
    """In a Lambda environment, importing the handler with none of its settings fails, naming
    every setting its manifest entry requires."""
    from healthcoach_realtime import manifest

    required = manifest.by_name()[name].required
    environment = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT_VARIABLES}
    environment |= {"AWS_LAMBDA_FUNCTION_NAME": f"cold-{name}", "AWS_DEFAULT_REGION": "us-east-1"}
    result = _import_in_a_fresh_interpreter(name, env=environment)
    if not required:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode != 0
    assert f"ConfigurationError: {name}: missing configuration: {', '.join(required)}" in result.stderr


def _import_in_a_fresh_interpreter(
    name: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Load ``functions/<name>/handler.py`` by path in a new interpreter (``PROBE``)."""
    return subprocess.run(
        [sys.executable, "-c", PROBE, str(FUNCTIONS_DIR / name / "handler.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
