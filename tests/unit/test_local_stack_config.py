"""The local stack's configuration: DESIGN.md's ports and URLs, and the handlers' environment."""

from __future__ import annotations

from healthcoach_realtime.dev_identity import DEV_CLIENT_ID
from healthcoach_realtime.local.gateway import Limits
from healthcoach_realtime.local.provision import EventPipeline
from healthcoach_realtime.local.stack import StackConfig, handler_environment
from healthcoach_realtime.settings import Settings

PIPELINE = EventPipeline(
    bus_name="healthcoach-realtime",
    bus_arn="arn:aws:events:us-east-1:123456789012:event-busv2/healthcoach-realtime/abcdefghijklmnopqrstuvwxy",
    queue_url="http://127.0.0.1:3002/123456789012/healthcoach-realtime-dispatch",
    queue_arn="arn:aws:sqs:us-east-1:123456789012:healthcoach-realtime-dispatch",
    dlq_url="http://127.0.0.1:3002/123456789012/healthcoach-realtime-dispatch-dlq",
    dlq_arn="arn:aws:sqs:us-east-1:123456789012:healthcoach-realtime-dispatch-dlq",
    delivery_dlq_url="http://127.0.0.1:3002/123456789012/healthcoach-realtime-delivery-dlq.fifo",
    rejected_queue_url="http://127.0.0.1:3002/123456789012/healthcoach-realtime-rejected",
)


def test_default_layout_is_designs() -> None:
    """Port 3001: WebSocket at /local, issuer below it, emulator on 3002."""
    config = StackConfig()
    assert config.ws_url == "ws://127.0.0.1:3001/local"
    assert config.management_url == "http://127.0.0.1:3001/local"
    assert config.issuer_url == "http://127.0.0.1:3001/local/issuer"
    assert config.emulator_url == "http://127.0.0.1:3002"


def test_emulator_follows_the_port() -> None:
    """--port N puts the emulator on N + 1."""
    assert StackConfig(port=4100).emulator_url == "http://127.0.0.1:4101"


def test_handler_environment_is_what_the_handlers_read() -> None:
    """Settings.from_env over that environment points the handlers at the local stack."""
    environment = handler_environment(StackConfig(port=4100), PIPELINE)
    settings = Settings.from_env(environment)
    assert settings.token_issuer == "http://127.0.0.1:4100/local/issuer"
    assert settings.jwks_url == "http://127.0.0.1:4100/local/issuer/.well-known/jwks.json"
    assert settings.user_pool_client_id == DEV_CLIENT_ID
    assert settings.ws_api_endpoint == "http://127.0.0.1:4100/local"
    assert environment["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4101"  # boto3 reads it itself
    assert settings.dead_letter_queue_url == PIPELINE.dlq_url
    assert settings.event_bus_name == "healthcoach-realtime"
    assert settings.event_bus_arn == PIPELINE.bus_arn


def test_a_failed_record_comes_back_within_the_pollers_visibility_timeout() -> None:
    """The dispatcher never hides a failed record longer than the local pollers would."""
    for visibility in (1, 5, 180):
        config = StackConfig(port=4100, visibility_timeout=visibility)
        settings = Settings.from_env(handler_environment(config, PIPELINE))
        assert settings.redelivery_delay_max_seconds == visibility


def test_limits_default_to_api_gateways() -> None:
    """128 KB, 10 minutes idle, 2 hours lifetime."""
    assert Limits() == Limits(max_message_bytes=131072, idle_timeout=600.0, max_lifetime=7200.0)


def test_short_limits_are_checked_often_enough() -> None:
    """A 1 s idle timeout is checked at least four times a second."""
    assert Limits(idle_timeout=1.0).check_interval <= 0.25
    assert Limits().check_interval == 1.0


def test_the_bus_reorders_unordered_deliveries_unless_told_not_to() -> None:
    """By default the emulated bus is as unordered as AWS allows; --bus-reorder-max 0 turns it off."""
    harsh = StackConfig().bus_options
    assert (harsh.reorder_unordered, harsh.unordered_max_delay_seconds, harsh.fifo_jitter_seconds) == (
        True,
        0.05,
        0.002,
    )
    assert StackConfig(bus_reorder_max_seconds=0.0).bus_options.reorder_unordered is False
