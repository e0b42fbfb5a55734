"""Live sessions on the local stack over real sockets: expiry, refresh, sign-out, the per-user
connection limit and the per-connection rate limit (DESIGN.md, "Token lifetime", "Sign-out",
"Bounds"). The stack runs its session sweeper every SWEEP_SECONDS; tokens live a few seconds.

Nothing is mocked; every wait is bounded by the contract's own bound (60 s after ``exp``, 5 s
for sign-out), never by how fast this machine happens to be.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import aiohttp
import pytest
from tests.support.local_stack import StackUrls, running_stack

from healthcoach_realtime.settings import (
    DEFAULT_HISTORY_TABLE,
    DEFAULT_MAX_CONNECTIONS_PER_USER,
    DEFAULT_MESSAGE_RATE_LIMIT,
)

SUBPROTOCOL = "healthcoach.v1"
SWEEP_SECONDS = 2.0
# The contract's bounds: closed within 60 s of exp; sign-out within 5 s.
EXPIRY_CLOSE_BOUND = 60.0
SIGN_OUT_BOUND = 5.0
WAIT_SECONDS = 10.0
SHORT_TOKEN_SECONDS = 6  # long enough to connect and get one event first, even on a busy machine
T = TypeVar("T")


@pytest.fixture(scope="module")
def stack() -> Iterator[StackUrls]:
    """A stack whose session sweeper runs every SWEEP_SECONDS (deployed: every 30 s)."""
    with running_stack("--session-sweep", str(SWEEP_SECONDS)) as urls:
        yield urls


# ---- helpers ---------------------------------------------------------------------------------


def _run(scenario: Callable[[aiohttp.ClientSession], Awaitable[T]]) -> T:
    async def main() -> T:
        async with aiohttp.ClientSession() as session:
            return await asyncio.wait_for(scenario(session), timeout=EXPIRY_CLOSE_BOUND + 30)

    return asyncio.run(main())


def _user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _token(stack: StackUrls, user: str, expires_in: int = 3600) -> tuple[str, int]:
    """A dev token and its exp (epoch seconds)."""
    query = urllib.parse.urlencode({"user": user, "expiresIn": expires_in})
    with urllib.request.urlopen(f"{stack.base_url}/local/issuer/token?{query}", timeout=5) as response:
        answer = json.loads(response.read())
    return str(answer["token"]), int(answer["exp"])


def _emit(stack: StackUrls, user: str, item: str) -> str:
    body = json.dumps({"type": "foodLogDeleted", "userId": user, "data": {"id": item}}).encode()
    request = urllib.request.Request(
        f"{stack.base_url}/local/emit", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        event_id: str = json.loads(response.read())["id"]
    return event_id


async def _connect(
    session: aiohttp.ClientSession, stack: StackUrls, token: str
) -> aiohttp.ClientWebSocketResponse:
    return await session.ws_connect(stack.ws_url, protocols=(SUBPROTOCOL, token), autoping=True)


async def _open(
    session: aiohttp.ClientSession, stack: StackUrls, user: str, expires_in: int = 3600
) -> tuple[aiohttp.ClientWebSocketResponse, int]:
    token, exp = await asyncio.to_thread(_token, stack, user, expires_in)
    return await _connect(session, stack, token), exp


async def _frame(ws: aiohttp.ClientWebSocketResponse, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
    """The next text frame, presence frames skipped; fails on a close or after ``timeout``."""
    while True:
        message = await ws.receive(timeout=timeout)
        assert message.type == aiohttp.WSMsgType.TEXT, (
            f"expected a frame, got {message.type!r} {message.data!r}"
        )
        frame: dict[str, Any] = json.loads(message.data)
        if frame.get("type") != "presence":
            return frame


async def _frames_until_closed(ws: aiohttp.ClientWebSocketResponse, bound: float) -> list[dict[str, Any]]:
    """Every frame received until the server closes the socket; fails if it is still open after
    ``bound`` seconds."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + bound
    while True:
        message = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        if message.type == aiohttp.WSMsgType.TEXT:
            frames.append(json.loads(message.data))
        elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
            return frames
        else:
            raise AssertionError(f"unexpected {message.type!r}")


def _wait_until_kept(stack: StackUrls, user: str, event_id: str) -> None:
    """Until the dispatcher has kept the event in the user's history (bounded)."""
    dynamodb = stack.client("dynamodb")
    key = {"userId": {"S": user}, "sk": {"S": f"event#{event_id}"}}
    deadline = time.monotonic() + WAIT_SECONDS
    while "Item" not in dynamodb.get_item(TableName=DEFAULT_HISTORY_TABLE, Key=key, ConsistentRead=True):
        assert time.monotonic() < deadline, f"event {event_id} not kept within {WAIT_SECONDS} s"
        time.sleep(0.05)


async def _sleep_until(epoch_seconds: float) -> None:
    await asyncio.sleep(max(0.0, epoch_seconds - time.time()))


def _cli(stack: StackUrls, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "healthcoach_realtime.cli", *args, "--port", str(stack.port)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


# ---- token lifetime --------------------------------------------------------------------------


def test_an_event_after_exp_never_reaches_the_socket_which_then_closes(stack: StackUrls) -> None:
    """A 6-s session gets the event emitted before its exp, not the one emitted after it (a
    sibling with a long token gets both), and the server closes it within 60 s of exp."""
    user = _user("expiry")

    async def scenario(session: aiohttp.ClientSession) -> tuple[list[str], list[dict[str, Any]], float]:
        short, exp = await _open(session, stack, user, SHORT_TOKEN_SECONDS)
        sibling, _ = await _open(session, stack, user)
        before = await asyncio.to_thread(_emit, stack, user, "before")
        seen_before = [(await _frame(short))["id"], (await _frame(sibling))["id"]]
        assert seen_before == [before, before]
        await _sleep_until(exp + 0.2)
        after = await asyncio.to_thread(_emit, stack, user, "after")
        assert (await _frame(sibling))["id"] == after  # dispatched while the short one may still be open
        late = await _frames_until_closed(short, EXPIRY_CLOSE_BOUND)
        return [before, after], late, time.time() - exp

    (_, after), late, closed_after = _run(scenario)
    assert [f for f in late if f.get("id") == after] == []
    assert closed_after < EXPIRY_CLOSE_BOUND


def test_a_refresh_extends_the_session_and_another_users_token_changes_nothing(stack: StackUrls) -> None:
    """Two 6-s sessions: one refreshes with its user's fresh token (authorized, new exp) and keeps
    receiving past the old exp; the other offers another user's token, gets an error, and is
    closed after its unchanged exp without the event."""
    user, stranger = _user("refresh"), _user("stranger")

    async def scenario(
        session: aiohttp.ClientSession,
    ) -> tuple[dict[str, Any], dict[str, Any], int, str, dict[str, Any], list[dict[str, Any]]]:
        refreshed, exp = await _open(session, stack, user, SHORT_TOKEN_SECONDS)
        refused, _ = await _open(session, stack, user, SHORT_TOKEN_SECONDS)
        fresh, fresh_exp = await asyncio.to_thread(_token, stack, user, 3600)
        foreign, _ = await asyncio.to_thread(_token, stack, stranger, 3600)
        await refreshed.send_json({"action": "auth", "token": fresh})
        authorized = await _frame(refreshed)
        await refused.send_json({"action": "auth", "token": foreign})
        error = await _frame(refused)
        await _sleep_until(exp + SWEEP_SECONDS + 1)  # past the old exp and at least one sweep
        event_id = await asyncio.to_thread(_emit, stack, user, "later")
        event = await _frame(refreshed)
        late = await _frames_until_closed(refused, EXPIRY_CLOSE_BOUND)
        return authorized, error, fresh_exp, event_id, event, late

    authorized, error, fresh_exp, event_id, event, late = _run(scenario)
    assert authorized == {"type": "authorized", "exp": fresh_exp}
    assert error == {"type": "error", "message": "auth refused: the token is another user's"}
    assert event["id"] == event_id
    assert [f for f in late if f.get("id") == event_id] == []


def test_an_expired_session_is_answered_only_with_an_error(stack: StackUrls) -> None:
    """After exp (before the sweep closes it), a resume from 0 replays nothing of the user's kept
    event: every answer is the session-expired error."""
    user = _user("stale")

    async def scenario(session: aiohttp.ClientSession) -> list[dict[str, Any]]:
        event_id = await asyncio.to_thread(_emit, stack, user, "kept")
        await asyncio.to_thread(_wait_until_kept, stack, user, event_id)  # dispatched before we connect
        ws, exp = await _open(session, stack, user, SHORT_TOKEN_SECONDS)
        await _sleep_until(exp + 0.1)
        await ws.send_json({"action": "resume", "since": 0})
        return await _frames_until_closed(ws, EXPIRY_CLOSE_BOUND)

    frames = [f for f in _run(scenario) if f.get("type") != "presence"]
    assert [f for f in frames if "id" in f] == []
    assert all(f["type"] == "error" and f["message"].startswith("session expired") for f in frames)


# ---- sign-out --------------------------------------------------------------------------------


def test_sign_out_closes_every_connection_of_the_user_and_no_other(stack: StackUrls) -> None:
    """hc-realtime disconnect --user closes the user's three sockets within 5 s (it prints 3);
    another user's connection still answers a ping."""
    user, other = _user("signout"), _user("bystander")

    async def scenario(
        session: aiohttp.ClientSession,
    ) -> tuple[str, list[list[dict[str, Any]]], dict[str, Any]]:
        sockets = [(await _open(session, stack, user))[0] for _ in range(3)]
        bystander, _ = await _open(session, stack, other)
        result = await asyncio.to_thread(_cli, stack, "disconnect", "--user", user)
        assert result.returncode == 0, result.stderr
        closed = await asyncio.gather(*(_frames_until_closed(ws, SIGN_OUT_BOUND) for ws in sockets))
        await bystander.send_json({"action": "ping"})
        return result.stdout.strip(), list(closed), await _frame(bystander)

    printed, closed, pong = _run(scenario)
    assert printed == "3"
    assert len(closed) == 3
    assert pong["type"] == "pong"


# ---- bounds ----------------------------------------------------------------------------------


def test_the_eleventh_connection_of_a_user_is_refused_and_the_ten_keep_working(stack: StackUrls) -> None:
    """Ten connections open; the eleventh handshake is refused with 429; an event still reaches
    all ten; once one closes, a new connection is accepted."""
    user = _user("crowd")
    limit = DEFAULT_MAX_CONNECTIONS_PER_USER

    async def scenario(session: aiohttp.ClientSession) -> tuple[int, list[str], str, bool]:
        sockets = [(await _open(session, stack, user))[0] for _ in range(limit)]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await _open(session, stack, user)
        event_id = await asyncio.to_thread(_emit, stack, user, "crowd")
        received = [(await _frame(ws))["id"] for ws in sockets]
        await sockets[0].close()
        await asyncio.sleep(0.5)  # $disconnect removes the row (any leftover would be checked anyway)
        newcomer, _ = await _open(session, stack, user)
        return refused.value.status, received, event_id, not newcomer.closed

    status, received, event_id, accepted = _run(scenario)
    assert status == 429
    assert received == [event_id] * limit
    assert accepted


def test_a_ping_flood_is_limited_while_another_users_events_still_arrive(stack: StackUrls) -> None:
    """200 pings from one connection: at most the limit's pongs per window, a rate-limit error,
    then the server closes it; meanwhile another user's event arrives within a few seconds."""
    flooder, calm = _user("flood"), _user("calm")

    async def scenario(session: aiohttp.ClientSession) -> tuple[list[dict[str, Any]], str, dict[str, Any]]:
        noisy, _ = await _open(session, stack, flooder)
        quiet, _ = await _open(session, stack, calm)
        for _ in range(200):
            await noisy.send_str('{"action":"ping"}')
        event_id = await asyncio.to_thread(_emit, stack, calm, "calm")
        event = await _frame(quiet, timeout=WAIT_SECONDS)
        frames = await _frames_until_closed(noisy, WAIT_SECONDS)
        return frames, event_id, event

    frames, event_id, event = _run(scenario)
    pongs = [f for f in frames if f["type"] == "pong"]
    errors = [f for f in frames if f["type"] == "error"]
    # The flood may straddle one window boundary: two windows' worth at most.
    assert 0 < len(pongs) <= 2 * DEFAULT_MESSAGE_RATE_LIMIT
    assert any(e["message"].startswith("rate limited") for e in errors)
    assert event["id"] == event_id


def test_cli_token_expires_in_issues_a_token_with_that_lifetime(stack: StackUrls) -> None:
    """hc-realtime token --expires-in 90 prints a JWT whose exp is 90 s after its iat."""
    result = _cli(stack, "token", "--user", "alice", "--expires-in", "90")
    assert result.returncode == 0, result.stderr
    import jwt

    claims = jwt.decode(result.stdout.strip(), options={"verify_signature": False})
    assert (claims["sub"], claims["exp"] - claims["iat"]) == ("alice", 90)


def test_the_issuer_refuses_an_unusable_lifetime(stack: StackUrls) -> None:
    """?expiresIn=0 is a 400 naming the allowed range."""
    with pytest.raises(urllib.error.HTTPError) as refused:
        _token(stack, "alice", 0)
    assert refused.value.code == 400
    assert "expiresIn" in json.loads(refused.value.read())["error"]
