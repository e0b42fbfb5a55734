"""``hc-realtime``: run the local stack, and talk to a running one.

    hc-realtime dev [--port N] [--data-tables FILE]         # the whole system on 127.0.0.1
    hc-realtime token --user ID [--expires-in S] [--port N] # a JWT the dev stack accepts
    hc-realtime emit TYPE --user ID [--data JSON] [--port N]   # prints the event id
    hc-realtime listen --user ID [--port N]                 # one JSON line per received frame
    hc-realtime disconnect --user ID [--port N]             # sign-out: close all of a user's sockets

``token``, ``emit``, ``listen`` and ``disconnect`` are clients of a running ``dev`` (its HTTP
endpoints and its WebSocket), so they import neither moto nor the stack and start fast. Exit codes: 0 success,
1 failure (refused event, no stack running), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any, NoReturn

from healthcoach_realtime.argument_types import non_negative_float, positive_float, positive_int
from healthcoach_realtime.catalogue import EVENT_TYPES

if TYPE_CHECKING:
    from healthcoach_realtime.local.stack import StackConfig
    from healthcoach_realtime.table_mapping import TableSource

__all__ = ["main"]

DEFAULT_PORT = 3001
HOST = "127.0.0.1"
HTTP_TIMEOUT_SECONDS = 10.0
MAX_TOKEN_SECONDS = 86400  # what the dev issuer signs at most


class CliError(Exception):
    """A failure to report as one line on stderr, with exit status 1."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hc-realtime`` script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except CliError as exc:
        print(f"hc-realtime {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hc-realtime", description="HealthCoach Realtime: the local stack and its clients."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = commands.add_parser(
        "dev", help="run the whole system locally (WebSockets, AWS emulator, issuer, demo)"
    )
    _add_port(dev, "port of the gateway, demo page and issuer; the AWS emulator listens on PORT + 1")
    dev.add_argument(
        "--idle-timeout",
        type=positive_float,
        default=600.0,
        metavar="SECONDS",
        help="close connections with no message either way for this long (API Gateway: 600)",
    )
    dev.add_argument(
        "--max-lifetime",
        type=positive_float,
        default=7200.0,
        metavar="SECONDS",
        help="close connections older than this (API Gateway: 7200)",
    )
    dev.add_argument(
        "--visibility-timeout",
        type=positive_int,
        default=5,
        metavar="SECONDS",
        help="how long a failed dispatch batch stays invisible before SQS redelivers it (default 5)",
    )
    dev.add_argument(
        "--bus-reorder-max",
        dest="bus_reorder_max_seconds",
        type=non_negative_float,
        default=0.05,
        metavar="SECONDS",
        help="the Custom Event Bus holds each UNORDERED delivery up to this long at random, so "
        "deliveries overtake each other as on AWS (default 0.05; 0: no reordering)",
    )
    dev.add_argument(
        "--bus-fifo-jitter",
        dest="bus_fifo_jitter_seconds",
        type=non_negative_float,
        default=0.002,
        metavar="SECONDS",
        help="a random delay up to this long before each FIFO subscriber delivery, so users' event "
        "groups interleave (default 0.002); a group's own order always holds",
    )
    dev.add_argument(
        "--lambda-concurrency",
        type=positive_int,
        default=10,
        metavar="N",
        help="execution environments (worker processes) each function may run at once, so "
        "invocations overlap as in Lambda (default 10; the dispatcher at most 10, its deployed cap)",
    )
    dev.add_argument(
        "--index-lag",
        dest="index_lag_seconds",
        type=non_negative_float,
        default=0.5,
        metavar="SECONDS",
        help="DynamoDB's global secondary indexes show each item as it was this long ago, as on "
        "AWS where they update asynchronously (default 0.5; 0: read-your-write)",
    )
    dev.add_argument(
        "--ttl-sweep",
        dest="ttl_sweep_seconds",
        type=positive_float,
        default=30.0,
        metavar="SECONDS",
        help="how often expired rows (connections, history) are deleted, emulating DynamoDB TTL (default 30)",
    )
    dev.add_argument(
        "--ttl-lag",
        dest="ttl_lag_seconds",
        type=non_negative_float,
        default=60.0,
        metavar="SECONDS",
        help="an expired row is deleted only once expired this long, as DynamoDB deletes lazily "
        "(default 60; readers must filter on ttl themselves)",
    )
    dev.add_argument(
        "--session-sweep",
        dest="session_sweep_seconds",
        type=positive_float,
        default=30.0,
        metavar="SECONDS",
        help="how often the session sweeper closes connections whose token expired (deployed: 30)",
    )
    dev.add_argument(
        "--no-disconnect-on-abort",
        dest="disconnect_on_abort",
        action="store_false",
        help="no $disconnect for a client lost without a close frame (API Gateway's is best effort): "
        "its row stays until a delivery gets 410 or TTL removes it",
    )
    dev.add_argument(
        "--data-tables",
        dest="data_tables_file",
        metavar="FILE",
        help="an app's own data tables instead of ours: a JSON mapping (as the deploy's "
        "dataTableStreamArns, each table optionally with its CreateTable definition)",
    )
    dev.add_argument("--verbose", action="store_true", help="show the handlers' INFO logs")
    dev.set_defaults(run=_dev)

    token = commands.add_parser("token", help="print a JWT for a user, from the running dev stack")
    token.add_argument("--user", required=True, help="user id (the token's sub)")
    token.add_argument(
        "--expires-in",
        type=_token_lifetime,
        default=None,
        metavar="SECONDS",
        help=f"the token's lifetime, 1 to {MAX_TOKEN_SECONDS} (default 3600, as Cognito's)",
    )
    _add_port(token, "port of the running dev stack")
    token.set_defaults(run=_token)

    emit = commands.add_parser("emit", help="emit a domain event through the running dev stack")
    emit.add_argument(
        "type", choices=EVENT_TYPES, metavar="TYPE", help="event type: " + ", ".join(EVENT_TYPES)
    )
    emit.add_argument("--user", required=True, help="user id the event belongs to")
    emit.add_argument("--data", type=_json_object, help="the event's data as JSON (default: a sample)")
    _add_port(emit, "port of the running dev stack")
    emit.set_defaults(run=_emit)

    listen = commands.add_parser("listen", help="print every frame a user receives, one JSON line each")
    listen.add_argument("--user", required=True, help="user id to connect as")
    _add_port(listen, "port of the running dev stack")
    listen.set_defaults(run=_listen)

    disconnect = commands.add_parser(
        "disconnect", help="sign a user out: close every connection of theirs (prints how many)"
    )
    disconnect.add_argument("--user", required=True, help="user id whose connections to close")
    _add_port(disconnect, "port of the running dev stack")
    disconnect.set_defaults(run=_disconnect)
    return parser


def _add_port(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"{help_text} (default {DEFAULT_PORT})"
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65534:
        raise argparse.ArgumentTypeError(f"port must be between 1 and 65534, not {port}")
    return port


def _token_lifetime(text: str) -> int:
    value = positive_int(text)
    if value > MAX_TOKEN_SECONDS:
        raise argparse.ArgumentTypeError(f"at most {MAX_TOKEN_SECONDS} seconds (a day), not {value}")
    return value


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('must be a JSON object, e.g. \'{"id": "f1"}\'')
    return value


# ---- commands ------------------------------------------------------------------------------


def _dev(args: argparse.Namespace) -> int:
    from healthcoach_realtime.local.data_tables import load_data_tables_file
    from healthcoach_realtime.local.stack import StackStartError, run
    from healthcoach_realtime.table_mapping import DEFAULT_SOURCES, TableMappingError

    try:
        data_tables = (
            load_data_tables_file(args.data_tables_file) if args.data_tables_file else DEFAULT_SOURCES
        )
    except TableMappingError as exc:
        raise CliError(str(exc)) from None
    config = _stack_config(args, data_tables)
    try:
        run(config, out=_say)
    except StackStartError as exc:
        raise CliError(str(exc)) from None
    return 0


def _stack_config(args: argparse.Namespace, data_tables: tuple[TableSource, ...]) -> StackConfig:
    """The stack ``dev``'s flags describe: each flag's ``dest`` is the field it sets."""
    from healthcoach_realtime.local.stack import StackConfig

    given = {
        field.name: getattr(args, field.name) for field in fields(StackConfig) if hasattr(args, field.name)
    }
    return StackConfig(**given, data_tables=data_tables)


def _token(args: argparse.Namespace) -> int:
    print(_fetch_token(args.port, args.user, args.expires_in))
    return 0


def _emit(args: argparse.Namespace) -> int:
    data = args.data
    if data is None:
        from healthcoach_realtime.local.samples import sample_data

        data = sample_data(args.type)
    body = {"type": args.type, "userId": args.user, "data": data}
    status, answer = _request(args.port, "POST", "/local/emit", body)
    if status == 200 and isinstance(answer.get("id"), str):
        print(answer["id"])
        return 0
    message = answer.get("error") or f"the stack answered HTTP {status}"
    where = [f"{name} {answer[name]}" for name in ("field", "rule") if answer.get(name)]
    raise CliError(message + (f" ({', '.join(where)})" if where else ""))


def _disconnect(args: argparse.Namespace) -> int:
    status, answer = _request(args.port, "POST", "/local/disconnect", {"userId": args.user})
    closed = answer.get("closed")
    if status != 200 or not isinstance(closed, int):
        raise CliError(answer.get("error") or f"the stack answered HTTP {status}")
    print(closed)
    return 0


def _listen(args: argparse.Namespace) -> int:
    import asyncio

    asyncio.run(_listen_forever(args.port, args.user))
    return 0


async def _listen_forever(port: int, user: str) -> None:
    """Print frames; after a server close (API Gateway closes idle sockets) reconnect, fresh token."""
    import aiohttp

    url = f"ws://{HOST}:{port}/local"
    async with aiohttp.ClientSession() as session:
        while True:
            token = _fetch_token(port, user)
            try:
                socket = await session.ws_connect(url, protocols=("healthcoach.v1", token), autoping=True)
            except aiohttp.WSServerHandshakeError as exc:
                raise CliError(f"{url} refused the connection: HTTP {exc.status}") from None
            except aiohttp.ClientError as exc:
                raise CliError(f"cannot connect to {url}: {exc}") from None
            _say(f"listening as {user} on {url} (Ctrl-C to stop)", err=True)
            async with socket:
                async for message in socket:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        print(_one_line(message.data), flush=True)
                    elif message.type == aiohttp.WSMsgType.BINARY:
                        print(json.dumps({"binary": message.data.hex()}), flush=True)
            _say(f"closed by the server ({socket.close_code}); reconnecting", err=True)


def _one_line(text: str) -> str:
    try:
        return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return json.dumps({"text": text})


# ---- HTTP to the running stack ---------------------------------------------------------------


def _fetch_token(port: int, user: str, expires_in: int | None = None) -> str:
    parameters: dict[str, str | int] = {"user": user}
    if expires_in is not None:
        parameters["expiresIn"] = expires_in
    query = urllib.parse.urlencode(parameters)
    status, answer = _request(port, "GET", f"/local/issuer/token?{query}")
    token = answer.get("token")
    if status != 200 or not isinstance(token, str):
        raise CliError(answer.get("error") or f"the token issuer answered HTTP {status}")
    return token


def _request(port: int, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    """One request to the dev stack; the status and the JSON answer (``{}`` when it is not JSON)."""
    url = f"http://{HOST}:{port}{path}"
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310 (loopback)
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        _no_stack(port, exc)
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = {}
    return status, answer if isinstance(answer, dict) else {}


def _no_stack(port: int, exc: BaseException) -> NoReturn:
    reason = getattr(exc, "reason", exc)
    hint = "hc-realtime dev" + ("" if port == DEFAULT_PORT else f" --port {port}")
    raise CliError(f"no dev stack answers on {HOST}:{port} ({reason}): start one with `{hint}`")


def _say(line: str, *, err: bool = False) -> None:
    print(line, file=sys.stderr if err else sys.stdout, flush=True)


if __name__ == "__main__":
    sys.exit(main())
