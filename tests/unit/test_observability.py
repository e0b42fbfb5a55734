"""The service a process logs and publishes metrics as comes from its environment (a fresh
interpreter each: ``observability`` reads it once, at import)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from healthcoach_realtime.observability import SERVICE, service_name

_PROBE = """
import json
from healthcoach_realtime.observability import metrics
metrics.add_metric(name="Probe", unit="Count", value=1)
print(json.dumps(metrics.serialize_metric_set()))
"""


def _published_service(environment: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "POWERTOOLS_SERVICE_NAME"} | environment
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    ).stdout
    return str(json.loads(out)["service"])


def test_a_deployed_stage_publishes_under_its_own_service() -> None:
    """Two stages in one account: their metrics (and alarms on them) stay apart."""
    published = _published_service({"POWERTOOLS_SERVICE_NAME": service_name("prod")})
    assert published == "healthcoach-realtime-prod"


def test_without_a_setting_the_service_is_the_projects() -> None:
    """The local stack and tests set nothing."""
    assert _published_service({}) == SERVICE
