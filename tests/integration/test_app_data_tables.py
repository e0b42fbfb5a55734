"""``hc-realtime dev --data-tables FILE`` on an existing app's table: its writes reach ``listen``.

The table is unlike ours (single-table keys ``PK``/``SK``, the user in ``ownerSub``, the entry in
``entryId``, ``kcal`` for calories, attributes the app keeps for itself); what a browser gets is
the schema's fields, under the schema's names, and nothing else.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.local_stack import StackUrls, running_stack
from tests.support.stack_client import listen

TABLE = "FoodEntries-local"
MAPPING = {
    TABLE: {
        "family": "foodLog",
        "userAttribute": "ownerSub",
        "idAttribute": "entryId",
        "renames": {"kcal": "calories", "title": "name"},
        "definition": {
            "KeySchema": [
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
        },
    }
}


@pytest.fixture(scope="module")
def app_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUrls]:
    """A stack on the app's table only, from a mapping file."""
    path = Path(tmp_path_factory.mktemp("mapping")) / "data-tables.json"
    path.write_text(json.dumps(MAPPING), encoding="utf-8")
    with running_stack("--data-tables", str(path)) as stack:
        yield stack


def test_a_write_to_the_apps_table_reaches_listen_with_the_schemas_fields_only(app_stack: StackUrls) -> None:
    """put_item with the app's names and internal attributes -> one foodLogCreated frame whose
    data is id, name, calories: no keys, no audit field, no e-mail."""
    user = f"user-{uuid.uuid4().hex[:10]}"
    item: dict[str, Any] = {
        "PK": {"S": f"USER#{user}"},
        "SK": {"S": "FOOD#e1"},
        "ownerSub": {"S": user},
        "entryId": {"S": "e1"},
        "title": {"S": "Porridge"},
        "kcal": {"N": "310"},
        "createdBy": {"S": "someone@example.com"},
        "isDeleted": {"BOOL": False},
    }
    listener = listen(app_stack, user)
    try:
        assert listener.stderr is not None
        assert listener.stdout is not None
        assert "listening" in listener.stderr.readline()  # connected: the event cannot be missed
        app_stack.client("dynamodb").put_item(TableName=TABLE, Item=item)
        line = listener.stdout.readline()
    finally:
        listener.terminate()
        listener.communicate(timeout=10)

    frame = json.loads(line)
    assert frame["type"] == "foodLogCreated"
    assert frame["data"] == {"id": "e1", "name": "Porridge", "calories": 310}


def test_only_the_mapped_tables_are_created(app_stack: StackUrls) -> None:
    """Given a mapping file, the stack creates its tables instead of ours."""
    names = app_stack.client("dynamodb").list_tables()["TableNames"]
    assert TABLE in names
    assert "healthcoach_food_logs" not in names
