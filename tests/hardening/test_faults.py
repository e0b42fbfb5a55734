"""Faults: every event is delivered to every connection of its user or ends in the DLQ, counted.

Each test runs the real pipeline around the dispatcher on loopback: events go through
``emit_many`` onto a Custom Event Bus in the emulator, its FIFO subscriber puts them on a FIFO
queue (one message group per user, as deployed) with a redrive policy to a FIFO DLQ, and the
local stack's ``SqsPoller`` receives real batches, invokes the
dispatcher handler (loaded by path, as Lambda loads it), deletes only what it did not report in
``batchItemFailures`` and lets the rest come back after a 1 s visibility timeout, as Lambda's
poller does. Faults are injected at the edges only: the @connections fake answers 429/500 or
resets the TCP connection, a proxy throttles DynamoDB, the handler raises mid-batch, or its
process dies mid-batch. At the
end each emitted event is counted as delivered (a 200 to every connection of its user),
dead-lettered (its envelope in the DLQ) or vanished, and vanished must be zero.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from healthcoach_realtime import clients
from healthcoach_realtime.connections import Connection, ConnectionStore
from healthcoach_realtime.emitter import DomainEvent, emit_many
from healthcoach_realtime.local.pollers import SqsPoller
from healthcoach_realtime.local.provision import create_history_table
from healthcoach_realtime.resources import MAX_RECEIVE_COUNT
from healthcoach_realtime.settings import get_settings
from tests.support.bus import subscribed_queue
from tests.support.dying_dispatcher import DIED
from tests.support.lambda_handlers import LambdaContext, load_handler
from tests.support.management_api import ManagementApiFake
from tests.support.sqs_events import queue_arn
from tests.support.throttling_proxy import ThrottlingProxy

REGION = "us-east-1"
USERS = 5
CONNECTIONS_PER_USER = 2
EVENTS_PER_USER = 10
DRAIN_SECONDS = 90.0
REPOSITORY = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(150)


def _reset_clients() -> None:
    get_settings.cache_clear()
    clients.dynamodb_client.cache_clear()
    clients.management_api_client.cache_clear()
    clients.sqs_client.cache_clear()


@dataclass
class Rig:
    """The pipeline of one test: bus -> subscriber -> queue (-> DLQ), tables, @connections fake, handler."""

    sqs: Any
    events: Any
    bus: str  # the bus's ARN
    queue_url: str
    queue_arn: str
    dlq_url: str
    api: ManagementApiFake
    store: ConnectionStore
    dispatcher: ModuleType


@dataclass(frozen=True)
class Tally:
    """What became of the emitted events. An event can be both delivered and dead-lettered (its
    posts succeeded, then the batch failed for another reason three times): ``accounted`` counts
    it once."""

    emitted: int
    delivered: int
    dead_lettered: int
    both: int
    vanished: list[str]

    @property
    def accounted(self) -> int:
        return self.delivered + self.dead_lettered - self.both

    def __str__(self) -> str:
        return (
            f"emitted {self.emitted}, delivered {self.delivered}, dead-lettered {self.dead_lettered} "
            f"({self.both} of them also delivered), vanished {len(self.vanished)} {self.vanished[:5]}"
        )


@pytest.fixture
def api() -> Iterator[ManagementApiFake]:
    with ManagementApiFake() as fake:
        yield fake


@pytest.fixture
def rig(
    aws_env: str,
    dynamodb: Any,
    connections_table: str,
    api: ManagementApiFake,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Rig]:
    """Fresh, uniquely named resources on the session's moto server; the handler wired to them."""
    suffix = uuid.uuid4().hex[:8]
    sqs = boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)
    events = boto3.client("eventbridgev2", endpoint_url=aws_env, region_name=REGION)
    dlq_url = sqs.create_queue(QueueName=f"faults-dlq-{suffix}.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    dlq_arn = queue_arn(sqs, dlq_url)
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
    pipeline = subscribed_queue(
        events, sqs, "faults", fifo=True, attributes={"RedrivePolicy": json.dumps(redrive)}
    )
    queue_url, arn, bus = pipeline.queue_url, pipeline.queue_arn, pipeline.bus_arn
    history = f"history-{suffix}"
    create_history_table(dynamodb, history)
    monkeypatch.setenv("HISTORY_TABLE", history)
    monkeypatch.setenv("WS_API_ENDPOINT", api.endpoint)
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
    monkeypatch.setenv("REDELIVERY_DELAY_MAX_SECONDS", "1")  # the poller's visibility timeout
    _reset_clients()
    yield Rig(
        sqs=sqs,
        events=events,
        bus=bus,
        queue_url=queue_url,
        queue_arn=arn,
        dlq_url=dlq_url,
        api=api,
        store=ConnectionStore(dynamodb, connections_table),
        dispatcher=load_handler("dispatcher"),
    )
    _reset_clients()


def _connect_users(rig: Rig) -> dict[str, list[str]]:
    """USERS users with CONNECTIONS_PER_USER rows each; user -> connection ids."""
    users: dict[str, list[str]] = {f"user-{n}-{uuid.uuid4().hex[:6]}": [] for n in range(USERS)}
    for user, ids in users.items():
        for n in range(CONNECTIONS_PER_USER):
            connection_id = f"{user}-c{n}="
            rig.store.add(Connection(connection_id=connection_id, user_id=user))
            ids.append(connection_id)
    return users


def _emit(rig: Rig, users: list[str]) -> dict[str, str]:
    """EVENTS_PER_USER events per user, round-robin; event id -> user."""
    events = [
        DomainEvent(
            user, "healthMetricCreated", {"id": f"m{n}", "metric": "weight", "value": 70 + n, "unit": "kg"}
        )
        for n in range(EVENTS_PER_USER)
        for user in users
    ]
    ids = emit_many(events, client=rig.events, bus_arn=rig.bus)
    # The bus delivers after PutEvents answers (as AWS does): wait until every event is queued.
    deadline = time.monotonic() + 10
    while _in_queue(rig.sqs, rig.queue_url) < len(events):
        assert time.monotonic() < deadline, "the bus did not deliver every event within 10 s"
        time.sleep(0.05)
    return {event_id: event.user_id for event, event_id in zip(events, ids, strict=True)}


def _in_queue(sqs: Any, url: str) -> int:
    """Visible plus in-flight messages."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def _drain(rig: Rig, invoke: Callable[[dict[str, Any]], Any]) -> int:
    """Poll as Lambda's SQS poller does until the queue is empty; how many batches were handled."""
    batches = 0

    def counted(event: dict[str, Any]) -> Any:
        nonlocal batches
        batches += 1
        return invoke(event)

    poller = SqsPoller(
        sqs=rig.sqs,
        queue_url=rig.queue_url,
        queue_arn=rig.queue_arn,
        region=REGION,
        invoke=counted,
        visibility_timeout=1,
        wait_seconds=1,
    )
    deadline = time.monotonic() + DRAIN_SECONDS
    while _in_queue(rig.sqs, rig.queue_url):
        assert time.monotonic() < deadline, f"queue not drained within {DRAIN_SECONDS} s"
        poller.poll_once()
    return batches


def _dead_lettered_ids(rig: Rig) -> list[str]:
    """Event ids of the envelopes in the DLQ, one per message (read once: each is deleted, since a
    FIFO queue holds back a group's later messages while an earlier one is in flight)."""
    seen: dict[str, str] = {}
    while True:
        messages = rig.sqs.receive_message(
            QueueUrl=rig.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return list(seen.values())
        for message in messages:
            seen[message["MessageId"]] = str(json.loads(message["Body"])["id"])
        rig.sqs.delete_message_batch(
            QueueUrl=rig.dlq_url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )


def _delivered_ids(rig: Rig, users: dict[str, list[str]]) -> dict[str, list[str]]:
    """Connection id -> event ids of every frame it got with a 200, repeats included."""
    return {
        connection_id: [json.loads(body)["id"] for body in rig.api.frames(connection_id)]
        for ids in users.values()
        for connection_id in ids
    }


def _tally(rig: Rig, users: dict[str, list[str]], emitted: dict[str, str]) -> Tally:
    delivered_to = {cid: set(ids) for cid, ids in _delivered_ids(rig, users).items()}
    owner = {cid: user for user, ids in users.items() for cid in ids}
    foreign = [
        (cid, eid) for cid, ids in delivered_to.items() for eid in ids if emitted.get(eid) != owner[cid]
    ]
    assert foreign == [], f"connections got events of another user: {foreign[:5]}"
    everywhere = {
        event_id
        for event_id, user in emitted.items()
        if all(event_id in delivered_to[cid] for cid in users[user])
    }
    parked = _dead_lettered_ids(rig)
    dead = set(parked)
    assert len(parked) == len(dead), f"an event was dead-lettered twice: {Counter(parked).most_common(3)}"
    assert dead <= set(emitted), f"the DLQ holds events nobody emitted: {sorted(dead - set(emitted))[:5]}"
    vanished = sorted(set(emitted) - everywhere - dead)
    return Tally(len(emitted), len(everywhere), len(dead), len(everywhere & dead), vanished)


def _repeats(rig: Rig, users: dict[str, list[str]]) -> tuple[int, dict[tuple[str, str], set[int]]]:
    """How many frames repeated an (connection, event id) already delivered, and the pairs whose
    frames carried different seqs (there must be none)."""
    seqs: dict[tuple[str, str], set[int]] = {}
    frames = 0
    for connection_id in (cid for ids in users.values() for cid in ids):
        for body in rig.api.frames(connection_id):
            frame = json.loads(body)
            seqs.setdefault((connection_id, frame["id"]), set()).add(frame["seq"])
            frames += 1
    return frames - len(seqs), {key: found for key, found in seqs.items() if len(found) > 1}


def _invoke(rig: Rig) -> Callable[[dict[str, Any]], Any]:
    return lambda event: rig.dispatcher.handler(event, LambdaContext())


def test_management_api_429_500_and_resets_lose_nothing(rig: Rig) -> None:
    """@connections answers half the posts 429, 500 or a TCP reset (seeded): none vanishes.

    Faked: the @connections API (ManagementApiFake.faults), because moto's never fails (measured)
    and API Gateway's throttles and 5xx cannot be provoked on demand.
    """
    users = _connect_users(rig)
    emitted = _emit(rig, list(users))
    rig.api.faults(0.5, seed=11)

    batches = _drain(rig, _invoke(rig))

    tally = _tally(rig, users, emitted)
    print(tally)  # shown with pytest -s or -rP
    faulted = Counter(p.status for p in rig.api.posts() if p.status != 200)
    assert set(faulted) == {0, 429, 500}, f"every fault kind injected: {faulted}"
    assert tally.vanished == [], f"{tally}; {batches} batches; faults {faulted}"
    assert tally.accounted == tally.emitted, str(tally)


def test_a_429_and_5xx_storm_that_clears_ends_with_every_event_delivered(rig: Rig) -> None:
    """@connections answers every post 429, 500 or 503 for the first 1.5 s, then recovers: every
    event reaches every connection of its user, and none is dead-lettered (retries and the
    queue's redelivery outlast a short storm; the DLQ is for what never recovers).

    Faked: the @connections API (ManagementApiFake.faults), as in the test above.
    """
    users = _connect_users(rig)
    emitted = _emit(rig, list(users))
    rig.api.faults(1.0, answers=(429, 500, 503), seed=3)
    clearing = threading.Timer(1.5, rig.api.faults, args=(0.0,))
    clearing.start()
    try:
        batches = _drain(rig, _invoke(rig))
    finally:
        clearing.cancel()

    tally = _tally(rig, users, emitted)
    print(tally)  # shown with pytest -s or -rP
    stormed = Counter(p.status for p in rig.api.posts() if p.status != 200)
    assert stormed, "no post met the storm"
    assert tally.dead_lettered == 0, f"{tally}; {batches} batches; storm {stormed}"
    assert tally.delivered == tally.emitted, f"{tally}; {batches} batches; storm {stormed}"


def test_dynamodb_throttling_loses_nothing(
    rig: Rig, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy throttles 20 % of DynamoDB calls: none vanishes.

    Faked: DynamoDB's ProvisionedThroughputExceededException, answered by a loopback proxy in
    front of moto (tests/support/throttling_proxy.py), because moto never throttles.
    """
    users = _connect_users(rig)
    emitted = _emit(rig, list(users))
    with ThrottlingProxy(moto_endpoint, rate=0.2, seed=5) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint)
        _reset_clients()

        batches = _drain(rig, _invoke(rig))

    tally = _tally(rig, users, emitted)
    print(tally)  # shown with pytest -s or -rP
    throttled = proxy.throttled
    assert throttled, "no DynamoDB call was throttled"
    assert tally.vanished == [], f"{tally}; {batches} batches; throttled {throttled}"
    assert tally.accounted == tally.emitted, str(tally)


class DispatcherCrash(RuntimeError):
    """Raised inside the handler: what an unhandled error mid-batch looks like to the poller."""


class CrashAfterPosts:
    """A botocore ``before-call`` hook on the handler's @connections client: while armed, lets
    ``allowed`` posts through, then raises on every post, so the exception escapes the handler
    with some of the batch already delivered."""

    def __init__(self, allowed: int) -> None:
        self._allowed = allowed
        self._lock = threading.Lock()
        self._left = -1
        self.crashes = 0

    def arm(self) -> None:
        with self._lock:
            self._left = self._allowed

    def disarm(self) -> None:
        with self._lock:
            self._left = -1

    def __call__(self, **_: Any) -> None:
        with self._lock:
            if self._left < 0:
                return
            if self._left == 0:
                self.crashes += 1
                raise DispatcherCrash("the dispatcher died mid-batch")
            self._left -= 1


def test_dispatcher_crash_mid_batch_redelivers_with_the_same_seq(rig: Rig) -> None:
    """Every other invocation raises after 3 posts: all is redelivered, repeats keep their seq.

    Faked: the crash, a botocore hook on the handler's @connections client that raises from the
    fourth post on, because nothing in the real code path fails on demand mid-batch.
    """
    users = _connect_users(rig)
    emitted = _emit(rig, list(users))
    crash = CrashAfterPosts(allowed=3)
    clients.management_api_client().meta.events.register(
        "before-call.apigatewaymanagementapi.PostToConnection", crash
    )
    handler = _invoke(rig)
    invocations = 0

    def crashing_every_other(event: dict[str, Any]) -> Any:
        nonlocal invocations
        invocations += 1
        if invocations % 2:
            crash.arm()
        try:
            return handler(event)
        finally:
            crash.disarm()

    batches = _drain(rig, crashing_every_other)

    tally = _tally(rig, users, emitted)
    print(tally)  # shown with pytest -s or -rP
    repeats, reseqd = _repeats(rig, users)
    assert crash.crashes > 0, "the dispatcher never crashed"
    assert tally.vanished == [], f"{tally}; {batches} batches, {crash.crashes} crashes"
    assert tally.accounted == tally.emitted, str(tally)
    assert repeats > 0, f"a crash after posts must cause repeats; {tally}"
    assert reseqd == {}, "a repeated event carried another seq"


def test_dispatcher_process_dying_mid_batch_redelivers_with_the_same_seq(rig: Rig) -> None:
    """A dispatcher process killed after 3 posts (os._exit, no response): redelivered, same seq.

    Faked: the death, os._exit from a botocore after-call hook in a child process
    (tests/support/dying_dispatcher.py), as a Lambda runtime killed by a crash or its timeout.
    """
    users = _connect_users(rig)
    emitted = _emit(rig, list(users))
    died = subprocess.run(
        [sys.executable, "-m", "tests.support.dying_dispatcher", rig.queue_url, rig.queue_arn, "3"],
        cwd=REPOSITORY,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert died.returncode == DIED, died.stderr.decode(errors="replace")[-2000:]
    posted_before_death = len(rig.api.posts())

    batches = _drain(rig, _invoke(rig))

    tally = _tally(rig, users, emitted)
    print(tally)  # shown with pytest -s or -rP
    repeats, reseqd = _repeats(rig, users)
    # Posts in flight on other threads may complete before the process is gone: at least 3.
    assert posted_before_death >= 3, "the process died after its third post"
    assert tally.vanished == [], f"{tally}; {batches} batches after the death"
    assert tally.accounted == tally.emitted, str(tally)
    assert repeats >= posted_before_death, f"the dead process's posts are repeated; {tally}"
    assert reseqd == {}, "a repeated event carried another seq"
