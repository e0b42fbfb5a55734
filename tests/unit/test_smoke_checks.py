"""The smoke test's pure checks: what counts as a correct resume, frame and target."""

from __future__ import annotations

import base64
import json
import re

import pytest

from healthcoach_realtime.smoke import (
    Replay,
    SmokeFailure,
    bus_region,
    check_event_frame,
    check_replay,
    emulator_url,
    http_base,
    is_local,
    jwt_claims,
    settle_seconds,
)

IDS = ("e2", "e3")


def event(event_id: str, seq: int) -> dict[str, object]:
    return {"type": "foodLogDeleted", "id": event_id, "seq": seq, "data": {"id": "x"}, "time": "t"}


def test_a_full_replay_then_resumed_passes() -> None:
    replay = Replay(replayed=[event("e2", 2), event("e3", 3)], terminal={"type": "resumed", "through": 3})
    assert check_replay(replay, IDS, 1) == "since 1: replayed seq 2, 3, resumed through 3"


def test_events_after_resumed_count_as_live_at_the_seam() -> None:
    replay = Replay(
        replayed=[event("e2", 2)], live=[event("e3", 3)], terminal={"type": "resumed", "through": 2}
    )
    assert check_replay(replay, IDS, 1).endswith("then live seq 3 (dispatched after the resume)")


@pytest.mark.parametrize(
    ("replay", "reason"),
    [
        (Replay(terminal={"type": "resync", "latestSeq": 3}), "answered resync (latestSeq 3)"),
        (
            Replay(replayed=[event("e3", 3), event("e2", 2)], terminal={"type": "resumed", "through": 3}),
            "replayed out of seq order: [3, 2]",
        ),
        (
            Replay(replayed=[event("e2", 2), event("e3", 3)], terminal={"type": "resumed", "through": 2}),
            "resumed through 2, but the last replayed seq is 3",
        ),
        (Replay(replayed=[event("e2", 2)], terminal={"type": "resumed", "through": 2}), "never received"),
        (
            Replay(
                replayed=[event("e3", 2)], live=[event("e2", 3)], terminal={"type": "resumed", "through": 2}
            ),
            "not in emit order",
        ),
    ],
)
def test_a_resume_that_breaks_the_contract_fails(replay: Replay, reason: str) -> None:
    with pytest.raises(SmokeFailure, match=re.escape(reason)):
        check_replay(replay, IDS, 1)


def test_an_event_frame_must_be_the_emitted_event_with_a_seq() -> None:
    assert check_event_frame(event("e1", 7) | {"data": {"id": "i1"}}, "e1", "i1") == 7
    with pytest.raises(SmokeFailure, match="seq is True"):
        check_event_frame(event("e1", 1) | {"data": {"id": "i1"}, "seq": True}, "e1", "i1")
    with pytest.raises(SmokeFailure, match="id 'e9'"):
        check_event_frame(event("e9", 1) | {"data": {"id": "i1"}}, "e1", "i1")


def test_loopback_urls_are_the_local_stack() -> None:
    assert is_local("ws://127.0.0.1:3001/local")
    assert is_local("ws://localhost:4001/local")
    assert is_local("ws://[::1]:3001/local")
    assert not is_local("wss://abc123.execute-api.us-east-1.amazonaws.com/prod")
    assert http_base("ws://127.0.0.1:4001/local") == "http://127.0.0.1:4001"
    assert emulator_url("ws://127.0.0.1:4001/local") == "http://127.0.0.1:4002"


def test_claims_are_read_from_the_tokens_payload() -> None:
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "u1"}).encode()).decode().rstrip("=")
    assert jwt_claims(f"h.{payload}.s") == {"sub": "u1"}
    with pytest.raises(SmokeFailure, match="not a JWT"):
        jwt_claims("not-a-token")


def test_the_bus_region_comes_from_its_arn() -> None:
    assert bus_region("arn:aws:events:eu-west-1:123456789012:event-busv2/healthcoach-realtime-prod/x") == (
        "eu-west-1"
    )
    assert bus_region("healthcoach-realtime") is None


def test_the_offline_wait_follows_the_first_events_latency_within_bounds() -> None:
    assert settle_seconds(0.03) == 1.5
    assert settle_seconds(1.0) == 3.0
    assert settle_seconds(10.0) == 5.0
