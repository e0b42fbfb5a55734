"""The embedded AWS emulator: moto's server (DynamoDB + Streams, EventBridge, SQS) on loopback.

Built like moto's ``ThreadedMotoServer`` but binding in the caller's thread, so a port in use
raises ``OSError`` at once (``ThreadedMotoServer`` binds in its thread and then waits forever).
State lives in memory and is gone when the process stops.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

__all__ = ["Emulator"]


class Emulator:
    """``start()`` binds and serves in a daemon thread; ``stop()`` shuts it down."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        """What ``AWS_ENDPOINT_URL`` is set to."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Bind (``OSError`` if the port is taken) and serve."""
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-emulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving; idempotent."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
