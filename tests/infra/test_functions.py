"""The functions: Python 3.13 on arm64, sized per job, their logs kept a month, configured by env."""

from __future__ import annotations

from typing import Any

import pytest

from healthcoach_infra.functions import FUNCTIONS
from healthcoach_realtime import manifest
from healthcoach_realtime.dispatch.deliver import ATTEMPT_SECONDS
from healthcoach_realtime.observability import NAMESPACE, service_name
from healthcoach_realtime.resources import DATA_TABLES, DISPATCH_VISIBILITY_TIMEOUT_SECONDS
from healthcoach_realtime.settings import DEFAULT_REDELIVERY_DELAY_MAX_SECONDS
from healthcoach_realtime.table_mapping import decode_tables
from tests.infra.conftest import CLIENT_ID, STAGE, USER_POOL_ID, Synthesized
from tests.support.lambda_handlers import load_handler

NAMES = [entry.name for entry in manifest.FUNCTIONS]


def _function(synthesized: Synthesized, name: str) -> dict[str, Any]:
    construct = synthesized.stack.functions[name]
    return dict(synthesized.resources[synthesized.logical_id(construct.function)]["Properties"])


def _env(synthesized: Synthesized, name: str) -> dict[str, Any]:
    return dict(_function(synthesized, name)["Environment"]["Variables"])


@pytest.mark.parametrize("name", NAMES)
def test_python_313_on_arm64_with_the_bundled_handler(synthesized: Synthesized, name: str) -> None:
    """Runtime python3.13, architecture arm64, handler ``handler.handler`` at the bundle root."""
    function = _function(synthesized, name)
    assert (function["Runtime"], function["Architectures"], function["Handler"]) == (
        "python3.13",
        ["arm64"],
        "handler.handler",
    )


@pytest.mark.parametrize("name", NAMES)
def test_memory_and_timeout_are_the_specs(synthesized: Synthesized, name: str) -> None:
    """Memory and timeout come from ``FUNCTIONS``, the one place they are decided."""
    function = _function(synthesized, name)
    assert (function["MemorySize"], function["Timeout"]) == (
        FUNCTIONS[name].memory_mb,
        FUNCTIONS[name].timeout_seconds,
    )


def test_the_dispatcher_has_time_to_post_and_sqs_waits_six_times_as_long(synthesized: Synthesized) -> None:
    """AWS's advice for an SQS source: visibility >= 6x the function's timeout, or a message
    comes back while its first invocation still runs. And the deadline (no post starts that
    could outlast the invocation, less the time kept to report) must leave 10 s or more for
    the DynamoDB stage before posts are deferred to a redelivery, which spends a receive."""
    timeout = _function(synthesized, "dispatcher")["Timeout"]
    assert 6 * timeout <= DISPATCH_VISIBILITY_TIMEOUT_SECONDS
    assert timeout - load_handler("dispatcher").REPORT_SECONDS - ATTEMPT_SECONDS >= 10
    # A failed record is shown again sooner than the visibility timeout would, never later.
    assert "REDELIVERY_DELAY_MAX_SECONDS" not in _env(synthesized, "dispatcher")
    assert DEFAULT_REDELIVERY_DELAY_MAX_SECONDS < DISPATCH_VISIBILITY_TIMEOUT_SECONDS


@pytest.mark.parametrize("name", NAMES)
def test_logs_go_to_a_log_group_with_retention(synthesized: Synthesized, name: str) -> None:
    """Each function logs to its own group, which keeps entries 30 days."""
    log_group = _function(synthesized, name)["LoggingConfig"]["LogGroup"]["Ref"]
    assert synthesized.resources[log_group]["Properties"]["RetentionInDays"] == 30


@pytest.mark.parametrize("name", NAMES)
def test_powertools_is_configured_by_environment(synthesized: Synthesized, name: str) -> None:
    """Service name (the stage's: its metrics stay apart), metrics namespace and log level."""
    env = _env(synthesized, name)
    assert (env["POWERTOOLS_SERVICE_NAME"], env["POWERTOOLS_METRICS_NAMESPACE"], env["LOG_LEVEL"]) == (
        service_name(STAGE),
        NAMESPACE,
        "INFO",
    )


def _app_env(synthesized: Synthesized, name: str) -> set[str]:
    return {k for k in _env(synthesized, name) if not k.startswith("POWERTOOLS_") and k != "LOG_LEVEL"}


def test_connect_knows_the_table_and_the_user_pool(synthesized: Synthesized) -> None:
    """connect: CONNECTIONS_TABLE, HISTORY_TABLE (the note of a new connection), USER_POOL_ID,
    USER_POOL_CLIENT_ID (as configured), WS_API_ENDPOINT (GetConnection at the limit),
    MAX_CONNECTIONS_PER_USER (context maxConnectionsPerUser, default 10)."""
    env = _env(synthesized, "connect")
    table = synthesized.logical_id(synthesized.stack.connections.table)
    assert _app_env(synthesized, "connect") == {
        "CONNECTIONS_TABLE",
        "HISTORY_TABLE",
        "USER_POOL_ID",
        "USER_POOL_CLIENT_ID",
        "WS_API_ENDPOINT",
        "MAX_CONNECTIONS_PER_USER",
    }
    assert (
        env["CONNECTIONS_TABLE"],
        env["USER_POOL_ID"],
        env["USER_POOL_CLIENT_ID"],
        env["MAX_CONNECTIONS_PER_USER"],
    ) == ({"Ref": table}, USER_POOL_ID, CLIENT_ID, "10")


def test_disconnect_knows_the_table_and_the_management_endpoint(synthesized: Synthesized) -> None:
    """disconnect: CONNECTIONS_TABLE, HISTORY_TABLE (its note goes) and WS_API_ENDPOINT (presence to
    the remaining connections)."""
    assert _app_env(synthesized, "disconnect") == {"CONNECTIONS_TABLE", "HISTORY_TABLE", "WS_API_ENDPOINT"}


def test_the_dispatcher_knows_table_management_endpoint_and_dlq(synthesized: Synthesized) -> None:
    """dispatcher: CONNECTIONS_TABLE, WS_API_ENDPOINT (https://<api>.execute-api.../<stage>), DLQ URL,
    HISTORY_TABLE and HISTORY_TTL_SECONDS."""
    env = _env(synthesized, "dispatcher")
    assert _app_env(synthesized, "dispatcher") == {
        "CONNECTIONS_TABLE",
        "WS_API_ENDPOINT",
        "DEAD_LETTER_QUEUE_URL",
        "HISTORY_TABLE",
        "HISTORY_TTL_SECONDS",
    }
    assert env["HISTORY_TABLE"] == {"Ref": synthesized.logical_id(synthesized.stack.history.table)}
    assert env["HISTORY_TTL_SECONDS"] == "86400"
    endpoint = env["WS_API_ENDPOINT"]["Fn::Join"][1]
    assert endpoint[0] == "https://"
    assert endpoint[-1] == "/test"
    assert env["DEAD_LETTER_QUEUE_URL"] == {
        "Ref": synthesized.logical_id(synthesized.stack.pipeline.dead_letter_queue)
    }


def test_the_stream_bridge_knows_the_bus_and_its_failure_queue(synthesized: Synthesized) -> None:
    """stream_bridge: EVENT_BUS_ARN (what PutEvents takes: no lookup), EVENT_BUS_NAME,
    DEAD_LETTER_QUEUE_URL (its own failure queue) and DATA_TABLE_MAPPINGS (the configured tables)."""
    env = _env(synthesized, "stream_bridge")
    pipeline = synthesized.stack.pipeline
    assert _app_env(synthesized, "stream_bridge") == {
        "EVENT_BUS_ARN",
        "EVENT_BUS_NAME",
        "DEAD_LETTER_QUEUE_URL",
        "DATA_TABLE_MAPPINGS",
    }
    assert decode_tables(env["DATA_TABLE_MAPPINGS"]) == DATA_TABLES
    assert env["EVENT_BUS_ARN"] == {
        "Fn::GetAtt": [synthesized.stack.get_logical_id(pipeline.bus), "EventBusArn"]
    }
    assert env["EVENT_BUS_NAME"] == f"healthcoach-realtime-{STAGE}"
    assert env["DEAD_LETTER_QUEUE_URL"] == {"Ref": synthesized.logical_id(pipeline.stream_bridge_failures)}


def test_no_function_holds_a_managed_policy(synthesized: Synthesized) -> None:
    """Function roles start empty (no AWSLambdaBasicExecutionRole): every permission is explicit."""
    stack = synthesized.stack
    for fn in (stack.connect, stack.disconnect, stack.dispatcher, stack.stream_bridge, stack.session_sweeper):
        role = synthesized.resources[synthesized.logical_id(fn.role)]["Properties"]
        assert "ManagedPolicyArns" not in role


def test_default_knows_both_tables_the_management_endpoint_and_the_user_pool(
    synthesized: Synthesized,
) -> None:
    """default ($default: ping/resume/auth): CONNECTIONS_TABLE, HISTORY_TABLE, WS_API_ENDPOINT, and
    the pool $connect verifies against (auth re-verifies exactly as $connect does)."""
    env = _env(synthesized, "default")
    assert _app_env(synthesized, "default") == {
        "CONNECTIONS_TABLE",
        "HISTORY_TABLE",
        "WS_API_ENDPOINT",
        "USER_POOL_ID",
        "USER_POOL_CLIENT_ID",
    }
    assert (env["USER_POOL_ID"], env["USER_POOL_CLIENT_ID"]) == (USER_POOL_ID, CLIENT_ID)


def test_the_session_sweeper_knows_the_table_and_the_management_endpoint(synthesized: Synthesized) -> None:
    """session_sweeper: CONNECTIONS_TABLE and WS_API_ENDPOINT; two passes a run (the default), so no
    SESSION_SWEEPS_PER_RUN; its timeout leaves the second pass (at 30 s) its time."""
    assert _app_env(synthesized, "session_sweeper") == {"CONNECTIONS_TABLE", "WS_API_ENDPOINT"}
    sweeper = load_handler("session_sweeper")
    assert _function(synthesized, "session_sweeper")["Timeout"] >= 30 + sweeper.PASS_SECONDS


def test_the_local_stack_runs_each_function_with_its_deployed_timeout_memory_and_concurrency(
    synthesized: Synthesized,
) -> None:
    """``hc-realtime dev`` gives each function the limits the stack deploys (its handler reads
    its remaining time from them), and the dispatcher the event source's maximum concurrency."""
    from healthcoach_realtime.local.stack import function_config

    for entry in manifest.FUNCTIONS:
        local = function_config(entry, lambda_concurrency=1000)
        deployed = _function(synthesized, entry.name)
        assert (local.timeout_seconds, local.memory_mb) == (deployed["Timeout"], deployed["MemorySize"])
    sqs_mappings = [
        m["Properties"]
        for m in synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
        if "ScalingConfig" in m["Properties"]
    ]
    assert [m["ScalingConfig"]["MaximumConcurrency"] for m in sqs_mappings] == [
        function_config(manifest.by_name()["dispatcher"], lambda_concurrency=1000).concurrency
    ]
