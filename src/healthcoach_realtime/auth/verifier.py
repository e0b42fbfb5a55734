"""Verify a Cognito JWT: RS256 signature by a key of the issuer's JWKS, then the claims.

Every failure is an ``AuthError`` with a fixed reason; the token never appears in an error,
a log line or a traceback (PyJWT's exceptions are not chained)::

    verifier = TokenVerifier.from_settings(get_settings())
    claims = verifier.verify(token)  # VerifiedClaims(user_id=..., token_use="id", ...)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from jwt import InvalidSignatureError, PyJWS, PyJWTError, get_unverified_header

from healthcoach_realtime.auth.claims import (
    ALLOWED_ALGORITHM,
    ClaimsPolicy,
    VerifiedClaims,
    check_claims,
    check_header,
)
from healthcoach_realtime.auth.issuer import jwks_url_of, trusted_issuer
from healthcoach_realtime.auth.jwks import Fetcher, JwksCache, fetch_json
from healthcoach_realtime.exceptions import AuthError
from healthcoach_realtime.settings import Settings

__all__ = ["MAX_TOKEN_CHARS", "TokenVerifier"]

# Cognito tokens are 1-4 KB; anything much larger is refused before it is parsed.
MAX_TOKEN_CHARS = 16 * 1024

_JWS = PyJWS(algorithms=[ALLOWED_ALGORITHM])


class TokenVerifier:
    """Checks tokens against one issuer and app client; build once per process and reuse."""

    def __init__(
        self, policy: ClaimsPolicy, keys: JwksCache, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.policy = policy
        self.keys = keys
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, *, fetcher: Fetcher = fetch_json) -> TokenVerifier:
        """Issuer from ``USER_POOL_ID`` (or a loopback ``TOKEN_ISSUER``), audience
        ``USER_POOL_CLIENT_ID``; ``ConfigurationError`` for any issuer ``trusted_issuer`` refuses."""
        settings.require("user_pool_client_id")
        issuer = trusted_issuer(settings)
        policy = ClaimsPolicy(issuer=issuer, client_id=settings.user_pool_client_id)
        return cls(policy, JwksCache(jwks_url_of(issuer), fetcher=fetcher))

    def verify(self, token: str, *, now: float | None = None) -> VerifiedClaims:
        """The verified identity, or ``AuthError``; ``KeySetUnavailableError`` if no JWKS."""
        if not token:
            raise AuthError("missing token")
        if len(token) > MAX_TOKEN_CHARS:
            raise AuthError("token too large")
        try:
            header = get_unverified_header(token)
        except PyJWTError:
            raise AuthError("malformed token") from None
        key = self.keys.key_for(check_header(header))
        try:
            decoded = _JWS.decode_complete(token, key, algorithms=[ALLOWED_ALGORITHM])
        except InvalidSignatureError:
            raise AuthError("invalid signature") from None
        except PyJWTError:
            raise AuthError("malformed token") from None
        try:
            claims = json.loads(decoded["payload"])
        except ValueError:
            raise AuthError("malformed token") from None
        if not isinstance(claims, dict):
            raise AuthError("malformed token")
        return check_claims(claims, self.policy, now=self._clock() if now is None else now)
