"""A resume that cannot finish in one answer: the $default handler, loaded by path, against moto's
DynamoDB over HTTP and the loopback @connections fake, which answers 429s, 5xx and resets.

Every resume ends with exactly one terminal frame, ``resumed`` or ``resync``, as its last frame;
a replay cut short says how far it got (``"through": <last seq posted>, "more": true``), and a
client that resumes again from there receives every event, with no gap.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from tests.support.history import keep_events
from tests.support.lambda_handlers import LambdaContext, forget_cached_clients, load_handler
from tests.support.management_api import RESET, ManagementApiFake

from healthcoach_realtime.connections import Connection, ConnectionStore
from healthcoach_realtime.history.store import HistoryStore, NewEvent

SAMPLE = Path(__file__).resolve().parents[1] / "events" / "apigw_default_message.json"
CONNECTION = "BFHPhfCWIAMCKlQ="
TERMINAL_TYPES = ("resumed", "resync")


@pytest.fixture
def default(
    connections_table: str,
    history: HistoryStore,
    api: ManagementApiFake,
    dynamodb: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ModuleType]:
    """The handler, with u1 connected and a rate limit the resumes of one test stay under."""
    monkeypatch.setenv("WS_API_ENDPOINT", api.endpoint)
    monkeypatch.setenv("MESSAGE_RATE_LIMIT", "1000")
    forget_cached_clients()
    ConnectionStore(dynamodb, connections_table).add(Connection(connection_id=CONNECTION, user_id="u1"))
    yield load_handler("default")
    forget_cached_clients()


@dataclass
class ShrinkingContext(LambdaContext):
    """A Lambda context whose time left drops by ``per_post_ms`` with every POST the fake has
    received: a slow @connections endpoint, without slowing the test down."""

    api: ManagementApiFake | None = None
    per_post_ms: int = 0

    def get_remaining_time_in_millis(self) -> int:
        posts = len(self.api.posts()) if self.api is not None else 0
        return self.remaining_ms - self.per_post_ms * posts


def record(history: HistoryStore, count: int) -> None:
    keep_events(
        history,
        "u1",
        [
            NewEvent(f"e{n}", "foodLogDeleted", {"id": f"f{n}"}, "2026-11-29T10:00:00Z")
            for n in range(1, count + 1)
        ],
    )


def resume(
    default: ModuleType, api: ManagementApiFake, since: int, context: LambdaContext | None = None
) -> list[dict[str, Any]]:
    """Send one resume; the frames the browser received in answer to it, in order."""
    before = len(api.frames(CONNECTION))
    event = json.loads(SAMPLE.read_text())
    event["body"] = json.dumps({"action": "resume", "since": since})
    assert default.handler(event, context or LambdaContext()) == {"statusCode": 200}
    return [json.loads(b) for b in api.frames(CONNECTION)[before:]]


def terminal(answer: list[dict[str, Any]]) -> dict[str, Any]:
    """The one terminal frame of an answer, which must also be its last frame."""
    terminals = [f for f in answer if f["type"] in TERMINAL_TYPES]
    assert len(terminals) == 1, answer
    assert answer[-1] == terminals[0], answer
    return terminals[0]


def seqs(answer: list[dict[str, Any]]) -> list[int]:
    return [f["seq"] for f in answer if f["type"] not in TERMINAL_TYPES]


def test_a_replay_whose_posts_stay_throttled_ends_with_resumed_through_the_last_event_posted(
    default: ModuleType, api: ManagementApiFake, history: HistoryStore
) -> None:
    """Seq 1 is posted, seq 2 meets 429 on every attempt: the answer ends with
    {"type": "resumed", "through": 1, "more": true}, and the next resume from 1 completes."""
    record(history, 4)
    api.script(CONNECTION, 200, 429, 429, 429)
    first = resume(default, api, 0)
    assert (seqs(first), terminal(first)) == ([1], {"type": "resumed", "through": 1, "more": True})
    second = resume(default, api, 1)
    assert (seqs(second), terminal(second)) == ([2, 3, 4], {"type": "resumed", "through": 4})


def test_a_brief_throttle_is_retried_and_the_replay_completes(
    default: ModuleType, api: ManagementApiFake, history: HistoryStore
) -> None:
    """One 429, one 503 and one reset connection in a row of posts: each is retried, nothing is
    cut short, the terminal frame has no ``more``."""
    record(history, 3)
    api.script(CONNECTION, 429, 200, 503, 200, RESET)
    answer = resume(default, api, 0)
    assert (seqs(answer), terminal(answer)) == ([1, 2, 3], {"type": "resumed", "through": 3})


def test_a_replay_whose_deadline_comes_mid_way_stops_in_time_and_says_how_far_it_got(
    default: ModuleType, api: ManagementApiFake, history: HistoryStore
) -> None:
    """8 events due, 4 s left and every post costing 0.5 s: the replay stops while time remains
    for the terminal frame, which names the last seq posted and asks for more."""
    record(history, 8)
    context = ShrinkingContext(remaining_ms=4000, api=api, per_post_ms=500)
    answer = resume(default, api, 0, context)
    posted = seqs(answer)
    assert 0 < len(posted) < 8
    assert posted == list(range(1, len(posted) + 1))
    assert terminal(answer) == {"type": "resumed", "through": posted[-1], "more": True}
    assert context.get_remaining_time_in_millis() > 0  # the terminal frame went out in time


def test_no_time_left_for_any_event_is_still_answered_with_a_terminal_frame(
    default: ModuleType, api: ManagementApiFake, history: HistoryStore
) -> None:
    """Called with under a second left: no event is started, but the resume is not silent."""
    record(history, 3)
    answer = resume(default, api, 1, LambdaContext(remaining_ms=900))
    assert answer == [{"type": "resumed", "through": 1, "more": True}]


def test_a_frame_the_gateway_refuses_for_good_turns_the_replay_into_a_resync(
    default: ModuleType, api: ManagementApiFake, history: HistoryStore
) -> None:
    """413 on seq 2 (resending cannot help): the answer ends with resync, not a replay with a hole."""
    record(history, 3)
    api.script(CONNECTION, 200, 413)
    answer = resume(default, api, 0)
    assert (seqs(answer), terminal(answer)) == ([1], {"type": "resync", "latestSeq": 3})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_client_that_follows_the_protocol_gets_every_event_without_a_gap(
    default: ModuleType, api: ManagementApiFake, history: HistoryStore, seed: int
) -> None:
    """30 events; a third of all posts fail (429, 500, reset) and each post costs 0.3 s of a 6 s
    invocation. The client resumes from ``through`` while ``more`` is set, and from where it
    last asked when no terminal frame came (its timeout): it ends with seqs 1..30, each answer
    ends with one terminal frame or none, and the terminal frame never claims a seq not sent."""
    record(history, 30)
    api.faults(0.3, seed=seed)
    received: set[int] = set()
    since = 0
    for _ in range(40):
        context = ShrinkingContext(remaining_ms=6000 + 300 * len(api.posts()), api=api, per_post_ms=300)
        answer = resume(default, api, since, context)
        received.update(seqs(answer))
        ends = [f for f in answer if f["type"] in TERMINAL_TYPES]
        if not ends:  # the terminal frame itself was lost: resume again from the same point
            continue
        end = terminal(answer)
        assert end["type"] == "resumed"
        assert set(range(1, end["through"] + 1)) <= received  # through: posted, never skipped
        if not end.get("more"):
            break
        since = end["through"]
    else:
        pytest.fail(f"no complete resume in 40 tries; received {sorted(received)}")
    assert sorted(received) == list(range(1, 31))
