"""The dispatcher's decisions: what a status means, retry delays, grouping, failed records."""

from __future__ import annotations

import pytest

from healthcoach_realtime.dispatch.parse import DispatchEvent, InvalidRecord
from healthcoach_realtime.dispatch.plan import (
    DISPATCH_RETRY,
    Delivery,
    Outcome,
    behind_failures,
    classify,
    group_by_user,
    interleave,
    not_sent_summary,
    progress_marks,
    summarize,
)
from healthcoach_realtime.retry import RetryPolicy


def event(message_id: str, user_id: str) -> DispatchEvent:
    return DispatchEvent(message_id, f"e-{message_id}", "foodLogDeleted", user_id, {"id": "f1"}, "T")


def delivery(message_id: str, connection_id: str, outcome: Outcome, attempts: int = 1) -> Delivery:
    return Delivery(message_id, f"e-{message_id}", connection_id, outcome, None, attempts)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.SENT),
        (410, Outcome.GONE),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
        (None, Outcome.RETRY),
        (403, Outcome.PERMANENT),
        (413, Outcome.PERMANENT),
        (400, Outcome.PERMANENT),
    ],
)
def test_status_decides_the_outcome(status: int | None, outcome: Outcome) -> None:
    """200 sent, 410 gone, 429/5xx/no answer retried, 403/413 and other 4xx permanent."""
    assert classify(status) is outcome


def test_retry_delays_are_full_jitter_capped() -> None:
    """Delay before retry n is uniform in [0, min(max, base * 2**(n-1))]."""
    policy = RetryPolicy(attempts=5, base_delay=0.05, max_delay=0.15)
    assert [policy.delay(n, rng=lambda: 1.0) for n in (1, 2, 3, 4)] == [0.05, 0.1, 0.15, 0.15]
    assert policy.delay(3, rng=lambda: 0.0) == 0.0


def test_default_retries_fit_a_lambda_timeout() -> None:
    """The dispatcher's policy sleeps well under a second in total per delivery."""
    policy = DISPATCH_RETRY
    assert sum(policy.delay(n, rng=lambda: 1.0) for n in range(1, policy.attempts)) < 1.0


def test_events_are_grouped_by_user_in_order() -> None:
    """One group per user (one connection lookup each), events in batch order."""
    groups = group_by_user([event("1", "a"), event("2", "b"), event("3", "a")])
    assert {user: [e.message_id for e in events] for user, events in groups.items()} == {
        "a": ["1", "3"],
        "b": ["2"],
    }


def test_exhausted_retry_fails_the_record_and_only_it() -> None:
    """A delivery still transient after retries fails its record; sent and gone ones do not."""
    records = [event("1", "a"), event("2", "a")]
    report = summarize(
        records,
        [
            delivery("1", "c1", Outcome.SENT),
            delivery("1", "c2", Outcome.GONE),
            delivery("2", "c1", Outcome.SENT),
            delivery("2", "c2", Outcome.RETRY, attempts=3),
        ],
        stale_connections_removed=1,
    )
    assert report.response == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert (report.events_dispatched, report.messages_sent, report.delivery_failures) == (1, 2, 1)
    assert report.stale_connections_removed == 1


def test_permanent_failure_is_counted_but_not_retried() -> None:
    """403/413 count as delivery failures, but redelivery cannot help, so the record succeeds."""
    report = summarize([event("1", "a")], [delivery("1", "c1", Outcome.PERMANENT)])
    assert report.failed_message_ids == ()
    assert report.delivery_failures == 1


def test_invalid_record_is_counted_not_failed() -> None:
    """An invalid (dead-lettered) record is never reported: SQS must not retry it forever."""
    report = summarize([InvalidRecord("1", "bad"), event("2", "a")], [])
    assert (report.invalid_events, report.events_dispatched, report.failed_message_ids) == (1, 1, ())


def test_record_that_could_not_be_dead_lettered_is_retried() -> None:
    """If SQS refused the dead letter, SQS's own redrive must take the record instead."""
    report = summarize([InvalidRecord("1", "bad")], [], undead_lettered=["1"])
    assert report.failed_message_ids == ("1",)


def test_unreachable_user_fails_all_their_records() -> None:
    """When a user's connections could not be looked up, their records are redelivered."""
    report = summarize([event("1", "a"), event("2", "b"), event("3", "a")], [], unreachable_users=["a"])
    assert report.failed_message_ids == ("1", "3")
    assert report.events_dispatched == 1


def test_user_without_connections_is_not_a_failure() -> None:
    """No connections, no deliveries: the event is dispatched (to nobody) and succeeds."""
    report = summarize([event("1", "a")], [])
    assert (report.events_dispatched, report.failed_message_ids) == (1, ())


def grouped(message_id: str, group: str) -> DispatchEvent:
    return DispatchEvent(message_id, f"e-{message_id}", "foodLogDeleted", "u", {"id": "f1"}, "T", group=group)


def test_a_fifo_groups_events_behind_a_failure_are_redelivered_too() -> None:
    """m2 failed in shard-01: m3 (same group, later) goes back with it; m1 (earlier) and m4
    (another group) do not."""
    events = [
        grouped("m1", "shard-01"),
        grouped("m2", "shard-01"),
        grouped("m3", "shard-01"),
        grouped("m4", "x"),
    ]
    assert behind_failures(events, {"m2"}) == {"m3"}


def test_a_standard_queues_events_are_independent() -> None:
    """No message group: a failure holds nothing back."""
    assert behind_failures([grouped("m1", ""), grouped("m2", "")], {"m1"}) == set()


def test_a_held_back_event_every_connection_has_is_not_redelivered() -> None:
    """m3 is behind m2's failure in its group, but was delivered everywhere: redelivering it
    could only post duplicates (and dead-letter a delivered event); m4, not delivered, goes back."""
    events = [grouped(m, "household") for m in ("m1", "m2", "m3", "m4")]
    assert behind_failures(events, {"m2"}, delivered={"m1", "m3"}) == {"m4"}


def test_a_delivered_event_of_another_user_behind_a_failure_is_not_reported() -> None:
    """One group, two users: a's m1 failed on its connection; b's m2 behind it reached b's only
    connection, so only m1 is reported."""
    records = [
        DispatchEvent("m1", "e-m1", "foodLogDeleted", "a", {}, "T", group="g"),
        DispatchEvent("m2", "e-m2", "foodLogDeleted", "b", {}, "T", group="g"),
    ]
    deliveries = [delivery("m1", "a1", Outcome.RETRY, attempts=3), delivery("m2", "b1", Outcome.SENT)]
    assert summarize(records, deliveries).failed_message_ids == ("m1",)


def test_a_connection_that_had_every_event_lets_the_record_succeed() -> None:
    """An event a connection already had (an earlier receive) is neither sent nor a failure."""
    report = summarize([event("1", "a")], [delivery("1", "c1", Outcome.HAD, attempts=0)])
    assert (report.failed_message_ids, report.messages_sent) == ((), 0)
    assert not_sent_summary([delivery("1", "c1", Outcome.HAD, attempts=0)]) is None


def seq_event(message_id: str, seq: int) -> DispatchEvent:
    return DispatchEvent(message_id, f"e-{message_id}", "foodLogDeleted", "u", {}, "T", group="u", seq=seq)


def test_progress_names_the_held_seqs_each_connection_has() -> None:
    """Of the held records m4..m6: c1 got 4 and 5 (then failed on 6); c2 had 4 from before and
    got 5 and 6; c3 got none (left out); m7, delivered and not held, is not named."""
    events = [seq_event("m4", 4), seq_event("m5", 5), seq_event("m6", 6), seq_event("m7", 7)]
    deliveries = [
        delivery("m4", "c1", Outcome.SENT),
        delivery("m5", "c1", Outcome.SENT),
        delivery("m6", "c1", Outcome.RETRY, attempts=3),
        delivery("m4", "c2", Outcome.HAD, attempts=0),
        delivery("m5", "c2", Outcome.SENT),
        delivery("m6", "c2", Outcome.SENT),
        delivery("m7", "c2", Outcome.SENT),
        delivery("m4", "c3", Outcome.RETRY, attempts=3),
        delivery("m5", "c3", Outcome.PERMANENT),
        delivery("other", "c1", Outcome.SENT),
    ]
    assert progress_marks(events, deliveries, {"m4", "m5", "m6"}) == {"c1": {4, 5}, "c2": {4, 5, 6}}


def test_interleave_starts_every_users_kth_before_any_users_next() -> None:
    """Round robin over the users' queues, each queue's order kept."""
    assert interleave([["a1", "a2", "a3"], ["b1"], [], ["c1", "c2"]]) == ["a1", "b1", "c1", "a2", "c2", "a3"]
    assert interleave([]) == []


def test_a_batch_with_every_delivery_sent_logs_nothing() -> None:
    assert not_sent_summary([delivery("1", "a", Outcome.SENT), delivery("2", "b", Outcome.SENT)]) is None


def test_deliveries_not_sent_are_counted_in_one_summary() -> None:
    """Outcomes, statuses and deadline deferrals are counted; at most five are named, those
    that were posted first (the ones that only shared an outcome tell nothing more)."""
    deliveries = [
        delivery("1", "a", Outcome.SENT),
        Delivery("2", "e-2", "b", Outcome.RETRY, 503, 3),
        Delivery("3", "e-3", "b", Outcome.RETRY, None, 0),  # behind the failure on b: not posted
        Delivery("2", "e-2", "c", Outcome.GONE, 410, 1),
        *(Delivery("4", "e-4", f"d{n}", Outcome.RETRY, None, 0, deferred=True) for n in range(6)),
    ]
    summary = not_sent_summary(deliveries)
    assert summary is not None
    assert (summary["not_sent"], summary["connections"], summary["deferred_by_deadline"]) == (9, 8, 6)
    assert summary["outcomes"] == {"retry": 8, "gone": 1}
    assert summary["statuses"] == {"503": 1, "none": 7, "410": 1}
    assert [(e["connection_id"], e["attempts"]) for e in summary["examples"]] == [
        ("b", 3),
        ("c", 1),
        ("b", 0),
        ("d0", 0),
        ("d1", 0),
    ]
