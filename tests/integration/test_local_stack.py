"""The local stack over real sockets: WebSocket clients (aiohttp), boto3, and the CLI as a user runs it.

Nothing is mocked: each test talks to ``hc-realtime dev`` running in its own process (see
``conftest.py``). Waits are bounded; no assertion is about time.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from botocore.exceptions import ClientError
from tests.integration.conftest import CONNECTING_GRACE_SECONDS
from tests.support.local_stack import StackUrls, free_port_pair
from tests.support.stack_client import (
    SUBPROTOCOL,
    WAIT_SECONDS,
    cli,
    connect,
    emit,
    listen,
    new_user,
    next_frame,
    run,
    token_for,
)

MAX_MESSAGE_BYTES = 128 * 1024


# ---- helpers ---------------------------------------------------------------------------------


async def _close_code(ws: aiohttp.ClientWebSocketResponse) -> int:
    """Read until the server's close frame; its code."""
    while True:
        message = await ws.receive(timeout=WAIT_SECONDS)
        if message.type == aiohttp.WSMsgType.CLOSE:
            return int(message.data)
        if message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            raise AssertionError(f"connection ended without a close frame: {message!r}")


def _connection_ids(stack: StackUrls, user: str) -> list[str]:
    """The user's rows in the connections table, read from the table itself (its index lags)."""
    response = stack.client("dynamodb").scan(
        TableName="healthcoach_realtime_connections",
        FilterExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": user}},
        ConsistentRead=True,
    )
    return [item["connectionId"]["S"] for item in response["Items"]]


async def _eventually(check: Callable[[], bool], what: str) -> None:
    """Poll ``check`` (in a thread: it may call boto3) until true; fail after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT_SECONDS} s: {what}")
        await asyncio.sleep(0.05)


def _http_status(call: Callable[[], Any]) -> tuple[int, str]:
    """The HTTP status and error code of a boto3 call that must fail."""
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return int(error["ResponseMetadata"]["HTTPStatusCode"]), str(error["Error"]["Code"])


FOOD = {"id": "food-1", "name": "Apple", "calories": 95}


# ---- connect / refuse ------------------------------------------------------------------------


def test_connect_with_token_subprotocol_is_accepted_and_echoed(local_stack: StackUrls) -> None:
    """A valid token in the subprotocols opens the socket, echoing healthcoach.v1 only."""

    async def scenario(session: aiohttp.ClientSession) -> str | None:
        async with await connect(session, local_stack, new_user()) as ws:
            return ws.protocol

    assert run(scenario) == SUBPROTOCOL


def test_connect_with_token_in_query_string_records_the_connection(local_stack: StackUrls) -> None:
    """?token= works too, and $connect records one row for the token's user."""
    user = new_user()

    async def scenario(session: aiohttp.ClientSession) -> list[str]:
        token = await asyncio.to_thread(token_for, local_stack, user)
        async with session.ws_connect(f"{local_stack.ws_url}?token={token}"):
            return await asyncio.to_thread(_connection_ids, local_stack, user)

    assert len(run(scenario)) == 1


@pytest.mark.parametrize("query", ["", "?token=not-a-jwt"], ids=["no-token", "garbage-token"])
def test_connect_without_valid_token_is_refused_with_401(local_stack: StackUrls, query: str) -> None:
    """$connect's 401 refuses the upgrade with status 401."""

    async def scenario(session: aiohttp.ClientSession) -> int:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(local_stack.ws_url + query)
        return refused.value.status

    assert run(scenario) == 401


# ---- delivery --------------------------------------------------------------------------------


def test_event_reaches_every_connection_of_its_user_and_no_other(local_stack: StackUrls) -> None:
    """Both of alice's sockets get her event; bob's first frame is his own later event, not hers."""
    alice, bob = new_user("alice"), new_user("bob")

    async def scenario(
        session: aiohttp.ClientSession,
    ) -> tuple[list[dict[str, Any]], dict[str, Any], str, str]:
        first, second, other = [await connect(session, local_stack, u) for u in (alice, alice, bob)]
        alice_id = await asyncio.to_thread(emit, local_stack, alice, "foodLogCreated", FOOD)
        frames = [await next_frame(first), await next_frame(second)]
        bob_id = await asyncio.to_thread(emit, local_stack, bob, "foodLogDeleted", {"id": "food-9"})
        bob_frame = await next_frame(other)
        for ws in (first, second, other):
            await ws.close()
        return frames, bob_frame, alice_id, bob_id

    frames, bob_frame, alice_id, bob_id = run(scenario)
    assert [f["id"] for f in frames] == [alice_id, alice_id]
    assert frames[0]["type"] == "foodLogCreated"
    assert frames[0]["data"] == FOOD
    assert bob_frame["id"] == bob_id


def test_stream_change_on_a_data_table_arrives_as_an_event(local_stack: StackUrls) -> None:
    """A put_item on the food-log table reaches the user's socket as foodLogCreated."""
    user = new_user()
    item = {"userId": {"S": user}, "id": {"S": "food-42"}, "name": {"S": "Pear"}, "calories": {"N": "57"}}

    async def scenario(session: aiohttp.ClientSession) -> dict[str, Any]:
        async with await connect(session, local_stack, user) as ws:
            await asyncio.to_thread(
                local_stack.client("dynamodb").put_item, TableName="healthcoach_food_logs", Item=item
            )
            return await next_frame(ws)

    frame = run(scenario)
    assert frame["type"] == "foodLogCreated"
    assert frame["data"]["id"] == "food-42"


def test_client_killed_without_close_frame_is_removed_on_next_delivery(local_stack: StackUrls) -> None:
    """A vanished client keeps its row (no $disconnect) until a delivery gets 410 and deletes it
    (once the row is older than the connecting grace: a younger one may still be connecting)."""
    user = new_user()
    management = local_stack.client("apigatewaymanagementapi")

    async def scenario(session: aiohttp.ClientSession) -> tuple[bool, bool, dict[str, Any]]:
        victim = await connect(session, local_stack, user)
        connected = time.monotonic()
        (victim_id,) = await asyncio.to_thread(_connection_ids, local_stack, user)
        survivor = await connect(session, local_stack, user)
        victim.get_extra_info("socket").shutdown(socket.SHUT_RDWR)  # gone: no close frame

        def gone() -> bool:
            return _http_status(lambda: management.get_connection(ConnectionId=victim_id))[0] == 410

        await _eventually(gone, "the gateway notices the lost client")
        row_kept = victim_id in await asyncio.to_thread(_connection_ids, local_stack, user)
        await asyncio.sleep(max(0.0, connected + CONNECTING_GRACE_SECONDS + 0.5 - time.monotonic()))
        await asyncio.to_thread(emit, local_stack, user, "foodLogCreated", FOOD)
        frame = await next_frame(survivor)
        await _eventually(
            lambda: victim_id not in _connection_ids(local_stack, user), "the dispatcher removes the row"
        )
        survivor_kept = len(await asyncio.to_thread(_connection_ids, local_stack, user)) == 1
        await survivor.close()
        await victim.close()
        return row_kept, survivor_kept, frame

    row_kept, survivor_kept, frame = run(scenario)
    assert row_kept, "the row must survive the lost client: only the 410 path may remove it"
    assert survivor_kept
    assert frame["type"] == "foodLogCreated"


# ---- limits ----------------------------------------------------------------------------------


def test_message_over_128_kb_closes_with_1009(local_stack: StackUrls) -> None:
    """A message one byte over API Gateway's 128 KB limit closes the socket with 1009."""

    async def scenario(session: aiohttp.ClientSession) -> int:
        async with await connect(session, local_stack, new_user()) as ws:
            await ws.send_str("x" * (MAX_MESSAGE_BYTES + 1))
            return await _close_code(ws)

    assert run(scenario) == 1009


def test_idle_connection_is_closed_with_1001_and_forgotten(short_limits_stack: StackUrls) -> None:
    """With no message either way for the idle timeout, the socket closes (1001) and $disconnect runs."""
    user = new_user()

    async def scenario(session: aiohttp.ClientSession) -> int:
        async with await connect(session, short_limits_stack, user) as ws:
            code = await _close_code(ws)
        await _eventually(
            lambda: not _connection_ids(short_limits_stack, user), "$disconnect removes the row"
        )
        return code

    assert run(scenario) == 1001


def test_busy_connection_is_closed_at_its_maximum_lifetime(short_limits_stack: StackUrls) -> None:
    """A socket that keeps talking still closes (1001) once it is older than the lifetime."""

    async def scenario(session: aiohttp.ClientSession) -> int:
        async with await connect(session, short_limits_stack, new_user()) as ws:

            async def chatter() -> None:
                while not ws.closed:
                    await ws.send_str('{"action": "chatter"}')
                    await asyncio.sleep(0.2)

            talking = asyncio.create_task(chatter())
            try:
                while True:  # the answers to the chatter, then the close
                    message = await ws.receive(timeout=WAIT_SECONDS)
                    if message.type == aiohttp.WSMsgType.CLOSE:
                        return int(message.data)
                    assert message.type == aiohttp.WSMsgType.TEXT
            finally:
                talking.cancel()

    assert run(scenario) == 1001


# ---- management API (boto3) ------------------------------------------------------------------


def test_post_to_connection_delivers_the_bytes_as_a_text_frame(local_stack: StackUrls) -> None:
    """boto3's post_to_connection reaches the socket unchanged and answers 200."""
    user = new_user()
    data = b'{"hello": "world"}'

    async def scenario(session: aiohttp.ClientSession) -> tuple[int, str]:
        async with await connect(session, local_stack, user) as ws:
            (connection_id,) = await asyncio.to_thread(_connection_ids, local_stack, user)
            response = await asyncio.to_thread(
                local_stack.client("apigatewaymanagementapi").post_to_connection,
                ConnectionId=connection_id,
                Data=data,
            )
            message = await ws.receive(timeout=WAIT_SECONDS)
            return response["ResponseMetadata"]["HTTPStatusCode"], message.data

    status, received = run(scenario)
    assert status == 200
    assert received == data.decode()


def test_get_connection_describes_the_socket(local_stack: StackUrls) -> None:
    """get_connection answers ConnectedAt, LastActiveAt and the client's IP and user agent."""
    user = new_user()

    async def scenario(session: aiohttp.ClientSession) -> dict[str, Any]:
        async with await connect(session, local_stack, user) as ws:
            (connection_id,) = await asyncio.to_thread(_connection_ids, local_stack, user)
            answer: dict[str, Any] = await asyncio.to_thread(
                local_stack.client("apigatewaymanagementapi").get_connection, ConnectionId=connection_id
            )
            await ws.close()
            return answer

    answer = run(scenario)
    assert answer["Identity"]["SourceIp"] == "127.0.0.1"
    assert "aiohttp" in answer["Identity"]["UserAgent"]
    assert answer["ConnectedAt"].tzinfo is not None
    assert answer["LastActiveAt"] >= answer["ConnectedAt"]


def test_delete_connection_closes_the_socket_and_forgets_it(local_stack: StackUrls) -> None:
    """delete_connection answers 204, the client sees a close, and the id is then gone (410)."""
    user = new_user()
    management = local_stack.client("apigatewaymanagementapi")

    async def scenario(session: aiohttp.ClientSession) -> tuple[int, int, tuple[int, str]]:
        ws = await connect(session, local_stack, user)
        (connection_id,) = await asyncio.to_thread(_connection_ids, local_stack, user)
        response = await asyncio.to_thread(management.delete_connection, ConnectionId=connection_id)
        code = await _close_code(ws)
        after = await asyncio.to_thread(
            _http_status, lambda: management.get_connection(ConnectionId=connection_id)
        )
        return response["ResponseMetadata"]["HTTPStatusCode"], code, after

    status, code, after = run(scenario)
    assert status == 204
    assert code == 1000
    assert after == (410, "GoneException")


def test_post_to_unknown_connection_is_410_gone_exception(local_stack: StackUrls) -> None:
    """An id that was never connected answers 410 with x-amzn-ErrorType GoneException."""
    management = local_stack.client("apigatewaymanagementapi")

    with pytest.raises(management.exceptions.GoneException) as gone:
        management.post_to_connection(ConnectionId="Zm9vYmFyYmF6cXU=", Data=b"{}")

    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


def test_post_over_128_kb_is_413(local_stack: StackUrls) -> None:
    """Data over 128 KB answers 413 PayloadTooLargeException and the socket stays open."""
    user = new_user()

    async def scenario(session: aiohttp.ClientSession) -> tuple[tuple[int, str], bool]:
        async with await connect(session, local_stack, user) as ws:
            (connection_id,) = await asyncio.to_thread(_connection_ids, local_stack, user)
            management = local_stack.client("apigatewaymanagementapi")
            refused = await asyncio.to_thread(
                _http_status,
                lambda: management.post_to_connection(
                    ConnectionId=connection_id, Data=b"x" * (MAX_MESSAGE_BYTES + 1)
                ),
            )
            return refused, not ws.closed

    refused, still_open = run(scenario)
    assert refused == (413, "PayloadTooLargeException")
    assert still_open


# ---- CLI ---------------------------------------------------------------------------------------


def test_cli_emit_of_invalid_data_fails_with_the_reason(local_stack: StackUrls) -> None:
    """hc-realtime emit with data breaking the schema exits 1 naming the field and the rule."""
    result = cli(
        local_stack, "emit", "foodLogCreated", "--user", new_user(), "--data", '{"id": "f", "calories": -5}'
    )

    assert result.returncode == 1
    assert "detail.data.calories" in result.stderr
    assert "minimum" in result.stderr
    assert result.stdout == ""


def test_cli_listen_prints_an_emitted_event_as_one_json_line(local_stack: StackUrls) -> None:
    """hc-realtime listen prints the frame of an event hc-realtime emit sent to that user."""
    user = new_user()
    listener = listen(local_stack, user)
    try:
        assert listener.stderr is not None
        assert listener.stdout is not None
        assert "listening" in listener.stderr.readline()  # connected: the event cannot be missed
        emitted = cli(local_stack, "emit", "healthMetricDeleted", "--user", user, "--data", '{"id": "m-1"}')
        line = listener.stdout.readline()
    finally:
        listener.terminate()
        listener.communicate(timeout=10)

    assert emitted.returncode == 0
    frame = json.loads(line)
    assert frame["id"] == emitted.stdout.strip()
    assert frame["type"] == "healthMetricDeleted"


def test_cli_dev_on_a_port_in_use_fails_with_one_line(local_stack: StackUrls) -> None:
    """A second hc-realtime dev on the same port exits 1 with a one-line error."""
    result = cli(local_stack, "dev")

    assert result.returncode == 1
    assert "in use" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_emit_without_a_running_stack_says_how_to_start_one() -> None:
    """With nothing listening, emit exits 1 and names the command that starts a stack."""
    port = str(free_port_pair())
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "healthcoach_realtime.cli",
            "emit",
            "foodLogCreated",
            "--user",
            "u",
            "--port",
            port,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 1
    assert f"hc-realtime dev --port {port}" in result.stderr


def test_cli_dev_stops_cleanly_on_ctrl_c() -> None:
    """SIGINT (Ctrl-C) stops a serving stack: exit status 0, "stopped" printed, no traceback."""
    port = free_port_pair()
    process = subprocess.Popen(
        [sys.executable, "-m", "healthcoach_realtime.cli", "dev", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # progress lines, then the banner
            if "Ctrl-C to stop" in line:
                break
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)

    assert process.returncode == 0
    assert "stopped" in stdout
    assert "Traceback" not in stderr


def test_config_names_the_websocket_url_and_the_bus(local_stack: StackUrls) -> None:
    """``GET /local/config``: the WebSocket URL, the ARN of the bus the stack's events go to (a
    producer of the app's, or the smoke test, emits there), the event types and their samples."""
    with urllib.request.urlopen(f"{local_stack.base_url}/local/config", timeout=5) as response:
        config = json.loads(response.read())
    buses = local_stack.client("eventbridgev2").list_event_buses()["EventBuses"]
    assert config["wsUrl"] == local_stack.ws_url
    assert config["busArn"] in {bus["EventBusArn"] for bus in buses}
    assert set(config["samples"]) == set(config["eventTypes"])
