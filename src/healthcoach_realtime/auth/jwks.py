"""The issuer's signing keys (JWKS), fetched over HTTP once and cached.

PyJWT's ``PyJWKClient`` refetches on every unknown ``kid`` with no limit, so a flood of tokens
with made-up key ids becomes a flood of requests to the issuer. Here, as in aws-jwt-verify, an
unknown ``kid`` causes at most one refetch per ``min_refresh_seconds``: key rotation still works
at once, and a flood costs one request. The fetcher is a parameter, so tests count fetches::

    keys = JwksCache("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json")
    public_key = keys.key_for("kid-from-the-token-header")  # AuthError("unknown key id") if absent
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from jwt import PyJWK, PyJWTError

from healthcoach_realtime.auth.claims import ALLOWED_ALGORITHM
from healthcoach_realtime.auth.issuer import is_loopback_url
from healthcoach_realtime.exceptions import AuthError, KeySetUnavailableError

__all__ = [
    "DEFAULT_MAX_AGE_SECONDS",
    "DEFAULT_MIN_REFRESH_SECONDS",
    "Fetcher",
    "JwksCache",
    "fetch_json",
    "parse_key_set",
]

# url -> the parsed JSON document; raises KeySetUnavailableError when it cannot.
Fetcher = Callable[[str], object]

DEFAULT_MAX_AGE_SECONDS = 3600.0
# aws-jwt-verify waits 10 s after a kid is not found before it fetches again.
DEFAULT_MIN_REFRESH_SECONDS = 10.0
FETCH_TIMEOUT_SECONDS = 3.0
# A Cognito JWKS is about 1 KB; refuse anything absurd rather than parse it.
MAX_DOCUMENT_BYTES = 64 * 1024

_log = logging.getLogger(__name__)


def fetch_json(url: str) -> object:
    """GET ``url`` (https; plain http on loopback only) with a short timeout; the body as JSON."""
    if not (url.startswith("https://") or (url.startswith("http://") and is_loopback_url(url))):
        raise KeySetUnavailableError(f"JWKS URL must be https (http on loopback only): {url}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors; timeouts too
        raise KeySetUnavailableError(f"cannot fetch JWKS from {url}: {exc}") from exc
    if len(body) > MAX_DOCUMENT_BYTES:
        raise KeySetUnavailableError(f"JWKS from {url} is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise KeySetUnavailableError(f"JWKS from {url} is not JSON") from exc


def parse_key_set(document: object) -> dict[str, Any]:
    """The RS256 signing keys of a JWKS document by ``kid``; other and broken keys are skipped."""
    keys_list = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys_list, list):
        raise KeySetUnavailableError("JWKS document has no 'keys' list")
    keys: dict[str, Any] = {}
    for jwk in keys_list:
        if not _is_rsa_signing_key(jwk):
            continue
        try:
            keys[jwk["kid"]] = PyJWK(jwk, algorithm=ALLOWED_ALGORITHM).key
        except PyJWTError:
            continue
    return keys


def _is_rsa_signing_key(jwk: object) -> bool:
    if not isinstance(jwk, dict):
        return False
    kid = jwk.get("kid")
    return (
        isinstance(kid, str)
        and bool(kid)
        and jwk.get("kty") == "RSA"
        and jwk.get("use", "sig") == "sig"
        and jwk.get("alg", ALLOWED_ALGORITHM) == ALLOWED_ALGORITHM
        and "d" not in jwk  # a private key has no business in a published key set
    )


class JwksCache:
    """Public keys by ``kid``, refreshed after ``max_age_seconds`` and on a rate-limited miss."""

    def __init__(
        self,
        url: str,
        *,
        fetcher: Fetcher = fetch_json,
        max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
        min_refresh_seconds: float = DEFAULT_MIN_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._fetcher = fetcher
        self._max_age = max_age_seconds
        self._min_refresh = min_refresh_seconds
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._missed_at: float | None = None
        # One fetch at a time: threads of the local stack wait for it instead of repeating it.
        self._lock = threading.Lock()

    def key_for(self, kid: str) -> Any:
        """The public key for ``kid``; ``AuthError("unknown key id")`` when the issuer has none."""
        with self._lock:
            now = self._clock()
            fetched_now = False
            if self._fetched_at is None or now - self._fetched_at >= self._max_age:
                self._refresh(now)
                fetched_now = True
            key = self._keys.get(kid)
            if key is None and not fetched_now and self._may_refetch_on_miss(now):
                self._missed_at = now
                self._refresh(now)
                key = self._keys.get(kid)
        if key is None:
            raise AuthError("unknown key id")
        return key

    def _may_refetch_on_miss(self, now: float) -> bool:
        return self._missed_at is None or now - self._missed_at >= self._min_refresh

    def _refresh(self, now: float) -> None:
        try:
            keys = parse_key_set(self._fetcher(self.url))
        except KeySetUnavailableError:
            if not self._keys:
                raise
            # Keep serving the keys we have; try again after the refresh interval, not per call.
            _log.warning("JWKS refresh failed; keeping the cached keys", exc_info=True)
            self._fetched_at = now - self._max_age + self._min_refresh
            return
        self._keys = keys
        self._fetched_at = now
