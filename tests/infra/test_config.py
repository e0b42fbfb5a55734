"""Deployment configuration: every problem named at synth, with where to set the value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from healthcoach_infra.config import DeployConfig, DeployConfigError
from healthcoach_realtime.resources import BUS_RETENTION_DAYS, DATA_TABLES, DataTable
from tests.infra.conftest import REPO_ROOT

GOOD = {"stage": "prod", "userPoolId": "us-east-1_AbC123xyz", "userPoolClientId": "abc123"}
FOOD_STREAM = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/healthcoach_food_logs/stream/2025-01-01T00:00:00.000"
)
APP_STREAM = FOOD_STREAM.replace("healthcoach_food_logs", "FoodEntries-prod")
APP_FOOD: dict[str, Any] = {
    "streamArn": APP_STREAM,
    "family": "foodLog",
    "userAttribute": "ownerSub",
    "idAttribute": "entryId",
    "renames": {"kcal": "calories", "title": "name"},
}


def test_missing_values_are_named_with_their_context_keys_and_env_vars() -> None:
    """With nothing configured, the error names each context key and environment variable."""
    with pytest.raises(DeployConfigError) as caught:
        DeployConfig.from_sources({}, {})
    message = str(caught.value)
    for name in (
        "stage",
        "STAGE_NAME",
        "userPoolId",
        "USER_POOL_ID",
        "userPoolClientId",
        "USER_POOL_CLIENT_ID",
    ):
        assert name in message


def test_the_environment_supplies_what_the_context_lacks() -> None:
    """Environment variables configure a deploy when no context is given."""
    env = {"STAGE_NAME": "dev", "USER_POOL_ID": "eu-west-1_Pool1", "USER_POOL_CLIENT_ID": "client1"}
    config = DeployConfig.from_sources({}, env)
    assert (config.stage, config.user_pool_id, config.user_pool_client_id) == (
        "dev",
        "eu-west-1_Pool1",
        "client1",
    )


def test_context_wins_over_the_environment() -> None:
    """``-c stage=...`` overrides STAGE_NAME."""
    config = DeployConfig.from_sources(GOOD, {"STAGE_NAME": "dev"})
    assert config.stage == "prod"


def test_a_malformed_user_pool_id_is_refused() -> None:
    """A pool id without its region prefix is an error, not a deploy that rejects every token."""
    with pytest.raises(DeployConfigError, match="malformed Cognito user pool id"):
        DeployConfig.from_sources({**GOOD, "userPoolId": "AbC123xyz"}, {})


def test_stream_arns_are_read_from_json_in_the_environment() -> None:
    """DATA_TABLE_STREAM_ARNS holds a JSON object of table name -> stream ARN."""
    env = {"DATA_TABLE_STREAM_ARNS": json.dumps({"healthcoach_food_logs": FOOD_STREAM})}
    config = DeployConfig.from_sources(GOOD, env)
    assert config.data_table_streams == {"healthcoach_food_logs": FOOD_STREAM}
    assert [source.table for source in config.data_tables] == [DATA_TABLES[0]]


def test_a_stream_arn_of_another_table_is_refused() -> None:
    """Each stream ARN must belong to the table it is given for."""
    streams = {"healthcoach_exercise_logs": FOOD_STREAM}
    with pytest.raises(DeployConfigError, match="belongs to table 'healthcoach_food_logs'"):
        DeployConfig.from_sources({**GOOD, "dataTableStreamArns": streams}, {})


def test_a_table_that_is_none_of_ours_needs_its_mapping() -> None:
    """A bare stream ARN stands for one of our tables only: another table must name its family."""
    streams = {"healthcoach_sleep_logs": FOOD_STREAM.replace("food_logs", "sleep_logs")}
    with pytest.raises(DeployConfigError, match="data table 'healthcoach_sleep_logs': family missing"):
        DeployConfig.from_sources({**GOOD, "dataTableStreamArns": streams}, {})


def test_an_existing_apps_tables_are_mapped_by_configuration() -> None:
    """An object entry gives the family, the user and id attributes and renames (README's example)."""
    streams = {"FoodEntries-prod": APP_FOOD, "healthcoach_food_logs": FOOD_STREAM}
    config = DeployConfig.from_sources({**GOOD, "dataTableStreamArns": streams}, {})
    app, ours = (source.table for source in config.data_tables)
    assert app == DataTable(
        name="FoodEntries-prod",
        record="foodLog",
        user_attribute="ownerSub",
        id_attribute="entryId",
        renames=(("kcal", "calories"), ("title", "name")),
    )
    assert ours == DATA_TABLES[0]
    assert config.data_table_streams["FoodEntries-prod"] == APP_STREAM


def test_every_mapping_problem_is_reported_with_the_rest_of_the_config() -> None:
    """A bad family, a rename to an undeclared property and a missing pool id: one error, all named."""
    streams = {
        "FoodEntries-prod": {**APP_FOOD, "renames": {"kcal": "energy"}},
        "Workouts-prod": {
            "streamArn": APP_STREAM.replace("FoodEntries", "Workouts"),
            "family": "run",
        },
    }
    with pytest.raises(DeployConfigError) as caught:
        DeployConfig.from_sources(
            {"stage": "prod", "userPoolClientId": "abc", "dataTableStreamArns": streams}, {}
        )
    message = str(caught.value)
    assert "missing Cognito user pool id" in message
    assert "data table 'FoodEntries-prod': rename 'kcal' -> 'energy': no such property" in message
    assert "data table 'Workouts-prod': unknown family 'run'" in message
    assert "dataTableStreamArns" in message


def test_a_mapping_too_big_for_the_bridges_environment_stops_the_synth() -> None:
    """Lambda's 4 KB of environment: a mapping that cannot fit is refused at synth, not at deploy."""
    streams = {
        f"Table{n:02d}-{'x' * 40}": {
            "streamArn": FOOD_STREAM.replace("healthcoach_food_logs", f"Table{n:02d}-{'x' * 40}"),
            "family": "foodLog",
            "userAttribute": "ownerSub",
            "idAttribute": "entryId",
        }
        for n in range(40)
    }
    with pytest.raises(DeployConfigError, match="more than 3072"):
        DeployConfig.from_sources({**GOOD, "dataTableStreamArns": streams}, {})


def _synth(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python infra/app.py`` (what ``make synth`` runs) with ``env``, run to its end."""
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "infra" / "app.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )


def test_the_entry_point_exits_with_the_message_and_no_traceback() -> None:
    """``python infra/app.py`` (make synth) without configuration: exit 2, the message, no traceback."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("STAGE_NAME", "USER_POOL_ID", "USER_POOL_CLIENT_ID")
    }
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    result = _synth(env)
    assert result.returncode == 2
    assert "missing Cognito user pool id" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_entry_point_refuses_a_bad_mapping_with_a_clear_message() -> None:
    """``make synth`` with a mapping whose family is unknown: exit 2, the table and key named."""
    env = {k: v for k, v in os.environ.items() if k != "DATA_TABLE_STREAM_ARNS"}
    env.update(
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        STAGE_NAME="prod",
        USER_POOL_ID="us-east-1_AbC123xyz",
        USER_POOL_CLIENT_ID="abc123",
        DATA_TABLE_STREAM_ARNS=json.dumps({"FoodEntries-prod": {**APP_FOOD, "family": "meals"}}),
    )
    result = _synth(env)
    assert result.returncode == 2
    assert "data table 'FoodEntries-prod': unknown family 'meals'" in result.stderr
    assert "DATA_TABLE_STREAM_ARNS" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_bus_keeps_events_seven_days_unless_configured() -> None:
    """Without busRetentionDays the bus keeps events BUS_RETENTION_DAYS; context or env change it."""
    assert DeployConfig.from_sources(GOOD, {}).bus_retention_days == BUS_RETENTION_DAYS == 7
    assert DeployConfig.from_sources({**GOOD, "busRetentionDays": 30}, {}).bus_retention_days == 30
    assert DeployConfig.from_sources(GOOD, {"BUS_RETENTION_DAYS": "365"}).bus_retention_days == 365


@pytest.mark.parametrize("days", [0, 366, "7.5", "seven", -1, True])
def test_a_retention_outside_one_to_365_days_is_refused(days: object) -> None:
    """The Custom Event Bus keeps events 1-365 whole days; anything else stops the synth."""
    with pytest.raises(DeployConfigError, match="days the event bus keeps events") as caught:
        DeployConfig.from_sources({**GOOD, "busRetentionDays": days}, {})
    assert "busRetentionDays" in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    """A bad retention and a missing pool id are named in the same error."""
    with pytest.raises(DeployConfigError) as caught:
        DeployConfig.from_sources({"stage": "prod", "userPoolClientId": "abc", "busRetentionDays": 0}, {})
    message = str(caught.value)
    assert "missing Cognito user pool id" in message
    assert "days the event bus keeps events" in message
