"""$connect handler, loaded by path, against moto's server and a JWKS served over loopback HTTP."""

from __future__ import annotations

import copy
import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from tests.support.forged_tokens import alg_none, hs256_with_public_key, tampered_payload
from tests.support.jwks_server import JwksServer
from tests.support.lambda_handlers import LambdaContext, load_handler
from tests.support.network import free_port
from tests.support.sqs_events import emf_metrics

from healthcoach_realtime.dev_identity import DevIssuer
from healthcoach_realtime.settings import get_settings
from healthcoach_realtime.websocket_events import SUBPROTOCOL

# $connect notes each new connection on the user's seq counter; $disconnect removes it.
pytestmark = pytest.mark.usefixtures("history_table")

CLIENT = "healthcoach-web"
EVENTS = Path(__file__).resolve().parents[1] / "events"


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    """One RSA key for the module: generating one per test would only cost time."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    with JwksServer() as server:
        yield server


@pytest.fixture
def issuer(jwks_server: JwksServer, signing_key: rsa.RSAPrivateKey) -> DevIssuer:
    dev = DevIssuer(jwks_server.issuer_url, client_id=CLIENT, kid="key-1", private_key=signing_key)
    jwks_server.publish(dev.jwks())
    return dev


@pytest.fixture
def connect(
    connections_table: str, jwks_server: JwksServer, issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    """The handler module, fresh (empty caches), configured for the test issuer and table."""
    monkeypatch.setenv("TOKEN_ISSUER", jwks_server.issuer_url)
    monkeypatch.setenv("USER_POOL_CLIENT_ID", CLIENT)
    monkeypatch.delenv("USER_POOL_ID", raising=False)
    get_settings.cache_clear()
    return load_handler("connect")


def connect_event(*, query_token: str | None = None, subprotocols: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(json.loads((EVENTS / "apigw_connect.json").read_text()))
    event["requestContext"]["connectionId"] = f"{uuid.uuid4().hex[:14]}="
    if query_token is not None:
        event["queryStringParameters"] = {"token": query_token}
        event["multiValueQueryStringParameters"] = {"token": [query_token]}
    if subprotocols is not None:
        event["headers"]["Sec-WebSocket-Protocol"] = subprotocols
        event["multiValueHeaders"]["Sec-WebSocket-Protocol"] = [subprotocols]
    return event


def invoke(handler: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = handler.handler(event, LambdaContext())
    return response


def stored(dynamodb: Any, table: str, event: dict[str, Any]) -> dict[str, Any] | None:
    key = {"connectionId": {"S": event["requestContext"]["connectionId"]}}
    item: dict[str, Any] | None = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    return item


def emitted_metrics(output: str) -> list[str]:
    """Metric names in the EMF lines Powertools printed."""
    names: list[str] = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            for directive in json.loads(line)["_aws"]["CloudWatchMetrics"]:
                names.extend(metric["Name"] for metric in directive["Metrics"])
    return names


# --- accepted -------------------------------------------------------------------------------


def test_id_token_in_query_records_the_connection(
    connect: ModuleType, issuer: DevIssuer, dynamodb: Any, connections_table: str
) -> None:
    """?token=<id token>: 200 and a row with every attribute, ttl = now + 7200."""
    event = connect_event(query_token=issuer.mint("user-1"))
    before = int(time.time())
    response = invoke(connect, event)
    after = int(time.time())
    assert response == {"statusCode": 200, "body": "Connected"}
    item = stored(dynamodb, connections_table, event)
    assert item is not None
    assert item["connectionId"]["S"] == event["requestContext"]["connectionId"]
    assert item["userId"]["S"] == "user-1"
    assert datetime.fromisoformat(item["connectedAt"]["S"]).tzinfo is not None
    assert before + 7200 <= int(item["ttl"]["N"]) <= after + 7200
    assert item["sourceIp"]["S"] == "166.90.225.1"
    assert item["userAgent"]["S"].startswith("Mozilla/5.0")


def test_access_token_is_accepted(
    connect: ModuleType, issuer: DevIssuer, dynamodb: Any, connections_table: str
) -> None:
    """An access token (client_id, no aud) opens a connection for its sub."""
    event = connect_event(query_token=issuer.mint("user-2", token_use="access"))
    assert invoke(connect, event)["statusCode"] == 200
    item = stored(dynamodb, connections_table, event)
    assert item is not None
    assert item["userId"]["S"] == "user-2"


def test_token_in_subprotocol_is_accepted_and_echoed(
    connect: ModuleType, issuer: DevIssuer, dynamodb: Any, connections_table: str
) -> None:
    """Browser style: the 200 names healthcoach.v1 (Chrome fails the handshake otherwise)."""
    event = connect_event(subprotocols=f"{SUBPROTOCOL}, {issuer.mint('user-3')}")
    response = invoke(connect, event)
    assert response["statusCode"] == 200
    assert response["headers"] == {"Sec-WebSocket-Protocol": SUBPROTOCOL}
    assert stored(dynamodb, connections_table, event) is not None


def test_rotated_key_is_accepted_after_one_refetch(
    connect: ModuleType, issuer: DevIssuer, jwks_server: JwksServer
) -> None:
    """A key published after the JWKS was cached is found by the one refetch (key rotation)."""
    assert invoke(connect, connect_event(query_token=issuer.mint("user-1")))["statusCode"] == 200
    rotated = DevIssuer(jwks_server.issuer_url, client_id=CLIENT, kid="key-2")
    jwks_server.publish(issuer.jwks(), rotated.jwks())
    assert invoke(connect, connect_event(query_token=rotated.mint("user-1")))["statusCode"] == 200
    assert jwks_server.fetch_count == 2


def test_opened_connection_is_counted(connect: ModuleType, issuer: DevIssuer, capsys: Any) -> None:
    """The ConnectionsOpened metric is emitted on success."""
    invoke(connect, connect_event(query_token=issuer.mint("user-1")))
    assert emitted_metrics(capsys.readouterr().out) == ["ConnectionsOpened"]


# --- refused: 401 and nothing written -------------------------------------------------------

NOW = int(time.time())
Forge = Callable[[DevIssuer], "str | None"]

REFUSALS: dict[str, tuple[Forge, str]] = {
    "expired": (lambda i: i.mint("u", iat=NOW - 7200, exp=NOW - 3600), "token expired"),
    "not yet valid": (lambda i: i.mint("u", nbf=NOW + 3600), "token not yet valid"),
    "wrong issuer": (
        lambda i: i.mint("u", iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"),
        "wrong issuer",
    ),
    "wrong audience": (lambda i: i.mint("u", aud="another-app"), "wrong audience"),
    "access token of another client": (
        lambda i: i.mint("u", token_use="access", client_id="another-app"),
        "wrong client_id",
    ),
    "wrong token_use": (lambda i: i.mint("u", token_use="refresh"), "wrong token_use"),  # type: ignore[arg-type]
    "alg none": (lambda i: alg_none(i, "u"), "unsupported algorithm"),
    "HS256 signed with the public key": (lambda i: hs256_with_public_key(i, "u"), "unsupported algorithm"),
    "unknown kid": (lambda i: i.mint("u", headers={"kid": "not-published"}), "unknown key id"),
    "signed by another key": (
        lambda i: DevIssuer(i.issuer, client_id=CLIENT, kid=i.kid).mint("u"),
        "invalid signature",
    ),
    "tampered payload": (lambda i: tampered_payload(i, "u", as_user="victim"), "invalid signature"),
    "garbage": (lambda i: "not-a-jwt", "malformed token"),
    "missing token": (lambda i: None, "missing token"),
    "missing exp": (lambda i: i.mint("u", exp=None), "missing exp"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_token_is_401_and_writes_nothing(
    case: str, connect: ModuleType, issuer: DevIssuer, dynamodb: Any, connections_table: str
) -> None:
    """Each bad token: 401 with its reason, and no row."""
    forge, reason = REFUSALS[case]
    event = connect_event(query_token=forge(issuer))
    assert invoke(connect, event) == {"statusCode": 401, "body": f"Unauthorized: {reason}"}
    assert stored(dynamodb, connections_table, event) is None


def test_unknown_kid_flood_costs_one_jwks_fetch(
    connect: ModuleType, issuer: DevIssuer, jwks_server: JwksServer
) -> None:
    """After the first fetch, 25 tokens with unknown kids cause at most one more fetch."""
    assert invoke(connect, connect_event(query_token=issuer.mint("user-1")))["statusCode"] == 200
    assert jwks_server.fetch_count == 1
    for n in range(25):
        token = issuer.mint("user-1", headers={"kid": f"bogus-{n}"})
        assert invoke(connect, connect_event(query_token=token))["statusCode"] == 401
    assert jwks_server.fetch_count <= 2


def test_refusal_is_counted(connect: ModuleType, capsys: Any) -> None:
    """The AuthFailures metric is emitted on a 401."""
    invoke(connect, connect_event(query_token="not-a-jwt"))
    assert emitted_metrics(capsys.readouterr().out) == ["AuthFailures"]


# --- the token never reaches the logs -------------------------------------------------------


def assert_token_absent(log: str, token: str) -> None:
    _, payload, signature = token.split(".")
    assert token not in log
    assert payload not in log
    assert signature not in log


def test_refused_token_is_not_logged(
    connect: ModuleType, issuer: DevIssuer, captured_log: io.StringIO
) -> None:
    """The refusal is logged with its reason, and the token appears nowhere in the log."""
    token = issuer.mint("user-1", iat=NOW - 7200, exp=NOW - 3600)
    invoke(connect, connect_event(query_token=token, subprotocols=f"{SUBPROTOCOL}, {token}"))
    log = captured_log.getvalue()
    assert "token expired" in log
    assert_token_absent(log, token)


def test_accepted_token_is_not_logged(
    connect: ModuleType, issuer: DevIssuer, captured_log: io.StringIO
) -> None:
    """The opened connection is logged; the token is not."""
    token = issuer.mint("user-1")
    invoke(connect, connect_event(subprotocols=f"{SUBPROTOCOL}, {token}"))
    log = captured_log.getvalue()
    assert "connection opened" in log
    assert_token_absent(log, token)


# --- our faults: 500, nothing written -------------------------------------------------------


def test_unreachable_jwks_is_500_not_401(
    connect: ModuleType,
    issuer: DevIssuer,
    dynamodb: Any,
    connections_table: str,
    monkeypatch: pytest.MonkeyPatch,
    captured_log: io.StringIO,
) -> None:
    """No JWKS (nothing listens at the issuer): 500, no row, and the traceback has no token."""
    monkeypatch.setenv("TOKEN_ISSUER", f"http://127.0.0.1:{free_port()}/issuer")
    get_settings.cache_clear()
    token = issuer.mint("user-1")
    event = connect_event(query_token=token)
    assert invoke(load_handler("connect"), event)["statusCode"] == 500
    assert stored(dynamodb, connections_table, event) is None
    log = captured_log.getvalue()
    assert "cannot fetch JWKS" in log
    assert_token_absent(log, token)


def test_missing_client_id_is_500(
    issuer: DevIssuer,
    connections_table: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without USER_POOL_CLIENT_ID nothing can be verified: a configuration error, 500, counted
    as HandlerFailures (not as an auth failure: the client is not at fault)."""
    monkeypatch.setenv("TOKEN_ISSUER", issuer.issuer)
    monkeypatch.delenv("USER_POOL_CLIENT_ID", raising=False)
    get_settings.cache_clear()
    event = connect_event(query_token=issuer.mint("user-1"))
    assert invoke(load_handler("connect"), event)["statusCode"] == 500
    metrics = emf_metrics(capsys.readouterr().out)
    assert (metrics.get("HandlerFailures"), metrics.get("AuthFailures")) == (1.0, None)
