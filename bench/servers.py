"""Loopback servers for the benchmarks, each in its own process (as AWS is not in ours):
the local stack's AWS emulator (moto's server with the stack's memoizations of moto's hot spots,
``local/emulator.py``), and the @connections fake from ``tests/support`` (moto never answers 410).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["REPO", "aws_env", "emulator", "management_api"]

REPO = Path(__file__).resolve().parents[1]

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
    "Emulator(int(sys.argv[1])).start()\n"
    "print('ready', flush=True)\n"
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


@contextmanager
def emulator() -> Iterator[str]:
    """The local stack's AWS emulator on a free loopback port, in a child process; yields its URL."""
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed script)
        [sys.executable, "-c", _EMULATOR, str(port)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the emulator did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=15)


@contextmanager
def management_api() -> Iterator[str]:
    """The @connections fake in a child process; yields ``WS_API_ENDPOINT``."""
    process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed script)
        [sys.executable, "-c", _FAKE],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=15)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
