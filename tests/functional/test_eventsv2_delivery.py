"""EventsV2 subscriber delivery in the embedded emulator: order, concurrency, dedup, retries, DLQ.

Everything goes through real sockets: boto3's ``eventbridgev2`` client publishes, the emulator
delivers with SQS SendMessage to moto, and the tests read moto's queues.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.support.eventsv2 import (
    EVENT_ID,
    GROUP_OR_USER,
    ROLE,
    client,
    client_fixture,
    queue,
    running_emulator,
)

from healthcoach_realtime.local.emulator import Emulator
from healthcoach_realtime.local.eventsv2 import EventsV2Options

GROUP_ONLY = "{% $events.SystemMetadata.EventGroupId %}"
IDLE_TIMEOUT = 30.0

PRODUCERS, USERS_PER_PRODUCER, EVENTS_PER_USER = 4, 5, 8


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """A real emulator with fast retries; UNORDERED deliveries reordered (the default)."""
    with running_emulator(
        EventsV2Options(retry_base_seconds=0.01, retry_max_seconds=0.05, seed=7)
    ) as started:
        yield started


@pytest.fixture(autouse=True)
def no_faults_left(emulator: Emulator) -> Iterator[None]:
    """Each test starts and ends with no armed fault and nothing in flight."""
    yield
    emulator.eventsv2.faults.clear()
    emulator.eventsv2.wait_idle(IDLE_TIMEOUT)


events = client_fixture("eventbridgev2")
sqs = client_fixture("sqs")


def _bus_and_subscriber(
    events: Any, queue_arn: str, *, group_id: str = GROUP_OR_USER, **settings: Any
) -> tuple[str, str]:
    """A fresh bus and one subscriber on it to ``queue_arn`` (FIFO unless ``Type`` says otherwise)."""
    bus = events.create_event_bus(Name=f"bus-{uuid.uuid4().hex[:8]}")["EventBusArn"]
    subscriber = events.create_subscriber(
        Name="dispatch",
        EventBusArn=bus,
        **{"Type": "FIFO", **settings},
        InvokeConfiguration={
            "RoleArn": ROLE,
            "TargetArn": queue_arn,
            "SqsParameters": {"MessageGroupId": group_id, "MessageDeduplicationId": EVENT_ID},
        },
    )
    return bus, subscriber["SubscriberArn"]


def _entry(user: str | None, n: int, *, group: bool = True, **system: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Source": "healthcoach.food-logs",
        "DetailType": "foodLogCreated",
        "Detail": json.dumps({"userId": user, "data": {"n": n}}),
    }
    if group and user is not None:
        system = {"EventGroupId": user, **system}
    if system:
        entry["SystemMetadata"] = system
    return entry


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message now in the queue, in the order SQS hands them out (each deleted once read)."""
    received: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
            "Messages", []
        )
        if not batch:
            return received
        received += batch
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = IDLE_TIMEOUT) -> None:
    """Wait for a condition the test needs before it goes on (fails, naming it, if it never holds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def _receive_until(sqs: Any, url: str, count: int) -> list[dict[str, Any]]:
    """Read (and delete) until ``count`` messages have come."""
    received: list[dict[str, Any]] = []
    _wait_for(lambda: len(received) >= count or bool(received.extend(_drain(sqs, url))), f"{count} messages")
    return received


def _detail(message: dict[str, Any]) -> dict[str, Any]:
    detail: dict[str, Any] = json.loads(message["Body"])["detail"]
    return detail


def _out_of_order_users(messages: list[dict[str, Any]]) -> set[str]:
    """Users whose events did not arrive in publish order."""
    by_user: dict[str, list[int]] = defaultdict(list)
    for message in messages:
        detail = _detail(message)
        by_user[detail["userId"]].append(detail["data"]["n"])
    return {user for user, ns in by_user.items() if ns != sorted(ns)}


def _publish_from_many_producers(events: Any, emulator: Emulator, bus: str) -> None:
    """Producers in parallel, each publishing its own users' events in order: every call carries
    the next two events of each of its users, interleaved (u0 n, u1 n, ..., u0 n+1, u1 n+1, ...)."""
    clients = [client(emulator, "eventbridgev2") for _ in range(PRODUCERS)]
    failures: list[BaseException] = []

    def produce(client: Any, producer: int) -> None:
        users = [f"user-{producer}-{u}" for u in range(USERS_PER_PRODUCER)]
        try:
            for n in range(0, EVENTS_PER_USER, 2):
                entries = [_entry(user, n) for user in users] + [_entry(user, n + 1) for user in users]
                answer = client.put_events(EventBusArn=bus, Entries=entries)
                assert answer["FailedEntryCount"] == 0
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=produce, args=(c, p)) for p, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def _ordering_run(emulator: Emulator, events: Any, sqs: Any, ordering: str) -> list[dict[str, Any]]:
    """The ordering scenario for a subscriber of type ``ordering``: everything it delivered."""
    url, arn = queue(sqs)
    bus, _ = _bus_and_subscriber(events, arn, Type=ordering)
    _publish_from_many_producers(events, emulator, bus)
    assert emulator.eventsv2.wait_idle(IDLE_TIMEOUT)
    return _drain(sqs, url)


def _all_once(messages: list[dict[str, Any]]) -> bool:
    keys = [(d["userId"], d["data"]["n"]) for d in map(_detail, messages)]
    return len(keys) == len(set(keys)) == PRODUCERS * USERS_PER_PRODUCER * EVENTS_PER_USER


def test_a_fifo_subscriber_keeps_each_users_events_in_publish_order(
    emulator: Emulator, events: Any, sqs: Any
) -> None:
    """Many producers, many users: every user's events arrive once each, in the order published."""
    received = _ordering_run(emulator, events, sqs, "FIFO")

    assert _all_once(received)
    assert _out_of_order_users(received) == set()


def test_the_same_scenario_unordered_is_caught_out_of_order(
    emulator: Emulator, events: Any, sqs: Any
) -> None:
    """An UNORDERED subscriber (reordering on) delivers everything but breaks some user's order:
    the order check above can fail."""
    received = _ordering_run(emulator, events, sqs, "UNORDERED")

    assert _all_once(received)
    assert _out_of_order_users(received) != set()


def test_a_failing_group_blocks_only_itself_and_resumes_in_order(
    emulator: Emulator, events: Any, sqs: Any
) -> None:
    """While alice's deliveries fail, bob's later events arrive; then alice's arrive, in order."""
    url, arn = queue(sqs)
    bus, subscriber = _bus_and_subscriber(
        events, arn, RetryPolicy={"MaxRetryAttempts": 185, "MaxEventAgeInSeconds": 86400}
    )
    fault = emulator.eventsv2.faults.fail_next(
        lambda event: event["SystemMetadata"].get("EventGroupId") == "alice",
        times=None,
        subscriber_arn=subscriber,
    )

    events.put_events(EventBusArn=bus, Entries=[_entry("alice", n) for n in range(3)])
    events.put_events(EventBusArn=bus, Entries=[_entry("bob", n) for n in range(3)])
    while_blocked = _receive_until(sqs, url, 3)
    _wait_for(lambda: fault.fired >= 2, "alice's delivery to be retried")
    fault.cancel()
    after = _receive_until(sqs, url, 3)

    assert [(_detail(m)["userId"], _detail(m)["data"]["n"]) for m in while_blocked] == [
        ("bob", 0),
        ("bob", 1),
        ("bob", 2),
    ]
    assert [(_detail(m)["userId"], _detail(m)["data"]["n"]) for m in after] == [
        ("alice", 0),
        ("alice", 1),
        ("alice", 2),
    ]
    counters = emulator.eventsv2.counters(subscriber)
    assert (counters.delivered, counters.dead_lettered) == (6, 0)
    assert counters.retried >= 2


def test_a_repeated_deduplication_id_is_delivered_once(emulator: Emulator, events: Any, sqs: Any) -> None:
    """The same (group, DeduplicationId) twice: DEDUPLICATED with the first id, one message."""
    url, arn = queue(sqs)
    bus, _ = _bus_and_subscriber(events, arn)

    first = events.put_events(EventBusArn=bus, Entries=[_entry("alice", 1, DeduplicationId="log-1")])[
        "Entries"
    ][0]
    again = events.put_events(EventBusArn=bus, Entries=[_entry("alice", 1, DeduplicationId="log-1")])[
        "Entries"
    ][0]
    assert emulator.eventsv2.wait_idle(IDLE_TIMEOUT)
    received = _drain(sqs, url)

    assert (first["SuccessCode"], again["SuccessCode"]) == ("PUBLISHED", "DEDUPLICATED")
    assert again["EventId"] == first["EventId"]
    assert [json.loads(m["Body"])["id"] for m in received] == [first["EventId"]]


def test_an_entry_without_an_event_group_is_delivered_grouped_by_its_user(
    emulator: Emulator, events: Any, sqs: Any
) -> None:
    """No EventGroupId: the group expression falls back to ``detail.userId`` and the event arrives."""
    url, arn = queue(sqs)
    bus, _ = _bus_and_subscriber(events, arn)

    events.put_events(EventBusArn=bus, Entries=[_entry("carol", 1, group=False)])
    assert emulator.eventsv2.wait_idle(IDLE_TIMEOUT)
    received = _drain(sqs, url)

    assert [m["Attributes"]["MessageGroupId"] for m in received] == ["carol"]


def test_an_event_failing_beyond_its_retry_policy_is_dead_lettered_and_its_group_goes_on(
    emulator: Emulator, events: Any, sqs: Any
) -> None:
    """Three failed attempts (2 retries): a DLQ record with the ids and no payload; the next event arrives."""
    url, arn = queue(sqs)
    dlq_url, dlq_arn = queue(sqs)
    bus, subscriber = _bus_and_subscriber(
        events, arn, RetryPolicy={"MaxRetryAttempts": 2}, OnFailureConfiguration={"Arn": dlq_arn}
    )
    emulator.eventsv2.faults.fail_next(lambda event: event["Data"]["detail"]["data"]["n"] == 0, times=None)

    put = events.put_events(EventBusArn=bus, Entries=[_entry("alice", 0), _entry("alice", 1)])
    assert emulator.eventsv2.wait_idle(IDLE_TIMEOUT)
    delivered, dead = _drain(sqs, url), _drain(sqs, dlq_url)

    assert [_detail(m)["data"]["n"] for m in delivered] == [1]
    assert len(dead) == 1
    record = json.loads(dead[0]["Body"])
    assert (record["eventId"], record["eventGroupId"]) == (put["Entries"][0]["EventId"], "alice")
    assert (record["subscriberArn"], record["attempts"], record["errorCode"]) == (
        subscriber,
        3,
        "ServiceUnavailable",
    )
    assert "detail" not in record
    assert dead[0]["Attributes"]["MessageGroupId"] == "alice"
    counters = emulator.eventsv2.counters(subscriber)
    assert (counters.delivered, counters.retried, counters.dead_lettered, counters.dropped) == (1, 2, 1, 0)


def test_sqs_refusing_a_fifo_message_without_a_group_is_a_real_failure(
    emulator: Emulator, events: Any, sqs: Any
) -> None:
    """A group expression with no value: SQS refuses the send; after the retries the DLQ says why."""
    url, arn = queue(sqs)
    dlq_url, dlq_arn = queue(sqs, fifo=False)
    bus, subscriber = _bus_and_subscriber(
        events,
        arn,
        group_id=GROUP_ONLY,
        RetryPolicy={"MaxRetryAttempts": 1},
        OnFailureConfiguration={"Arn": dlq_arn},
    )

    events.put_events(EventBusArn=bus, Entries=[_entry("dave", 0, group=False), _entry("erin", 1)])
    assert emulator.eventsv2.wait_idle(IDLE_TIMEOUT)
    delivered, dead = _drain(sqs, url), _drain(sqs, dlq_url)

    assert [_detail(m)["userId"] for m in delivered] == ["erin"]
    record = json.loads(dead[0]["Body"])
    assert (record["errorCode"], record["eventGroupId"], record["attempts"]) == ("MissingParameter", None, 2)
    assert emulator.eventsv2.counters(subscriber).dead_lettered == 1


def test_a_stopped_subscriber_holds_its_events_until_it_runs_again(
    emulator: Emulator, events: Any, sqs: Any
) -> None:
    """STOPPED: nothing is delivered; RUNNING again: the held events arrive in order."""
    url, arn = queue(sqs)
    bus, subscriber = _bus_and_subscriber(events, arn)
    events.update_subscriber(SubscriberArn=subscriber, State="STOPPED")

    events.put_events(EventBusArn=bus, Entries=[_entry("alice", n) for n in range(3)])
    assert emulator.eventsv2.wait_idle(IDLE_TIMEOUT)
    while_stopped = _drain(sqs, url)
    events.update_subscriber(SubscriberArn=subscriber, State="RUNNING")
    assert emulator.eventsv2.wait_idle(IDLE_TIMEOUT)
    resumed = _drain(sqs, url)

    assert while_stopped == []
    assert [_detail(m)["data"]["n"] for m in resumed] == [0, 1, 2]


def test_a_filter_keeps_out_the_events_it_does_not_match(emulator: Emulator, events: Any, sqs: Any) -> None:
    """A DATA filter on detail-type: only matching events reach the queue."""
    url, arn = queue(sqs)
    pattern = json.dumps({"detail-type": ["foodLogCreated"]})
    bus, subscriber = _bus_and_subscriber(
        events,
        arn,
        FilterConfiguration={
            "Language": "EVENT_BRIDGE_PATTERN",
            "Filters": [{"Scope": "DATA", "Pattern": pattern}],
        },
    )

    events.put_events(
        EventBusArn=bus,
        Entries=[{**_entry("alice", 0), "DetailType": "exerciseLogCreated"}, _entry("alice", 1)],
    )
    assert emulator.eventsv2.wait_idle(IDLE_TIMEOUT)
    received = _drain(sqs, url)

    assert [_detail(m)["data"]["n"] for m in received] == [1]
    assert emulator.eventsv2.counters(subscriber).delivered == 1
