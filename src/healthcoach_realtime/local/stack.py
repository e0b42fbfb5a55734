"""``hc-realtime dev``: the whole system on loopback, no AWS account.

Startup order matters: the emulator first, then the resources (as ``infra/`` defines them),
then the handlers' environment, then the execution environments (each imports its handler
with that environment), then the pollers, and only then the HTTP port, so anything that
answers ``GET /local/config`` finds a ready stack::

    run(StackConfig(port=3001))     # until Ctrl-C or SIGTERM

What runs where: the gateway, the @connections API, the issuer and the demo page share one
aiohttp server (one port); the AWS emulator listens on port + 1; every handler invocation runs
in an execution environment of its function (a worker process, ``environments``), concurrently
with the others, as in Lambda; pollers run in threads, so the event loop only moves bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
from aiohttp import web

from healthcoach_realtime import manifest
from healthcoach_realtime.dev_identity import DEV_CLIENT_ID, DevIssuer
from healthcoach_realtime.local.dev_api import DevApi
from healthcoach_realtime.local.emulator import Emulator
from healthcoach_realtime.local.environments import FunctionConfig, FunctionPool, InvocationError
from healthcoach_realtime.local.eventsv2 import EventsV2Options
from healthcoach_realtime.local.gateway import Gateway, Limits
from healthcoach_realtime.local.handlers import find_functions_dir, function_name
from healthcoach_realtime.local.in_process import route_to_app, skip_signing
from healthcoach_realtime.local.issuer import IssuerEndpoints
from healthcoach_realtime.local.live_connections import ConnectionRegistry
from healthcoach_realtime.local.management_api import ManagementApi
from healthcoach_realtime.local.pollers import PollerThread, SqsEventSource, SqsPoller, StreamPoller
from healthcoach_realtime.local.provision import (
    EventPipeline,
    create_connections_table,
    create_data_tables,
    create_event_pipeline,
    create_history_table,
)
from healthcoach_realtime.local.scheduler import ScheduledInvocation
from healthcoach_realtime.local.sessions_api import SessionsApi
from healthcoach_realtime.local.ttl import DEFAULT_SWEEP_SECONDS, DEFAULT_TTL_LAG_SECONDS, TtlSweeper
from healthcoach_realtime.manifest import FunctionEntry
from healthcoach_realtime.settings import (
    DEFAULT_CONNECTIONS_TABLE,
    DEFAULT_EVENT_BUS,
    DEFAULT_HISTORY_TABLE,
    ENVIRONMENT_VARIABLES,
)
from healthcoach_realtime.table_mapping import DEFAULT_SOURCES, MAPPING_ENV, TableSource, encode_tables

__all__ = [
    "DEFAULT_PORT",
    "STAGE",
    "StackConfig",
    "StackStartError",
    "function_config",
    "function_environment",
    "handler_environment",
    "run",
]

DEFAULT_PORT = 3001
STAGE = "local"
API_ID = "hcrealtime"
REGION = "us-east-1"
LOCAL_ACCESS_KEY = "local"  # any key: the emulator checks none (moto derives the account from it)
# Settings the local functions keep at their defaults (settings.py), as deployed.
DEFAULTED_SETTINGS = frozenset(
    {
        "HISTORY_TTL_SECONDS",
        "MAX_CONNECTIONS_PER_USER",
        "MESSAGE_RATE_LIMIT",
        "MESSAGE_RATE_WINDOW_SECONDS",
        "CONNECTING_GRACE_SECONDS",
    }
)
# Variables that could send boto3 somewhere other than the emulator, or fail on a missing profile.
_UNSAFE_AWS_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")

log = logging.getLogger(__name__)


class StackStartError(RuntimeError):
    """The stack cannot start (port in use, a handler that does not import); the message says why."""


@dataclass(frozen=True)
class StackConfig:
    """Everything ``hc-realtime dev`` can be told; defaults are API Gateway's and DESIGN.md's."""

    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    idle_timeout: float = 600.0
    max_lifetime: float = 7200.0
    visibility_timeout: int = 5
    ttl_sweep_seconds: float = DEFAULT_SWEEP_SECONDS
    # An expired item outlives its ttl by at least this long, as with DynamoDB's lazy deletion.
    ttl_lag_seconds: float = DEFAULT_TTL_LAG_SECONDS
    # The session sweeper's schedule (deployed: two passes a minute, so 30 s).
    session_sweep_seconds: float = 30.0
    disconnect_on_abort: bool = True
    verbose: bool = False
    # The Custom Event Bus's harshness (local/eventsv2/options.py): UNORDERED deliveries held up
    # to this long at random (they overtake each other), FIFO deliveries jittered (groups interleave).
    bus_reorder_max_seconds: float = 0.05
    bus_fifo_jitter_seconds: float = 0.002
    # The data tables created, streamed and bridged (--data-tables FILE: an app's own).
    data_tables: tuple[TableSource, ...] = DEFAULT_SOURCES
    # Execution environments (worker processes) each function may run at once (the dispatcher
    # also at most its event source's MaximumConcurrency): concurrent invocations, as in Lambda.
    lambda_concurrency: int = 10
    # How far DynamoDB's global secondary indexes lag their tables (local/index_lag.py); AWS
    # propagates "within a fraction of a second" normally, so the default is that harsh.
    index_lag_seconds: float = 0.5

    @property
    def limits(self) -> Limits:
        return Limits(idle_timeout=self.idle_timeout, max_lifetime=self.max_lifetime)

    @property
    def bus_options(self) -> EventsV2Options:
        """The emulated Custom Event Bus's knobs: reordering off only when its delay is 0."""
        return EventsV2Options(
            reorder_unordered=self.bus_reorder_max_seconds > 0,
            unordered_max_delay_seconds=self.bus_reorder_max_seconds,
            fifo_jitter_seconds=self.bus_fifo_jitter_seconds,
        )

    @property
    def emulator_port(self) -> int:
        return self.port + 1

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/{STAGE}"

    @property
    def management_url(self) -> str:
        """``WS_API_ENDPOINT``: what boto3's ``apigatewaymanagementapi`` client is given."""
        return f"{self.base_url}/{STAGE}"

    @property
    def issuer_url(self) -> str:
        return f"{self.base_url}/{STAGE}/issuer"

    @property
    def emulator_url(self) -> str:
        return f"http://{self.host}:{self.emulator_port}"


def handler_environment(config: StackConfig, pipeline: EventPipeline) -> dict[str, str]:
    """Every setting the local stack can give (DESIGN.md's variables), pointing every AWS call at
    the emulator: this process's own environment (``emit``, sign-out), and what each function's
    environment takes the settings it reads from (``function_environment``).

    The dispatcher and the stream bridge both dead-letter to the dispatch DLQ (in AWS the bridge
    has its own queue).
    """
    return {
        "AWS_ENDPOINT_URL": config.emulator_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "CONNECTIONS_TABLE": DEFAULT_CONNECTIONS_TABLE,
        "HISTORY_TABLE": DEFAULT_HISTORY_TABLE,
        "EVENT_BUS_NAME": pipeline.bus_name,
        "EVENT_BUS_ARN": pipeline.bus_arn,
        "TOKEN_ISSUER": config.issuer_url,
        "USER_POOL_ID": "",
        "USER_POOL_CLIENT_ID": DEV_CLIENT_ID,
        "WS_API_ENDPOINT": config.management_url,
        "DEAD_LETTER_QUEUE_URL": pipeline.dlq_url,
        MAPPING_ENV: encode_tables(source.table for source in config.data_tables),
        # A failed record comes back no later than the pollers' (short) visibility timeout.
        "REDELIVERY_DELAY_MAX_SECONDS": str(config.visibility_timeout),
        # One sweep per invocation: the stack's own schedule sets the cadence (--session-sweep).
        "SESSION_SWEEPS_PER_RUN": "1",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "INFO" if config.verbose else "WARNING",
    }


def function_config(entry: FunctionEntry, lambda_concurrency: int) -> FunctionConfig:
    """Timeout, memory and concurrent environments as deployed (``--lambda-concurrency`` at most)."""
    concurrency = lambda_concurrency
    if entry.max_concurrency is not None:
        concurrency = min(concurrency, entry.max_concurrency)
    return FunctionConfig(entry.name, entry.timeout_seconds, entry.memory_mb, max(1, concurrency), REGION)


def function_environment(
    entry: FunctionEntry, provided: Mapping[str, str], base: Mapping[str, str]
) -> dict[str, str]:
    """What an environment of ``entry``'s function starts with: ``base`` (this process's
    environment: AWS, Powertools, PATH) without any setting, the settings the function reads
    from ``provided``, and the variables Lambda sets for a function.
    """
    missing = [n for n in entry.settings if n not in provided and n not in DEFAULTED_SETTINGS]
    if missing:
        raise StackStartError(f"the local stack cannot provide {', '.join(missing)}, read by {entry.name}")
    settings = set(ENVIRONMENT_VARIABLES)
    return {
        **{name: value for name, value in base.items() if name not in settings},
        **{name: provided[name] for name in entry.settings if name in provided},
        "AWS_LAMBDA_FUNCTION_NAME": function_name(entry.name),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(entry.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    }


def ensure_port_free(host: str, port: int) -> None:
    """Raise ``StackStartError`` naming the port when something already listens on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise StackStartError(
                f"port {port} on {host} is in use (another hc-realtime dev?): choose another with --port"
            ) from None


class LocalStack:
    """The composed stack: ``start()`` (blocking setup), ``serve()`` (async), ``stop()``."""

    def __init__(
        self,
        config: StackConfig,
        out: Callable[[str], None] = print,
        functions: tuple[FunctionEntry, ...] = manifest.FUNCTIONS,
    ) -> None:
        self.config = config
        self._entries = functions
        self._out = out
        self._emulator = Emulator(
            config.emulator_port,
            config.host,
            eventsv2=config.bus_options,
            index_lag_seconds=config.index_lag_seconds,
        )
        self._stop_pollers = threading.Event()
        self._threads: list[PollerThread] = []
        # Threads that wait for invocations (each runs in an environment process, not here): one
        # per message in flight, as API Gateway keeps any number of them; a flood of messages to
        # one function waits for its environments here.
        self._executor = ThreadPoolExecutor(max_workers=512, thread_name_prefix="invoke")
        # The dev API's own calls (emit, sign-out): never queued behind a flood of invocations.
        self._api_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dev-api")
        self._functions: dict[str, FunctionPool] = {}
        self._sqs_source: SqsEventSource | None = None
        self._pipeline: EventPipeline | None = None
        self._stream_arns: list[str] = []
        self._provided: dict[str, str] = {}

    def start(self) -> None:
        """Emulator, resources, environment, handlers, pollers: all but the HTTP port."""
        config = self.config
        ensure_port_free(config.host, config.port)
        ensure_port_free(config.host, config.emulator_port)
        self._step(f"AWS emulator (moto) on {config.emulator_url}", self._start_emulator)
        self._step("tables, bus, subscribers, queues + DLQs (as infra/ defines them)", self._provision)
        self._step("execution environments for functions/ (one process each, warm)", self._load_functions)
        self._start_pollers()
        # moto, botocore and the handlers leave ~10^6 long-lived objects behind: a full collection
        # that walks them all stalls every thread (~100 ms). Frozen, later collections skip them.
        gc.collect()
        gc.freeze()

    async def serve(self, stop: asyncio.Event) -> None:
        """Serve HTTP and WebSockets until ``stop`` is set, then close every connection."""
        config = self.config
        registry = ConnectionRegistry()
        routes = {route: self._functions[name] for route, name in manifest.routes(self._entries).items()}
        gateway = Gateway(
            api_id=API_ID,
            stage=STAGE,
            routes=routes,
            registry=registry,
            limits=config.limits,
            executor=self._executor,
            disconnect_on_abort=config.disconnect_on_abort,
        )
        app = web.Application(client_max_size=1024**2)
        app.router.add_get(f"/{STAGE}", gateway.handle)
        management = ManagementApi(registry)
        management.add_routes(app, STAGE)
        IssuerEndpoints(DevIssuer(config.issuer_url), f"/{STAGE}/issuer").add_routes(app)
        assert self._pipeline is not None
        DevApi(
            ws_url=config.ws_url, emit=_emit, bus_arn=self._pipeline.bus_arn, executor=self._api_executor
        ).add_routes(app)
        SessionsApi(disconnect=_disconnect_user, executor=self._api_executor).add_routes(app)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise StackStartError(f"cannot listen on {config.host}:{config.port}: {exc.strerror}") from None
        enforcing = asyncio.create_task(gateway.enforce_limits())
        self._out(self.banner())
        try:
            await stop.wait()
        finally:
            self._out("stopping ...")
            enforcing.cancel()
            await gateway.close_all()
            await runner.cleanup()

    def stop(self) -> None:
        """Pollers, worker threads, emulator; safe to call after a failed ``start``."""
        self._stop_pollers.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._sqs_source is not None:
            self._sqs_source.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._api_executor.shutdown(wait=False, cancel_futures=True)
        for pool in self._functions.values():
            pool.close()
        self._emulator.stop()

    def banner(self) -> str:
        """The URLs, and a one-line example to try."""
        c = self.config
        port_flag = "" if c.port == DEFAULT_PORT else f" --port {c.port}"
        lines = [
            "",
            "HealthCoach Realtime is running (Ctrl-C to stop)",
            "",
            f"  Demo page       {c.base_url}/",
            f"  WebSocket       {c.ws_url}   (token: ?token=<jwt> or subprotocols healthcoach.v1, <jwt>)",
            f"  Management API  {c.management_url}/@connections/{{connectionId}}",
            f"  Token issuer    {c.issuer_url}   (a token: {c.issuer_url}/token?user=alice)",
            f"  AWS emulator    {c.emulator_url}   (AWS_ENDPOINT_URL for boto3 and the AWS CLI)",
            f"  Data tables     {', '.join(f'{t.table.name} ({t.table.record})' for t in c.data_tables)}"
            "   (their writes become events)",
            "",
            f"  Try:  hc-realtime listen --user alice{port_flag}",
            f"        hc-realtime emit foodLogCreated --user alice{port_flag}"
            + """ --data '{"id": "f1", "name": "Apple", "calories": 95}'""",
        ]
        return "\n".join([*lines, ""])

    def _step(self, what: str, action: Callable[[], str | None]) -> None:
        started = time.monotonic()
        detail = action()
        elapsed = time.monotonic() - started
        self._out(f"  {what}: {detail or 'ready'} ({elapsed:.1f} s)")

    def _start_emulator(self) -> None:
        try:
            self._emulator.start()
        except OSError as exc:
            raise StackStartError(
                f"cannot start the AWS emulator on port {self.config.emulator_port}: {exc}"
            ) from None
        # This process's own clients (handlers, pollers) skip the socket; see in_process.
        route_to_app(self._emulator.app, self.config.emulator_url)
        skip_signing(LOCAL_ACCESS_KEY)

    def _provision(self) -> str:
        for name in _UNSAFE_AWS_VARIABLES:
            os.environ.pop(name, None)
        for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL_")]:
            os.environ.pop(name)
        # Every client below, and every handler's, talks to the emulator only.
        os.environ.update(
            AWS_ENDPOINT_URL=self.config.emulator_url,
            AWS_ACCESS_KEY_ID=LOCAL_ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
        )
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_connections_table(dynamodb, DEFAULT_CONNECTIONS_TABLE)
        create_history_table(dynamodb, DEFAULT_HISTORY_TABLE)
        streams = create_data_tables(dynamodb, self.config.data_tables)
        self._stream_arns = sorted(streams.values())
        self._pipeline = create_event_pipeline(
            boto3.client("eventbridgev2", region_name=REGION),
            boto3.client("sqs", region_name=REGION),
            DEFAULT_EVENT_BUS,
        )
        self._provided = handler_environment(self.config, self._pipeline)
        for name, value in self._provided.items():
            if name.startswith("POWERTOOLS_"):
                os.environ.setdefault(name, value)
            else:
                os.environ[name] = value
        subscribers = len(self._pipeline.subscriber_arns)
        return f"{len(streams) + 2} tables, bus {DEFAULT_EVENT_BUS}, {subscribers} subscribers"

    def _load_functions(self) -> str:
        directory = find_functions_dir()
        if directory is None:
            raise StackStartError("no functions/ directory found: run hc-realtime dev from the repository")
        for entry in self._entries:
            if not (directory / entry.name / "handler.py").is_file():
                raise StackStartError(f"functions/{entry.name}/handler.py is missing")
            config = function_config(entry, self.config.lambda_concurrency)
            environment = function_environment(entry, self._provided, os.environ)
            self._functions[entry.name] = FunctionPool(config, directory, environment)
        # One warm environment per function, started side by side: the first requests find them.
        with ThreadPoolExecutor(max_workers=len(self._functions)) as starting:
            try:
                list(starting.map(FunctionPool.warm, self._functions.values()))
            except InvocationError as exc:
                raise StackStartError(str(exc)) from None
        return ", ".join(sorted(self._functions))

    def _triggered_by(self, trigger: type[manifest.Trigger]) -> FunctionPool:
        """The one function the manifest gives this kind of trigger (each poller feeds one)."""
        [name] = [entry.name for entry in self._entries if isinstance(entry.trigger, trigger)]
        return self._functions[name]

    def _start_pollers(self) -> None:
        pipeline = self._pipeline
        assert pipeline is not None
        sqs = boto3.client("sqs", region_name=REGION)
        dispatcher = self._triggered_by(manifest.DispatchQueue)
        poller = SqsPoller(
            sqs=sqs,
            queue_url=pipeline.queue_url,
            queue_arn=pipeline.queue_arn,
            region=REGION,
            invoke=dispatcher.invoke,
            visibility_timeout=self.config.visibility_timeout,
        )
        self._sqs_source = SqsEventSource(
            poller, max_batches=dispatcher.config.concurrency, stop=self._stop_pollers
        )
        self._threads.append(PollerThread("sqs-event-source", self._sqs_source.step, self._stop_pollers))
        streams = StreamPoller(
            streams=boto3.client("dynamodbstreams", region_name=REGION),
            stream_arns=self._stream_arns,
            invoke=self._triggered_by(manifest.TableStreams).invoke,
            stop=self._stop_pollers,
        )
        self._threads.append(PollerThread("stream-poller", streams.poll_once, self._stop_pollers))
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for table in (DEFAULT_CONNECTIONS_TABLE, DEFAULT_HISTORY_TABLE):
            sweeper = TtlSweeper(
                dynamodb,
                table,
                interval=self.config.ttl_sweep_seconds,
                lag_seconds=self.config.ttl_lag_seconds,
            )
            self._threads.append(PollerThread(f"ttl-sweeper-{table}", sweeper.step, self._stop_pollers))
        schedule = ScheduledInvocation(
            self._triggered_by(manifest.Schedule).invoke, interval=self.config.session_sweep_seconds
        )
        self._threads.append(PollerThread("session-sweeper", schedule.step, self._stop_pollers))
        for thread in self._threads:
            thread.start()


def _emit(user_id: str, event_type: str, data: Mapping[str, Any]) -> str:
    """The real ``emit()``, imported on first use (after the environment is set)."""
    from healthcoach_realtime.emitter import emit

    return emit(user_id, event_type, data)


def _disconnect_user(user_id: str) -> int:
    """The library's sign-out, imported on first use (after the environment is set)."""
    from healthcoach_realtime.sessions import disconnect_user

    return disconnect_user(user_id)


def run(config: StackConfig, out: Callable[[str], None] = print) -> None:
    """Start, serve until Ctrl-C/SIGTERM, stop. Raises ``StackStartError`` with a one-line reason."""
    _configure_logging(config.verbose)
    out(f"Starting HealthCoach Realtime on {config.host}:{config.port} ...")
    stack = LocalStack(config, out)
    try:
        stack.start()
        asyncio.run(_serve_until_signalled(stack))
    finally:
        stack.stop()
    out("stopped")


async def _serve_until_signalled(stack: LocalStack) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    await stack.serve(stop)


def _configure_logging(verbose: bool) -> None:
    # Powertools warns whenever an invocation ends without a metric: noise on a dev console.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    for noisy in ("botocore", "boto3", "urllib3", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
