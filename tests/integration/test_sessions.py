"""Live sessions on the local stack over real sockets: expiry, refresh, sign-out, the per-user
connection limit and the per-connection rate limit (DESIGN.md, "Token lifetime", "Sign-out",
"Bounds"). The stack runs its session sweeper every SWEEP_SECONDS; tokens live a few seconds.

Nothing is mocked; every wait is bounded by the contract's own bound (60 s after ``exp``, 5 s
for sign-out), never by how fast this machine happens to be.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from tests.support.local_stack import StackUrls, running_stack
from tests.support.stack_client import (
    WAIT_SECONDS,
    cli,
    connect_with,
    emit_food_log_deleted,
    issue_token,
    new_user,
    next_frame,
    run,
)

from healthcoach_realtime.settings import (
    DEFAULT_HISTORY_TABLE,
    DEFAULT_MAX_CONNECTIONS_PER_USER,
    DEFAULT_MESSAGE_RATE_LIMIT,
)

SWEEP_SECONDS = 2.0
# The contract's bounds: closed within 60 s of exp; sign-out within 5 s.
EXPIRY_CLOSE_BOUND = 60.0
SIGN_OUT_BOUND = 5.0
SHORT_TOKEN_SECONDS = 6  # long enough to connect and get one event first, even on a busy machine
SCENARIO_BOUND = EXPIRY_CLOSE_BOUND + 30


@pytest.fixture(scope="module")
def stack() -> Iterator[StackUrls]:
    """A stack whose session sweeper runs every SWEEP_SECONDS (deployed: every 30 s)."""
    with running_stack("--session-sweep", str(SWEEP_SECONDS)) as urls:
        yield urls


# ---- helpers ---------------------------------------------------------------------------------


async def _open(
    session: aiohttp.ClientSession, stack: StackUrls, user: str, expires_in: int = 3600
) -> tuple[aiohttp.ClientWebSocketResponse, int]:
    token, exp = await asyncio.to_thread(issue_token, stack, user, expires_in)
    return await connect_with(session, stack, token), exp


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


# ---- token lifetime --------------------------------------------------------------------------


def test_an_event_after_exp_never_reaches_the_socket_which_then_closes(stack: StackUrls) -> None:
    """A 6-s session gets the event emitted before its exp, not the one emitted after it (a
    sibling with a long token gets both), and the server closes it within 60 s of exp."""
    user = new_user("expiry")

    async def scenario(session: aiohttp.ClientSession) -> tuple[list[str], list[dict[str, Any]], float]:
        short, exp = await _open(session, stack, user, SHORT_TOKEN_SECONDS)
        sibling, _ = await _open(session, stack, user)
        before = await asyncio.to_thread(emit_food_log_deleted, stack, user, "before")
        seen_before = [(await next_frame(short))["id"], (await next_frame(sibling))["id"]]
        assert seen_before == [before, before]
        await _sleep_until(exp + 0.2)
        after = await asyncio.to_thread(emit_food_log_deleted, stack, user, "after")
        assert (await next_frame(sibling))["id"] == after  # dispatched while the short one may still be open
        late = await _frames_until_closed(short, EXPIRY_CLOSE_BOUND)
        return [before, after], late, time.time() - exp

    (_, after), late, closed_after = run(scenario, timeout=SCENARIO_BOUND)
    assert [f for f in late if f.get("id") == after] == []
    assert closed_after < EXPIRY_CLOSE_BOUND


def test_a_refresh_extends_the_session_and_another_users_token_changes_nothing(stack: StackUrls) -> None:
    """Two 6-s sessions: one refreshes with its user's fresh token (authorized, new exp) and keeps
    receiving past the old exp; the other offers another user's token, gets an error, and is
    closed after its unchanged exp without the event."""
    user, stranger = new_user("refresh"), new_user("stranger")

    async def scenario(
        session: aiohttp.ClientSession,
    ) -> tuple[dict[str, Any], dict[str, Any], int, str, dict[str, Any], list[dict[str, Any]]]:
        refreshed, exp = await _open(session, stack, user, SHORT_TOKEN_SECONDS)
        refused, _ = await _open(session, stack, user, SHORT_TOKEN_SECONDS)
        fresh, fresh_exp = await asyncio.to_thread(issue_token, stack, user, 3600)
        foreign, _ = await asyncio.to_thread(issue_token, stack, stranger, 3600)
        await refreshed.send_json({"action": "auth", "token": fresh})
        authorized = await next_frame(refreshed)
        await refused.send_json({"action": "auth", "token": foreign})
        error = await next_frame(refused)
        await _sleep_until(exp + SWEEP_SECONDS + 1)  # past the old exp and at least one sweep
        event_id = await asyncio.to_thread(emit_food_log_deleted, stack, user, "later")
        event = await next_frame(refreshed)
        late = await _frames_until_closed(refused, EXPIRY_CLOSE_BOUND)
        return authorized, error, fresh_exp, event_id, event, late

    authorized, error, fresh_exp, event_id, event, late = run(scenario, timeout=SCENARIO_BOUND)
    assert authorized == {"type": "authorized", "exp": fresh_exp}
    assert error == {"type": "error", "message": "auth refused: the token is another user's"}
    assert event["id"] == event_id
    assert [f for f in late if f.get("id") == event_id] == []


def test_an_expired_session_is_answered_only_with_an_error(stack: StackUrls) -> None:
    """After exp (before the sweep closes it), a resume from 0 replays nothing of the user's kept
    event: every answer is the session-expired error."""
    user = new_user("stale")

    async def scenario(session: aiohttp.ClientSession) -> list[dict[str, Any]]:
        event_id = await asyncio.to_thread(emit_food_log_deleted, stack, user, "kept")
        await asyncio.to_thread(_wait_until_kept, stack, user, event_id)  # dispatched before we connect
        ws, exp = await _open(session, stack, user, SHORT_TOKEN_SECONDS)
        await _sleep_until(exp + 0.1)
        await ws.send_json({"action": "resume", "since": 0})
        return await _frames_until_closed(ws, EXPIRY_CLOSE_BOUND)

    frames = [f for f in run(scenario, timeout=SCENARIO_BOUND) if f.get("type") != "presence"]
    assert [f for f in frames if "id" in f] == []
    assert all(f["type"] == "error" and f["message"].startswith("session expired") for f in frames)


# ---- sign-out --------------------------------------------------------------------------------


def test_sign_out_closes_every_connection_of_the_user_and_no_other(stack: StackUrls) -> None:
    """hc-realtime disconnect --user closes the user's three sockets within 5 s (it prints 3);
    another user's connection still answers a ping."""
    user, other = new_user("signout"), new_user("bystander")

    async def scenario(
        session: aiohttp.ClientSession,
    ) -> tuple[str, list[list[dict[str, Any]]], dict[str, Any]]:
        sockets = [(await _open(session, stack, user))[0] for _ in range(3)]
        bystander, _ = await _open(session, stack, other)
        result = await asyncio.to_thread(cli, stack, "disconnect", "--user", user)
        assert result.returncode == 0, result.stderr
        closed = await asyncio.gather(*(_frames_until_closed(ws, SIGN_OUT_BOUND) for ws in sockets))
        await bystander.send_json({"action": "ping"})
        return result.stdout.strip(), list(closed), await next_frame(bystander)

    printed, closed, pong = run(scenario, timeout=SCENARIO_BOUND)
    assert printed == "3"
    assert len(closed) == 3
    assert pong["type"] == "pong"


# ---- bounds ----------------------------------------------------------------------------------


def test_the_eleventh_connection_of_a_user_is_refused_and_the_ten_keep_working(stack: StackUrls) -> None:
    """Ten connections open; the eleventh handshake is refused with 429; an event still reaches
    all ten; once one closes, a new connection is accepted."""
    user = new_user("crowd")
    limit = DEFAULT_MAX_CONNECTIONS_PER_USER

    async def scenario(session: aiohttp.ClientSession) -> tuple[int, list[str], str, bool]:
        sockets = [(await _open(session, stack, user))[0] for _ in range(limit)]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await _open(session, stack, user)
        event_id = await asyncio.to_thread(emit_food_log_deleted, stack, user, "crowd")
        received = [(await next_frame(ws))["id"] for ws in sockets]
        await sockets[0].close()
        await asyncio.sleep(0.5)  # $disconnect removes the row (any leftover would be checked anyway)
        newcomer, _ = await _open(session, stack, user)
        return refused.value.status, received, event_id, not newcomer.closed

    status, received, event_id, accepted = run(scenario, timeout=SCENARIO_BOUND)
    assert status == 429
    assert received == [event_id] * limit
    assert accepted


def test_a_ping_flood_is_limited_while_another_users_events_still_arrive(stack: StackUrls) -> None:
    """200 pings from one connection: at most the limit's pongs per window, a rate-limit error,
    then the server closes it; meanwhile another user's event arrives within a few seconds."""
    flooder, calm = new_user("flood"), new_user("calm")

    async def scenario(session: aiohttp.ClientSession) -> tuple[list[dict[str, Any]], str, dict[str, Any]]:
        noisy, _ = await _open(session, stack, flooder)
        quiet, _ = await _open(session, stack, calm)
        for _ in range(200):
            await noisy.send_str('{"action":"ping"}')
        event_id = await asyncio.to_thread(emit_food_log_deleted, stack, calm, "calm")
        event = await next_frame(quiet, timeout=WAIT_SECONDS)
        frames = await _frames_until_closed(noisy, WAIT_SECONDS)
        return frames, event_id, event

    frames, event_id, event = run(scenario, timeout=SCENARIO_BOUND)
    pongs = [f for f in frames if f["type"] == "pong"]
    errors = [f for f in frames if f["type"] == "error"]
    # The flood may straddle one window boundary: two windows' worth at most.
    assert 0 < len(pongs) <= 2 * DEFAULT_MESSAGE_RATE_LIMIT
    assert any(e["message"].startswith("rate limited") for e in errors)
    assert event["id"] == event_id


def test_cli_token_expires_in_issues_a_token_with_that_lifetime(stack: StackUrls) -> None:
    """hc-realtime token --expires-in 90 prints a JWT whose exp is 90 s after its iat."""
    result = cli(stack, "token", "--user", "alice", "--expires-in", "90")
    assert result.returncode == 0, result.stderr
    import jwt

    claims = jwt.decode(result.stdout.strip(), options={"verify_signature": False})
    assert (claims["sub"], claims["exp"] - claims["iat"]) == ("alice", 90)


def test_the_issuer_refuses_an_unusable_lifetime(stack: StackUrls) -> None:
    """?expiresIn=0 is a 400 naming the allowed range."""
    with pytest.raises(urllib.error.HTTPError) as refused:
        issue_token(stack, "alice", 0)
    assert refused.value.code == 400
    assert "expiresIn" in json.loads(refused.value.read())["error"]
