"""Pure checks over a token's decoded header and claims, as aws-jwt-verify does for Cognito.

No I/O and no clock of their own (``now`` is passed in), so every rule is a one-line unit test.
Reasons are fixed strings: they go into the 401 body and the logs, so they never echo a value
taken from the token.

Cognito puts ``exp`` and ``iat`` in every token but never ``nbf``; so ``exp``, ``iat`` and
``sub`` are required and ``nbf`` is checked whenever present (requiring it would refuse every
real Cognito token)::

    policy = ClaimsPolicy(issuer="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc", client_id="app")
    kid = check_header({"alg": "RS256", "kid": "k1"})
    claims = check_claims(payload, policy, now=time.time())  # -> VerifiedClaims or AuthError
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from healthcoach_realtime.exceptions import AuthError

__all__ = [
    "ALLOWED_ALGORITHM",
    "DEFAULT_LEEWAY_SECONDS",
    "ClaimsPolicy",
    "TokenUse",
    "VerifiedClaims",
    "check_claims",
    "check_header",
]

ALLOWED_ALGORITHM = "RS256"
# Clock skew tolerated on exp/nbf/iat; small, because Cognito and Lambda both keep NTP time.
DEFAULT_LEEWAY_SECONDS = 5.0

TokenUse = Literal["id", "access"]


@dataclass(frozen=True)
class ClaimsPolicy:
    """What a token must say to be accepted: who issued it and for which app client."""

    issuer: str
    client_id: str
    leeway_seconds: float = DEFAULT_LEEWAY_SECONDS
    token_uses: frozenset[str] = frozenset({"id", "access"})


@dataclass(frozen=True)
class VerifiedClaims:
    """The caller's identity, once signature and claims are checked. ``user_id`` is ``sub``."""

    user_id: str
    token_use: TokenUse
    client_id: str
    username: str
    expires_at: float


def check_header(header: Mapping[str, object]) -> str:
    """Accept only RS256 with a key id; return the ``kid`` to look up in the JWKS.

    Refusing every other ``alg`` here closes ``alg: none`` and the HS256-with-the-public-key
    confusion before any key is touched.
    """
    if header.get("alg") != ALLOWED_ALGORITHM:
        raise AuthError("unsupported algorithm")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise AuthError("missing key id")
    return kid


def check_claims(claims: Mapping[str, object], policy: ClaimsPolicy, *, now: float) -> VerifiedClaims:
    """Check issuer, token use, audience or client id, times and subject; all must pass."""
    if claims.get("iss") != policy.issuer:
        raise AuthError("wrong issuer")
    token_use = _token_use(claims, policy)
    if token_use == "id":  # noqa: S105 (a token kind, not a secret)
        if claims.get("aud") != policy.client_id:
            raise AuthError("wrong audience")
        username = claims.get("cognito:username")
    else:
        if claims.get("client_id") != policy.client_id:
            raise AuthError("wrong client_id")
        username = claims.get("username")
    expires_at = _check_times(claims, policy.leeway_seconds, now)
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise AuthError("missing sub")
    return VerifiedClaims(
        user_id=sub,
        token_use=token_use,
        client_id=policy.client_id,
        username=username if isinstance(username, str) else "",
        expires_at=expires_at,
    )


def _token_use(claims: Mapping[str, object], policy: ClaimsPolicy) -> TokenUse:
    value = claims.get("token_use")
    if value not in policy.token_uses:
        raise AuthError("wrong token_use")
    return "id" if value == "id" else "access"


def _check_times(claims: Mapping[str, object], leeway: float, now: float) -> float:
    exp = _number(claims, "exp")
    iat = _number(claims, "iat")
    if exp is None:
        raise AuthError("missing exp")
    if iat is None:
        raise AuthError("missing iat")
    if now >= exp + leeway:
        raise AuthError("token expired")
    nbf = _number(claims, "nbf")
    if nbf is not None and now < nbf - leeway:
        raise AuthError("token not yet valid")
    if now < iat - leeway:
        raise AuthError("token issued in the future")
    return exp


def _number(claims: Mapping[str, object], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    # bool is an int in Python; a JSON true is not a timestamp.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthError(f"invalid {name}")
    return float(value)
