"""The pure header and claim checks: every rule refuses on its own, with a fixed reason."""

from __future__ import annotations

from typing import Any

import pytest

from healthcoach_realtime.auth.claims import ClaimsPolicy, check_claims, check_header
from healthcoach_realtime.exceptions import AuthError

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST"
CLIENT = "app-client"
NOW = 1_800_000_000.0
POLICY = ClaimsPolicy(issuer=ISSUER, client_id=CLIENT, leeway_seconds=5)


def id_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": "user-1",
        "iss": ISSUER,
        "aud": CLIENT,
        "token_use": "id",
        "cognito:username": "alice",
        "iat": NOW - 60,
        "exp": NOW + 3600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def access_claims(**changes: Any) -> dict[str, Any]:
    claims = id_claims(aud=None, **{"cognito:username": None})
    claims.update({"token_use": "access", "client_id": CLIENT, "username": "alice", **changes})
    return {k: v for k, v in claims.items() if v is not None}


def reason(claims: dict[str, Any], now: float = NOW) -> str:
    with pytest.raises(AuthError) as refused:
        check_claims(claims, POLICY, now=now)
    return str(refused.value)


def test_header_rs256_with_kid_gives_the_kid() -> None:
    """An RS256 header yields its kid."""
    assert check_header({"alg": "RS256", "kid": "k1"}) == "k1"


@pytest.mark.parametrize("alg", ["none", "None", "HS256", "RS512", "ES256", None, 256])
def test_header_other_algorithms_are_refused(alg: object) -> None:
    """Only RS256: alg none and HS256 key confusion stop here."""
    with pytest.raises(AuthError, match=r"^unsupported algorithm$"):
        check_header({"alg": alg, "kid": "k1"})


@pytest.mark.parametrize("kid", [None, "", 7])
def test_header_without_a_string_kid_is_refused(kid: object) -> None:
    """A key id is required to pick the key."""
    with pytest.raises(AuthError, match=r"^missing key id$"):
        check_header({"alg": "RS256", "kid": kid})


def test_valid_id_token_claims() -> None:
    """An id token for our client gives sub as user id and cognito:username."""
    verified = check_claims(id_claims(), POLICY, now=NOW)
    assert (verified.user_id, verified.token_use, verified.username) == ("user-1", "id", "alice")
    assert verified.expires_at == NOW + 3600


def test_valid_access_token_claims() -> None:
    """An access token is matched on client_id, not aud."""
    verified = check_claims(access_claims(), POLICY, now=NOW)
    assert (verified.user_id, verified.token_use, verified.username) == ("user-1", "access", "alice")


def test_wrong_issuer() -> None:
    """Another pool's token is refused."""
    assert reason(id_claims(iss=ISSUER + "x")) == "wrong issuer"


def test_missing_issuer() -> None:
    """No iss, no trust."""
    assert reason(id_claims(iss=None)) == "wrong issuer"


def test_wrong_audience() -> None:
    """An id token for another app client is refused."""
    assert reason(id_claims(aud="other-client")) == "wrong audience"


def test_audience_list_is_refused() -> None:
    """Cognito's aud is one string; a list (even containing ours) is not accepted."""
    assert reason(id_claims(aud=[CLIENT])) == "wrong audience"


def test_access_token_wrong_client_id() -> None:
    """An access token for another app client is refused."""
    assert reason(access_claims(client_id="other")) == "wrong client_id"


def test_access_token_is_not_accepted_on_aud() -> None:
    """An access token with our client only in aud (no client_id) is refused."""
    assert reason(access_claims(client_id=None, aud=CLIENT)) == "wrong client_id"


@pytest.mark.parametrize("token_use", ["refresh", "", None, "ID"])
def test_wrong_token_use(token_use: object) -> None:
    """Only id and access tokens are accepted."""
    assert reason(id_claims(token_use=token_use)) == "wrong token_use"


def test_policy_can_restrict_token_use() -> None:
    """A policy that accepts only id tokens refuses access tokens."""
    policy = ClaimsPolicy(issuer=ISSUER, client_id=CLIENT, token_uses=frozenset({"id"}))
    with pytest.raises(AuthError, match=r"^wrong token_use$"):
        check_claims(access_claims(), policy, now=NOW)


def test_expired() -> None:
    """exp in the past (beyond the leeway) is refused."""
    assert reason(id_claims(exp=NOW - 6)) == "token expired"


def test_expiry_within_leeway_is_accepted() -> None:
    """A few seconds of clock skew are tolerated."""
    assert check_claims(id_claims(exp=NOW - 4), POLICY, now=NOW).user_id == "user-1"


def test_expiry_exactly_at_leeway_is_refused() -> None:
    """The boundary belongs to expiry: now == exp + leeway is too late."""
    assert reason(id_claims(exp=NOW - 5)) == "token expired"


def test_missing_exp() -> None:
    """exp is required (PyJWT would silently accept its absence)."""
    assert reason(id_claims(exp=None)) == "missing exp"


def test_missing_iat() -> None:
    """iat is required: Cognito always sets it."""
    assert reason(id_claims(iat=None)) == "missing iat"


@pytest.mark.parametrize(
    ("name", "value"), [("exp", "1900000000"), ("exp", True), ("iat", "x"), ("nbf", [1])]
)
def test_non_numeric_times_are_refused(name: str, value: object) -> None:
    """Times must be JSON numbers."""
    assert reason(id_claims(**{name: value})) == f"invalid {name}"


def test_not_yet_valid() -> None:
    """nbf in the future (beyond the leeway) is refused."""
    assert reason(id_claims(nbf=NOW + 60)) == "token not yet valid"


def test_nbf_in_the_past_is_accepted() -> None:
    """A present, passed nbf is fine."""
    assert check_claims(id_claims(nbf=NOW - 60), POLICY, now=NOW).user_id == "user-1"


def test_nbf_is_optional() -> None:
    """Cognito never sets nbf, so its absence is accepted."""
    claims = id_claims()
    assert "nbf" not in claims
    assert check_claims(claims, POLICY, now=NOW).user_id == "user-1"


def test_issued_in_the_future() -> None:
    """iat beyond now + leeway is refused."""
    assert reason(id_claims(iat=NOW + 60)) == "token issued in the future"


@pytest.mark.parametrize("sub", [None, "", 42])
def test_missing_sub(sub: object) -> None:
    """sub is the user id: required, a non-empty string."""
    assert reason(id_claims(sub=sub)) == "missing sub"
