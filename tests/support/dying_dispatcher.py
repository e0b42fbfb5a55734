"""The dispatcher in a process that dies mid-batch, as a Lambda runtime killed by a crash or timeout.

``python -m tests.support.dying_dispatcher QUEUE_URL QUEUE_ARN POSTS`` receives one batch as the
local stack's ``SqsPoller`` does and invokes the dispatcher handler (loaded by path); once
``POSTS`` PostToConnection calls have been answered, the process ends with ``os._exit(DIED)``:
no response, nothing deleted, so SQS makes the whole batch visible again after its visibility
timeout. The environment (``AWS_ENDPOINT_URL``, tables, ``WS_API_ENDPOINT``, ...) is inherited.
Exit codes: ``DIED``; ``SURVIVED`` (the batch needed fewer posts); ``NO_BATCH``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

__all__ = ["DIED", "NO_BATCH", "SURVIVED", "main"]

DIED = 3
SURVIVED = 0
NO_BATCH = 4
RECEIVE_SECONDS = 10.0


def main(queue_url: str, queue_arn: str, posts: int) -> int:
    import boto3

    from healthcoach_realtime import clients
    from healthcoach_realtime.local.pollers import SqsPoller
    from tests.support.lambda_handlers import LambdaContext, load_handler

    dispatcher = load_handler("dispatcher")
    answered = 0
    lock = threading.Lock()

    def die_after_posts(**_: Any) -> None:
        nonlocal answered
        with lock:
            answered += 1
            if answered >= posts:
                os._exit(DIED)

    clients.management_api_client().meta.events.register(
        "after-call.apigatewaymanagementapi.PostToConnection", die_after_posts
    )
    handled = False

    def invoke(event: dict[str, Any]) -> Any:
        nonlocal handled
        handled = True
        return dispatcher.handler(event, LambdaContext())

    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    poller = SqsPoller(
        sqs=boto3.client("sqs", region_name=region),
        queue_url=queue_url,
        queue_arn=queue_arn,
        region=region,
        invoke=invoke,
        visibility_timeout=1,
        wait_seconds=1,
    )
    deadline = time.monotonic() + RECEIVE_SECONDS
    while not handled and time.monotonic() < deadline:
        poller.poll_once()
    return SURVIVED if handled else NO_BATCH


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
