"""Live sessions through the Lambda handlers, loaded by path, against moto's DynamoDB over HTTP,
a JWKS served over loopback HTTP and the loopback @connections fake: the connection limit at
``$connect``, ``auth``, expiry and the rate limit at ``$default``, the dispatcher's exp check,
the session sweeper and ``disconnect_user``."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from tests.support.lambda_handlers import LambdaContext, forget_cached_clients, load_handler
from tests.support.management_api import ManagementApiFake
from tests.support.sqs_events import emf_metrics, envelope, sqs_event, sqs_record

from healthcoach_realtime.connections import Connection, ConnectionStore
from healthcoach_realtime.dev_identity import DevIssuer
from healthcoach_realtime.local.scheduler import SWEEPER_INPUT
from healthcoach_realtime.sessions import disconnect_user
from healthcoach_realtime.settings import get_settings

# $connect notes each new connection on the user's seq counter; $disconnect removes it.
pytestmark = pytest.mark.usefixtures("history_table")

EVENTS = Path(__file__).resolve().parents[1] / "events"
CONNECTION = "BFHPhfCWIAMCKlQ="


def connect_event(token: str) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(json.loads((EVENTS / "apigw_connect.json").read_text()))
    event["requestContext"]["connectionId"] = f"{uuid.uuid4().hex[:14]}="
    event["queryStringParameters"] = {"token": token}
    event["multiValueQueryStringParameters"] = {"token": [token]}
    return event


def message_event(body: str, connection_id: str = CONNECTION) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "apigw_default_message.json").read_text())
    event["body"] = body
    event["requestContext"]["connectionId"] = connection_id
    return event


def frames(api: ManagementApiFake, connection_id: str = CONNECTION) -> list[dict[str, Any]]:
    return [json.loads(b) for b in api.frames(connection_id)]


# ---- $connect: at most N connections per user --------------------------------------------------


@pytest.mark.usefixtures("handler_environment")
def test_connect_records_the_tokens_exp(issuer: DevIssuer, store: ConnectionStore) -> None:
    """The row's exp is the token's exp: the session ends when the token does."""
    exp = int(time.time()) + 123
    event = connect_event(issuer.mint("u1", exp=exp))
    assert load_handler("connect").handler(event, LambdaContext())["statusCode"] == 200
    assert store.sessions_of("u1") == {event["requestContext"]["connectionId"]: exp}


@pytest.mark.usefixtures("handler_environment")
def test_the_connection_over_the_limit_is_refused_with_429_and_nothing_written(
    issuer: DevIssuer,
    store: ConnectionStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """MAX_CONNECTIONS_PER_USER=2, two open: the third is 429, no row, ConnectionsRefused counted."""
    monkeypatch.setenv("MAX_CONNECTIONS_PER_USER", "2")
    get_settings.cache_clear()
    store.add(Connection("a=", "u1"))
    store.add(Connection("b=", "u1"))
    event = connect_event(issuer.mint("u1"))
    response = load_handler("connect").handler(event, LambdaContext())
    assert response == {"statusCode": 429, "body": "Too Many Requests: too many connections"}
    assert sorted(store.sessions_of("u1")) == ["a=", "b="]
    assert emf_metrics(capsys.readouterr().out).get("ConnectionsRefused") == 1.0


@pytest.mark.usefixtures("handler_environment")
def test_a_row_whose_socket_is_gone_does_not_hold_a_slot(
    issuer: DevIssuer, store: ConnectionStore, api: ManagementApiFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the limit, GetConnection finds one socket gone (410): its row is removed, the newcomer accepted."""
    monkeypatch.setenv("MAX_CONNECTIONS_PER_USER", "2")
    get_settings.cache_clear()
    store.add(Connection("a=", "u1"))
    store.add(Connection("lost=", "u1"))
    api.gone("lost=")
    event = connect_event(issuer.mint("u1"))
    assert load_handler("connect").handler(event, LambdaContext())["statusCode"] == 200
    assert sorted(store.sessions_of("u1")) == sorted(["a=", event["requestContext"]["connectionId"]])


@pytest.mark.usefixtures("handler_environment")
def test_expired_sessions_do_not_count_toward_the_limit(
    issuer: DevIssuer, store: ConnectionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two rows whose tokens expired (the sweeper is closing them) leave room under a limit of 2."""
    monkeypatch.setenv("MAX_CONNECTIONS_PER_USER", "2")
    get_settings.cache_clear()
    store.add(Connection("old1=", "u1", expires_at=int(time.time()) - 5))
    store.add(Connection("old2=", "u1", expires_at=int(time.time()) - 5))
    assert (
        load_handler("connect").handler(connect_event(issuer.mint("u1")), LambdaContext())["statusCode"]
        == 200
    )


# ---- $default: auth, expiry, rate ---------------------------------------------------------------


@pytest.fixture
def default(handler_environment: None) -> ModuleType:
    return load_handler("default")


def send(default: ModuleType, body: str, connection_id: str = CONNECTION) -> None:
    assert default.handler(message_event(body, connection_id), LambdaContext()) == {"statusCode": 200}


def test_auth_with_a_fresh_token_of_the_same_user_extends_the_session(
    default: ModuleType, issuer: DevIssuer, store: ConnectionStore, api: ManagementApiFake
) -> None:
    """{"action": "auth"} with u1's new token: {"type": "authorized", "exp": <its exp>}, row updated."""
    store.add(Connection(CONNECTION, "u1", expires_at=int(time.time()) + 5))
    exp = int(time.time()) + 3600
    send(default, json.dumps({"action": "auth", "token": issuer.mint("u1", exp=exp)}))
    assert frames(api) == [{"type": "authorized", "exp": exp}]
    assert store.sessions_of("u1") == {CONNECTION: exp}


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"sub": "u2"}, "auth refused: the token is another user's"),
        ({"exp": 1_000_000}, "auth refused: token expired"),
        ({"aud": "another-app"}, "auth refused: wrong audience"),
    ],
)
def test_a_refused_refresh_is_an_error_frame_and_changes_nothing(
    default: ModuleType,
    issuer: DevIssuer,
    store: ConnectionStore,
    api: ManagementApiFake,
    claims: dict[str, Any],
    message: str,
) -> None:
    """Another user's token, an expired one, another app's: one error frame, exp unchanged."""
    exp = int(time.time()) + 30
    store.add(Connection(CONNECTION, "u1", expires_at=exp))
    user = str(claims.pop("sub", "u1"))
    send(default, json.dumps({"action": "auth", "token": issuer.mint(user, **claims)}))
    assert frames(api) == [{"type": "error", "message": message}]
    assert store.sessions_of("u1") == {CONNECTION: exp}


def test_a_forged_token_is_refused(
    default: ModuleType, store: ConnectionStore, api: ManagementApiFake, issuer: DevIssuer
) -> None:
    """A token signed by another key under the issuer's kid: invalid signature, nothing changed."""
    exp = int(time.time()) + 30
    store.add(Connection(CONNECTION, "u1", expires_at=exp))
    forger = DevIssuer(issuer.issuer, client_id=issuer.client_id, kid=issuer.kid)
    send(default, json.dumps({"action": "auth", "token": forger.mint("u1", exp=exp + 9999)}))
    assert frames(api) == [{"type": "error", "message": "auth refused: invalid signature"}]
    assert store.sessions_of("u1") == {CONNECTION: exp}


def test_an_expired_session_gets_no_data_only_an_error(
    default: ModuleType, store: ConnectionStore, api: ManagementApiFake
) -> None:
    """After exp: ping, presence and resume are each answered with the session-expired error."""
    store.add(Connection(CONNECTION, "u1", expires_at=int(time.time()) - 1))
    for body in ('{"action":"ping"}', '{"action":"presence"}', '{"action":"resume","since":0}'):
        send(default, body)
    assert [f["message"][:15] for f in frames(api)] == ["session expired"] * 3


def test_an_expired_session_may_still_refresh(
    default: ModuleType, issuer: DevIssuer, store: ConnectionStore, api: ManagementApiFake
) -> None:
    """Until the sweeper closes it, a connection past exp revives with a valid token of its user."""
    store.add(Connection(CONNECTION, "u1", expires_at=int(time.time()) - 1))
    send(default, json.dumps({"action": "auth", "token": issuer.mint("u1")}))
    send(default, '{"action":"ping"}')
    assert [f["type"] for f in frames(api)] == ["authorized", "pong"]


def test_messages_over_the_rate_get_one_error_then_silence_then_a_close(
    default: ModuleType,
    store: ConnectionStore,
    api: ManagementApiFake,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Limit 3 per 60 s: 3 pongs, one rate-limit error, nothing for the 5th, DeleteConnection at the 6th."""
    monkeypatch.setenv("MESSAGE_RATE_LIMIT", "3")
    monkeypatch.setenv("MESSAGE_RATE_WINDOW_SECONDS", "60")
    get_settings.cache_clear()
    default = load_handler("default")
    store.add(Connection(CONNECTION, "u1"))
    sent_at = time.time()
    for _ in range(6):
        send(default, '{"action":"ping"}')
    if int(time.time()) // 60 != int(sent_at) // 60:
        pytest.skip("the six pings straddled a minute boundary (two windows)")
    got = frames(api)
    assert [f["type"] for f in got] == ["pong", "pong", "pong", "error"]
    assert got[3]["message"].startswith("rate limited: at most 3 messages per 60 s")
    assert api.deleted() == [CONNECTION]
    metrics = emf_metrics(capsys.readouterr().out)
    assert metrics.get("ConnectionsClosedForAbuse") == 1.0


def test_a_message_from_an_unknown_connection_is_an_error_and_writes_nothing(
    default: ModuleType, dynamodb: Any, connections_table: str, api: ManagementApiFake
) -> None:
    """No row: the error frame, and counting it did not create one."""
    send(default, '{"action":"ping"}', "ghost=")
    assert frames(api, "ghost=") == [{"type": "error", "message": "unknown connection; reconnect"}]
    assert "Item" not in dynamodb.get_item(TableName=connections_table, Key={"connectionId": {"S": "ghost="}})


# ---- dispatcher: nothing after exp -----------------------------------------------------------------


@pytest.fixture
def dispatcher(handler_environment: None, aws_env: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    sqs = boto3.client("sqs", endpoint_url=aws_env, region_name="us-east-1")
    dlq = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq)
    forget_cached_clients()
    return load_handler("dispatcher")


def test_the_dispatcher_posts_nothing_to_an_expired_session(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """Of u1's two connections only the live one gets the event; the record is not retried."""
    store.add(Connection("live=", "u1", expires_at=int(time.time()) + 600))
    store.add(Connection("expired=", "u1", expires_at=int(time.time()) - 1))
    event = sqs_event(sqs_record(envelope("foodLogDeleted", "u1", {"id": "f1"})))
    assert dispatcher.handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert [f["type"] for f in frames(api, "live=")] == ["foodLogDeleted"]
    assert api.posts("expired=") == []
    assert emf_metrics(capsys.readouterr().out).get("DeliveriesExpired") == 1.0


# ---- the sweeper and sign-out --------------------------------------------------------------------


def test_the_sweeper_closes_expired_sessions_and_tells_the_users_other_devices(
    handler_environment: None, store: ConnectionStore, api: ManagementApiFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expired rows are removed and their sockets deleted; the live sibling gets the new count."""
    monkeypatch.setenv("SESSION_SWEEPS_PER_RUN", "1")
    get_settings.cache_clear()
    store.add(Connection("old=", "u1", expires_at=int(time.time()) - 1))
    store.add(Connection("live=", "u1", expires_at=int(time.time()) + 600))
    store.add(Connection("other=", "u2", expires_at=int(time.time()) + 600))
    result = load_handler("session_sweeper").handler(dict(SWEEPER_INPUT), LambdaContext())
    assert result == {"passes": 1, "closed": 1}
    assert api.deleted() == ["old="]
    assert store.sessions_of("u1").keys() == {"live="}
    assert frames(api, "live=") == [{"type": "presence", "connections": 1}]
    assert frames(api, "other=") == []


def test_disconnect_user_closes_every_connection_of_that_user_only(
    handler_environment: None, store: ConnectionStore, api: ManagementApiFake
) -> None:
    """Three rows of u1 removed and their sockets deleted; u2's connection untouched."""
    for n in range(3):
        store.add(Connection(f"u1-{n}=", "u1"))
    store.add(Connection("u2=", "u2"))
    assert disconnect_user("u1") == 3
    assert sorted(api.deleted()) == ["u1-0=", "u1-1=", "u1-2="]
    assert store.sessions_of("u1") == {}
    assert list(store.sessions_of("u2")) == ["u2="]


def test_sign_out_closes_a_tab_the_lagging_index_does_not_show_yet(
    handler_environment: None,
    issuer: DevIssuer,
    store: ConnectionStore,
    api: ManagementApiFake,
    index_lag: Callable[..., None],
) -> None:
    """A tab opened through ``$connect`` a moment before sign-out is closed too: the GSI (30 s
    behind here) does not show its row yet, the note on the user's counter does."""
    index_lag(30)
    event = connect_event(issuer.mint("u1"))
    assert load_handler("connect").handler(event, LambdaContext())["statusCode"] == 200
    tab = event["requestContext"]["connectionId"]
    assert store.get(tab) is not None
    assert store.sessions_of("u1") == {}  # the index has not caught up
    assert disconnect_user("u1") == 1
    assert api.deleted() == [tab]
    assert store.get(tab) is None


def test_the_default_handler_imports_the_jwt_library_only_for_auth() -> None:
    """Loading $default (a ping's cold start) imports neither jwt nor cryptography: only auth does."""
    probe = (
        "import importlib.util, json, sys\n"
        "spec = importlib.util.spec_from_file_location('handler', sys.argv[1])\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(json.dumps(sorted(m for m in ('jwt', 'cryptography') if m in sys.modules)))\n"
    )
    handler = Path(__file__).resolve().parents[2] / "functions" / "default" / "handler.py"
    result = subprocess.run(
        [sys.executable, "-c", probe, str(handler)], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
