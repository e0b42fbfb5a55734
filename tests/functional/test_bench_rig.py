"""bench.rig's three sides against moto's server and the @connections fake, over HTTP.

The fan-out benchmark's ratios mean something only if each side does what it claims: the same
frames reach the same connections, and the posts-only ceiling makes no DynamoDB call at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from bench.rig import Rig
from bench.workload import Workload
from tests.support.management_api import ManagementApiFake


@pytest.fixture
def rig(moto_endpoint: str) -> Iterator[tuple[Rig, ManagementApiFake]]:
    with ManagementApiFake() as fake:
        rig = Rig(moto_endpoint, fake.endpoint)
        try:
            yield rig, fake
        finally:
            rig.close()


def test_the_ceiling_posts_every_message_and_calls_no_dynamodb(rig: tuple[Rig, ManagementApiFake]) -> None:
    """12 events over 3 users with 2 connections each: 24 posts, each connection its user's
    events in order, and not one DynamoDB call."""
    bench, fake = rig
    workload = Workload(bench.dynamodb, bench.table, users=3, per_user=2)
    envelopes = workload.events(12, burst=False)
    bench.counter.reset()

    bench.run_posts_only(envelopes, workload)

    assert {k: v for k, v in bench.counter.snapshot().items() if k.startswith("dynamodb.")} == {}
    assert bench.counter.count("apigatewaymanagementapi.PostToConnection") == 24
    for user in workload.user_ids:
        sent = [e["id"] for e in envelopes if e["detail"]["userId"] == user]
        for connection_id in workload.connection_ids(user):
            assert [json.loads(f)["id"] for f in fake.frames(connection_id)] == sent


def test_closing_the_rig_gives_the_logger_its_level_back(moto_endpoint: str) -> None:
    """The rig quiets the dispatcher's INFO lines while it measures, and only then: later tests
    (and a handler after a benchmark) log at the level they had."""
    from healthcoach_realtime.observability import logger

    before = logger.log_level
    with ManagementApiFake() as fake:
        rig = Rig(moto_endpoint, fake.endpoint)
        assert logger.log_level > before
        rig.close()
    assert logger.log_level == before


def test_ours_and_the_baseline_reach_the_same_connections(rig: tuple[Rig, ManagementApiFake]) -> None:
    """The dispatcher and the baseline each post every event once to each of its user's
    connections, so their rates count the same messages."""
    bench, fake = rig
    workload = Workload(bench.dynamodb, bench.table, users=2, per_user=3)
    envelopes = workload.events(4, burst=False)

    for run in (bench.run_ours, bench.run_baseline):
        bench.counter.reset()
        run(envelopes)
        assert bench.counter.count("apigatewaymanagementapi.PostToConnection") == 12

    for user in workload.user_ids:
        for connection_id in workload.connection_ids(user):
            assert len(fake.frames(connection_id)) == 4  # two events, from each side
