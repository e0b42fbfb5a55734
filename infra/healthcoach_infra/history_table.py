"""The history table: each user's seq counter and recent events, for resuming clients.

PK ``userId``, SK ``sk`` (``counter``, ``event#<id>``, ``skip#<seq>``; item shapes in
``healthcoach_realtime.history.keys``), the local index ``bySeq`` (sort key ``seq``: a resume is
one range query), TTL on ``ttl`` (now + ``HISTORY_TTL_SECONDS``). Losing
it costs clients one ``resync`` each, so it is deleted with the stack; PITR still guards
against a bad script (and AwsSolutions-DDB3 asks for it).
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from healthcoach_infra.connections_table import state_table
from healthcoach_realtime.resources import HISTORY_BY_SEQ_INDEX

__all__ = ["HistoryTable"]


class HistoryTable(Construct):
    """On-demand, CloudFormation-named (handlers get the name through ``HISTORY_TABLE``)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = state_table(self, partition_key="userId", sort_key="sk")
        self.table.add_local_secondary_index(
            index_name=HISTORY_BY_SEQ_INDEX,
            sort_key=dynamodb.Attribute(name="seq", type=dynamodb.AttributeType.NUMBER),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.by_seq_index_arn = f"{self.table.table_arn}/index/{HISTORY_BY_SEQ_INDEX}"
