"""The local stack's execution environments behave as Lambda's: concurrent, isolated, reused warm,
thrown away on a timeout; and its SQS event source keeps several batches in flight, never two
holding one FIFO message group.

The handlers here are small files written per test (a real ``functions/<name>/handler.py`` each,
loaded by path in a real worker process); the SQS tests run on the emulator's FIFO queue.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from healthcoach_realtime.local.environments import FunctionConfig, FunctionPool, InvocationError
from healthcoach_realtime.local.pollers import SqsEventSource, SqsPoller

PROBE = """
import os, time

# Module state: Lambda shares it between the invocations of one environment, never between two.
invocations = 0


def handler(event, context):
    global invocations
    invocations += 1
    if event.get("raise"):
        raise ValueError("asked to fail")
    started = time.time()
    time.sleep(event.get("sleep", 0))
    return {
        "started": started,
        "ended": time.time(),
        "pid": os.getpid(),
        "invocations": invocations,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        "setting": os.environ.get("PROBE_SETTING"),
    }
"""


@pytest.fixture
def functions_dir(tmp_path: Path) -> Path:
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "handler.py").write_text(PROBE)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "handler.py").write_text("raise ImportError('no such dependency')\n")
    return tmp_path


@pytest.fixture
def probe(functions_dir: Path) -> Iterator[FunctionPool]:
    config = FunctionConfig("probe", timeout_seconds=3, concurrency=3)
    environ = {"PROBE_SETTING": "on", "AWS_LAMBDA_FUNCTION_NAME": "probe-fn"}
    pool = FunctionPool(config, functions_dir, environ)
    yield pool
    pool.close()


def test_concurrent_invocations_run_at_once_in_environments_of_their_own(probe: FunctionPool) -> None:
    """Three invocations of 1 s each were all running at one moment, each in another process, and
    none sees another's module state (each environment counts its own invocations)."""
    with ThreadPoolExecutor(max_workers=3) as callers:
        answers = list(callers.map(probe.invoke, [{"sleep": 1.0}] * 3))
    assert len({a["pid"] for a in answers}) == 3
    assert [a["invocations"] for a in answers] == [1, 1, 1]
    last_start, first_end = max(a["started"] for a in answers), min(a["ended"] for a in answers)
    assert last_start < first_end, "the invocations ran one after another"
    assert probe.peak_concurrency == 3
    assert {a["setting"] for a in answers} == {"on"}
    assert {a["function"] for a in answers} == {"probe-fn"}


def test_an_environment_is_reused_warm_and_the_context_counts_down_from_the_timeout(
    probe: FunctionPool,
) -> None:
    first = probe.invoke({})
    second = probe.invoke({})
    assert second["pid"] == first["pid"]
    assert second["invocations"] == 2
    assert 2000 < first["remaining_ms"] <= 3000


def test_beyond_the_concurrency_an_invocation_waits_for_a_free_environment(functions_dir: Path) -> None:
    pool = FunctionPool(FunctionConfig("probe", timeout_seconds=5, concurrency=1), functions_dir, {})
    try:
        with ThreadPoolExecutor(max_workers=2) as callers:
            answers = list(callers.map(pool.invoke, [{"sleep": 0.3}] * 2))
        assert answers[0]["pid"] == answers[1]["pid"]
        assert pool.environments == 1
        assert pool.peak_concurrency == 1
    finally:
        pool.close()


def test_a_handler_error_fails_that_invocation_only(probe: FunctionPool) -> None:
    with pytest.raises(InvocationError, match="ValueError: asked to fail"):
        probe.invoke({"raise": True})
    assert probe.invoke({})["invocations"] == 2  # the same environment serves on


def test_a_timed_out_invocation_loses_its_environment(probe: FunctionPool) -> None:
    first = probe.invoke({})
    with pytest.raises(InvocationError, match=r"Task timed out after 3\.00 seconds"):
        probe.invoke({"sleep": 10})
    after = probe.invoke({})
    assert after["pid"] != first["pid"]
    assert after["invocations"] == 1


def test_a_handler_that_does_not_import_fails_to_start(functions_dir: Path) -> None:
    pool = FunctionPool(FunctionConfig("broken"), functions_dir, {})
    with pytest.raises(InvocationError, match=r"init failed: .*no such dependency"):
        pool.warm()
    assert pool.environments == 0


# --- the SQS event source ---------------------------------------------------------------------


def test_batches_run_concurrently_but_never_two_with_the_same_message_group(aws_env: str) -> None:
    """Four groups of six messages each (sent group after group, so a batch of 10 holds about two
    groups), handled by a slow invoke: more than one batch is in flight at some point, no group
    is ever in two at once, and each group's messages are handled in the order they were sent."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(
        QueueName="environments-test.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    groups = ["a", "b", "c", "d"]
    for group in groups:
        for number in range(6):
            sqs.send_message(
                QueueUrl=url, MessageBody=json.dumps({"group": group, "n": number}), MessageGroupId=group
            )
    lock = threading.Lock()
    holding: dict[str, int] = {}
    overlaps: list[str] = []
    seen: dict[str, list[int]] = {g: [] for g in groups}
    in_flight = 0
    most_in_flight = 0

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        nonlocal in_flight, most_in_flight
        bodies = [json.loads(record["body"]) for record in event["Records"]]
        mine = {body["group"] for body in bodies}
        with lock:
            in_flight += 1
            most_in_flight = max(most_in_flight, in_flight)
            overlaps.extend(g for g in mine if holding.get(g))
            for g in mine:
                holding[g] = holding.get(g, 0) + 1
            for body in bodies:
                seen[body["group"]].append(body["n"])
        time.sleep(0.3)
        with lock:
            in_flight -= 1
            for g in mine:
                holding[g] -= 1
        return {"batchItemFailures": []}

    stop = threading.Event()
    poller = SqsPoller(
        sqs=sqs, queue_url=url, queue_arn=arn, region="us-east-1", invoke=invoke, wait_seconds=0
    )
    source = SqsEventSource(poller, max_batches=4, stop=stop)
    deadline = time.monotonic() + 30
    try:
        while sum(map(len, seen.values())) < 24 and time.monotonic() < deadline:
            source.step()
            time.sleep(0.01)
    finally:
        stop.set()
        source.close()
    assert {g: sorted(ns) for g, ns in seen.items()} == {g: list(range(6)) for g in groups}
    assert seen == {g: list(range(6)) for g in groups}, "a group's messages were handled out of order"
    assert overlaps == [], f"groups held by two batches at once: {overlaps}"
    assert most_in_flight > 1, "the batches ran one after another"


def test_a_waiting_receive_gets_a_group_as_soon_as_its_batch_is_deleted(aws_env: str) -> None:
    """A receive that starts while a user's first message is in flight gets the second message
    right after the first is deleted, not at the end of its wait (moto alone waits it out)."""
    from healthcoach_realtime.local.sqs_long_poll import recheck_groups_while_polling

    recheck_groups_while_polling()
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(
        QueueName="long-poll-test.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    for body in ("first", "second"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="user")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=30)["Messages"]
    assert [m["Body"] for m in first] == ["first"]
    got: list[tuple[str, float]] = []

    def wait_for_second() -> None:
        started = time.monotonic()
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10, VisibilityTimeout=30)
        got.extend((m["Body"], time.monotonic() - started) for m in messages.get("Messages", []))

    waiting = threading.Thread(target=wait_for_second)
    waiting.start()
    time.sleep(0.3)  # the receive is waiting, with the group in flight
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    waiting.join(timeout=15)
    assert [body for body, _ in got] == ["second"]
    assert got[0][1] < 5, f"the waiting receive got the group only after {got[0][1]:.1f} s"
