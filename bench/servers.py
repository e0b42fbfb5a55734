"""Loopback servers for the benchmarks, each in its own process (as AWS is not in ours):
moto's server, and the @connections fake from ``tests/support`` (moto never answers 410).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["REPO", "aws_env", "management_api", "moto_server"]

REPO = Path(__file__).resolve().parents[1]

_FAKE = (
    "import sys\n"
    "from tests.support.management_api import ManagementApiFake\n"
    "api = ManagementApiFake().__enter__()\n"
    "print(api.endpoint, flush=True)\n"
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
def moto_server() -> Iterator[str]:
    """``moto_server`` on a free loopback port; yields its endpoint URL."""
    port = _free_port()
    binary = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(  # noqa: S603 (the venv's moto_server, fixed arguments)
        [str(binary), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
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


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("moto_server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("moto_server did not start")
