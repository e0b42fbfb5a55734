"""``python -m healthcoach_realtime.smoke``: one end-to-end check of a running stack, local or AWS.

    python -m healthcoach_realtime.smoke                        # the local stack of `make dev`
    python -m healthcoach_realtime.smoke --ws-url wss://<api>.execute-api.<region>.amazonaws.com/<stage> \\
        --bus-arn <EventBusArn> --token-command "<a shell command printing an id token>"

It walks the path a browser and a producer take: connect with the token as the second
subprotocol, ``emit()`` an event (a real ``PutEvents`` on the bus), receive its frame, drop the
socket, emit two more, reconnect and ``resume`` from the last seq, and expect exactly the two
missed events in seq order, then ``resumed``. One line per step with its time; exit 0 when every
step passed, 1 with the reason of the first that did not, 2 for bad usage. Everything, the token
command included, is bounded by ``--timeout``. A missed event the dispatcher had not yet kept
when the resume read the history comes live after ``resumed`` (the resume guarantee's seam):
the run then resumes once more, and that resume must replay both.

The bus is ``--bus-arn``, else the ``busArn`` of the local stack's ``GET /local/config`` when it
serves one, else what ``emit()`` itself uses: ``EVENT_BUS_ARN``, else the bus ``EVENT_BUS_NAME``
names (``healthcoach-realtime``, the local stack's), looked up with ``ListEventBuses``.

A loopback ``--ws-url`` is the local stack: its dev issuer signs the token (unless
``--token-command`` is given) and the events go to its AWS emulator on the next port. Any other
URL is a deployed stage: the token comes from ``--token-command``, the user is the token's
``sub``, and boto3's own credential chain publishes to the bus. The events are ``foodLogDeleted``
of ``smoke-...`` ids: they carry no health data, and an app that receives one has nothing to
delete. The token is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ipaddress
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from healthcoach_realtime.argument_types import positive_float
from healthcoach_realtime.catalogue import is_event_type

if TYPE_CHECKING:
    import aiohttp
    from mypy_boto3_eventbridgev2 import EventBridgeV2Client

__all__ = [
    "DEFAULT_WS_URL",
    "EVENT_TYPE",
    "STEPS",
    "Replay",
    "SmokeConfig",
    "SmokeFailure",
    "check_event_frame",
    "check_replay",
    "emulator_url",
    "http_base",
    "is_local",
    "jwt_claims",
    "main",
    "run_smoke",
    "settle_seconds",
]

DEFAULT_WS_URL = "ws://127.0.0.1:3001/local"
DEFAULT_TIMEOUT_SECONDS = 30.0
SUBPROTOCOL = "healthcoach.v1"
# A delete of an id no app has: nothing to show, nothing of anyone's health in it.
EVENT_TYPE = "foodLogDeleted"
STEPS = ("token", "connect", "emit", "receive", "offline", "resume")
# Frames that may come at any time and say nothing about the events under test.
CONTROL_FRAMES = frozenset({"presence", "pong", "authorized"})
# The bus, the queue and the dispatcher take a while: wait this many times the first event's
# emit -> frame time (at least MIN_SETTLE_SECONDS) before resuming, so the missed events are kept.
# A user's next events can take longer than the first (locally about 1 s: the dispatch queue's
# long poll passes over a message group that was in flight when it started).
SETTLE_FACTOR = 3.0
MIN_SETTLE_SECONDS = 1.5
MAX_SETTLE_SECONDS = 5.0
# After ``resumed``, how long a missed event that was not replayed may take to arrive live.
LIVE_WAIT_SECONDS = 10.0
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})

T = TypeVar("T")
Frame = dict[str, Any]


class SmokeFailure(Exception):
    """A step did not do what it must: the reason, printed as the run's one failure line."""


class SmokeTimeout(SmokeFailure):
    """A wait reached its bound."""


@dataclass(frozen=True)
class SmokeConfig:
    """What to test and how: the parsed command line."""

    ws_url: str = DEFAULT_WS_URL
    bus_arn: str | None = None
    token_command: str | None = None
    user: str | None = None
    timeout: float = DEFAULT_TIMEOUT_SECONDS


@dataclass
class Replay:
    """What a resume brought: events replayed before the terminal frame, and any after it."""

    replayed: list[Frame] = field(default_factory=list)
    live: list[Frame] = field(default_factory=list)
    duplicates: int = 0
    terminal: Frame | None = None


# ---- pure logic -------------------------------------------------------------------------------


def is_local(ws_url: str) -> bool:
    """A loopback URL is the local stack (dev issuer, emulator); anything else a deployed stage."""
    host = urllib.parse.urlsplit(ws_url).hostname or ""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def http_base(ws_url: str) -> str:
    """``ws://host:port/local`` -> ``http://host:port``: where the local stack's HTTP side answers."""
    parts = urllib.parse.urlsplit(ws_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{scheme}://{parts.netloc}"


def emulator_url(ws_url: str) -> str:
    """The local stack's AWS endpoint: the WebSocket's port plus one (DESIGN.md, "Local stack")."""
    parts = urllib.parse.urlsplit(ws_url)
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    host = parts.hostname or "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{port + 1}"


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (the server verifies it; this only reads ``sub`` and ``exp``)."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise SmokeFailure("the token is not a JWT (three dot-separated parts)")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, TypeError):
        raise SmokeFailure("the token's payload is not base64url JSON") from None
    if not isinstance(claims, dict):
        raise SmokeFailure("the token's payload is not a JSON object")
    return claims


def bus_region(bus_arn: str) -> str | None:
    """The region of ``arn:aws:events:<region>:<account>:...``, or None for anything else."""
    parts = bus_arn.split(":")
    return parts[3] if len(parts) > 5 and parts[0] == "arn" and parts[3] else None


def is_seq(value: object) -> bool:
    """A frame's seq: a positive integer (a JSON ``true`` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_event_frame(frame: Frame, event_id: str, item_id: str) -> int:
    """The seq of the frame of the event ``event_id`` (``{"id": item_id}``); raises when it is not."""
    if frame.get("type") != EVENT_TYPE or frame.get("id") != event_id:
        raise SmokeFailure(
            f"expected the {EVENT_TYPE} frame of event {event_id}, got type {frame.get('type')!r} "
            f"id {frame.get('id')!r}"
        )
    if frame.get("data") != {"id": item_id}:
        raise SmokeFailure(f"event {event_id}: data is {frame.get('data')!r}, emitted {{'id': {item_id!r}}}")
    seq = frame.get("seq")
    if not is_seq(seq):
        raise SmokeFailure(f"event {event_id}: seq is {seq!r}, not a positive integer")
    assert isinstance(seq, int)
    return seq


def check_replay(replay: Replay, event_ids: Sequence[str], since: int) -> str:
    """What the resume did, as one line; raises when it broke the contract.

    Contract (DESIGN.md, "History and resume"): events with seq > ``since`` in seq order, then one
    ``resumed`` whose ``through`` is the last replayed seq (``since`` when none). An event the
    dispatcher had not yet kept when the resume read the history may follow ``resumed`` live (the
    seam of clients/web/README.md's resume guarantee): it still counts, and the line says so.
    """
    terminal = replay.terminal or {}
    if terminal.get("type") == "resync":
        raise SmokeFailure(
            f"the server answered resync (latestSeq {terminal.get('latestSeq')!r}) to a resume since "
            f"{since}: it did not keep the {len(event_ids)} missed events for replay"
        )
    seqs = [frame["seq"] for frame in replay.replayed]
    if seqs != sorted(seqs) or len(set(seqs)) != len(seqs):
        raise SmokeFailure(f"replayed out of seq order: {seqs}")
    through = terminal.get("through")
    expected_through = seqs[-1] if seqs else since
    if through != expected_through:
        raise SmokeFailure(f"resumed through {through!r}, but the last replayed seq is {expected_through}")
    by_id = {frame["id"]: frame["seq"] for frame in [*replay.replayed, *replay.live]}
    missing = [event_id for event_id in event_ids if event_id not in by_id]
    if missing:
        raise SmokeFailure(f"never received the missed events {', '.join(missing)}")
    in_emit_order = [by_id[event_id] for event_id in event_ids]
    if in_emit_order != sorted(in_emit_order) or in_emit_order[0] <= since:
        raise SmokeFailure(
            f"the missed events have seqs {in_emit_order}: not in emit order after since {since}"
        )
    summary = f"since {since}: replayed seq {_seqs(replay.replayed) or 'none'}, resumed through {through}"
    if replay.live:
        summary += f"; then live seq {_seqs(replay.live)} (dispatched after the resume)"
    if replay.duplicates:
        summary += f"; {replay.duplicates} duplicate(s) dropped by id"
    return summary


def _seqs(frames: Sequence[Frame]) -> str:
    return ", ".join(str(frame["seq"]) for frame in frames)


def settle_seconds(first_latency: float) -> float:
    """How long to stay offline after emitting, so the missed events are kept before the resume."""
    return min(MAX_SETTLE_SECONDS, max(MIN_SETTLE_SECONDS, SETTLE_FACTOR * first_latency))


# ---- bounded waiting --------------------------------------------------------------------------


class Deadline:
    """The one ``--timeout`` every wait of the run shares."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    async def wait(self, awaitable: Awaitable[T], what: str) -> T:
        """``awaitable``'s result, or a failure naming ``what`` once the time is up."""
        try:
            return await asyncio.wait_for(awaitable, self.remaining())
        except TimeoutError:
            raise SmokeTimeout(f"timed out (--timeout {self.seconds:g} s) waiting for {what}") from None


async def blocking(function: Callable[[], T], deadline: Deadline, what: str) -> T:
    """Run a blocking call in a daemon thread: a call that hangs past the deadline cannot keep
    the process from exiting (an executor's threads would be joined at exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def work() -> None:
        try:
            result = function()
        except BaseException as exc:
            error = exc
            _call_soon(loop, lambda: settle(lambda: future.set_exception(error)))
        else:
            _call_soon(loop, lambda: settle(lambda: future.set_result(result)))

    threading.Thread(target=work, name=f"smoke: {what}", daemon=True).start()
    return await deadline.wait(future, what)


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is gone: the run already ended (timed out)
        loop.call_soon_threadsafe(callback)


# ---- I/O: token, bus, socket ------------------------------------------------------------------


def dev_token(ws_url: str, user: str, timeout: float) -> str:
    """A token from the local stack's dev issuer (``GET /local/issuer/token?user=``)."""
    query = urllib.parse.urlencode({"user": user})
    answer = get_json(f"{http_base(ws_url)}/local/issuer/token?{query}", timeout)
    token = answer.get("token")
    if not isinstance(token, str):
        raise SmokeFailure(f"the dev issuer at {http_base(ws_url)}/local/issuer answered no token")
    return token


def local_config_bus_arn(ws_url: str, timeout: float) -> str | None:
    """The bus ARN the local stack's ``GET /local/config`` names, if it names one."""
    arn = get_json(f"{http_base(ws_url)}/local/config", timeout).get("busArn")
    return arn if isinstance(arn, str) and arn else None


def get_json(url: str, timeout: float) -> dict[str, Any]:
    """GET a JSON object from the local stack; a clear failure when nothing answers."""
    if not url.startswith(("http://", "https://")):
        raise SmokeFailure(f"not an http(s) URL: {url}")
    try:
        with urllib.request.urlopen(url, timeout=max(timeout, 0.1)) as response:  # noqa: S310 (scheme checked)
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise SmokeFailure(f"{url.split('?')[0]} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SmokeFailure(
            f"no local stack answers at {http_base(url)} ({reason}): start one with `make dev`, "
            "or pass --ws-url of a running stack"
        ) from None
    try:
        answer = json.loads(raw)
    except ValueError:
        raise SmokeFailure(f"{url.split('?')[0]} did not answer JSON") from None
    return answer if isinstance(answer, dict) else {}


def command_token(command: str, timeout: float) -> str:
    """The JWT ``command`` prints (its last non-empty line of stdout); killed, with its children,
    past ``timeout``. Its stdout is never shown: it holds the token."""
    process = subprocess.Popen(  # noqa: S602 (the user's own shell pipeline, e.g. aws cognito-idp ... | jq)
        command,
        shell=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=max(timeout, 0.1))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise SmokeFailure(f"--token-command did not finish within {timeout:.1f} s") from None
    if process.returncode != 0:
        last = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["(nothing on stderr)"]
        raise SmokeFailure(f"--token-command exited {process.returncode}: {last[0][:300]}")
    lines = [line.strip() for line in stdout.decode(errors="replace").splitlines() if line.strip()]
    if not lines:
        raise SmokeFailure("--token-command printed nothing (it must print a JWT)")
    return lines[-1].strip('"')


def bus_client(config: SmokeConfig, bus_arn: str | None, timeout: float) -> EventBridgeV2Client:
    """The ``eventbridgev2`` client ``emit()`` publishes with: the local stack's emulator for a
    loopback URL, else boto3's own configuration (credentials, region) for the bus's region."""
    import boto3
    from botocore.config import Config

    settings = Config(
        connect_timeout=min(timeout, 5.0),
        read_timeout=min(timeout, 10.0),
        retries={"total_max_attempts": 2, "mode": "standard"},
    )
    if is_local(config.ws_url):
        return boto3.client(
            "eventbridgev2",
            endpoint_url=emulator_url(config.ws_url),
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 (the emulator takes any credentials)
            config=settings,
        )
    region = bus_region(bus_arn) if bus_arn else None
    return boto3.client("eventbridgev2", region_name=region, config=settings)


def resolve_bus(client: EventBridgeV2Client, bus_arn: str | None) -> str:
    """``bus_arn``, else what ``emit()`` would publish to: ``EVENT_BUS_ARN``, else the bus named
    ``EVENT_BUS_NAME`` (``healthcoach-realtime``, the local stack's), looked up on ``client``."""
    from botocore.exceptions import BotoCoreError, ClientError

    from healthcoach_realtime.emitter import resolve_bus_arn
    from healthcoach_realtime.exceptions import ConfigurationError

    if bus_arn:
        return bus_arn
    try:
        return resolve_bus_arn(client)
    except ConfigurationError as exc:
        raise SmokeFailure(f"no bus: {exc}; or pass --bus-arn") from None
    except (BotoCoreError, ClientError) as exc:
        raise SmokeFailure(f"cannot look up the bus (pass --bus-arn): {exc}") from None


def emit_one(client: EventBridgeV2Client, bus_arn: str, user: str, item_id: str) -> str:
    """``emit()`` one ``foodLogDeleted`` of ``item_id``; its event id. Library errors become failures."""
    from botocore.exceptions import BotoCoreError, ClientError

    from healthcoach_realtime.emitter import emit
    from healthcoach_realtime.exceptions import ConfigurationError, EmitError

    try:
        return emit(user, EVENT_TYPE, {"id": item_id}, client=client, bus_arn=bus_arn)
    except (EmitError, ConfigurationError) as exc:
        raise SmokeFailure(f"emit() failed: {exc}") from None
    except (BotoCoreError, ClientError) as exc:
        raise SmokeFailure(f"PutEvents failed: {exc}") from None


async def emit_item(
    client: EventBridgeV2Client, bus_arn: str, user: str, item_id: str, deadline: Deadline
) -> str:
    """``emit_one`` off the event loop, within the deadline."""
    return await blocking(lambda: emit_one(client, bus_arn, user, item_id), deadline, "emit()")


async def connect(
    session: aiohttp.ClientSession, ws_url: str, token: str, deadline: Deadline
) -> aiohttp.ClientWebSocketResponse:
    """A socket with the token as the second subprotocol; clear failures for refusals."""
    import aiohttp

    try:
        socket = await deadline.wait(
            session.ws_connect(ws_url, protocols=(SUBPROTOCOL, token), autoping=True), f"{ws_url} to connect"
        )
    except aiohttp.WSServerHandshakeError as exc:
        meaning = {401: "the token was not accepted", 429: "the user has too many connections open"}
        hint = meaning.get(exc.status, "the handshake was refused")
        raise SmokeFailure(f"{ws_url} refused the connection: HTTP {exc.status} ({hint})") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise SmokeFailure(f"cannot connect to {ws_url}: {exc}") from None
    if socket.protocol != SUBPROTOCOL:
        await socket.close()
        raise SmokeFailure(f"{ws_url} answered subprotocol {socket.protocol!r}, not {SUBPROTOCOL!r}")
    return socket


async def next_frame(socket: aiohttp.ClientWebSocketResponse, deadline: Deadline, what: str) -> Frame:
    """The next frame that matters (presence, pong and authorized are skipped); failures for an
    ``error`` frame, a close or a frame that is not a JSON object."""
    import aiohttp

    while True:
        message = await deadline.wait(socket.receive(), what)
        if message.type != aiohttp.WSMsgType.TEXT:
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                raise SmokeFailure(f"the server closed the socket (code {socket.close_code}) before {what}")
            raise SmokeFailure(f"unexpected {message.type.name} message while waiting for {what}")
        try:
            frame = json.loads(message.data)
        except ValueError:
            raise SmokeFailure(f"a frame that is not JSON while waiting for {what}") from None
        if not isinstance(frame, dict):
            raise SmokeFailure(f"a frame that is not a JSON object while waiting for {what}")
        if frame.get("type") == "error":
            raise SmokeFailure(f"the server sent an error frame: {frame.get('message')!r}")
        if frame.get("type") not in CONTROL_FRAMES:
            return frame


# ---- the run ----------------------------------------------------------------------------------


@dataclass
class Step:
    """Prints one line per step: ``[3/6] receive  ok     41 ms  ...``."""

    out: Callable[[str], None]
    number: int = 0
    name: str = ""
    started: float = 0.0

    def start(self, name: str) -> None:
        self.number, self.name, self.started = STEPS.index(name) + 1, name, time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def ok(self, detail: str) -> None:
        self.out(self._line("ok", detail))

    def fail(self, reason: str) -> None:
        self.out(self._line("FAIL", reason))

    def _line(self, status: str, detail: str) -> str:
        milliseconds = self.elapsed() * 1000
        return f"[{self.number}/{len(STEPS)}] {self.name:<8} {status:<4} {milliseconds:7.0f} ms  {detail}"


async def run_smoke(config: SmokeConfig, step: Step) -> None:
    """The six steps; raises ``SmokeFailure`` at the first that does not pass."""
    import aiohttp

    deadline = Deadline(config.timeout)
    local = is_local(config.ws_url)

    step.start("token")
    token, user, bus_arn, source = await blocking(
        lambda: _credentials(config, local, deadline), deadline, "a token"
    )
    exp = jwt_claims(token).get("exp")
    lifetime = f", expires in {int(exp - time.time())} s" if isinstance(exp, int | float) else ""
    step.ok(f"{source}, user {user}{lifetime}")

    client = bus_client(config, bus_arn, deadline.remaining())
    async with aiohttp.ClientSession() as session:
        step.start("connect")
        socket = await connect(session, config.ws_url, token, deadline)
        step.ok(f"{config.ws_url} (subprotocol {socket.protocol})")

        step.start("emit")
        item = f"smoke-{secrets.token_hex(4)}"
        arn = await blocking(lambda: resolve_bus(client, bus_arn), deadline, "the bus's ARN")
        first_id = await emit_item(client, arn, user, f"{item}-1", deadline)
        step.ok(f"{EVENT_TYPE} id {first_id} on {arn}")

        step.start("receive")
        frame = await next_frame(socket, deadline, f"the frame of event {first_id}")
        last_seq = check_event_frame(frame, first_id, f"{item}-1")
        latency = step.elapsed()
        step.ok(f"{EVENT_TYPE} id {first_id} seq {last_seq} (emit -> frame)")

        step.start("offline")
        await deadline.wait(socket.close(), "the socket to close")
        missed = [await emit_item(client, arn, user, f"{item}-{n}", deadline) for n in (2, 3)]
        settle = min(settle_seconds(latency), deadline.remaining())
        await asyncio.sleep(settle)
        step.ok(f"socket closed; emitted {', '.join(missed)}; waited {settle:.1f} s")

        step.start("resume")
        replay = await resume(session, config.ws_url, token, deadline, missed, item, last_seq, wait_live=True)
        summary = check_replay(replay, missed, last_seq)
        if replay.live:
            # The resume came before the dispatcher kept them; it has now (they were delivered):
            # a second resume must replay them.
            again = await resume(session, config.ws_url, token, deadline, missed, item, last_seq)
            summary = f"first resume too early ({summary}); again: {check_replay(again, missed, last_seq)}"
            if again.live or len(again.replayed) != len(missed):
                raise SmokeFailure(f"a second resume did not replay the missed events: {summary}")
        step.ok(summary)


async def resume(
    session: aiohttp.ClientSession,
    ws_url: str,
    token: str,
    deadline: Deadline,
    missed: Sequence[str],
    item: str,
    since: int,
    *,
    wait_live: bool = False,
) -> Replay:
    """Reconnect, send ``resume`` and collect the answer (with ``wait_live``, also the missed
    events that follow ``resumed`` live); the socket is closed after."""
    socket = await connect(session, ws_url, token, deadline)
    try:
        await socket.send_str(json.dumps({"action": "resume", "since": since}))
        return await collect_replay(socket, deadline, missed, item, wait_live=wait_live)
    finally:
        await socket.close()


def _credentials(config: SmokeConfig, local: bool, deadline: Deadline) -> tuple[str, str, str | None, str]:
    """(token, user, bus ARN or None for emit()'s own lookup, where the token came from)."""
    if config.token_command:
        token = command_token(config.token_command, deadline.remaining())
        sub = jwt_claims(token).get("sub")
        if not isinstance(sub, str) or not sub:
            raise SmokeFailure("the token from --token-command has no sub")
        if config.user is not None and config.user != sub:
            raise SmokeFailure(
                f"--user is {config.user} but the token's sub is {sub}: the socket is the sub's, "
                "so events for --user would never reach it"
            )
        user, source = sub, "from --token-command"
    else:
        if not local:
            raise SmokeFailure(
                f"{config.ws_url} is not a local stack: pass --token-command (a shell command printing a JWT)"
            )
        user = config.user or f"smoke-{secrets.token_hex(4)}"
        token, source = dev_token(config.ws_url, user, deadline.remaining()), "dev issuer"
    bus_arn = config.bus_arn
    if bus_arn is None and local:
        bus_arn = local_config_bus_arn(config.ws_url, deadline.remaining())
    return token, user, bus_arn, source


async def collect_replay(
    socket: aiohttp.ClientWebSocketResponse,
    deadline: Deadline,
    missed: Sequence[str],
    item: str,
    *,
    wait_live: bool = False,
) -> Replay:
    """Frames after a resume: events up to ``resumed`` or ``resync``, then (``wait_live``) any
    missed one still to come live. An event the run did not emit fails it (the user must be a
    dedicated one)."""
    replay = Replay()
    seen: set[str] = set()

    def more_to_come() -> bool:
        if replay.terminal is None:
            return True
        return wait_live and replay.terminal.get("type") == "resumed" and len(seen) < len(missed)

    while more_to_come():
        if replay.terminal is None:
            frame = await next_frame(socket, deadline, "the resume's answer")
        else:
            late = [event_id for event_id in missed if event_id not in seen]
            frame = await next_live_frame(socket, deadline, replay.terminal, late)
        kind = frame.get("type")
        if kind in ("resumed", "resync") and replay.terminal is None:
            replay.terminal = frame
            continue
        if not is_event_type(kind):
            raise SmokeFailure(f"unexpected frame during the resume: type {kind!r}")
        event_id = frame.get("id")
        if event_id not in missed:
            raise SmokeFailure(
                f"an event this run did not emit arrived ({kind} id {event_id!r}): "
                "use a user nothing else writes to"
            )
        if event_id in seen:
            replay.duplicates += 1
            continue
        check_event_frame(frame, str(event_id), f"{item}-{missed.index(str(event_id)) + 2}")
        seen.add(str(event_id))
        (replay.replayed if replay.terminal is None else replay.live).append(frame)
    return replay


async def next_live_frame(
    socket: aiohttp.ClientWebSocketResponse, deadline: Deadline, terminal: Frame, late: Sequence[str]
) -> Frame:
    """The next frame after ``resumed`` while ``late`` events are still due, within
    ``LIVE_WAIT_SECONDS``: past that, the resume lost them (neither replayed nor live)."""
    try:
        bound = Deadline(min(deadline.remaining(), LIVE_WAIT_SECONDS))
        return await next_frame(socket, bound, "the missed events after resumed")
    except SmokeTimeout:
        if deadline.remaining() <= 0:
            raise SmokeTimeout(
                f"timed out (--timeout {deadline.seconds:g} s) waiting for the missed events after resumed"
            ) from None
        raise SmokeFailure(
            f"the resume ended (resumed through {terminal.get('through')!r}) without {', '.join(late)}, "
            f"and {'it' if len(late) == 1 else 'they'} did not arrive live "
            f"within {LIVE_WAIT_SECONDS:g} s either"
        ) from None


# ---- command line -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the smoke test; 0 when every step passed, 1 at the first failure (2: bad usage)."""
    config = parse_args(argv)
    step = Step(out=lambda line: print(line, flush=True))
    target = "local stack" if is_local(config.ws_url) else "deployed stage"
    print(f"smoke test of {config.ws_url} ({target}), at most {config.timeout:g} s", flush=True)
    started = time.perf_counter()
    try:
        asyncio.run(run_smoke(config, step))
    except SmokeFailure as exc:
        if step.name:
            step.fail(str(exc))
        print(f"smoke test FAILED at {step.name or 'start'}: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    print(f"smoke test passed in {time.perf_counter() - started:.1f} s", flush=True)
    return 0


def parse_args(argv: Sequence[str] | None = None) -> SmokeConfig:
    parser = argparse.ArgumentParser(
        prog="python -m healthcoach_realtime.smoke",
        description="Connect, emit, receive, miss two events, resume: against the local stack or a "
        "deployed stage. Exit 0 when every step passed, 1 with the reason when one did not.",
    )
    parser.add_argument(
        "--ws-url",
        default=DEFAULT_WS_URL,
        help=f"the WebSocket URL (default {DEFAULT_WS_URL}, the local stack; a stage's WebSocketUrl output)",
    )
    parser.add_argument(
        "--bus-arn",
        help="the bus to emit to (the stack output EventBusArn; default: the local stack's bus, "
        "else EVENT_BUS_ARN)",
    )
    parser.add_argument(
        "--token-command",
        metavar="COMMAND",
        help="a shell command printing a JWT (required for a deployed stage; default: the local dev issuer)",
    )
    parser.add_argument(
        "--user",
        help="the user id (default: a fresh smoke-<random> locally; the token's sub with --token-command)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"the whole run's bound, the token command included (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    args = parser.parse_args(argv)
    scheme = urllib.parse.urlsplit(args.ws_url).scheme
    if scheme not in ("ws", "wss"):
        parser.error(f"--ws-url must be a ws:// or wss:// URL, not {args.ws_url!r}")
    return SmokeConfig(
        ws_url=args.ws_url,
        bus_arn=args.bus_arn,
        token_command=args.token_command,
        user=args.user,
        timeout=args.timeout,
    )


if __name__ == "__main__":
    sys.exit(main())
