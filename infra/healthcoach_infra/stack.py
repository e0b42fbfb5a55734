"""The stack: composes one construct per concern and wires the grants between them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from healthcoach_infra.config import DeployConfig
from healthcoach_infra.connections_table import ConnectionsTable
from healthcoach_infra.event_pipeline import EventPipeline
from healthcoach_infra.functions import FunctionSpec, RealtimeFunction, function_environment
from healthcoach_infra.history_table import HistoryTable
from healthcoach_infra.monitoring import Monitoring
from healthcoach_infra.nag import acknowledge_findings
from healthcoach_infra.schema_registry import EventSchemaRegistry
from healthcoach_infra.sessions import SessionSweepSchedule, SignOutPolicy
from healthcoach_infra.throttles import stage_throttles
from healthcoach_infra.websocket_api import RealtimeWebSocketApi
from healthcoach_realtime import manifest
from healthcoach_realtime.manifest import FunctionEntry
from healthcoach_realtime.observability import service_name
from healthcoach_realtime.settings import DEFAULT_HISTORY_TTL_SECONDS
from healthcoach_realtime.table_mapping import MAPPING_ENV, encode_tables

__all__ = ["DEFAULTED_SETTINGS", "HealthCoachRealtimeStack"]

# Settings no deployed function is given: each keeps its default (settings.py, DESIGN.md).
DEFAULTED_SETTINGS = frozenset(
    {
        "TOKEN_ISSUER",  # tokens are verified against the user pool's own issuer
        "REDELIVERY_DELAY_MAX_SECONDS",
        "CONNECTING_GRACE_SECONDS",
        "MESSAGE_RATE_LIMIT",
        "MESSAGE_RATE_WINDOW_SECONDS",
        "SESSION_SWEEPS_PER_RUN",
    }
)
MANAGEMENT_ENDPOINT = "WS_API_ENDPOINT"


class HealthCoachRealtimeStack(cdk.Stack):
    """Everything one stage needs: table, WebSocket API, functions, event pipeline, registry, alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        repo_root: Path,
        functions: tuple[FunctionEntry, ...] = manifest.FUNCTIONS,
        **kwargs: Any,
    ) -> None:
        """``functions``: the manifest's entries (a test adds one to show a new function needs no more)."""
        super().__init__(scope, construct_id, **kwargs)
        cdk.Tags.of(self).add("project", "healthcoach-realtime")
        cdk.Tags.of(self).add("stage", config.stage)

        self.connections = ConnectionsTable(self, "Connections")
        table = self.connections.table
        self.history = HistoryTable(self, "History")
        self.pipeline = EventPipeline(
            self, "Events", stage=config.stage, retention_days=config.bus_retention_days
        )

        self.manifest = functions
        self.functions = self._functions(functions, config, repo_root)
        self.connect = self.functions["connect"]
        self.disconnect = self.functions["disconnect"]
        self.default = self.functions["default"]
        self.dispatcher = self.functions["dispatcher"]
        self.stream_bridge = self.functions["stream_bridge"]
        self.session_sweeper = self.functions["session_sweeper"]

        self.websocket = RealtimeWebSocketApi(
            self,
            "WebSocket",
            stage_name=config.stage,
            routes={key: self.functions[name].function for key, name in manifest.routes(functions).items()},
            throttles=stage_throttles(config.peak_connections, config.ping_interval_seconds),
            create_account_log_role=config.create_api_gateway_log_role,
        )
        # The API needs the functions (its integrations) first, so its endpoint comes second.
        for entry in functions:
            if MANAGEMENT_ENDPOINT in entry.settings:
                self.functions[entry.name].function.add_environment(
                    MANAGEMENT_ENDPOINT, self.websocket.management_endpoint
                )
        sweep = manifest.by_name(functions)["session_sweeper"].trigger
        assert isinstance(sweep, manifest.Schedule), "the session sweeper runs on a schedule"
        self.sweep_schedule = SessionSweepSchedule(
            self,
            "SessionSweep",
            sweeper=self.session_sweeper.function,
            stage=config.stage,
            rate=cdk.Duration.minutes(sweep.minutes),
        )
        self.sign_out = SignOutPolicy(
            self,
            "SignOut",
            table=table,
            index_arn=self.connections.index_arn,
            history=self.history.table,
            websocket=self.websocket,
        )

        self._grant()
        dispatcher_limit = manifest.by_name(functions)["dispatcher"].max_concurrency
        assert dispatcher_limit is not None, "the dispatcher's concurrency must be bounded"
        self.pipeline.feed_dispatcher(self.dispatcher.function, max_concurrency=dispatcher_limit)
        self.pipeline.feed_stream_bridge(self.stream_bridge.function, config.data_table_streams)
        self.stream_bridge_sources = dict(config.data_table_streams)
        if not self.stream_bridge_sources:
            cdk.Annotations.of(self.stream_bridge).add_warning_v2(
                "healthcoach:NoDataTableStreams",
                "No data table stream ARNs configured (context dataTableStreamArns): the stream bridge "
                "is deployed without event sources. Events emitted to the bus are still delivered.",
            )

        self.registry = EventSchemaRegistry(
            self,
            "Schemas",
            registry_name=f"healthcoach-realtime-{config.stage}",
            schema_dir=repo_root / "schemas",
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            stage=config.stage,
            functions={name: fn.function for name, fn in self.functions.items()},
            dead_letter_queues=self.pipeline.dead_letter_queues,
            dispatch_queue=self.pipeline.queue,
            rejected_queue=self.pipeline.rejected_queue,
            bus_arn=self.pipeline.bus_arn,
            subscribers={name: s.attr_subscriber_arn for name, s in self.pipeline.subscribers.items()},
            api=self.websocket.api,
            alarm_email=config.alarm_email,
            scheduled={
                entry.name: self.functions[entry.name].function
                for entry in functions
                if isinstance(entry.trigger, manifest.Schedule)
            },
        )

        self._outputs(
            {
                "WebSocketUrl": (self.websocket.url, "NEXT_PUBLIC_WS_URL for the frontend"),
                "ManagementEndpoint": (
                    self.websocket.management_endpoint,
                    "WS_API_ENDPOINT: the @connections API of this stage",
                ),
                "EventBusArn": (
                    self.pipeline.bus_arn,
                    "EVENT_BUS_ARN for producers (emit() and eventbridgev2 PutEvents)",
                ),
                "EventBusName": (
                    self.pipeline.bus_name,
                    "EVENT_BUS_NAME: emit() finds the bus by this name when EVENT_BUS_ARN is unset",
                ),
                "ProducerPolicyArn": (
                    self.pipeline.producer_policy.managed_policy_arn,
                    "Attach to a producer's role: events:PutEvents on this bus",
                ),
                "ConnectionsTableName": (table.table_name, "CONNECTIONS_TABLE"),
                "SignOutPolicyArn": (
                    self.sign_out.policy.managed_policy_arn,
                    "Attach to the role of the app's sign-out / account-disable code: disconnect_user",
                ),
            }
        )
        acknowledge_findings(self)

    def _outputs(self, outputs: dict[str, tuple[str, str]]) -> None:
        """One stack output per entry: its id -> (value, what it is for the app's configuration)."""
        for output_id, (value, description) in outputs.items():
            cdk.CfnOutput(self, output_id, value=value, description=description)

    def _functions(
        self, entries: tuple[FunctionEntry, ...], config: DeployConfig, repo_root: Path
    ) -> dict[str, RealtimeFunction]:
        """One function per manifest entry, given exactly the settings it reads."""
        shared = {
            "CONNECTIONS_TABLE": self.connections.table.table_name,
            "HISTORY_TABLE": self.history.table.table_name,
            "HISTORY_TTL_SECONDS": str(DEFAULT_HISTORY_TTL_SECONDS),
            "USER_POOL_ID": config.user_pool_id,
            "USER_POOL_CLIENT_ID": config.user_pool_client_id,
            "MAX_CONNECTIONS_PER_USER": str(config.max_connections_per_user),
            "EVENT_BUS_ARN": self.pipeline.bus_arn,
            "EVENT_BUS_NAME": self.pipeline.bus_name,
            # Which tables, and how their items map to events (checked to fit at synth).
            MAPPING_ENV: encode_tables(source.table for source in config.data_tables),
        }
        # Each function that dead-letters has its own queue.
        dead_letters = {
            "dispatcher": self.pipeline.dead_letter_queue.queue_url,
            "stream_bridge": self.pipeline.stream_bridge_failures.queue_url,
        }
        built = {}
        for entry in entries:
            values = dict(shared)
            if entry.name in dead_letters:
                values["DEAD_LETTER_QUEUE_URL"] = dead_letters[entry.name]
            built[entry.name] = RealtimeFunction(
                self,
                entry.construct_id,
                spec=FunctionSpec.of(entry),
                repo_root=repo_root,
                environment=function_environment(
                    entry, values, defaulted=DEFAULTED_SETTINGS | {MANAGEMENT_ENDPOINT}
                ),
                service=service_name(config.stage),
            )
        return built

    def _grant(self) -> None:
        """Least privilege: each function gets exactly the actions its code performs."""
        table = self.connections.table
        pipeline = self.pipeline

        def allow(fn: RealtimeFunction, actions: list[str], resources: list[str]) -> None:
            iam.Grant.add_to_principal(grantee=fn.function, actions=actions, resource_arns=resources)

        # @connections, each function the methods the manifest names: connect GetConnection at the
        # limit; the others post (events, presence, answers) and some close sockets (expired, abusive).
        for name, methods in manifest.posters(self.manifest).items():
            self.websocket.grant_manage_connections(self.functions[name].function, *methods)
        # connect: the row; at the connection limit, GetConnection on each and the row of a gone one.
        # connect counts the user's connections (index) for the cap; it posts nothing.
        allow(self.connect, ["dynamodb:PutItem", "dynamodb:DeleteItem"], [table.table_arn])
        allow(self.connect, ["dynamodb:Query"], [self.connections.index_arn])
        # The note of a new connection on the user's seq counter: read it (cap), write it; the
        # disconnect removes its own.
        allow(self.connect, ["dynamodb:GetItem", "dynamodb:UpdateItem"], [self.history.table.table_arn])
        allow(self.disconnect, ["dynamodb:UpdateItem"], [self.history.table.table_arn])
        allow(self.disconnect, ["dynamodb:DeleteItem"], [table.table_arn])
        # presence (presence.py): count the user's remaining connections, tell them.
        allow(self.disconnect, ["dynamodb:Query"], [self.connections.index_arn])
        # the sweeper: Scan for expired rows, delete them, close their sockets, presence to the rest.
        allow(self.session_sweeper, ["dynamodb:Scan", "dynamodb:DeleteItem"], [table.table_arn])
        allow(self.session_sweeper, ["dynamodb:Query"], [self.connections.index_arn])
        allow(self.dispatcher, ["dynamodb:Query"], [self.connections.index_arn])
        allow(self.dispatcher, ["dynamodb:DeleteItem"], [table.table_arn])  # stale (410) connections
        # seqs and history (history.store): bump the counter, keep each event (conditional put),
        # read the winner's seq only if a failed condition did not return it.
        history_actions = ["dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:GetItem"]
        allow(self.dispatcher, history_actions, [self.history.table.table_arn])
        allow(self.dispatcher, ["sqs:SendMessage"], [pipeline.dead_letter_queue.queue_arn])
        # The caller's row: its message count (and the row back) and, on auth, its exp; the
        # row of a connection closed for abuse that turns out gone. The user's counter and
        # events (resume), posts to the caller, DELETE to close an abusive one.
        allow(self.default, ["dynamodb:UpdateItem", "dynamodb:DeleteItem"], [table.table_arn])
        allow(self.default, ["dynamodb:Query"], [self.connections.index_arn])
        allow(self.default, ["dynamodb:GetItem"], [self.history.table.table_arn])
        allow(self.default, ["dynamodb:Query"], [self.history.by_seq_index_arn])
        allow(self.stream_bridge, ["sqs:SendMessage"], [pipeline.stream_bridge_failures.queue_arn])
        pipeline.grant_put_events(self.stream_bridge.function)
