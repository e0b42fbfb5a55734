"""The JWKS cache: one fetch, a max age, and at most one rate-limited refetch on an unknown kid."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from healthcoach_realtime.auth.jwks import JwksCache, parse_key_set
from healthcoach_realtime.dev_identity import DevIssuer
from healthcoach_realtime.exceptions import AuthError, KeySetUnavailableError

URL = "https://issuer.example/.well-known/jwks.json"


@pytest.fixture(scope="module")
def issuer() -> DevIssuer:
    return DevIssuer("https://issuer.example", kid="k1")


@pytest.fixture(scope="module")
def rotated() -> DevIssuer:
    return DevIssuer("https://issuer.example", kid="k2")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Fetcher:
    """An in-memory issuer: serves ``document`` and counts requests (or fails on demand)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.urls: list[str] = []
        self.failing = False

    def __call__(self, url: str) -> object:
        self.urls.append(url)
        if self.failing:
            raise KeySetUnavailableError("issuer down")
        return self.document


def cache_for(fetcher: Fetcher, clock: Clock) -> JwksCache:
    return JwksCache(URL, fetcher=fetcher, clock=clock, max_age_seconds=3600, min_refresh_seconds=10)


def test_first_lookup_fetches_once_then_caches(issuer: DevIssuer) -> None:
    """Two lookups of a known kid cost one fetch, of the configured URL."""
    fetcher = Fetcher(issuer.jwks())
    keys = cache_for(fetcher, Clock())
    keys.key_for("k1")
    keys.key_for("k1")
    assert fetcher.urls == [URL]


def test_key_is_the_public_key(issuer: DevIssuer) -> None:
    """The key returned is the issuer's public key."""
    keys = cache_for(Fetcher(issuer.jwks()), Clock())
    pem = keys.key_for("k1").public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    assert pem == issuer.public_key_pem()


def test_unknown_kid_flood_costs_one_refetch(issuer: DevIssuer) -> None:
    """A hundred unknown kids after the first fetch cause exactly one more fetch."""
    fetcher = Fetcher(issuer.jwks())
    keys = cache_for(fetcher, Clock())
    keys.key_for("k1")
    for n in range(100):
        with pytest.raises(AuthError, match="unknown key id"):
            keys.key_for(f"bogus-{n}")
    assert len(fetcher.urls) == 2


def test_unknown_kid_on_cold_cache_is_not_fetched_twice(issuer: DevIssuer) -> None:
    """The first lookup's fetch already is the fresh one: no second fetch in the same call."""
    fetcher = Fetcher(issuer.jwks())
    with pytest.raises(AuthError):
        cache_for(fetcher, Clock()).key_for("bogus")
    assert len(fetcher.urls) == 1


def test_rotated_key_is_found_by_the_refetch(issuer: DevIssuer, rotated: DevIssuer) -> None:
    """A kid published after the first fetch is accepted at once (key rotation)."""
    fetcher = Fetcher(issuer.jwks())
    keys = cache_for(fetcher, Clock())
    keys.key_for("k1")
    fetcher.document = rotated.jwks()
    assert keys.key_for("k2") is not None


def test_refetch_allowed_again_after_the_interval(issuer: DevIssuer) -> None:
    """After min_refresh_seconds an unknown kid may trigger one more fetch."""
    fetcher, clock = Fetcher(issuer.jwks()), Clock()
    keys = cache_for(fetcher, clock)
    keys.key_for("k1")
    for _ in range(2):
        with pytest.raises(AuthError):
            keys.key_for("bogus")
        clock.now += 10
    assert len(fetcher.urls) == 3


def test_refetch_not_allowed_within_the_interval(issuer: DevIssuer) -> None:
    """9.9 s after a miss-driven fetch, another miss does not fetch."""
    fetcher, clock = Fetcher(issuer.jwks()), Clock()
    keys = cache_for(fetcher, clock)
    keys.key_for("k1")
    with pytest.raises(AuthError):
        keys.key_for("bogus")
    clock.now += 9.9
    with pytest.raises(AuthError):
        keys.key_for("bogus")
    assert len(fetcher.urls) == 2


def test_keys_are_refetched_after_max_age(issuer: DevIssuer) -> None:
    """A cache older than max_age_seconds is refreshed on the next lookup."""
    fetcher, clock = Fetcher(issuer.jwks()), Clock()
    keys = cache_for(fetcher, clock)
    keys.key_for("k1")
    clock.now += 3600
    keys.key_for("k1")
    assert len(fetcher.urls) == 2


def test_no_keys_and_issuer_down_is_unavailable(issuer: DevIssuer) -> None:
    """With nothing cached, a failed fetch is KeySetUnavailableError (a 500), not an AuthError."""
    fetcher = Fetcher(issuer.jwks())
    fetcher.failing = True
    with pytest.raises(KeySetUnavailableError):
        cache_for(fetcher, Clock()).key_for("k1")


def test_stale_keys_survive_a_failed_refresh(issuer: DevIssuer) -> None:
    """If the refresh after max age fails, the cached keys keep working."""
    fetcher, clock = Fetcher(issuer.jwks()), Clock()
    keys = cache_for(fetcher, clock)
    keys.key_for("k1")
    fetcher.failing = True
    clock.now += 3600
    assert keys.key_for("k1") is not None


def test_failed_refresh_is_retried_after_the_interval_not_per_call(issuer: DevIssuer) -> None:
    """After a failed refresh, calls within min_refresh_seconds do not fetch again."""
    fetcher, clock = Fetcher(issuer.jwks()), Clock()
    keys = cache_for(fetcher, clock)
    keys.key_for("k1")
    fetcher.failing = True
    clock.now += 3600
    keys.key_for("k1")
    keys.key_for("k1")
    clock.now += 10
    keys.key_for("k1")
    assert len(fetcher.urls) == 3


def test_parse_keeps_only_rsa_signing_keys(issuer: DevIssuer) -> None:
    """EC, encryption, other-alg, kid-less, private and broken keys are skipped."""
    good = issuer.jwks()["keys"][0]
    document = {
        "keys": [
            good,
            {**good, "kid": "enc", "use": "enc"},
            {**good, "kid": "rs512", "alg": "RS512"},
            {**good, "kid": "ec", "kty": "EC"},
            {**good, "kid": "private", "d": "AQAB"},
            {**good, "kid": "broken", "n": "!!"},
            {key: value for key, value in good.items() if key != "kid"},
            "not a key",
        ]
    }
    assert list(parse_key_set(document)) == ["k1"]


@pytest.mark.parametrize("document", [{}, {"keys": "x"}, [], "nope", None])
def test_parse_rejects_a_document_without_keys(document: object) -> None:
    """A document without a keys list means no JWKS at all."""
    with pytest.raises(KeySetUnavailableError):
        parse_key_set(document)
