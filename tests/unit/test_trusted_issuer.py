"""Which issuers a verifier may trust (auth.issuer): https Cognito pools, or loopback overrides."""

from __future__ import annotations

import pytest

from healthcoach_realtime.auth.issuer import is_loopback_url, trusted_issuer
from healthcoach_realtime.auth.jwks import fetch_json
from healthcoach_realtime.exceptions import ConfigurationError, KeySetUnavailableError
from healthcoach_realtime.settings import Settings

POOL = "eu-west-1_AbC123xyz"


def test_a_user_pool_id_gives_its_https_cognito_issuer() -> None:
    """USER_POOL_ID alone: https://cognito-idp.<region>.amazonaws.com/<pool>."""
    assert (
        trusted_issuer(Settings(user_pool_id=POOL)) == f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
    )


@pytest.mark.parametrize(
    "override",
    [
        "http://127.0.0.1:3001/local/issuer",
        "http://localhost:8080/issuer",
        "http://[::1]:9/i",
        "https://127.0.0.2/x",
    ],
)
def test_a_loopback_override_is_trusted(override: str) -> None:
    """The local stack's and the tests' issuers (plain http on this machine) are accepted."""
    assert trusted_issuer(Settings(token_issuer_override=override)) == override


def test_an_override_naming_a_cognito_pool_is_trusted() -> None:
    """TOKEN_ISSUER may also name a real pool's https issuer."""
    issuer = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
    assert trusted_issuer(Settings(token_issuer_override=issuer)) == issuer


@pytest.mark.parametrize(
    "override",
    [
        "https://issuer.example.com",  # https, but not Cognito
        "http://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz",  # Cognito over cleartext
        "https://cognito-idp.eu-west-1.amazonaws.com.evil.example/eu-west-1_AbC",  # look-alike host
        "https://cognito-idp.us-east-1.amazonaws.com/eu-west-1_AbC123xyz",  # region mismatch
        "http://10.0.0.5:3001/local/issuer",  # a private address is not loopback
        "http://127.0.0.1.evil.example/issuer",
    ],
)
def test_any_other_override_is_a_configuration_error(override: str) -> None:
    """A deployed function refuses to trust a non-Cognito or cleartext issuer (it answers 500)."""
    with pytest.raises(ConfigurationError, match="cognito-idp"):
        trusted_issuer(Settings(token_issuer_override=override))


def test_a_malformed_user_pool_id_is_a_configuration_error() -> None:
    """A pool id that does not make a Cognito issuer URL is refused, not fetched."""
    with pytest.raises(ConfigurationError):
        trusted_issuer(Settings(user_pool_id="eu-west-1_abc/../../evil"))


def test_loopback_means_this_machine_only() -> None:
    """127.0.0.0/8, ::1 and localhost are loopback; other hosts and schemes are not."""
    assert [is_loopback_url(u) for u in ("http://127.9.9.9/", "ftp://127.0.0.1/", "http://192.168.1.1/")] == [
        True,
        False,
        False,
    ]


def test_the_jwks_fetcher_refuses_cleartext_off_loopback() -> None:
    """fetch_json will not GET keys over plain http from another host (nothing is requested)."""
    with pytest.raises(KeySetUnavailableError, match="https"):
        fetch_json("http://keys.example.com/.well-known/jwks.json")
