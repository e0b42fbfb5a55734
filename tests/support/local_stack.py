"""``hc-realtime dev`` in a subprocess on free ports, for tests that need the whole local stack.

with running_stack("--idle-timeout", "1") as stack:
    urllib.request.urlopen(f"{stack.base_url}/local/config")
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import boto3

__all__ = ["StackUrls", "free_port_pair", "running_stack", "stack_process"]

STARTUP_SECONDS = 60.0


@dataclass(frozen=True)
class StackUrls:
    """Where a running stack answers (DESIGN.md's layout, on ``port``)."""

    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/local"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/local"

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.port + 1}"

    def client(self, service: str) -> Any:
        """A boto3 client of this stack: the @connections API for ``apigatewaymanagementapi``,
        the emulator for every other service (any credentials do)."""
        endpoint = self.management_url if service == "apigatewaymanagementapi" else self.emulator_url
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )


def free_port_pair() -> int:
    """A port P with P and P + 1 both free on 127.0.0.1 right now (the stack and its emulator)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise RuntimeError("no two adjacent free ports on 127.0.0.1")


@contextmanager
def running_stack(*flags: str, environment: dict[str, str] | None = None) -> Iterator[StackUrls]:
    """Start ``hc-realtime dev --port P *flags``, wait (bounded) until it serves, stop it after.

    ``environment``: variables for the stack (its handlers read their settings from it)."""
    port = free_port_pair()
    command = [sys.executable, "-m", "healthcoach_realtime.cli", "dev", "--port", str(port), *flags]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(environment or {})}
    with stack_process(command, port, env=env) as stack:
        yield stack


@contextmanager
def stack_process(
    command: list[str], port: int, *, env: dict[str, str], cwd: str | None = None, stop_seconds: float = 15
) -> Iterator[StackUrls]:
    """Run ``command`` (a stack serving on ``port``) until the block ends: waits until it serves,
    then terminates it (killed after ``stop_seconds``)."""
    # A file, not a pipe: a pipe nobody reads would block the stack once its logs fill it.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=cwd)
        try:
            stack = StackUrls(port)
            _wait_until_serving(stack, process, log)
            yield stack
        finally:
            process.terminate()
            try:
                process.wait(timeout=stop_seconds)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_until_serving(stack: StackUrls, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"{stack.base_url}/local/config", timeout=2):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                stderr = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"hc-realtime dev did not start: {stderr}") from None
            time.sleep(0.1)
