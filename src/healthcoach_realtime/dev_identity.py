"""A stand-in for a Cognito user pool: one RS256 key pair that mints Cognito-shaped tokens.

For the local stack's dev token issuer and for tests only; the Lambda handlers never import
it. The tokens carry the claims Cognito puts in its id and access tokens, so the verifier
checks them exactly as it checks real ones::

    issuer = DevIssuer("http://127.0.0.1:3001/local/issuer")
    issuer.jwks()                                  # serve at issuer.jwks_url
    token = issuer.mint("user-123")                # an id token, valid for an hour
    access = issuer.mint("user-123", token_use="access")
    expired = issuer.mint("user-123", exp=0)       # any claim overridden; None removes it
    stray = issuer.mint("user-123", headers={"kid": "not-published"})
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any, TypedDict, Unpack, cast

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from healthcoach_realtime.auth.claims import ALLOWED_ALGORITHM, TokenUse

__all__ = ["DEV_CLIENT_ID", "DEV_SCOPE", "ClaimOptions", "DevIssuer"]

DEV_CLIENT_ID = "healthcoach-local"
# The scope Cognito grants an access token from its own sign-in API.
DEV_SCOPE = "aws.cognito.signin.user.admin"
DEFAULT_TTL_SECONDS = 3600  # Cognito's default for id and access tokens


class ClaimOptions(TypedDict, total=False):
    """What shapes a token's claims besides its user: its kind (default ``"id"``), app client
    (default the issuer's), lifetime in seconds and issue time (default now)."""

    token_use: TokenUse
    client_id: str | None
    ttl: int
    now: float | None


_CLAIM_OPTIONS = ClaimOptions.__optional_keys__


class DevIssuer:
    """An issuer URL, an app client id and a signing key; ``mint`` makes tokens it signs."""

    def __init__(
        self,
        issuer: str,
        *,
        client_id: str = DEV_CLIENT_ID,
        kid: str | None = None,
        private_key: rsa.RSAPrivateKey | None = None,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.kid = kid or f"dev-{secrets.token_hex(8)}"
        self._private_key = private_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def jwks_url(self) -> str:
        """Where a verifier looks for the keys: ``<issuer>/.well-known/jwks.json``, as Cognito."""
        return f"{self.issuer}/.well-known/jwks.json"

    def jwks(self) -> dict[str, Any]:
        """The public key set to serve at ``jwks_url`` (never the private part)."""
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self._private_key.public_key(), as_dict=True)
        # Cognito publishes exactly {kid, alg, kty, e, n, use}.
        jwk.pop("key_ops", None)
        jwk.update(kid=self.kid, alg=ALLOWED_ALGORITHM, use="sig")
        return {"keys": [jwk]}

    def public_key_pem(self) -> bytes:
        """The public key as PEM (tests use it to forge an HS256 key-confusion token)."""
        return self._private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def claims(self, user_id: str, **options: Unpack[ClaimOptions]) -> dict[str, Any]:
        """The claims Cognito would issue for ``user_id`` (as ``sub``), before any override."""
        now = options.get("now")
        issued_at = int(time.time() if now is None else now)
        token_use = options.get("token_use", "id")
        common: dict[str, Any] = {
            "sub": user_id,
            "iss": self.issuer,
            "token_use": token_use,
            "auth_time": issued_at,
            "iat": issued_at,
            "exp": issued_at + options.get("ttl", DEFAULT_TTL_SECONDS),
            "jti": str(uuid.uuid4()),
            "origin_jti": str(uuid.uuid4()),
            "event_id": str(uuid.uuid4()),
        }
        client = options.get("client_id") or self.client_id
        if token_use == "id":  # noqa: S105 (a token kind, not a secret)
            return {
                **common,
                "aud": client,
                "cognito:username": user_id,
                "email": f"{user_id}@example.com",
                "email_verified": True,
            }
        return {**common, "client_id": client, "scope": DEV_SCOPE, "username": user_id}

    def mint(self, user_id: str, *, headers: Mapping[str, Any] | None = None, **overrides: Any) -> str:
        """A signed token. An override named in ``ClaimOptions`` shapes the claims as in ``claims``;
        any other replaces a claim (``None`` removes it); ``headers`` amend the header."""
        options = {name: overrides.pop(name) for name in _CLAIM_OPTIONS if name in overrides}
        claims = self.claims(user_id, **cast(ClaimOptions, options))
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        # Cognito's header is exactly {"kid", "alg"}: PyJWT's default "typ" is dropped.
        header = {"kid": self.kid, "typ": None, **(headers or {})}
        return jwt.encode(claims, self._private_key, algorithm=ALLOWED_ALGORITHM, headers=header)
