"""The stream bridge handler, loaded by path, fed REAL stream records from moto's DynamoDB
Streams (put/update/delete on data tables made by ``local/provision``), events checked in SQS.

Our own tables, and an existing app's (``APP_FOOD``): another name, single-table keys ``PK``/``SK``,
the user and entry ids in attributes of its own naming, attribute names unlike the schema's and
attributes the app keeps for itself, described to the bridge by ``DATA_TABLE_MAPPINGS``.

Records are read with ``dynamodbstreams`` GetRecords; their raw JSON (before boto3 turns
binary into bytes and times into datetimes) plus ``eventSourceARN`` is exactly what Lambda's
event source mapping hands the function.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from tests.support.lambda_handlers import LambdaContext, load_handler
from tests.support.sqs_events import emf_metrics, receive_envelopes

from healthcoach_realtime import clients
from healthcoach_realtime.dead_letters import DeadLetterQueue
from healthcoach_realtime.local.provision import EventPipeline, create_data_table, create_event_pipeline
from healthcoach_realtime.resources import DATA_TABLES, DataTable
from healthcoach_realtime.settings import get_settings
from healthcoach_realtime.stream_bridge import bridge_stream_batch
from healthcoach_realtime.table_mapping import MAPPING_ENV, encode_tables

REGION = "us-east-1"
FOOD_LOGS, PROFILE = DATA_TABLES[0], DATA_TABLES[3]
APP_FOOD = DataTable(
    name=f"FoodEntries-{uuid.uuid4().hex[:8]}",
    record="foodLog",
    user_attribute="ownerSub",
    id_attribute="entryId",
    renames=(("kcal", "calories"), ("title", "name"), ("meal", "mealType")),
)
# Its CreateTable definition: a single-table design's generic keys.
APP_DEFINITION: dict[str, Any] = {
    "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": "PK", "AttributeType": "S"},
        {"AttributeName": "SK", "AttributeType": "S"},
    ],
}


@pytest.fixture
def sqs(aws_env: str) -> Any:
    return boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)


@pytest.fixture
def pipeline(aws_env: str, sqs: Any) -> EventPipeline:
    bus = boto3.client("eventbridgev2", endpoint_url=aws_env, region_name=REGION)
    return create_event_pipeline(bus, sqs, f"bus-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def dead_letter_queue(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"])


def _fresh_bridge(
    pipeline: EventPipeline, dead_letter_queue: str, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    """The handler module, loaded afresh after its settings and SQS client are forgotten, so it
    reads the environment as the test set it."""
    monkeypatch.setenv("EVENT_BUS_ARN", pipeline.bus_arn)
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dead_letter_queue)
    get_settings.cache_clear()
    clients.sqs_client.cache_clear()
    return load_handler("stream_bridge")


@pytest.fixture
def bridge(
    pipeline: EventPipeline, dead_letter_queue: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    """The handler module, fresh, writing to the test bus and dead-lettering to the test DLQ."""
    yield _fresh_bridge(pipeline, dead_letter_queue, monkeypatch)
    clients.sqs_client.cache_clear()


@pytest.fixture
def app_bridge(
    pipeline: EventPipeline, dead_letter_queue: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    """The handler deployed for the app's table and ours, as the stack configures it."""
    monkeypatch.setenv(MAPPING_ENV, encode_tables([APP_FOOD, *DATA_TABLES]))
    yield _fresh_bridge(pipeline, dead_letter_queue, monkeypatch)
    clients.sqs_client.cache_clear()


@pytest.fixture
def user() -> str:
    """A user of this test only: the data tables (fixed names) are shared by the session."""
    return f"user-{uuid.uuid4().hex[:8]}"


class Tables:
    """Data tables on moto, and their streams read back as Lambda would deliver them."""

    def __init__(self, endpoint: str) -> None:
        # Module-scoped, so outside aws_env's per-test environment: credentials given here.
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        self.dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        self.streams = session.client("dynamodbstreams", endpoint_url=endpoint)
        self.created: list[str] = []
        self._raw: list[dict[str, Any]] = []
        self.streams.meta.events.register("after-call.dynamodb-streams.GetRecords", self._keep_raw)

    def _keep_raw(self, http_response: Any, **_: Any) -> None:
        self._raw = json.loads(http_response.content)["Records"]

    def ensure(self, table: DataTable, definition: dict[str, Any] | None = None) -> str:
        """The table's stream ARN, creating the table on first use in the session."""
        try:
            arn = create_data_table(self.dynamodb, table, definition)
        except self.dynamodb.exceptions.ResourceInUseException:
            return str(self.dynamodb.describe_table(TableName=table.name)["Table"]["LatestStreamArn"])
        self.created.append(table.name)
        return arn

    def records(self, table: DataTable, user_id: str) -> list[dict[str, Any]]:
        """Every stream record of ``user_id``'s items, oldest first, in Lambda's event shape."""
        arn = self.ensure(table)
        found: list[dict[str, Any]] = []
        for shard in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = self.streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            self.streams.get_records(ShardIterator=iterator, Limit=1000)
            found += [{**raw, "eventSourceARN": arn} for raw in self._raw if _owner(raw, table) == user_id]
        return found


def _owner(raw: dict[str, Any], table: DataTable) -> str:
    """The user of a raw stream record (its user attribute need not be a key)."""
    stream = raw["dynamodb"]
    image = stream.get("NewImage") or stream.get("OldImage") or stream["Keys"]
    return str(image[table.user_attribute]["S"])


@pytest.fixture(scope="module")
def tables(moto_endpoint: str) -> Iterator[Tables]:
    """The data tables (fixed names) for this module; dropped afterwards if this module made them."""
    tables = Tables(moto_endpoint)
    tables.ensure(FOOD_LOGS)
    tables.ensure(PROFILE)
    tables.ensure(APP_FOOD, APP_DEFINITION)
    yield tables
    for name in tables.created:
        tables.dynamodb.delete_table(TableName=name)


def invoke(bridge: ModuleType, records: list[dict[str, Any]]) -> dict[str, Any]:
    response: dict[str, Any] = bridge.handler({"Records": records}, LambdaContext())
    return response


def food_item(user_id: str, item_id: str, **attributes: dict[str, Any]) -> dict[str, Any]:
    return {"userId": {"S": user_id}, "id": {"S": item_id}, **attributes}


def dead_letters(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
    )
    return list(response.get("Messages", []))


def _write_in_turns(
    tables: Tables,
    table: DataTable,
    *,
    item: Callable[..., dict[str, Any]],
    key: Callable[[str, str], dict[str, Any]],
    users: tuple[str, str],
    first: str,
    calories: tuple[str, int],
) -> list[dict[str, Any]]:
    """Four turns of: the user's item ``first`` rewritten (its calories attribute base, base + 1,
    ...), an item of the other user, a new item of the user; then ``first`` deleted. Both users'
    stream records, in the stream's order."""
    (user, other), (attribute, base) = users, calories
    db = tables.dynamodb
    for step in range(4):
        db.put_item(TableName=table.name, Item=item(user, first, **{attribute: {"N": str(base + step)}}))
        db.put_item(TableName=table.name, Item=item(other, f"o{step}"))
        db.put_item(TableName=table.name, Item=item(user, f"g{step}"))
    db.delete_item(TableName=table.name, Key=key(user, first))
    records = tables.records(table, user) + tables.records(table, other)
    records.sort(key=lambda r: int(r["dynamodb"]["SequenceNumber"]))
    return records


def _assert_in_write_order(mine: list[dict[str, Any]], first: str, base: int) -> None:
    """``mine`` are the events of those writes, in write order, with each rewrite's calories."""
    expected = [
        (t, i)
        for s in range(4)
        for t, i in ((f"foodLog{'Created' if s == 0 else 'Updated'}", first), ("foodLogCreated", f"g{s}"))
    ]
    assert [(e["detail-type"], e["detail"]["data"]["id"]) for e in mine] == [
        *expected,
        ("foodLogDeleted", first),
    ]
    calories = [e["detail"]["data"].get("calories") for e in mine if e["detail"]["data"]["id"] == first]
    assert calories[:4] == [base, base + 1, base + 2, base + 3]


def _bad_then_good(
    bridge: ModuleType,
    tables: Tables,
    table: DataTable,
    items: tuple[dict[str, Any], dict[str, Any]],
    *,
    queues: tuple[Any, str, str],
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """Write an item the schema refuses, then a valid one, of one user, and bridge their records
    (no batch failure): the records, the one envelope sent, and the one record dead-lettered.
    ``queues`` is the SQS client, the dispatch queue's URL and the dead-letter queue's URL."""
    sqs, queue_url, dead_letter_queue = queues
    for item in items:
        tables.dynamodb.put_item(TableName=table.name, Item=item)
    user = items[0][table.user_attribute]["S"]
    records = tables.records(table, user)
    assert invoke(bridge, records) == {"batchItemFailures": []}
    [envelope] = receive_envelopes(sqs, queue_url, user, 1)
    [parked] = dead_letters(sqs, dead_letter_queue)
    return records, envelope, parked


def test_put_update_delete_become_created_updated_deleted(
    bridge: ModuleType, tables: Tables, pipeline: EventPipeline, sqs: Any, user: str
) -> None:
    """Three writes -> foodLogCreated, foodLogUpdated, foodLogDeleted for the item's user."""
    db = tables.dynamodb
    db.put_item(
        TableName=FOOD_LOGS.name,
        Item=food_item(user, "f1", name={"S": "Greek yogurt"}, calories={"N": "120"}, fatGrams={"N": "3.5"}),
    )
    db.update_item(
        TableName=FOOD_LOGS.name,
        Key={"userId": {"S": user}, "id": {"S": "f1"}},
        UpdateExpression="SET calories = :c",
        ExpressionAttributeValues={":c": {"N": "150"}},
    )
    db.delete_item(TableName=FOOD_LOGS.name, Key={"userId": {"S": user}, "id": {"S": "f1"}})
    records = tables.records(FOOD_LOGS, user)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]

    assert invoke(bridge, records) == {"batchItemFailures": []}

    envelopes = receive_envelopes(sqs, pipeline.queue_url, user, 3)
    by_type = {e["detail-type"]: e for e in envelopes}
    assert set(by_type) == {"foodLogCreated", "foodLogUpdated", "foodLogDeleted"}
    assert by_type["foodLogCreated"]["source"] == "healthcoach.food-logs"
    assert by_type["foodLogCreated"]["detail"] == {
        "userId": user,
        "data": {"id": "f1", "name": "Greek yogurt", "calories": 120, "fatGrams": 3.5},
        "eventId": f"stream-{records[0]['eventID']}",
    }
    assert by_type["foodLogUpdated"]["detail"]["data"]["calories"] == 150
    assert by_type["foodLogDeleted"]["detail"]["data"] == {"id": "f1"}


def test_profile_write_is_profile_updated_and_removal_sends_nothing(
    bridge: ModuleType,
    tables: Tables,
    pipeline: EventPipeline,
    sqs: Any,
    dead_letter_queue: str,
    user: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Profile put -> healthProfileUpdated; profile delete -> no event, no dead letter."""
    item: dict[str, Any] = {
        "userId": {"S": user},
        "weightKg": {"N": "61.5"},
        "goals": {"M": {"dailyCalories": {"N": "2000"}}},
    }
    tables.dynamodb.put_item(TableName=PROFILE.name, Item=item)
    tables.dynamodb.delete_item(TableName=PROFILE.name, Key={"userId": {"S": user}})
    put, remove = tables.records(PROFILE, user)

    assert invoke(bridge, [remove]) == {"batchItemFailures": []}
    assert emf_metrics(capsys.readouterr().out) == {
        "EventsEmitted": 0,
        "InvalidEvents": 0,
        "DroppedAttributes": 0,
    }
    assert dead_letters(sqs, dead_letter_queue) == []

    assert invoke(bridge, [put]) == {"batchItemFailures": []}
    [envelope] = receive_envelopes(sqs, pipeline.queue_url, user, 1)
    assert envelope["detail-type"] == "healthProfileUpdated"
    assert envelope["detail"]["data"] == {"weightKg": 61.5, "goals": {"dailyCalories": 2000}}


def test_item_failing_its_schema_is_dead_lettered_and_the_rest_emitted(
    bridge: ModuleType,
    tables: Tables,
    pipeline: EventPipeline,
    sqs: Any,
    dead_letter_queue: str,
    user: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A negative calorie count goes to the DLQ with the rule named; the good record still goes out."""
    bad, good = food_item(user, "bad", calories={"N": "-5"}), food_item(user, "good", calories={"N": "5"})
    records, envelope, parked = _bad_then_good(
        bridge, tables, FOOD_LOGS, (bad, good), queues=(sqs, pipeline.queue_url, dead_letter_queue)
    )

    assert envelope["detail"]["data"]["id"] == "good"
    assert json.loads(parked["Body"]) == records[0]
    assert "detail.data.calories" in parked["MessageAttributes"]["reason"]["StringValue"]
    assert parked["MessageAttributes"]["origin"]["StringValue"] == "stream-bridge"
    assert emf_metrics(capsys.readouterr().out) == {
        "EventsEmitted": 1,
        "InvalidEvents": 1,
        "DroppedAttributes": 0,
    }


def test_record_of_an_unknown_table_is_dead_lettered(
    bridge: ModuleType, tables: Tables, sqs: Any, dead_letter_queue: str, user: str
) -> None:
    """A stream wired to a table the bridge does not know is parked, naming the table."""
    tables.dynamodb.put_item(TableName=FOOD_LOGS.name, Item=food_item(user, "f1"))
    [record] = tables.records(FOOD_LOGS, user)
    record["eventSourceARN"] = record["eventSourceARN"].replace(FOOD_LOGS.name, "orders")

    assert invoke(bridge, [record]) == {"batchItemFailures": []}

    [parked] = dead_letters(sqs, dead_letter_queue)
    assert parked["MessageAttributes"]["reason"]["StringValue"] == "record of unknown table 'orders'"


def test_oversized_invalid_record_is_parked_without_its_images(
    bridge: ModuleType, tables: Tables, sqs: Any, dead_letter_queue: str, user: str
) -> None:
    """A record too big for SQS is still parked (keys, ids, reason), never silently dropped."""
    notes = {"S": "n" * 300_000}  # over the schema's 2,000 and over SQS's 256 KiB
    tables.dynamodb.put_item(TableName=FOOD_LOGS.name, Item=food_item(user, "f1", notes=notes))
    [record] = tables.records(FOOD_LOGS, user)

    assert invoke(bridge, [record]) == {"batchItemFailures": []}

    [parked] = dead_letters(sqs, dead_letter_queue)
    body = json.loads(parked["Body"])
    assert body["imagesOmitted"] is True
    assert body["dynamodb"]["Keys"] == record["dynamodb"]["Keys"]
    assert "NewImage" not in body["dynamodb"]
    assert "detail.data.notes" in parked["MessageAttributes"]["reason"]["StringValue"]


def test_bus_refusal_reports_the_first_refused_sequence_number(
    tables: Tables, sqs: Any, dead_letter_queue: str, user: str
) -> None:
    """The user's entry 2 of 3 keeps failing with InternalFailure: entry 3 is not sent (it would
    overtake entry 2) and Lambda must retry from record 2.

    The emulator refuses only malformed entries, so botocore's Stubber plays the bus here; the
    stream records and the DLQ are real.
    """
    for item_id in ("f1", "f2", "f3"):
        tables.dynamodb.put_item(TableName=FOOD_LOGS.name, Item=food_item(user, item_id))
    records = tables.records(FOOD_LOGS, user)
    bus = boto3.client("eventbridgev2", region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    failure = {"ErrorCode": "InternalFailure", "ErrorMessage": "stubbed"}
    with Stubber(bus) as stubber:
        stubber.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e1"}]})
        for _ in range(4):
            stubber.add_response("put_events", {"FailedEntryCount": 1, "Entries": [failure]})
        response = bridge_stream_batch(
            {"Records": records},
            client=bus,
            bus_arn="arn:aws:events:us-east-1:123456789012:event-busv2/bus/abcdefghijklmnopqrstuvwxy",
            dead_letters=DeadLetterQueue(sqs, dead_letter_queue, origin="stream-bridge"),
            sleep=lambda _: None,
        )
        stubber.assert_no_pending_responses()
    assert response == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}


def test_a_retried_stream_batch_repeats_the_same_event_ids(
    bridge: ModuleType, tables: Tables, pipeline: EventPipeline, sqs: Any, user: str
) -> None:
    """Lambda retries a stream batch whole: the retry's events carry the first try's ids as
    their DeduplicationId, so the bus drops them (within its 5 minutes) and one event arrives;
    past that window the dispatcher still keeps one seq per id and browsers drop repeats by id."""
    tables.dynamodb.put_item(TableName=FOOD_LOGS.name, Item=food_item(user, "f1", calories={"N": "120"}))
    records = tables.records(FOOD_LOGS, user)
    assert invoke(bridge, records) == invoke(bridge, records) == {"batchItemFailures": []}
    envelopes = receive_envelopes(sqs, pipeline.queue_url, user, 2, timeout=3)
    assert [e["detail"]["eventId"] for e in envelopes] == [f"stream-{records[0]['eventID']}"]


def test_a_users_table_changes_arrive_in_the_order_dynamodb_wrote_them(
    bridge: ModuleType, tables: Tables, pipeline: EventPipeline, sqs: Any, user: str
) -> None:
    """Writes to one item and to several items of one user, interleaved with another user's, go
    out in stream order: each user's events reach the dispatch queue in that order."""
    other = f"other-{uuid.uuid4().hex[:8]}"
    records = _write_in_turns(
        tables,
        FOOD_LOGS,
        item=food_item,
        key=food_item,
        users=(user, other),
        first="f1",
        calories=("calories", 100),
    )
    assert invoke(bridge, records) == {"batchItemFailures": []}
    mine = receive_envelopes(sqs, pipeline.queue_url, user, 9)
    _assert_in_write_order(mine, "f1", 100)


def every_envelope(sqs: Any, queue_url: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Up to ``count`` envelopes of this test's own queue, every user's, in the order received."""
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in response.get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            found.append(json.loads(message["Body"]))
    return found


def app_item(user_id: str, entry_id: str, **attributes: dict[str, Any]) -> dict[str, Any]:
    """An item of the app's table: its keys, its names, and what it keeps for itself."""
    return {
        "PK": {"S": f"USER#{user_id}"},
        "SK": {"S": f"FOOD#{entry_id}"},
        "ownerSub": {"S": user_id},
        "entryId": {"S": entry_id},
        "entityType": {"S": "FoodEntry"},
        "createdBy": {"S": "nutrition-api@corp.example"},
        "legacyId": {"N": "88123"},
        "internal": {"M": {"reviewed": {"BOOL": True}}},
        **attributes,
    }


def app_key(user_id: str, entry_id: str) -> dict[str, Any]:
    return {"PK": {"S": f"USER#{user_id}"}, "SK": {"S": f"FOOD#{entry_id}"}}


def test_an_apps_table_reaches_the_bus_with_the_schemas_fields_only(
    app_bridge: ModuleType,
    tables: Tables,
    pipeline: EventPipeline,
    sqs: Any,
    user: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Put, update, delete on a table unlike ours: the events carry the schema's fields under the
    schema's names; keys, audit fields, ids of other systems are left out, and counted."""
    db = tables.dynamodb
    db.put_item(
        TableName=APP_FOOD.name,
        Item=app_item(user, "e1", title={"S": "Porridge"}, kcal={"N": "310"}, meal={"S": "breakfast"}),
    )
    db.update_item(
        TableName=APP_FOOD.name,
        Key=app_key(user, "e1"),
        UpdateExpression="SET kcal = :k, auditTrail = :a",
        ExpressionAttributeValues={":k": {"N": "280"}, ":a": {"L": [{"S": "edited by ops"}]}},
    )
    db.delete_item(TableName=APP_FOOD.name, Key=app_key(user, "e1"))
    records = tables.records(APP_FOOD, user)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]

    assert invoke(app_bridge, records) == {"batchItemFailures": []}

    envelopes = receive_envelopes(sqs, pipeline.queue_url, user, 3)
    assert [(e["detail-type"], e["detail"]["data"]) for e in envelopes] == [
        ("foodLogCreated", {"id": "e1", "name": "Porridge", "calories": 310, "mealType": "breakfast"}),
        ("foodLogUpdated", {"id": "e1", "name": "Porridge", "calories": 280, "mealType": "breakfast"}),
        ("foodLogDeleted", {"id": "e1"}),
    ]
    assert {e["detail"]["userId"] for e in envelopes} == {user}
    # PK, SK, entityType, createdBy, legacyId, internal; then the same and auditTrail.
    metrics = emf_metrics(capsys.readouterr().out)
    assert (metrics["DroppedAttributes"], metrics["EventsEmitted"]) == (13, 3)


def test_an_apps_item_still_invalid_after_projection_is_dead_lettered(
    app_bridge: ModuleType,
    tables: Tables,
    pipeline: EventPipeline,
    sqs: Any,
    dead_letter_queue: str,
    user: str,
) -> None:
    """A renamed attribute with a value the schema refuses: parked with the schema's field named."""
    bad, good = app_item(user, "bad", meal={"S": "brunch"}), app_item(user, "good", kcal={"N": "5"})
    _, envelope, parked = _bad_then_good(
        app_bridge, tables, APP_FOOD, (bad, good), queues=(sqs, pipeline.queue_url, dead_letter_queue)
    )

    assert envelope["detail"]["data"] == {"id": "good", "calories": 5}
    assert "detail.data.mealType" in parked["MessageAttributes"]["reason"]["StringValue"]


def test_an_apps_table_changes_arrive_in_the_order_dynamodb_wrote_them(
    app_bridge: ModuleType, tables: Tables, pipeline: EventPipeline, sqs: Any, user: str
) -> None:
    """On the app's table too: writes to one entry and to several entries of one user,
    interleaved with another user's, reach the dispatch queue in the stream's order."""
    other = f"other-{uuid.uuid4().hex[:8]}"
    records = _write_in_turns(
        tables, APP_FOOD, item=app_item, key=app_key, users=(user, other), first="e1", calories=("kcal", 200)
    )
    assert invoke(app_bridge, records) == {"batchItemFailures": []}

    received = every_envelope(sqs, pipeline.queue_url, 13)
    mine = [e for e in received if e["detail"]["userId"] == user]
    theirs = [e for e in received if e["detail"]["userId"] == other]
    _assert_in_write_order(mine, "e1", 200)
    assert [e["detail"]["data"]["id"] for e in theirs] == ["o0", "o1", "o2", "o3"]


def test_our_tables_keep_working_next_to_an_apps(
    app_bridge: ModuleType, tables: Tables, pipeline: EventPipeline, sqs: Any, user: str
) -> None:
    """With a mapping that also lists our table, its items map as they always did."""
    tables.dynamodb.put_item(TableName=FOOD_LOGS.name, Item=food_item(user, "f1", calories={"N": "120"}))
    assert invoke(app_bridge, tables.records(FOOD_LOGS, user)) == {"batchItemFailures": []}
    [envelope] = receive_envelopes(sqs, pipeline.queue_url, user, 1)
    assert (envelope["detail-type"], envelope["detail"]["data"]) == (
        "foodLogCreated",
        {"id": "f1", "calories": 120},
    )
