"""Least privilege: each function may do exactly what its code does, on exactly its resources."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.conftest import STAGE, STREAM_ARNS, Synthesized

LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}


def _statements(synthesized: Synthesized, name: str) -> list[dict[str, Any]]:
    """Every Allow statement of a function's role (its inline policies)."""
    role = getattr(synthesized.stack, name).role
    role_ref = {"Ref": synthesized.logical_id(role)}
    statements = []
    for policy in synthesized.of_type("AWS::IAM::Policy").values():
        if role_ref in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    assert all(s["Effect"] == "Allow" for s in statements)
    return statements


def _grants(synthesized: Synthesized, name: str) -> set[tuple[str, str]]:
    """(action, resource as JSON) pairs of a function, without its own log writes."""
    pairs = set()
    for statement in _statements(synthesized, name):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        pairs |= {(a, json.dumps(r, sort_keys=True)) for a in actions for r in resources if a not in LOGS}
    return pairs


def _arn(synthesized: Synthesized, construct: Any) -> str:
    return json.dumps({"Fn::GetAtt": [synthesized.logical_id(construct), "Arn"]}, sort_keys=True)


def _index_arn(synthesized: Synthesized, construct: Any = None, index: str = "GSI1") -> str:
    table = synthesized.logical_id(construct or synthesized.stack.connections.table)
    return json.dumps({"Fn::Join": ["", [{"Fn::GetAtt": [table, "Arn"]}, f"/index/{index}"]]}, sort_keys=True)


def test_each_function_writes_only_its_own_log_group(synthesized: Synthesized) -> None:
    """Log writes are granted on the function's log group, nothing wider."""
    for name in ("connect", "disconnect", "dispatcher", "stream_bridge"):
        fn = getattr(synthesized.stack, name)
        log_statements = [s for s in _statements(synthesized, name) if set(s["Action"]) == LOGS]
        assert [s["Resource"] for s in log_statements] == [
            {"Fn::GetAtt": [synthesized.logical_id(fn.log_group), "Arn"]}
        ]


def _presence(synthesized: Synthesized) -> set[tuple[str, str]]:
    """Query GSI1 and POST @connections on this stage: what presence needs."""
    index = _index_arn(synthesized)
    return {("dynamodb:Query", index), ("execute-api:ManageConnections", _post_arn(synthesized))}


def _post_arn(synthesized: Synthesized) -> str:
    grants = _grants(synthesized, "dispatcher")
    return next(r for a, r in grants if a == "execute-api:ManageConnections")


def _connections_arn(synthesized: Synthesized, method: str) -> str:
    """``@connections/*`` of this stage for one method, as the dispatcher's POST grant names it."""
    return _post_arn(synthesized).replace(
        f"/{STAGE}/POST/@connections/*", f"/{STAGE}/{method}/@connections/*"
    )


def test_connect_may_only_put_connections_check_the_limit_and_note_the_connection(
    synthesized: Synthesized,
) -> None:
    """connect: PutItem on the table; for the limit Query GSI1, GET @connections and DeleteItem of a
    gone connection's row; GetItem and UpdateItem on the history table (the note on the user's
    counter); no post (presence is not its job); nothing else."""
    table = _arn(synthesized, synthesized.stack.connections.table)
    history = _arn(synthesized, synthesized.stack.history.table)
    assert _grants(synthesized, "connect") == {
        ("dynamodb:PutItem", table),
        ("dynamodb:DeleteItem", table),
        ("dynamodb:Query", _index_arn(synthesized)),
        ("dynamodb:GetItem", history),
        ("dynamodb:UpdateItem", history),
        ("execute-api:ManageConnections", _connections_arn(synthesized, "GET")),
    }


def test_disconnect_may_only_delete_connections_and_announce_presence(synthesized: Synthesized) -> None:
    """disconnect: dynamodb:DeleteItem on the table, UpdateItem on the history table (its note goes),
    plus presence; nothing else."""
    table = _arn(synthesized, synthesized.stack.connections.table)
    history = _arn(synthesized, synthesized.stack.history.table)
    assert _grants(synthesized, "disconnect") == {
        ("dynamodb:DeleteItem", table),
        ("dynamodb:UpdateItem", history),
    } | _presence(synthesized)


def test_the_dispatcher_queries_the_index_and_posts_on_this_stage_only(synthesized: Synthesized) -> None:
    """dispatcher: Query on GSI1, DeleteItem on the table, POST @connections on this stage, its queues,
    and on the history table the counter update, the conditional puts and the fallback read
    (no Query, Scan, batch or DeleteItem there)."""
    stack = synthesized.stack
    api = synthesized.logical_id(stack.websocket.api)
    connections = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":execute-api:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":",
                {"Ref": api},
                f"/{STAGE}/POST/@connections/*",
            ],
        ]
    }
    queue = _arn(synthesized, stack.pipeline.queue)
    history = _arn(synthesized, stack.history.table)
    assert _grants(synthesized, "dispatcher") == {
        ("dynamodb:UpdateItem", history),
        ("dynamodb:PutItem", history),
        ("dynamodb:GetItem", history),
        ("dynamodb:Query", _index_arn(synthesized)),
        ("dynamodb:DeleteItem", _arn(synthesized, stack.connections.table)),
        ("execute-api:ManageConnections", json.dumps(connections, sort_keys=True)),
        ("sqs:SendMessage", _arn(synthesized, stack.pipeline.dead_letter_queue)),
        ("sqs:ReceiveMessage", queue),
        ("sqs:ChangeMessageVisibility", queue),
        ("sqs:GetQueueUrl", queue),
        ("sqs:DeleteMessage", queue),
        ("sqs:GetQueueAttributes", queue),
    }


def test_the_stream_bridge_puts_events_only_on_the_bus(synthesized: Synthesized) -> None:
    """stream_bridge: events:PutEvents on the Custom Event Bus's ARN, its failure queue, and reading
    the configured streams."""
    stack = synthesized.stack
    bus = stack.get_logical_id(stack.pipeline.bus)
    failures = _arn(synthesized, stack.pipeline.stream_bridge_failures)
    expected = {
        ("events:PutEvents", json.dumps({"Fn::GetAtt": [bus, "EventBusArn"]}, sort_keys=True)),
        ("sqs:SendMessage", failures),
        ("sqs:GetQueueAttributes", failures),
        ("sqs:GetQueueUrl", failures),
        ("dynamodb:ListStreams", json.dumps("*")),
    }
    for arn in STREAM_ARNS.values():
        for action in ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"):
            expected.add((action, json.dumps(arn)))
    assert _grants(synthesized, "stream_bridge") == expected


def test_only_the_stream_bridge_does_not_manage_connections(synthesized: Synthesized) -> None:
    """The routes (presence, answers) and the dispatcher may post; no other policy mentions it."""
    holders = [
        policy["Properties"]["Roles"]
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        if "execute-api:ManageConnections" in json.dumps(policy)
    ]
    stack = synthesized.stack
    assert stack.default is not None
    posters = (stack.connect, stack.disconnect, stack.dispatcher, stack.default, stack.session_sweeper)
    expected = [[{"Ref": synthesized.logical_id(fn.role)}] for fn in posters if fn is not None]
    assert sorted(holders, key=json.dumps) == sorted(expected, key=json.dumps)


def test_only_the_stream_bridge_puts_events(synthesized: Synthesized) -> None:
    """No other role's policy grants events:PutEvents (producers outside the stack attach the
    producer managed policy)."""
    holders = [
        policy["Properties"]["Roles"]
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        if "events:PutEvents" in json.dumps(policy)
    ]
    assert holders == [[{"Ref": synthesized.logical_id(synthesized.stack.stream_bridge.role)}]]


def test_api_gateway_may_invoke_only_the_route_functions(synthesized: Synthesized) -> None:
    """Lambda permissions exist for the routed functions, each scoped to this API's routes."""
    api = synthesized.logical_id(synthesized.stack.websocket.api)
    permissions = synthesized.of_type("AWS::Lambda::Permission").values()
    routed = {
        synthesized.logical_id(fn.function)
        for name, fn in synthesized.functions().items()
        if name in ("connect", "disconnect", "default")
    }
    assert {p["Properties"]["FunctionName"]["Fn::GetAtt"][0] for p in permissions} == routed
    for permission in permissions:
        assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
        assert {"Ref": api} in permission["Properties"]["SourceArn"]["Fn::Join"][1]


def test_default_counts_on_its_row_reads_the_history_and_posts_or_closes(synthesized: Synthesized) -> None:
    """default: UpdateItem (message count, auth's exp) and DeleteItem (an abusive connection found
    gone) on connections, Query on GSI1 (presence), GetItem (the counter) and Query (bySeq) on the
    history, POST and DELETE @connections on this stage; no history writes."""
    stack = synthesized.stack
    history = _arn(synthesized, stack.history.table)
    table = _arn(synthesized, stack.connections.table)
    assert _grants(synthesized, "default") == {
        ("dynamodb:UpdateItem", table),
        ("dynamodb:DeleteItem", table),
        ("dynamodb:Query", _index_arn(synthesized)),
        ("dynamodb:GetItem", history),
        ("dynamodb:Query", _index_arn(synthesized, stack.history.table, "bySeq")),
        ("execute-api:ManageConnections", _connections_arn(synthesized, "POST")),
        ("execute-api:ManageConnections", _connections_arn(synthesized, "DELETE")),
    }


def test_the_session_sweeper_scans_deletes_and_closes_on_this_stage_only(synthesized: Synthesized) -> None:
    """session_sweeper: Scan and DeleteItem on the connections table, Query on GSI1 (presence),
    POST (presence) and DELETE (close) @connections on this stage; nothing else."""
    table = _arn(synthesized, synthesized.stack.connections.table)
    assert _grants(synthesized, "session_sweeper") == {
        ("dynamodb:Scan", table),
        ("dynamodb:DeleteItem", table),
        ("dynamodb:Query", _index_arn(synthesized)),
        ("execute-api:ManageConnections", _connections_arn(synthesized, "POST")),
        ("execute-api:ManageConnections", _connections_arn(synthesized, "DELETE")),
    }


def test_the_sign_out_policy_grants_exactly_what_disconnect_user_calls(synthesized: Synthesized) -> None:
    """SignOutPolicyArn: Query on GSI1, DeleteItem on the table, GetItem on the history table (the
    notes of new connections), DELETE @connections on this stage."""
    policy = synthesized.resources[synthesized.logical_id(synthesized.stack.sign_out.policy)]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    pairs = {
        (s["Action"], json.dumps(s["Resource"], sort_keys=True)) for s in statements if s["Effect"] == "Allow"
    }
    assert pairs == {
        ("dynamodb:Query", _index_arn(synthesized)),
        ("dynamodb:DeleteItem", _arn(synthesized, synthesized.stack.connections.table)),
        ("dynamodb:GetItem", _arn(synthesized, synthesized.stack.history.table)),
        ("execute-api:ManageConnections", _connections_arn(synthesized, "DELETE")),
    }
    output = synthesized.outputs["SignOutPolicyArn"]["Value"]
    assert output == {"Ref": synthesized.logical_id(synthesized.stack.sign_out.policy)}


def test_the_schedule_may_only_invoke_the_sweeper(synthesized: Synthesized) -> None:
    """The schedule's own role: lambda:InvokeFunction on the session sweeper (and its versions), only,
    assumable by EventBridge Scheduler alone."""
    schedule = synthesized.stack.sweep_schedule
    role_ref = {"Ref": synthesized.logical_id(schedule.role)}
    statements = [
        statement
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        if role_ref in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    sweeper = synthesized.logical_id(synthesized.stack.session_sweeper.function)
    assert [s["Action"] for s in statements] == ["lambda:InvokeFunction"]
    assert sweeper in json.dumps(statements[0]["Resource"])
    assert all(sweeper in json.dumps(r) for r in statements[0]["Resource"])
    trust = synthesized.resources[synthesized.logical_id(schedule.role)]["Properties"][
        "AssumeRolePolicyDocument"
    ]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "scheduler.amazonaws.com"}]
