"""Issue 6, bad input: a corpus of malformed frames, invalid bus events, malformed stream records
and hostile tokens (``tests/hardening/corpus/*.json``, one file per kind). Each case must get its
clear error and leave no partial state.

Frames, bus events and tokens go over real sockets to one local stack (``hc-realtime dev``) per
module, whose dev issuer signs with a key this module holds (``keyed_stack``) so that expired or
wrong-audience tokens are otherwise genuine. ``emit()`` and the stream bridge run in-process
against the session's moto server. Nothing is mocked (the stack's dev issuer is only handed its
key); every wait is bounded. A case with ``known_bug`` is a strict xfail naming the bug.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from healthcoach_realtime import clients
from healthcoach_realtime.catalogue import SOURCES
from healthcoach_realtime.connections import Connection
from healthcoach_realtime.dev_identity import DevIssuer
from healthcoach_realtime.dispatch.parse import InvalidRecord, parse_record
from healthcoach_realtime.emitter import emit
from healthcoach_realtime.exceptions import InvalidEventError
from healthcoach_realtime.history.keys import RECENT_PREFIX
from healthcoach_realtime.local.source_events import stream_record
from healthcoach_realtime.resources import DISPATCH_DLQ, REJECTED_QUEUE
from healthcoach_realtime.settings import (
    DEFAULT_CONNECTIONS_TABLE,
    DEFAULT_EVENT_BUS,
    DEFAULT_HISTORY_TABLE,
    get_settings,
)
from tests.support import forged_tokens
from tests.support.bus import subscribed_queue
from tests.support.keyed_stack import issuer_url, running_keyed_stack
from tests.support.lambda_handlers import LambdaContext, load_handler
from tests.support.local_stack import StackUrls
from tests.support.sqs_events import sqs_record

if TYPE_CHECKING:
    from mypy_boto3_eventbridgev2.type_defs import PutEventsRequestEntryTypeDef

REGION = "us-east-1"
CORPUS = Path(__file__).parent / "corpus"
KID = "hardening-kid"
SUBPROTOCOL = "healthcoach.v1"
WAIT_SECONDS = 15.0
T = TypeVar("T")


def _corpus(kind: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((CORPUS / f"{kind}.json").read_text(encoding="utf-8"))["cases"]
    return cases


def _params(cases: list[dict[str, Any]]) -> list[Any]:
    """Cases as pytest params named by the case; a case with ``known_bug`` is a strict xfail
    (it fails today, for the reason given; fixing the bug turns it into a failure to remove)."""
    return [
        pytest.param(
            case,
            id=str(case["name"]),
            marks=[pytest.mark.xfail(strict=True, reason=case["known_bug"])] if "known_bug" in case else [],
        )
        for case in cases
    ]


FRAMES = _corpus("client_frames")
BUS_EVENTS = _corpus("bus_events")
EMIT_CASES = [case for case in BUS_EVENTS if "emit_error" in case]
STREAM_RECORDS = _corpus("stream_records")
TOKENS = _corpus("hostile_tokens")


def _with_user(value: Any, user: str) -> Any:
    """``value`` with every string "USER" (the corpus's placeholder) replaced by ``user``."""
    if value == "USER":
        return user
    if isinstance(value, dict):
        return {k: _with_user(v, user) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_user(v, user) for v in value]
    return value


def _user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _run(scenario: Callable[[aiohttp.ClientSession], Awaitable[T]]) -> T:
    async def main() -> T:
        async with aiohttp.ClientSession() as session:
            return await asyncio.wait_for(scenario(session), timeout=45)

    return asyncio.run(main())


# ---- the stack and its emulator -----------------------------------------------------------------


@pytest.fixture(scope="module")
def issuer_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keyed_stack(issuer_key: rsa.RSAPrivateKey) -> Iterator[StackUrls]:
    """One stack for the module; its issuer signs with ``issuer_key`` under ``KID``."""
    with running_keyed_stack(issuer_key, KID) as stack:
        yield stack


@pytest.fixture(scope="module")
def issuer(keyed_stack: StackUrls, issuer_key: rsa.RSAPrivateKey) -> DevIssuer:
    """Mints tokens exactly as the stack's issuer does (same URL, kid and key)."""
    return DevIssuer(issuer_url(keyed_stack), kid=KID, private_key=issuer_key)


class Emulator:
    """The stack's AWS emulator, read with boto3: tables and the dead-letter queue."""

    def __init__(self, stack: StackUrls) -> None:
        self.dynamodb = stack.client("dynamodb")
        self.sqs = stack.client("sqs")
        self.events = stack.client("eventbridgev2")
        [bus] = self.events.list_event_buses(NamePrefix=DEFAULT_EVENT_BUS)["EventBuses"]
        self.bus_arn = bus["EventBusArn"]
        self.rejected_url = self.sqs.get_queue_url(QueueName=REJECTED_QUEUE)["QueueUrl"]
        self.dlq_url = self.sqs.get_queue_url(QueueName=DISPATCH_DLQ)["QueueUrl"]
        self.dead_letters: dict[str, dict[str, Any]] = {}  # envelope id -> SQS message

    def rows_of(self, user: str) -> list[Connection]:
        """The user's connection rows, read consistently from the table (its index lags)."""
        items = self.dynamodb.scan(
            TableName=DEFAULT_CONNECTIONS_TABLE,
            FilterExpression="userId = :u",
            ExpressionAttributeValues={":u": {"S": user}},
            ConsistentRead=True,
        )["Items"]
        return sorted((Connection.from_item(item) for item in items), key=lambda r: r.connection_id)

    def history_of(self, user: str) -> list[dict[str, Any]]:
        """Every history item of the user (events, counters, markers), without the notes of its
        connections that ``$connect`` keeps on the counter (an item left with its keys only is
        no history)."""
        items: list[dict[str, Any]] = self.dynamodb.query(
            TableName=DEFAULT_HISTORY_TABLE,
            KeyConditionExpression="userId = :u",
            ExpressionAttributeValues={":u": {"S": user}},
            ConsistentRead=True,
        )["Items"]
        kept = [{k: v for k, v in item.items() if not k.startswith(RECENT_PREFIX)} for item in items]
        return [item for item in kept if set(item) - {"userId", "sk"}]

    def drain_dead_letters(self) -> None:
        """Move every message now in the DLQ into ``dead_letters`` (keyed by the body's ``id``)."""
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return
            for message in messages:
                try:
                    key = str(json.loads(message["Body"]).get("id", message["MessageId"]))
                except (ValueError, AttributeError):
                    key = message["MessageId"]
                self.dead_letters[key] = dict(message)
                self.sqs.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=message["ReceiptHandle"])

    def dead_letter(self, event_id: str) -> dict[str, Any]:
        """The dead-lettered message of ``event_id``, waiting (bounded) for it."""
        deadline = time.monotonic() + WAIT_SECONDS
        while event_id not in self.dead_letters:
            assert time.monotonic() < deadline, f"event {event_id} was not dead-lettered"
            self.drain_dead_letters()
            time.sleep(0.05)
        return self.dead_letters[event_id]

    def rejected_ids(self) -> set[str]:
        """Envelope ids now in the rejected queue (waiting up to ``WAIT_SECONDS`` for the first)."""
        found: set[str] = set()
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            wait = 1 if not found and time.monotonic() < deadline else 0
            messages = self.sqs.receive_message(
                QueueUrl=self.rejected_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
            ).get("Messages", [])
            if not messages and not wait:
                return found
            for message in messages:
                found.add(str(json.loads(message["Body"])["id"]))
                self.sqs.delete_message(QueueUrl=self.rejected_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture(scope="module")
def emulator(keyed_stack: StackUrls) -> Emulator:
    return Emulator(keyed_stack)


async def _connect(
    session: aiohttp.ClientSession, stack: StackUrls, issuer: DevIssuer, user: str
) -> aiohttp.ClientWebSocketResponse:
    return await session.ws_connect(stack.ws_url, protocols=(SUBPROTOCOL, issuer.mint(user)))


async def _next_frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next frame that is not presence (siblings connecting or leaving)."""
    while True:
        message = await ws.receive(timeout=WAIT_SECONDS)
        assert message.type == aiohttp.WSMsgType.TEXT, f"expected a frame, got {message.type!r}"
        frame: dict[str, Any] = json.loads(message.data)
        if frame.get("type") != "presence":
            return frame


def _emit_sentinel(stack: StackUrls, user: str) -> str:
    """A valid event for ``user`` through the real emit(); its id."""
    body = json.dumps({"type": "foodLogDeleted", "userId": user, "data": {"id": "sentinel"}}).encode()
    request = urllib.request.Request(
        f"{stack.base_url}/local/emit", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        event_id: str = json.loads(response.read())["id"]
    return event_id


# ---- malformed client frames --------------------------------------------------------------------


def _frame_payload(case: dict[str, Any]) -> str | bytes:
    if "binary_hex" in case:
        return bytes.fromhex(case["binary_hex"])
    if "text_parts" in case:
        return "".join(str(unit) * int(count) for unit, count in case["text_parts"])
    return str(case["text"])


async def _send(ws: aiohttp.ClientWebSocketResponse, payload: str | bytes) -> None:
    if isinstance(payload, bytes):
        await ws.send_bytes(payload)
    else:
        await ws.send_str(payload)


@pytest.mark.parametrize("case", _params([c for c in FRAMES if "error" in c]))
def test_malformed_frame_gets_its_error_and_changes_nothing(
    case: dict[str, Any], keyed_stack: StackUrls, issuer: DevIssuer, emulator: Emulator
) -> None:
    """A bad frame -> one {"type": "error"} naming the problem; the socket still pongs; no state."""
    user = _user("frames")

    async def scenario(session: aiohttp.ClientSession) -> dict[str, Any]:
        ws = await _connect(session, keyed_stack, issuer, user)
        before = await asyncio.to_thread(emulator.rows_of, user)
        await _send(ws, _frame_payload(case))
        answer = await _next_frame(ws)
        await ws.send_str(json.dumps({"action": "ping"}))
        after_ping = (await _next_frame(ws))["type"]
        rows_changed = await asyncio.to_thread(emulator.rows_of, user) != before
        history = await asyncio.to_thread(emulator.history_of, user)
        await ws.close()
        return {"answer": answer, "after": after_ping, "rows_changed": rows_changed, "history": history}

    outcome = _run(scenario)
    assert outcome["answer"]["type"] == "error", outcome["answer"]
    assert case["error"] in outcome["answer"]["message"]
    assert (outcome["after"], outcome["rows_changed"], outcome["history"]) == ("pong", False, [])


@pytest.mark.parametrize("case", _params([c for c in FRAMES if "close_code" in c]))
def test_oversize_message_closes_with_its_code_and_the_row_goes(
    case: dict[str, Any], keyed_stack: StackUrls, issuer: DevIssuer, emulator: Emulator
) -> None:
    """Over 128 KB: closed with 1009 as API Gateway does; $disconnect removes the row; no history."""
    user = _user("oversize")

    async def scenario(session: aiohttp.ClientSession) -> tuple[int, int]:
        ws = await _connect(session, keyed_stack, issuer, user)
        rows_before = len(await asyncio.to_thread(emulator.rows_of, user))
        await _send(ws, _frame_payload(case))
        while True:
            message = await ws.receive(timeout=WAIT_SECONDS)
            if message.type != aiohttp.WSMsgType.TEXT:
                break  # presence frames may come first
        assert message.type == aiohttp.WSMsgType.CLOSE, f"expected a close, got {message.type!r}"
        return rows_before, int(message.data)

    rows_before, code = _run(scenario)
    deadline = time.monotonic() + WAIT_SECONDS
    while emulator.rows_of(user) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (rows_before, code, emulator.rows_of(user), emulator.history_of(user)) == (
        1,
        case["close_code"],
        [],
        [],
    )


# ---- invalid events on the bus ------------------------------------------------------------------


def _detail(case: dict[str, Any], user: str) -> Any:
    detail = _with_user(case.get("detail"), user)
    pad = case.get("pad_data")
    if pad:
        detail["data"][pad["field"]] = "x" * pad["bytes"]
    return detail


def _entry(case: dict[str, Any], user: str) -> PutEventsRequestEntryTypeDef:
    """The PutEvents entry of a case; its source is the catalogue's unless the case names one."""
    detail = case["detail_raw"] if "detail_raw" in case else json.dumps(_detail(case, user))
    event_type = str(case["detail_type"])
    domain = next(prefix for prefix in SOURCES if event_type.startswith(prefix))
    return {
        "Source": case.get("source", SOURCES[domain]),
        "DetailType": event_type,
        "Detail": detail,
        "SystemMetadata": {"EventGroupId": user},
    }


@pytest.mark.parametrize("case", _params(BUS_EVENTS))
def test_invalid_bus_event_is_dead_lettered_and_reaches_no_socket(
    case: dict[str, Any], keyed_stack: StackUrls, issuer: DevIssuer, emulator: Emulator
) -> None:
    """Bad event on the bus -> DLQ with its reason (or refused by the bus); the user's next frame
    is a later good event, with seq 1; the bad event has no history item."""
    user = _user("bus")

    async def scenario(session: aiohttp.ClientSession) -> dict[str, Any]:
        ws = await _connect(session, keyed_stack, issuer, user)
        answer = await asyncio.to_thread(
            emulator.events.put_events, EventBusArn=emulator.bus_arn, Entries=[_entry(case, user)]
        )
        event_id = answer["Entries"][0].get("EventId", "")
        reason = origin = ""
        if case.get("dead_letter"):
            message = await asyncio.to_thread(emulator.dead_letter, event_id)
            reason = message["MessageAttributes"]["reason"]["StringValue"]
            origin = message["MessageAttributes"]["origin"]["StringValue"]
        sentinel = await asyncio.to_thread(_emit_sentinel, keyed_stack, user)
        first = await _next_frame(ws)
        await ws.close()
        await asyncio.to_thread(emulator.drain_dead_letters)
        return {
            "answer": answer,
            "event_id": event_id,
            "reason": reason,
            "origin": origin,
            "first": (first["id"], first.get("seq")),
            "sentinel": sentinel,
        }

    outcome = _run(scenario)
    if case.get("bus_refuses"):
        assert (outcome["answer"]["FailedEntryCount"], outcome["answer"]["Entries"][0]["ErrorCode"]) == (
            1,
            case["bus_refuses"],
        )
    elif case.get("rejected"):
        assert outcome["event_id"]  # accepted by the bus, taken by the rejected subscriber
        assert outcome["event_id"] not in emulator.dead_letters
        assert outcome["event_id"] in emulator.rejected_ids()
    else:
        assert case["dead_letter"] in outcome["reason"]
        assert outcome["origin"] == "dispatcher"
    assert outcome["first"] == (outcome["sentinel"], 1)
    kept = [item["sk"]["S"] for item in emulator.history_of(user) if item["sk"]["S"].startswith("event#")]
    assert kept == [f"event#{outcome['sentinel']}"]


def test_envelope_nested_too_deeply_is_an_invalid_record() -> None:
    """An SQS body nested 5,000 deep -> InvalidRecord with its reason, not a RecursionError.

    Pure: the bus refuses a detail it cannot parse, so such a body cannot travel the local bus."""
    body = '{"id": "e1", "detail": ' + "[" * 5000 + "]" * 5000 + "}"
    parsed = parse_record(sqs_record(body, message_id="deep"))
    assert parsed == InvalidRecord("deep", "body is JSON nested too deeply to parse", body)


# ---- emit() refuses the same events before sending ----------------------------------------------


@pytest.fixture
def bus(aws_env: str) -> Iterator[tuple[Any, str, Any, str]]:
    """A bus of this test whose dispatch subscriber feeds a FIFO queue of this test:
    (bus client, bus ARN, sqs, queue URL)."""
    client = boto3.client("eventbridgev2", endpoint_url=aws_env, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)
    pipeline = subscribed_queue(client, sqs, "bad-input", fifo=True)
    yield client, pipeline.bus_arn, sqs, pipeline.queue_url
    sqs.delete_queue(QueueUrl=pipeline.queue_url)


def _drain(sqs: Any, queue_url: str, expect: int = 0) -> list[dict[str, Any]]:
    """Every message of a queue of this test, waiting up to 10 s for at least ``expect`` of them
    (the bus delivers after PutEvents answers, as AWS does)."""
    bodies: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while True:
        wait = 1 if len(bodies) < expect and time.monotonic() < deadline else 0
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=wait
        ).get("Messages", [])
        if not messages and not wait:
            return bodies
        for message in messages:
            bodies.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.mark.parametrize("case", _params(EMIT_CASES))
def test_emit_refuses_invalid_event_naming_the_field(
    case: dict[str, Any], bus: tuple[Any, str, Any, str]
) -> None:
    """emit() raises InvalidEventError naming the field and rule; nothing reaches the bus."""
    events, bus_arn, sqs, queue_url = bus
    user = _user("emit")
    detail = _detail(case, user)
    with pytest.raises(InvalidEventError) as raised:
        emit(detail.get("userId"), case["detail_type"], detail.get("data"), client=events, bus_arn=bus_arn)
    sentinel = emit(user, "foodLogDeleted", {"id": "sentinel"}, client=events, bus_arn=bus_arn)
    sent = [json.loads(m["Body"])["id"] for m in _drain(sqs, queue_url, expect=1)]
    assert case["emit_error"] in str(raised.value)
    assert (bool(raised.value.field), bool(raised.value.rule)) == (True, True)
    assert sent == [sentinel]


# ---- malformed stream records -------------------------------------------------------------------

FOOD_LOGS_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/healthcoach_food_logs/stream/2026-11-29T07:00:00.000"
)


def _good_record(user: str, item: str, sequence: str) -> dict[str, Any]:
    """An INSERT as Lambda hands it over, from the record ``get_records`` would return."""
    image = {"userId": {"S": user}, "id": {"S": item}, "name": {"S": "Apple"}, "calories": {"N": "95"}}
    received = {
        "eventID": f"good-{item}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "Keys": {"userId": {"S": user}, "id": {"S": item}},
            "NewImage": image,
            "SequenceNumber": sequence,
            "SizeBytes": 80,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    return stream_record(received, stream_arn=FOOD_LOGS_ARN)


@pytest.fixture
def bridge(
    bus: tuple[Any, str, Any, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ModuleType, str]]:
    """The stream bridge handler, fresh, on this test's bus; dead-letters to a queue of this test."""
    _, bus_arn, sqs, _ = bus
    dlq_url = sqs.create_queue(QueueName=f"bad-input-dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    monkeypatch.setenv("EVENT_BUS_ARN", bus_arn)
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
    get_settings.cache_clear()
    clients.sqs_client.cache_clear()
    clients.eventbridge_client.cache_clear()
    yield load_handler("stream_bridge"), dlq_url
    clients.sqs_client.cache_clear()
    clients.eventbridge_client.cache_clear()
    sqs.delete_queue(QueueUrl=dlq_url)


@pytest.mark.parametrize("case", _params(STREAM_RECORDS))
def test_malformed_stream_record_is_dead_lettered_and_good_ones_pass(
    case: dict[str, Any], bus: tuple[Any, str, Any, str], bridge: tuple[ModuleType, str]
) -> None:
    """[good, bad, good] -> both good events on the bus, the bad one in the DLQ with its reason."""
    _, _, sqs, queue_url = bus
    handler, dlq_url = bridge
    user = _user("stream")
    bad = _with_user(case["record"], user)
    if "pad" in case:  # images over SQS's 256 KiB together: the dead letter must drop them
        bad = json.loads(json.dumps(bad).replace(case["pad"]["placeholder"], "n" * case["pad"]["bytes"]))
    batch = [
        _good_record(user, "f1", "100"),
        bad,
        _good_record(user, "f2", "300"),
    ]
    result = handler.handler({"Records": batch}, LambdaContext())
    expected_count = 3 if "emitted" in case else 2
    emitted = [json.loads(m["Body"]) for m in _drain(sqs, queue_url, expect=expected_count)]
    parked = _drain(sqs, dlq_url)
    expected = [("foodLogCreated", {"id": "f1", "name": "Apple", "calories": 95})]
    if "emitted" in case:
        expected.append((case["emitted"]["type"], case["emitted"]["data"]))
    expected.append(("foodLogCreated", {"id": "f2", "name": "Apple", "calories": 95}))
    assert result == {"batchItemFailures": []}
    assert [(e["detail-type"], e["detail"]["data"]) for e in emitted] == expected
    assert {e["detail"]["userId"] for e in emitted} == {user}
    if "dead_letter" in case:
        assert len(parked) == 1
        attributes = parked[0]["MessageAttributes"]
        assert case["dead_letter"] in attributes["reason"]["StringValue"]
        assert attributes["origin"]["StringValue"] == "stream-bridge"
        body = json.loads(parked[0]["Body"])
        omitted = case.get("images_omitted", False)
        assert (body["eventID"], body.get("imagesOmitted", False)) == ("bad", omitted)
    else:
        assert parked == []


# ---- hostile tokens at $connect -----------------------------------------------------------------


def _forge(forge: dict[str, Any], issuer: DevIssuer, key: rsa.RSAPrivateKey, user: str, victim: str) -> str:
    """The token a corpus case describes; claims and headers are signed with the stack's key."""
    kind = forge["kind"]
    if kind == "alg_none":
        return forged_tokens.alg_none(issuer, user)
    if kind == "hs256_public_key":
        return forged_tokens.hs256_with_public_key(issuer, user)
    if kind == "tampered":
        return forged_tokens.tampered_payload(issuer, user, as_user=victim)
    if kind == "other_key":  # the attacker's own key pair, for the victim
        attacker = DevIssuer(issuer.issuer, kid=issuer.kid)
        headers = dict(forge.get("headers", {}))
        if forge.get("embed_jwk"):
            headers["jwk"] = attacker.jwks()["keys"][0]
        return attacker.mint(victim, headers=headers)
    if kind == "strip_signature":
        return issuer.mint(user).rsplit(".", 1)[0] + "."
    if kind == "raw":
        return str(forge["value"])
    if kind == "raw_repeat":
        return str(forge["unit"] * forge["count"])
    claims = issuer.claims(
        user,
        token_use=forge.get("token_use", "id"),
        client_id=forge.get("client_id"),
        now=time.time() + forge.get("shift_seconds", 0),
    )
    for name, value in forge.get("claims", {}).items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = f"{issuer.issuer}/" if value == "ISSUER/" else value
    header = {k: v for k, v in {"kid": issuer.kid, **forge.get("headers", {})}.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers=header)


async def _handshake(session: aiohttp.ClientSession, url: str, protocols: str) -> tuple[int, str]:
    """A raw WebSocket upgrade request: the status and body of a refusal (aiohttp hides the body)."""
    headers = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
    }
    if protocols:
        headers["Sec-WebSocket-Protocol"] = protocols
    async with session.get(url, headers=headers) as response:
        body = await response.text() if response.status != 101 else ""
        return response.status, body


@pytest.mark.parametrize("case", _params(TOKENS))
def test_hostile_token_is_refused_with_401_and_leaves_no_row(
    case: dict[str, Any],
    keyed_stack: StackUrls,
    issuer: DevIssuer,
    issuer_key: rsa.RSAPrivateKey,
    emulator: Emulator,
) -> None:
    """A forged, expired, misdirected or garbage token: upgrade refused with its reason, no row."""
    user, victim = _user("hostile"), _user("victim")
    token = _forge(case["forge"], issuer, issuer_key, user, victim)
    transport = case.get("transport", "subprotocol")
    url, protocols = keyed_stack.ws_url, f"{SUBPROTOCOL}, {token}"
    if transport != "subprotocol":
        url = f"{url}?{urllib.parse.urlencode({'token': token})}"
        protocols = (
            f"{SUBPROTOCOL}, {issuer.mint(user)}" if transport == "query_and_valid_subprotocol" else ""
        )

    status, body = _run(lambda session: _handshake(session, url, protocols))
    assert (status, case["refusal"] in body) == (case.get("status", 401), True), body[:200]
    assert (emulator.rows_of(user), emulator.rows_of(victim)) == ([], [])


def test_genuine_token_from_the_test_issuer_is_accepted(
    keyed_stack: StackUrls, issuer: DevIssuer, emulator: Emulator
) -> None:
    """Control: a token minted here is accepted (101) and writes a row, so refusals above are real."""
    user = _user("genuine")

    async def scenario(session: aiohttp.ClientSession) -> int:
        ws = await _connect(session, keyed_stack, issuer, user)
        rows = len(await asyncio.to_thread(emulator.rows_of, user))
        await ws.close()
        return rows

    assert _run(scenario) == 1
