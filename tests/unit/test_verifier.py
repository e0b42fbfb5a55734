"""TokenVerifier end to end over an in-memory JWKS (no network): signature, then claims."""

from __future__ import annotations

import traceback

import pytest
from tests.support.forged_tokens import alg_none, hs256_with_public_key, tampered_payload

from healthcoach_realtime.auth.claims import ClaimsPolicy
from healthcoach_realtime.auth.jwks import JwksCache
from healthcoach_realtime.auth.verifier import MAX_TOKEN_CHARS, TokenVerifier
from healthcoach_realtime.dev_identity import DevIssuer
from healthcoach_realtime.exceptions import AuthError, ConfigurationError
from healthcoach_realtime.settings import Settings

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST"


@pytest.fixture(scope="module")
def issuer() -> DevIssuer:
    return DevIssuer(ISSUER, client_id="app", kid="k1")


@pytest.fixture
def verifier(issuer: DevIssuer) -> TokenVerifier:
    keys = JwksCache(issuer.jwks_url, fetcher=lambda url: issuer.jwks())
    return TokenVerifier(ClaimsPolicy(issuer=ISSUER, client_id="app"), keys)


def refusal(verifier: TokenVerifier, token: str) -> AuthError:
    with pytest.raises(AuthError) as refused:
        verifier.verify(token)
    return refused.value


def test_valid_id_token(issuer: DevIssuer, verifier: TokenVerifier) -> None:
    """A DevIssuer id token verifies to its sub."""
    assert verifier.verify(issuer.mint("user-1")).user_id == "user-1"


def test_valid_access_token(issuer: DevIssuer, verifier: TokenVerifier) -> None:
    """A DevIssuer access token verifies too."""
    assert verifier.verify(issuer.mint("user-1", token_use="access")).token_use == "access"


def test_now_is_the_callers_clock(issuer: DevIssuer, verifier: TokenVerifier) -> None:
    """Expiry is judged at the ``now`` given, not the wall clock."""
    token = issuer.mint("user-1", ttl=60)
    with pytest.raises(AuthError, match="token expired"):
        verifier.verify(token, now=2**40)


def test_signature_by_another_key_with_the_same_kid(verifier: TokenVerifier) -> None:
    """An impostor key reusing the published kid fails the signature check."""
    impostor = DevIssuer(ISSUER, client_id="app", kid="k1")
    assert str(refusal(verifier, impostor.mint("user-1"))) == "invalid signature"


def test_tampered_payload(issuer: DevIssuer, verifier: TokenVerifier) -> None:
    """Changing sub breaks the signature."""
    token = tampered_payload(issuer, "user-1", as_user="user-2")
    assert str(refusal(verifier, token)) == "invalid signature"


def test_alg_none(issuer: DevIssuer, verifier: TokenVerifier) -> None:
    """alg none is refused before any key is used."""
    assert str(refusal(verifier, alg_none(issuer, "user-1"))) == "unsupported algorithm"


def test_hs256_key_confusion(issuer: DevIssuer, verifier: TokenVerifier) -> None:
    """HS256 signed with the public key is refused."""
    assert str(refusal(verifier, hs256_with_public_key(issuer, "user-1"))) == "unsupported algorithm"


@pytest.mark.parametrize("garbage", ["x", "a.b.c", "....", "eyJhbGciOiJSUzI1NiJ9", "é.é.é"])
def test_garbage_is_malformed(verifier: TokenVerifier, garbage: str) -> None:
    """Non-JWT strings are refused as malformed."""
    assert str(refusal(verifier, garbage)) == "malformed token"


def test_empty_token(verifier: TokenVerifier) -> None:
    """No token at all."""
    assert str(refusal(verifier, "")) == "missing token"


def test_oversized_token(issuer: DevIssuer, verifier: TokenVerifier) -> None:
    """Tokens over the size limit are refused before parsing."""
    token = issuer.mint("user-1", padding="x" * MAX_TOKEN_CHARS)
    assert str(refusal(verifier, token)) == "token too large"


def test_refusal_traceback_never_contains_the_token(issuer: DevIssuer, verifier: TokenVerifier) -> None:
    """Neither the message nor a formatted traceback (no chained PyJWT error) shows the token."""
    token = tampered_payload(issuer, "user-1", as_user="user-2")
    error = refusal(verifier, token)
    formatted = "".join(traceback.format_exception(error))
    assert token.split(".")[1] not in formatted
    assert token.split(".")[2] not in formatted


def test_from_settings_requires_the_client_id() -> None:
    """Without USER_POOL_CLIENT_ID there is no audience to check: configuration error."""
    with pytest.raises(ConfigurationError, match="user_pool_client_id"):
        TokenVerifier.from_settings(Settings(user_pool_id="eu-west-1_TEST"))


def test_from_settings_uses_the_cognito_issuer() -> None:
    """USER_POOL_ID gives the Cognito issuer and its JWKS URL."""
    verifier = TokenVerifier.from_settings(Settings(user_pool_id="eu-west-1_TEST", user_pool_client_id="app"))
    assert verifier.policy.issuer == ISSUER
    assert verifier.keys.url == f"{ISSUER}/.well-known/jwks.json"
