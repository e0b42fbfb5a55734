"""The emulator's server keeps HTTP/1.1 connections open, and a body the application leaves
unread never bleeds into the next request (``local/keep_alive.py``), over real loopback sockets."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import boto3
import pytest
from werkzeug.serving import make_server

from healthcoach_realtime.local.keep_alive import KeepAliveRequestHandler


def _echo_path(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Answers with the request's path and never reads its body."""
    body = environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    served = make_server("127.0.0.1", 0, _echo_path, threaded=True, request_handler=KeepAliveRequestHandler)
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", served.server_port
    served.shutdown()
    served.server_close()


def test_requests_share_one_connection_and_an_unread_body_is_skipped(server: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*server, timeout=5)
    answers, sockets = [], set()
    for n in range(3):
        connection.request("POST", f"/request-{n}", body=b"GET /smuggled HTTP/1.1\r\n\r\n" * 50)
        response = connection.getresponse()
        answers.append((response.read(), response.getheader("Connection"), response.will_close))
        sockets.add(id(connection.sock))
    assert answers == [(f"/request-{n}".encode(), None, False) for n in range(3)]
    assert len(sockets) == 1  # never reconnected


def test_a_chunked_request_closes_its_connection(server: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*server, timeout=5)
    connection.request("POST", "/chunked", body=iter([b"abc", b"def"]), encode_chunked=True)
    response = connection.getresponse()
    assert response.read() == b"/chunked"
    assert response.will_close


def test_the_emulator_tells_boto3_to_keep_its_connection(aws_env: str, moto_endpoint: str) -> None:
    """No ``Connection: close`` on the emulator's answers, so boto3 keeps its pooled connection."""
    client = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    answers = [client.list_tables()["ResponseMetadata"]["HTTPHeaders"] for _ in range(3)]
    assert [headers.get("connection") for headers in answers] == [None, None, None]


def test_a_stopped_emulator_serves_no_kept_open_connection() -> None:
    """After ``stop()``, a client's pooled connection is closed, not answered by the old server."""
    from healthcoach_realtime.local.emulator import Emulator

    emulator = Emulator(0)
    emulator.start()
    connection = http.client.HTTPConnection(emulator.host, emulator.port, timeout=5)

    def ask() -> bytes:
        connection.request("GET", "/moto-api/")
        return connection.getresponse().read()

    ask()
    emulator.stop()
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        ask()
