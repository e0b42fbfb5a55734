"""The dispatcher's races, each against moto's DynamoDB and SQS over HTTP.

- One user's hundreds of connections do not push another user's post to the end of the batch.
- A record held back in its FIFO group is not posted again to a connection that already has it,
  nor reported (so neither redelivered nor dead-lettered) once every connection has it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import boto3
import pytest
from tests.support.management_api import ManagementApiFake
from tests.support.sqs_events import (
    deployed_fifo_queue,
    envelope,
    sqs_event,
    sqs_event_from_messages,
    sqs_record,
)

from healthcoach_realtime.clients import management_api_client
from healthcoach_realtime.connections import Connection, ConnectionStore, iso_time
from healthcoach_realtime.dead_letters import DeadLetterQueue
from healthcoach_realtime.dispatch.batch import MAX_WORKERS, dispatch_batch
from healthcoach_realtime.history.store import HistoryStore

REGION = "us-east-1"
LONG_AGO = 3600.0  # a row this old is past the connecting grace


@pytest.fixture
def sqs(aws_env: str) -> Any:
    return boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)


@pytest.fixture
def dead_letters(sqs: Any) -> DeadLetterQueue:
    url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    return DeadLetterQueue(sqs, url, origin="dispatcher")


def management(api: ManagementApiFake) -> Any:
    """The dispatcher's own @connections client (one attempt per call), on the fake."""
    return management_api_client(api.endpoint)


def frames(api: ManagementApiFake, connection_id: str) -> list[dict[str, Any]]:
    return [json.loads(body) for body in api.frames(connection_id)]


# --- fairness across users ---


class SlowConnections:
    """A stand-in for the @connections client that takes ``seconds`` per post and records the
    order posts complete in. A stub, not the HTTP fake: the test needs every post to take the
    same, known time, which a loopback server answering at once cannot give."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._lock = threading.Lock()
        self.completed: list[str] = []

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        time.sleep(self._seconds)
        with self._lock:
            self.completed.append(ConnectionId)
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}


def test_a_user_with_hundreds_of_connections_does_not_delay_another_users_post(
    store: ConnectionStore, history: HistoryStore, dead_letters: DeadLetterQueue
) -> None:
    """The batch's first record is for a user with 200 connections, its second for a user with
    one. Posts are started users interleaved, so the small user's post completes within the
    first round of the pool, not after the 200."""
    for n in range(200):
        store.add(Connection(f"big-{n:03d}=", "u-big"))
    store.add(Connection("small=", "u-small"))
    slow = SlowConnections(0.01)
    records = [sqs_record(envelope("foodLogDeleted", user, {"id": "f1"})) for user in ("u-big", "u-small")]
    response = dispatch_batch(
        sqs_event(*records),
        store=store,
        management=slow,
        dead_letters=dead_letters,
        history=history,  # type: ignore[arg-type]
    )
    assert response == {"batchItemFailures": []}
    assert len(slow.completed) == 201
    assert slow.completed.index("small=") < MAX_WORKERS


# --- records held back in their FIFO group ---


def received(sqs: Any, url: str, count: int, wait_seconds: float = 8.0) -> list[dict[str, Any]]:
    """Up to ``count`` messages, as Lambda's event source would receive them (all attributes)."""
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait_seconds
    while len(found) < count and time.monotonic() < deadline:
        found += sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
    return found


def deliver(sqs: Any, url: str, arn: str, messages: list[dict[str, Any]], **kwargs: Any) -> list[str]:
    """One invocation as Lambda's event source runs it: the batch, then the successful records
    deleted, the failed ones shown again at once; the failed message ids."""
    response = dispatch_batch(sqs_event_from_messages(messages, arn), **kwargs)
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    for m in messages:
        if m["MessageId"] in failed:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        else:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return failed


def old_connection(store: ConnectionStore, connection_id: str, user_id: str) -> None:
    store.add(Connection(connection_id, user_id, connected_at=iso_time(time.time() - LONG_AGO)))


def send(sqs: Any, url: str, user_id: str, item: str, group: str) -> None:
    body = json.dumps(envelope("foodLogDeleted", user_id, {"id": item}))
    sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)


def test_a_redelivered_record_is_not_posted_again_where_it_was_received(
    store: ConnectionStore,
    history: HistoryStore,
    dead_letters: DeadLetterQueue,
    api: ManagementApiFake,
    sqs: Any,
) -> None:
    """u-two's phone takes both events; its laptop fails the first (500 three times): both
    records come back (receive count 2). Then the laptop gets both, in order, and the phone
    nothing more (the progress kept at the failure says it has them)."""
    old_connection(store, "phone=", "u-two")
    old_connection(store, "laptop=", "u-two")
    api.script("laptop=", 500, 500, 500)
    url, arn = deployed_fifo_queue(sqs, "held")
    for item in ("f1", "f2"):
        send(sqs, url, "u-two", item, group="u-two")
    wiring = {"store": store, "management": management(api), "dead_letters": dead_letters, "history": history}

    first = received(sqs, url, 2)
    assert len(deliver(sqs, url, arn, first, **wiring)) == 2
    again = received(sqs, url, 2)
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in again] == ["2", "2"]
    assert deliver(sqs, url, arn, again, **wiring) == []

    assert [f["data"]["id"] for f in frames(api, "phone=")] == ["f1", "f2"]
    assert [(f["data"]["id"], f["seq"]) for f in frames(api, "laptop=")] == [("f1", 1), ("f2", 2)]


def test_a_held_back_record_delivered_everywhere_is_neither_reported_nor_dead_lettered(
    store: ConnectionStore,
    history: HistoryStore,
    dead_letters: DeadLetterQueue,
    api: ManagementApiFake,
    sqs: Any,
) -> None:
    """A producer groups a household's events (one FIFO group, two users). u-a's only connection
    answers 500 every time; u-b's record, behind it in the group, reaches u-b's connection on the
    first receive. It is not reported: the queue's redrive (3 receives) dead-letters u-a's
    record only, and u-b's connection got its event once."""
    old_connection(store, "a1=", "u-a")
    old_connection(store, "b1=", "u-b")
    api.script("a1=", then=500)
    url, arn = deployed_fifo_queue(sqs, "household")
    dlq_url = sqs.create_queue(
        QueueName=f"household-dlq-{uuid.uuid4().hex[:8]}.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": redrive})
    send(sqs, url, "u-a", "fa", group="household-7")
    send(sqs, url, "u-b", "fb", group="household-7")
    wiring = {"store": store, "management": management(api), "dead_letters": dead_letters, "history": history}

    reported: list[list[str]] = []
    for _ in range(3):
        messages = received(sqs, url, 2, wait_seconds=3)
        if not messages:
            break
        users = {m["MessageId"]: json.loads(m["Body"])["detail"]["userId"] for m in messages}
        reported.append(sorted(users[m] for m in deliver(sqs, url, arn, messages, **wiring)))
    assert reported == [["u-a"], ["u-a"], ["u-a"]]
    assert received(sqs, url, 1, wait_seconds=2) == []  # the third failure was the last receive
    parked = received(sqs, dlq_url, 2, wait_seconds=3)
    assert [json.loads(m["Body"])["detail"]["userId"] for m in parked] == ["u-a"]
    assert [f["data"]["id"] for f in frames(api, "b1=")] == ["fb"]
