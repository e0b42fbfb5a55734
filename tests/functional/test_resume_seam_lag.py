"""The resume seam under GSI lag: ``$connect`` notes each new connection on the user's seq
counter in the history table, and the dispatcher's reservation returns those notes (one
consistent UpdateItem), so a connection the connections table's GSI does not show yet is still
found; the cap at ``$connect`` counts them too. Against moto over HTTP with the emulator's
``index_lag`` (the GSI sees the table as it was seconds ago); the @connections API is the fake.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.support.management_api import ManagementApiFake
from tests.support.sqs_events import envelope, sqs_event, sqs_record

from healthcoach_realtime.auth.claims import ClaimsPolicy
from healthcoach_realtime.auth.jwks import JwksCache
from healthcoach_realtime.auth.verifier import TokenVerifier
from healthcoach_realtime.clients import management_api_client
from healthcoach_realtime.connection_lifecycle import close_connection, open_connection
from healthcoach_realtime.connections import ConnectionStore
from healthcoach_realtime.dead_letters import DeadLetterQueue
from healthcoach_realtime.dev_identity import DevIssuer
from healthcoach_realtime.dispatch.batch import dispatch_batch
from healthcoach_realtime.history.store import HistoryStore
from healthcoach_realtime.sessions.connection_cap import ConnectionCap

REGION = "us-east-1"
EVENTS = Path(__file__).resolve().parents[1] / "events"
ISSUER = "https://issuer.example"
CLIENT = "healthcoach-web"


@pytest.fixture(scope="module")
def issuer() -> DevIssuer:
    return DevIssuer(ISSUER, client_id=CLIENT, kid="k1")


@pytest.fixture
def verifier(issuer: DevIssuer) -> TokenVerifier:
    """The real verifier over the issuer's JWKS, served from memory (no network needed)."""
    keys = JwksCache(issuer.jwks_url, fetcher=lambda _: issuer.jwks())
    return TokenVerifier(ClaimsPolicy(issuer=ISSUER, client_id=CLIENT), keys)


@pytest.fixture
def dead_letters(aws_env: str) -> DeadLetterQueue:
    sqs: Any = boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)
    url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    return DeadLetterQueue(sqs, url, origin="dispatcher")


def connect_event(issuer: DevIssuer, user_id: str) -> dict[str, Any]:
    """API Gateway's $connect event for a new connection of ``user_id`` with a valid token."""
    event: dict[str, Any] = copy.deepcopy(json.loads((EVENTS / "apigw_connect.json").read_text()))
    event["requestContext"]["connectionId"] = f"{uuid.uuid4().hex[:14]}="
    token = issuer.mint(user_id)
    event["queryStringParameters"] = {"token": token}
    event["multiValueQueryStringParameters"] = {"token": [token]}
    return event


def disconnect_event(connection_id: str) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(json.loads((EVENTS / "apigw_disconnect.json").read_text()))
    event["requestContext"]["connectionId"] = connection_id
    return event


def test_a_client_that_connected_and_resumed_before_the_reservation_gets_the_event_live(
    index_lag: Callable[..., None],
    issuer: DevIssuer,
    verifier: TokenVerifier,
    store: ConnectionStore,
    history: HistoryStore,
    dead_letters: DeadLetterQueue,
    api: ManagementApiFake,
) -> None:
    """The GSI lags 30 s: the new row is not in it when the dispatcher looks. The client's
    resume ran before the event's seq was reserved (nothing to replay), so only a live post can
    bring it: the connection noted on the counter, returned by the reservation, is posted to."""
    index_lag(30.0)
    opened = open_connection(
        connect_event(issuer, "u-seam"), verifier, store, now=datetime.now(UTC), recent=history
    )
    assert opened.connection is not None
    assert store.connection_ids_of("u-seam") == []  # the lag is real: the GSI does not show it
    assert not history.plan_resume("u-seam", 0, settle_seconds=0).events
    record = sqs_record(envelope("foodLogDeleted", "u-seam", {"id": "f1"}))
    response = dispatch_batch(
        sqs_event(record),
        store=store,
        management=management_api_client(api.endpoint),
        dead_letters=dead_letters,
        history=history,
    )
    assert response == {"batchItemFailures": []}
    assert [(f["data"], f["seq"]) for f in map(json.loads, api.frames(opened.connection_id))] == [
        ({"id": "f1"}, 1)
    ]


def test_the_cap_counts_connections_the_gsi_does_not_show_yet(
    index_lag: Callable[..., None],
    issuer: DevIssuer,
    verifier: TokenVerifier,
    store: ConnectionStore,
    history: HistoryStore,
) -> None:
    """Limit 2, GSI 30 s behind: two handshakes in a row, then a third is refused (the first two
    are counted from the counter's notes); once one closes (its note dropped), one more fits."""
    index_lag(30.0)
    cap = ConnectionCap(2)

    def handshake() -> int:
        outcome = open_connection(
            connect_event(issuer, "u-cap"), verifier, store, now=datetime.now(UTC), cap=cap, recent=history
        )
        return int(outcome.response["statusCode"])

    assert [handshake(), handshake(), handshake()] == [200, 200, 429]
    first = sorted(history.recent_connections("u-cap"))[0]
    close_connection(disconnect_event(first), store, recent=history)
    assert first not in history.recent_connections("u-cap")
    assert handshake() == 200
