"""Loopback servers for the benchmarks, each in its own process (as AWS is not in ours):
the local stack's AWS emulator (moto's server with the stack's memoizations of moto's hot spots,
``local/emulator.py``), and the @connections fake from ``tests/support`` (moto never answers 410).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from tests.support.network import free_port

__all__ = ["REPO", "aws_env", "emulator", "management_api", "server_cpu_seconds", "server_pid"]

REPO = Path(__file__).resolve().parents[1]
# Endpoint -> pid of the child serving it, while it serves (for its CPU time).
_PIDS: dict[str, int] = {}

_FAKE = (
    "import sys\n"
    "from tests.support.management_api import ManagementApiFake\n"
    "api = ManagementApiFake().__enter__()\n"
    "print(api.endpoint, flush=True)\n"
    "sys.stdin.read()\n"
)
_EMULATOR = (
    "import sys\n"
    "from healthcoach_realtime.local.emulator import Emulator\n"
    "emulator = Emulator(int(sys.argv[1]))\n"
    "emulator.start()\n"
    "print(emulator.endpoint_url, flush=True)\n"
    "sys.stdin.read()\n"
)


def aws_env(endpoint: str) -> dict[str, str]:
    """Environment that points boto3 at ``endpoint`` with dummy credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def emulator() -> AbstractContextManager[str]:
    """The local stack's AWS emulator on a free loopback port; yields its endpoint URL."""
    return _served_by_child(_EMULATOR, str(free_port()))


def management_api() -> AbstractContextManager[str]:
    """The @connections fake; yields ``WS_API_ENDPOINT``."""
    return _served_by_child(_FAKE)


@contextmanager
def _served_by_child(script: str, *args: str) -> Iterator[str]:
    """Run ``script`` in a child interpreter until the block ends (closing its stdin stops it);
    yields the endpoint it prints once it serves."""
    process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed script)
        [sys.executable, "-c", script, *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        endpoint = process.stdout.readline().strip()
        if not endpoint:
            raise RuntimeError(f"a benchmark server did not start ({script.splitlines()[1]})")
        _PIDS[endpoint] = process.pid
        yield endpoint
    finally:
        _PIDS.pop(endpoint, None)
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=15)


def server_pid(endpoint: str) -> int:
    """The pid of the child serving ``endpoint`` (``KeyError`` once it stopped)."""
    return _PIDS[endpoint]


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far, all its threads (``/proc``; Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command's closing parenthesis: state is field 3, utime 14 and stime 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
