"""``python -m healthcoach_realtime.smoke`` run as a user runs it (a subprocess), against the
session's local stack, and against URLs where it must fail with exit 1 and one clear reason."""

from __future__ import annotations

import base64
import json
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from tests.support.local_stack import StackUrls
from tests.support.stack_client import new_user

STEP_NAMES = ("token", "connect", "emit", "receive", "offline", "resume")
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")


def smoke(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "healthcoach_realtime.smoke", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def step_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("[")]


def test_smoke_passes_against_the_local_stack(local_stack: StackUrls) -> None:
    """Six ok lines in order; the missed events come back as seq 2 and 3; no token in the output."""
    result = smoke("--ws-url", local_stack.ws_url, "--timeout", "60")

    assert result.returncode == 0, result.stdout + result.stderr
    lines = step_lines(result.stdout)
    assert [line.split()[1] for line in lines] == list(STEP_NAMES)
    assert all(re.match(r"\[\d/6\] \S+ +ok +\d+ ms  ", line) for line in lines), lines
    assert re.search(r"user smoke-[0-9a-f]{8}", lines[0])
    assert re.search(r"on arn:aws:events:us-east-1:\d{12}:event-busv2/healthcoach-realtime/", lines[2])
    assert re.search(r"foodLogDeleted id \S+ seq 1 \(emit -> frame\)$", lines[3])
    assert lines[5].endswith("since 1: replayed seq 2, 3, resumed through 3"), lines[5]
    assert result.stdout.rstrip().splitlines()[-1].startswith("smoke test passed in ")
    assert not JWT.search(result.stdout + result.stderr)


def test_smoke_with_a_token_command_is_the_tokens_user(local_stack: StackUrls) -> None:
    """The deployed-stage path: the token from a shell command, the user from its sub."""
    user = new_user("smoke-cmd")
    cli = [sys.executable, "-m", "healthcoach_realtime.cli"]
    command = shlex.join([*cli, "token", "--user", user, "--port", str(local_stack.port)])
    result = smoke("--ws-url", local_stack.ws_url, "--token-command", command, "--timeout", "60")

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"from --token-command, user {user}," in step_lines(result.stdout)[0]
    assert not JWT.search(result.stdout + result.stderr)


def test_smoke_fails_clearly_when_nothing_listens() -> None:
    port = _unused_port()
    result = smoke("--ws-url", f"ws://127.0.0.1:{port}/local", timeout=30)

    assert result.returncode == 1
    assert re.match(r"\[1/6\] token +FAIL", result.stdout.splitlines()[1]), result.stdout
    assert result.stderr.strip() == (
        f"smoke test FAILED at token: no local stack answers at http://127.0.0.1:{port} "
        "([Errno 111] Connection refused): start one with `make dev`, or pass --ws-url of a running stack"
    )


def test_smoke_fails_clearly_on_a_wrong_websocket_path(local_stack: StackUrls) -> None:
    """The stack answers, but not on this path: the handshake's refusal, at the connect step."""
    url = f"ws://127.0.0.1:{local_stack.port}/nowhere"
    result = smoke("--ws-url", url, "--timeout", "30")

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"smoke test FAILED at connect: {url} refused the connection: HTTP 404 (the handshake was refused)"
    )


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        accepted: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            server.settimeout(0.2)
            while not stop.is_set():
                try:
                    accepted.append(server.accept()[0])
                except TimeoutError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        yield int(server.getsockname()[1])
        stop.set()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()


def test_smoke_is_bounded_by_its_timeout(silent_server: int) -> None:
    started = time.monotonic()
    result = smoke("--ws-url", f"ws://127.0.0.1:{silent_server}/local", "--timeout", "2", timeout=30)

    assert result.returncode == 1
    assert time.monotonic() - started < 10
    assert "FAILED at token: timed out (--timeout 2 s) waiting for a token" in result.stderr


def test_smoke_refuses_a_user_the_token_is_not_for() -> None:
    """Events for --user would never reach a socket of the token's sub: fail before connecting."""
    token = _token("alice")
    result = smoke(
        "--ws-url", "wss://example.invalid/prod", "--token-command", f"echo {token}", "--user", "bob"
    )

    assert result.returncode == 1
    assert "--user is bob but the token's sub is alice" in result.stderr
    assert token not in result.stdout + result.stderr


def test_smoke_needs_a_token_command_for_a_deployed_stage() -> None:
    result = smoke("--ws-url", "wss://example.invalid/prod", timeout=30)

    assert result.returncode == 1
    assert "is not a local stack: pass --token-command" in result.stderr


def _token(sub: str) -> str:
    """An unsigned JWT-shaped token: the smoke test only reads its claims."""
    return ".".join([_b64({"alg": "none"}), _b64({"sub": sub, "exp": int(time.time()) + 600}), "c2ln"])


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
