"""DevIssuer mints tokens shaped like Cognito's, and publishes only its public key."""

from __future__ import annotations

import jwt
import pytest

from healthcoach_realtime.dev_identity import DEV_CLIENT_ID, DevIssuer


@pytest.fixture(scope="module")
def issuer() -> DevIssuer:
    return DevIssuer("http://127.0.0.1:3001/local/issuer/", kid="dev-1")


def claims_of(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def test_header_is_cognitos(issuer: DevIssuer) -> None:
    """The header is exactly {alg: RS256, kid}."""
    assert jwt.get_unverified_header(issuer.mint("u1")) == {"alg": "RS256", "kid": "dev-1"}


def test_id_token_claims(issuer: DevIssuer) -> None:
    """An id token names the client in aud and carries cognito:username and email."""
    claims = claims_of(issuer.mint("u1", now=1000, ttl=60))
    assert {k: claims[k] for k in ("sub", "iss", "aud", "token_use", "cognito:username", "iat", "exp")} == {
        "sub": "u1",
        "iss": "http://127.0.0.1:3001/local/issuer",
        "aud": DEV_CLIENT_ID,
        "token_use": "id",
        "cognito:username": "u1",
        "iat": 1000,
        "exp": 1060,
    }
    assert claims["email"] == "u1@example.com"


def test_access_token_claims(issuer: DevIssuer) -> None:
    """An access token has client_id and scope, and no aud."""
    claims = claims_of(issuer.mint("u1", token_use="access", client_id="other"))
    assert (claims["token_use"], claims["client_id"], claims["username"]) == ("access", "other", "u1")
    assert "scope" in claims
    assert "aud" not in claims


def test_overrides_replace_and_remove_claims(issuer: DevIssuer) -> None:
    """An override replaces a claim; None removes it."""
    claims = claims_of(issuer.mint("u1", iss="https://elsewhere", exp=None))
    assert claims["iss"] == "https://elsewhere"
    assert "exp" not in claims


def test_header_overrides(issuer: DevIssuer) -> None:
    """headers= changes the header, e.g. to an unpublished kid."""
    assert jwt.get_unverified_header(issuer.mint("u1", headers={"kid": "other"}))["kid"] == "other"


def test_jwks_is_public_only(issuer: DevIssuer) -> None:
    """The published key set has the public RSA fields, never the private exponent."""
    (key,) = issuer.jwks()["keys"]
    assert set(key) == {"kty", "kid", "alg", "use", "n", "e"}


def test_tokens_verify_with_the_published_key(issuer: DevIssuer) -> None:
    """The JWKS key checks the minted signature."""
    public_key = jwt.PyJWK(issuer.jwks()["keys"][0]).key
    token = issuer.mint("u1")
    assert jwt.decode(token, public_key, algorithms=["RS256"], audience=DEV_CLIENT_ID)["sub"] == "u1"


def test_jwks_url(issuer: DevIssuer) -> None:
    """The JWKS lives under the issuer, as Cognito's does."""
    assert issuer.jwks_url == "http://127.0.0.1:3001/local/issuer/.well-known/jwks.json"
