"""Which issuer a verifier may trust: an https Cognito user pool, or a loopback one in development.

``TOKEN_ISSUER`` exists for the local stack and tests, whose issuer serves its JWKS over plain
HTTP on 127.0.0.1. Deployed, the same override would let a configuration mistake (or anyone able
to set one environment variable) make ``$connect`` trust keys fetched from any host, over
cleartext: so an issuer is accepted only when it is a Cognito pool's https URL, or on loopback::

    trusted_issuer(settings)   # "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from healthcoach_realtime.exceptions import ConfigurationError
from healthcoach_realtime.settings import Settings

__all__ = ["is_cognito_issuer", "is_loopback_url", "jwks_url_of", "trusted_issuer"]

_COGNITO_ISSUER = re.compile(
    r"^https://cognito-idp\.(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d)\.amazonaws\.com/(?P=region)_[0-9A-Za-z]+$"
)
_LOOPBACK_NAMES = frozenset({"localhost"})


def is_cognito_issuer(url: str) -> bool:
    """An https issuer of a Cognito user pool (the region in the host and the pool id agree)."""
    return _COGNITO_ISSUER.match(url) is not None


def is_loopback_url(url: str) -> bool:
    """An http(s) URL whose host is this machine (127.0.0.0/8, ::1 or localhost)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def trusted_issuer(settings: Settings) -> str:
    """The issuer tokens must name: ``TOKEN_ISSUER`` (loopback or Cognito only), else the pool's.

    Raises ``ConfigurationError`` for any other issuer, so the handler fails (500) instead of
    trusting it.
    """
    issuer = settings.token_issuer  # ConfigurationError when neither is set
    if is_cognito_issuer(issuer) or (settings.token_issuer_override and is_loopback_url(issuer)):
        return issuer
    raise ConfigurationError(
        "the token issuer must be https://cognito-idp.<region>.amazonaws.com/<user pool id> "
        "(TOKEN_ISSUER may name a loopback issuer for local development only)"
    )


def jwks_url_of(issuer: str) -> str:
    """Where an issuer publishes its keys: ``<issuer>/.well-known/jwks.json``, as Cognito does."""
    return f"{issuer}/.well-known/jwks.json"
