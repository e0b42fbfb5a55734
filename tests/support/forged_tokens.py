"""Tokens an attacker could send, built by hand (PyJWT rightly refuses to make most of them)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt

from healthcoach_realtime.dev_identity import DevIssuer

__all__ = ["alg_none", "b64url", "hs256_with_public_key", "tampered_payload"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def _claims(issuer: DevIssuer, user_id: str) -> dict[str, Any]:
    return jwt.decode(issuer.mint(user_id), options={"verify_signature": False})


def alg_none(issuer: DevIssuer, user_id: str) -> str:
    """Valid claims, ``alg: none``, empty signature."""
    header = {"alg": "none", "kid": issuer.kid}
    return f"{_segment(header)}.{_segment(_claims(issuer, user_id))}."


def hs256_with_public_key(issuer: DevIssuer, user_id: str) -> str:
    """Valid claims HMAC-signed with the issuer's public key as the secret (key confusion)."""
    signing_input = f"{_segment({'alg': 'HS256', 'kid': issuer.kid})}.{_segment(_claims(issuer, user_id))}"
    signature = hmac.new(issuer.public_key_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def tampered_payload(issuer: DevIssuer, user_id: str, *, as_user: str) -> str:
    """A genuine token of ``user_id`` whose payload is swapped to say ``as_user``."""
    header, _, signature = issuer.mint(user_id).split(".")
    claims = _claims(issuer, user_id) | {"sub": as_user}
    return f"{header}.{_segment(claims)}.{signature}"
