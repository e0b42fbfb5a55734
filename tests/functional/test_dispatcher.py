"""The dispatcher handler, loaded by path, against moto's DynamoDB/SQS over HTTP and a real
loopback HTTP server playing the @connections management API (tests/support/management_api.py).
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from tests.support.lambda_handlers import LambdaContext, forget_cached_clients, load_handler
from tests.support.management_api import ManagementApiFake
from tests.support.network import free_port
from tests.support.sqs_events import (
    deployed_fifo_queue,
    emf_metrics,
    envelope,
    load_sample,
    receive_messages,
    sqs_event,
    sqs_event_from_messages,
    sqs_record,
)

from healthcoach_realtime import clients, emit
from healthcoach_realtime.connections import CONNECTING_GRACE_SECONDS, Connection, ConnectionStore, iso_time
from healthcoach_realtime.dispatch.deliver import ATTEMPT_SECONDS
from healthcoach_realtime.local.provision import create_event_pipeline, create_history_table
from healthcoach_realtime.settings import get_settings

REGION = "us-east-1"


@pytest.fixture
def sqs(aws_env: str) -> Any:
    return boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)


@pytest.fixture
def dead_letter_queue(sqs: Any) -> str:
    """A fresh queue named in DEAD_LETTER_QUEUE_URL."""
    return str(sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"])


@pytest.fixture
def history_table(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh history table named in HISTORY_TABLE."""
    name = f"history-{uuid.uuid4().hex[:8]}"
    create_history_table(dynamodb, name)
    monkeypatch.setenv("HISTORY_TABLE", name)
    return name


@pytest.fixture
def dispatcher(
    connections_table: str,
    history_table: str,
    api: ManagementApiFake,
    dead_letter_queue: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ModuleType]:
    """The handler module, fresh, wired to the test tables, the fake @connections API and the DLQ."""
    monkeypatch.setenv("WS_API_ENDPOINT", api.endpoint)
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dead_letter_queue)
    forget_cached_clients()
    yield load_handler("dispatcher")
    forget_cached_clients()


@pytest.fixture
def store(dynamodb: Any, connections_table: str) -> ConnectionStore:
    return ConnectionStore(dynamodb, connections_table)


def connect(store: ConnectionStore, user_id: str, *connection_ids: str, age: float = 0.0) -> None:
    """Rows for the user's connections, written ``age`` seconds ago."""
    for connection_id in connection_ids:
        connected_at = iso_time(time.time() - age)
        store.add(Connection(connection_id=connection_id, user_id=user_id, connected_at=connected_at))


# Older than the connecting grace: a 410 from such a connection means it has gone.
LONG_AGO = 3600.0


def invoke(dispatcher: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = dispatcher.handler(event, LambdaContext())
    return response


def frame(body: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(body)
    return document


def test_every_connection_of_the_user_gets_the_frame(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake
) -> None:
    """Both of user-a's connections get each of their events as {type, data, id, time, seq}."""
    connect(store, "user-a", "a1=", "a2=")
    response = invoke(dispatcher, load_sample())
    assert response == {"batchItemFailures": []}
    for connection_id in ("a1=", "a2="):
        frames = [frame(b) for b in api.frames(connection_id)]
        assert [f["type"] for f in frames] == ["foodLogCreated", "healthMetricCreated"]
        assert frames[0] == {
            "type": "foodLogCreated",
            "data": {
                "id": "f1",
                "name": "Greek yogurt",
                "mealType": "breakfast",
                "calories": 120,
                "proteinGrams": 10.5,
                "loggedAt": "2026-11-29T07:30:00Z",
            },
            "id": "6a7e8f0a-2c4d-4b1e-8f3a-9d2c5b7e1a01",
            "time": "2026-11-29T07:30:01Z",
            "seq": 1,
        }


def test_other_users_connections_get_nothing(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake
) -> None:
    """user-b's connection gets only user-b's event; user-c's connection gets nothing."""
    connect(store, "user-b", "b1=")
    connect(store, "user-c", "c1=")
    invoke(dispatcher, load_sample())
    assert [frame(b)["type"] for b in api.frames("b1=")] == ["foodLogDeleted"]
    assert api.posts("c1=") == []


def test_gone_connection_is_removed_and_the_rest_delivered(
    dispatcher: ModuleType,
    store: ConnectionStore,
    api: ManagementApiFake,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 410 deletes that row (counted) and the user's other connection still gets everything."""
    connect(store, "user-a", "stale=", "live=", age=LONG_AGO)
    api.script("stale=", then=410)
    response = invoke(dispatcher, load_sample())
    assert response == {"batchItemFailures": []}
    assert store.get("stale=") is None
    assert store.get("live=") is not None
    assert len(api.frames("live=")) == 2
    assert len(api.posts("stale=")) == 1  # gone stays gone: the second event is not posted
    assert emf_metrics(capsys.readouterr().out)["StaleConnectionsRemoved"] == 1


def test_a_410_from_a_connection_still_connecting_keeps_its_row(
    dispatcher: ModuleType,
    store: ConnectionStore,
    api: ManagementApiFake,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """API Gateway answers 410 until ``$connect`` returns: a row younger than the connecting
    grace stays (the tab would otherwise get nothing for its 2 h); one older than it goes."""
    connect(store, "user-a", "opening=", age=1.0)
    connect(store, "user-a", "closed=", age=CONNECTING_GRACE_SECONDS + 5)
    api.script("opening=", then=410)
    api.script("closed=", then=410)
    assert invoke(dispatcher, load_sample()) == {"batchItemFailures": []}
    assert store.get("opening=") is not None
    assert store.get("closed=") is None
    assert emf_metrics(capsys.readouterr().out)["StaleConnectionsRemoved"] == 1


def test_a_410_keeps_a_young_row_the_guides_handler_wrote(
    dispatcher: ModuleType,
    store: ConnectionStore,
    dynamodb: Any,
    connections_table: str,
    api: ManagementApiFake,
) -> None:
    """Rows of the reference guide's TypeScript handler write ``connectedAt`` with a ``Z``
    (``toISOString``): compared as strings with the cutoff, young stays and old goes all the same."""
    for connection_id, age in (("ts-young=", 1.0), ("ts-old=", CONNECTING_GRACE_SECONDS + 5)):
        at = iso_time(time.time() - age).replace("+00:00", "Z")
        later = {"N": str(int(time.time()) + 600)}
        item = {"connectionId": {"S": connection_id}, "userId": {"S": "user-b"}, "connectedAt": {"S": at}}
        dynamodb.put_item(TableName=connections_table, Item={**item, "ttl": later, "exp": later})
        api.script(connection_id, then=410)
    assert invoke(dispatcher, load_sample()) == {"batchItemFailures": []}
    assert (store.get("ts-young=") is not None, store.get("ts-old=") is None) == (True, True)


def test_a_closed_tab_is_routine_not_a_warning(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake, captured_log: io.StringIO
) -> None:
    """Deliveries not sent only because connections were gone are logged at INFO (they are
    cleaned up, nothing is retried); one that failed otherwise makes the line a WARNING."""
    connect(store, "user-a", "stale=", "live=", age=LONG_AGO)
    api.script("stale=", then=410)
    invoke(dispatcher, load_sample())
    connect(store, "user-b", "broken=")
    api.script("broken=", then=403)
    invoke(dispatcher, load_sample())
    lines = [json.loads(line) for line in captured_log.getvalue().splitlines()]
    not_sent = [
        (line["level"], line["outcomes"]) for line in lines if line["message"] == "deliveries not sent"
    ]
    # Two events to the closed tab: the first answered 410, the second was not posted.
    assert not_sent == [("INFO", {"gone": 2}), ("WARNING", {"permanent": 1})]


def test_410_without_error_type_header_is_still_gone(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake
) -> None:
    """The status decides, not the exception class: a bare 410 ClientError also removes the row."""
    connect(store, "user-b", "b1=", age=LONG_AGO)
    api.script("b1=", then=410, error_type=False)
    assert invoke(dispatcher, load_sample()) == {"batchItemFailures": []}
    assert store.get("b1=") is None


def test_throttled_post_is_retried_until_it_succeeds(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake
) -> None:
    """429, 429, then 200: delivered within the batch, nothing reported failed."""
    connect(store, "user-b", "b1=")
    api.script("b1=", 429, 429)
    assert invoke(dispatcher, load_sample()) == {"batchItemFailures": []}
    assert [p.status for p in api.posts("b1=")] == [429, 429, 200]
    assert len(api.frames("b1=")) == 1


def test_persistent_server_error_reports_the_record(
    dispatcher: ModuleType,
    store: ConnectionStore,
    api: ManagementApiFake,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A connection answering 500 every time fails only user-b's record, after 3 attempts."""
    connect(store, "user-a", "a1=")
    connect(store, "user-b", "b1=")
    api.script("b1=", then=500)
    response = invoke(dispatcher, load_sample())
    assert response == {"batchItemFailures": [{"itemIdentifier": "3d2e4c0a-7c8b-4f5a-b19c-4b6e3a1d0f32"}]}
    assert len(api.posts("b1=")) == 3
    assert len(api.frames("a1=")) == 2
    assert emf_metrics(capsys.readouterr().out)["DeliveryFailures"] == 1


def test_unreachable_endpoint_reports_the_records(
    dispatcher: ModuleType, store: ConnectionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No answer at all (connection refused) is transient: retried, then reported."""
    monkeypatch.setenv("WS_API_ENDPOINT", f"http://127.0.0.1:{free_port()}/test")
    forget_cached_clients()
    connect(store, "user-b", "b1=")
    response = invoke(dispatcher, load_sample())
    assert response == {"batchItemFailures": [{"itemIdentifier": "3d2e4c0a-7c8b-4f5a-b19c-4b6e3a1d0f32"}]}


def test_forbidden_is_permanent_not_retried(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake
) -> None:
    """403 cannot get better by resending: one post, and the record is not redelivered."""
    connect(store, "user-b", "b1=")
    api.script("b1=", then=403)
    assert invoke(dispatcher, load_sample()) == {"batchItemFailures": []}
    assert len(api.posts("b1=")) == 1


def test_refused_record_is_dead_lettered_not_dropped(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake, sqs: Any, dead_letter_queue: str
) -> None:
    """A 413 from one of two connections: the other gets the frame, the record lands in the DLQ
    unchanged with the status and connection in its reason."""
    connect(store, "u1", "ok=", "refuses=")
    api.script("refuses=", then=413)
    record = sqs_record(envelope("foodLogDeleted", "u1", {"id": "f1"}), message_id="m-413")
    assert invoke(dispatcher, sqs_event(record)) == {"batchItemFailures": []}
    assert [frame(b)["id"] for b in api.frames("ok=")] == [json.loads(record["body"])["id"]]
    messages = sqs.receive_message(
        QueueUrl=dead_letter_queue, MessageAttributeNames=["All"], WaitTimeSeconds=1
    )["Messages"]
    assert [m["Body"] for m in messages] == [record["body"]]
    reason = messages[0]["MessageAttributes"]["reason"]["StringValue"]
    assert ("413" in reason, "refuses=" in reason) == (True, True)


def test_invalid_event_is_dead_lettered_with_its_reason(
    dispatcher: ModuleType,
    store: ConnectionStore,
    api: ManagementApiFake,
    sqs: Any,
    dead_letter_queue: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A schema failure goes to the DLQ unchanged, reason attached, and is not reported failed."""
    connect(store, "u1", "u1c=")
    bad = sqs_record(envelope("foodLogCreated", "u1", {"id": "f1", "calories": -5}), message_id="bad-1")
    good = sqs_record(envelope("foodLogDeleted", "u1", {"id": "f2"}), message_id="good-1")
    response = invoke(dispatcher, sqs_event(bad, good))
    assert response == {"batchItemFailures": []}
    assert [frame(b)["type"] for b in api.frames("u1c=")] == ["foodLogDeleted"]
    messages = sqs.receive_message(
        QueueUrl=dead_letter_queue, MessageAttributeNames=["All"], WaitTimeSeconds=1
    )["Messages"]
    assert [m["Body"] for m in messages] == [bad["body"]]
    attributes = messages[0]["MessageAttributes"]
    assert "detail.data.calories" in attributes["reason"]["StringValue"]
    assert attributes["origin"]["StringValue"] == "dispatcher"
    assert attributes["recordId"]["StringValue"] == "bad-1"
    assert emf_metrics(capsys.readouterr().out)["InvalidEvents"] == 1


def test_invalid_event_is_retried_when_the_dlq_refuses_it(
    dispatcher: ModuleType, monkeypatch: pytest.MonkeyPatch, aws_env: str
) -> None:
    """If the dead letter cannot be written, the record is reported so SQS's redrive keeps it."""
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", f"{aws_env}/123456789012/no-such-queue")
    forget_cached_clients()
    response = invoke(load_handler("dispatcher"), sqs_event(sqs_record("{not json", message_id="bad-2")))
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad-2"}]}


def test_user_without_connections_is_fine(
    dispatcher: ModuleType, api: ManagementApiFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nobody connected: nothing posted, nothing failed, the events still count as dispatched."""
    assert invoke(dispatcher, load_sample()) == {"batchItemFailures": []}
    assert api.posts() == []
    assert emf_metrics(capsys.readouterr().out)["EventsDispatched"] == 3


def test_one_connection_query_per_user_per_batch(dispatcher: ModuleType, store: ConnectionStore) -> None:
    """Five events of two users cost exactly two GSI queries."""
    connect(store, "qa", "qa1=", "qa2=")
    connect(store, "qb", "qb1=")
    queries: list[str] = []
    clients.dynamodb_client().meta.events.register(
        "before-send.dynamodb.Query", lambda request, **_: queries.append(request.url)
    )
    records = [
        sqs_record(envelope("foodLogDeleted", user, {"id": f"f{i}"})) for i, user in enumerate("abaab")
    ]
    for record, user in zip(records, "abaab", strict=True):
        record["body"] = record["body"].replace(f'"userId": "{user}"', f'"userId": "q{user}"')
    assert invoke(dispatcher, sqs_event(*records)) == {"batchItemFailures": []}
    assert len(queries) == 2


def test_posts_to_a_users_connections_overlap(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake
) -> None:
    """The three connections' posts are in flight at the same time (the fake waits for all three)."""
    connect(store, "user-b", "b1=", "b2=", "b3=")
    api.rendezvous("b1=", "b2=", "b3=")
    assert invoke(dispatcher, load_sample()) == {"batchItemFailures": []}
    assert not api.rendezvous_failed
    assert all(len(api.frames(c)) == 1 for c in ("b1=", "b2=", "b3="))


def test_a_users_events_are_kept_concurrently(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake
) -> None:
    """A burst's three history writes are in flight at once (each waits for the other two: one
    after another, the first would time out), and the frames still carry seqs 1, 2, 3 in order."""
    connect(store, "u-burst", "k1=")
    together = threading.Barrier(3, timeout=5)

    def wait_for_the_others(**_: Any) -> None:  # returns None: botocore then sends the request
        together.wait()

    clients.dynamodb_client().meta.events.register("before-send.dynamodb.PutItem", wait_for_the_others)
    records = [sqs_record(envelope("foodLogDeleted", "u-burst", {"id": f"k{i}"})) for i in range(3)]
    assert invoke(dispatcher, sqs_event(*records)) == {"batchItemFailures": []}
    frames = [frame(b) for b in api.frames("k1=")]
    assert [(f["data"]["id"], f["seq"]) for f in frames] == [("k0", 1), ("k1", 2), ("k2", 3)]


def test_no_post_starts_that_could_outlast_the_invocation(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake, captured_log: io.StringIO
) -> None:
    """With less time left than one post may take, nothing is posted and every record is
    reported for redelivery, in one log line for the batch (not one per connection); the
    redelivery, with time enough, brings the same seqs."""
    connect(store, "u-late", "l1=")
    connect(store, "u-late", "l2=")
    records = [
        sqs_record(envelope("foodLogDeleted", "u-late", {"id": f"l{i}"}), message_id=f"m-late-{i}")
        for i in range(2)
    ]
    short = dispatcher.handler(sqs_event(*records), LambdaContext(remaining_ms=int(ATTEMPT_SECONDS * 1000)))
    assert short == {"batchItemFailures": [{"itemIdentifier": "m-late-0"}, {"itemIdentifier": "m-late-1"}]}
    assert api.frames("l1=") == api.frames("l2=") == []
    lines = [json.loads(line) for line in captured_log.getvalue().splitlines()]
    (not_sent,) = [line for line in lines if line["message"] == "deliveries not sent"]
    assert (not_sent["not_sent"], not_sent["connections"], not_sent["deferred_by_deadline"]) == (4, 2, 4)
    assert invoke(dispatcher, sqs_event(*records)) == {"batchItemFailures": []}
    assert (
        [frame(b)["seq"] for b in api.frames("l1=")] == [frame(b)["seq"] for b in api.frames("l2=")] == [1, 2]
    )


def test_attempt_bound_is_the_management_clients_timeouts(dispatcher: ModuleType) -> None:
    """The deadline check assumes a post ends within the client's connect + read timeouts."""
    config = clients.management_api_client().meta.config
    assert config.connect_timeout + config.read_timeout == ATTEMPT_SECONDS


def test_events_reach_a_connection_in_batch_order(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake
) -> None:
    """One user's events arrive on each connection in the order of the batch."""
    connect(store, "u-order", "o1=")
    records = [sqs_record(envelope("foodLogDeleted", "u-order", {"id": f"f{i}"})) for i in range(6)]
    invoke(dispatcher, sqs_event(*records))
    assert [frame(b)["data"]["id"] for b in api.frames("o1=")] == [f"f{i}" for i in range(6)]


def test_emitted_event_travels_bus_queue_dispatcher_browser(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake, aws_env: str, sqs: Any
) -> None:
    """emit() -> Custom Event Bus -> FIFO subscriber -> SQS -> dispatcher -> the user's connection,
    id preserved."""
    bus = boto3.client("eventbridgev2", endpoint_url=aws_env, region_name=REGION)
    pipeline = create_event_pipeline(bus, sqs, f"bus-{uuid.uuid4().hex[:8]}")
    user = f"user-{uuid.uuid4().hex[:8]}"
    connect(store, user, "e2e=")
    event_id = emit(user, "foodLogDeleted", {"id": "f1"}, client=bus, bus_arn=pipeline.bus_arn)
    messages = receive_messages(sqs, pipeline.queue_url, user, 1)
    assert invoke(dispatcher, sqs_event_from_messages(messages, pipeline.queue_arn)) == {
        "batchItemFailures": []
    }
    [received_frame] = [frame(b) for b in api.frames("e2e=")]
    assert received_frame["id"] == event_id
    assert received_frame["data"] == {"id": "f1"}


def test_seqs_increase_across_batches(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake
) -> None:
    """Two batches of one user: seqs 1, 2, then 3 in frame order."""
    connect(store, "u-seq", "s1=")
    first = [sqs_record(envelope("foodLogDeleted", "u-seq", {"id": f"f{i}"})) for i in range(2)]
    invoke(dispatcher, sqs_event(*first))
    invoke(dispatcher, sqs_event(sqs_record(envelope("foodLogDeleted", "u-seq", {"id": "f2"}))))
    assert [frame(b)["seq"] for b in api.frames("s1=")] == [1, 2, 3]


def test_redelivered_record_keeps_its_seq(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake
) -> None:
    """The same SQS record twice: two frames, same id, same seq."""
    connect(store, "u-again", "r1=")
    record = sqs_record(envelope("foodLogDeleted", "u-again", {"id": "f1"}))
    invoke(dispatcher, sqs_event(record))
    invoke(dispatcher, sqs_event(record))
    frames = [frame(b) for b in api.frames("r1=")]
    assert [(f["id"], f["seq"]) for f in frames] == [(frames[0]["id"], 1)] * 2


def test_history_failure_reports_the_users_records_and_posts_nothing(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake, dynamodb: Any, history_table: str
) -> None:
    """With the history table gone, no frame without a seq is sent; SQS redelivers the record."""
    connect(store, "u-nohist", "n1=")
    dynamodb.delete_table(TableName=history_table)
    record = sqs_record(envelope("foodLogDeleted", "u-nohist", {"id": "f1"}), message_id="m-nohist")
    response = invoke(dispatcher, sqs_event(record))
    assert (response, api.frames("n1=")) == ({"batchItemFailures": [{"itemIdentifier": "m-nohist"}]}, [])


def test_one_change_emitted_twice_is_one_event(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake
) -> None:
    """Two bus events with the producer's same ``eventId`` (a retried stream batch): both frames
    carry that id and the same seq, so the browser drops the second."""
    connect(store, "u-twice", "t1=")
    detail = {"userId": "u-twice", "data": {"id": "f1"}, "eventId": "stream-abc"}
    for _ in range(2):
        record = sqs_record(envelope("foodLogDeleted", "u-twice", {"id": "f1"}, detail=detail))
        invoke(dispatcher, sqs_event(record))
    assert [(frame(b)["id"], frame(b)["seq"]) for b in api.frames("t1=")] == [("stream-abc", 1)] * 2


# --- a failed record is shown again in seconds (ChangeMessageVisibility), over HTTP on moto ---


def _received(sqs: Any, url: str, wait_seconds: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        if messages:
            return list(messages)
    return []


def test_a_failed_record_comes_back_in_seconds_not_after_the_visibility_timeout(
    dispatcher: ModuleType,
    store: ConnectionStore,
    api: ManagementApiFake,
    sqs: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two users in two message groups; one's connection answers 500 every time. Its record is
    reported and shown again after REDELIVERY_DELAY_MAX_SECONDS (1 s here), its receive count
    up, instead of after the queue's 180 s; the delivered record stays hidden."""
    monkeypatch.setenv("REDELIVERY_DELAY_MAX_SECONDS", "1")
    get_settings.cache_clear()
    connect(store, "u-fine", "fine1=")
    connect(store, "u-down", "down1=")
    api.script("down1=", then=500)
    url, arn = deployed_fifo_queue(sqs, "dispatch")
    for user in ("u-fine", "u-down"):
        body = json.dumps(envelope("foodLogDeleted", user, {"id": f"{user}-1"}))
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=user)
    messages = _received(sqs, url, wait_seconds=5)
    assert len(messages) == 2
    by_user = {json.loads(m["Body"])["detail"]["userId"]: m["MessageId"] for m in messages}

    response = invoke(dispatcher, sqs_event_from_messages(messages, arn))

    assert response == {"batchItemFailures": [{"itemIdentifier": by_user["u-down"]}]}
    again = _received(sqs, url, wait_seconds=6)
    assert [(m["MessageId"], m["Attributes"]["ApproximateReceiveCount"]) for m in again] == [
        (by_user["u-down"], "2")
    ]


def test_sqs_refusing_to_hasten_changes_nothing_else(
    dispatcher: ModuleType, store: ConnectionStore, api: ManagementApiFake, captured_log: io.StringIO
) -> None:
    """A record from a queue SQS does not know: the same answer, and a warning that it comes
    back after the visibility timeout; the handler does not raise."""
    connect(store, "u-nowhere", "n1=")
    api.script("n1=", then=500)
    record = sqs_record(envelope("foodLogDeleted", "u-nowhere", {"id": "n"}), message_id="m-nowhere")
    record["eventSourceARN"] = "arn:aws:sqs:us-east-1:123456789012:no-such-queue.fifo"

    assert invoke(dispatcher, sqs_event(record)) == {"batchItemFailures": [{"itemIdentifier": "m-nowhere"}]}
    messages = [json.loads(line)["message"] for line in captured_log.getvalue().splitlines()]
    assert "redelivery not hastened: back after the visibility timeout" in messages
