"""Who is calling: Cognito JWT verification for ``$connect`` and ``auth`` (pure checks, the trusted
issuer, a JWKS cache, a verifier)."""

from __future__ import annotations

from healthcoach_realtime.auth.claims import ClaimsPolicy, VerifiedClaims, check_claims, check_header
from healthcoach_realtime.auth.issuer import trusted_issuer
from healthcoach_realtime.auth.jwks import JwksCache, fetch_json
from healthcoach_realtime.auth.verifier import TokenVerifier

__all__ = [
    "ClaimsPolicy",
    "JwksCache",
    "TokenVerifier",
    "VerifiedClaims",
    "check_claims",
    "check_header",
    "fetch_json",
    "trusted_issuer",
]
