"""in_process.route_to_app: the local stack's own boto3 calls reach moto's app without a socket.

The endpoint below has nothing listening on it, so every call that succeeds went in-process.
Runs in a subprocess: routing is installed on boto3's default session, which the test session
shares with every other test.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.support.network import free_port

SCRIPT = textwrap.dedent(
    """
    import boto3, json, sys
    from healthcoach_realtime.local.emulator import MemoizedDispatcher
    from healthcoach_realtime.local.in_process import route_to_app
    from healthcoach_realtime.local.provision import create_connections_table

    endpoint = sys.argv[1]
    route_to_app(MemoizedDispatcher(), endpoint)
    kwargs = dict(endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="local", aws_secret_access_key="local")
    dynamodb = boto3.client("dynamodb", **kwargs)
    create_connections_table(dynamodb, "t")
    dynamodb.put_item(TableName="t", Item={"connectionId": {"S": "c1"}, "userId": {"S": "u1"}})
    found = dynamodb.get_item(TableName="t", Key={"connectionId": {"S": "c1"}})["Item"]
    try:
        dynamodb.get_item(TableName="missing", Key={"connectionId": {"S": "c1"}})
        error = None
    except dynamodb.exceptions.ResourceNotFoundException as exc:
        error = exc.response["Error"]["Code"]
    sqs = boto3.client("sqs", **kwargs)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    body = sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"]
    print(json.dumps({"item": found, "error": error, "body": body}))
    """
)


def test_calls_to_the_routed_endpoint_are_answered_in_process() -> None:
    """Items, typed errors and SQS messages round-trip with no server on the port."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, endpoint], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == (
        '{"item": {"connectionId": {"S": "c1"}, "userId": {"S": "u1"}}, '
        '"error": "ResourceNotFoundException", "body": "hello"}'
    )
