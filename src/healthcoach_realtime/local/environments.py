"""Lambda's execution environments, emulated: one worker process per environment.

Lambda runs the concurrent invocations of a function in separate execution environments: each
serves one invocation at a time, shares nothing with the others but what it reaches over the
network, is reused warm by later invocations, and is thrown away when an invocation times out.
The local stack does the same. An environment is a process that imports
``functions/<name>/handler.py`` once (its init: the handler's imports of the package and its
module-level set-up run in every environment, as in a cold start), then serves the invocations
sent to it over a pipe, one at a time. Environments are forked from a server process that has
only the third-party libraries imported (boto3, Powertools: what a runtime's image has on disk),
so a burst of new environments does not spend the two cores re-reading them. A function has at
most ``concurrency`` environments; an invocation waits for a free one beyond that (where Lambda
would throttle).
Handlers reach the emulator and the @connections API over loopback HTTP, as they reach AWS::

    pool = FunctionPool(FunctionConfig("dispatcher", timeout_seconds=30), functions_dir, environ)
    pool.warm()                          # one environment ready before the first invocation
    response = pool.invoke(event)        # blocks; InvocationError on an error or a timeout
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

__all__ = ["FunctionConfig", "FunctionPool", "InvocationError"]

log = logging.getLogger(__name__)

# Lambda's init phase may take up to 10 s; a spawn and the handler's imports take ~1 s here.
INIT_TIMEOUT_SECONDS = 30.0
# An environment asked to stop gets this long before it is killed.
STOP_SECONDS = 2.0


# Imported once by the server environments are forked from; nothing of the package is (its
# module state must start fresh in every environment).
PRELOADED = ("boto3", "botocore.session", "aws_lambda_powertools.logging", "aws_lambda_powertools.metrics")


@functools.cache
def _process_context() -> ForkServerContext:
    """The ``forkserver`` context, its server preloading ``PRELOADED`` (once per process)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOADED))
    return context


class InvocationError(RuntimeError):
    """The handler raised, timed out, or its environment failed to start or died."""


@dataclass(frozen=True)
class FunctionConfig:
    """What Lambda knows of a function: its name, limits and how many environments it may have."""

    name: str
    timeout_seconds: float = 30.0
    memory_mb: int = 256
    concurrency: int = 10
    region: str = "us-east-1"


class _Environment:
    """One worker process running one function's handler."""

    def __init__(self, config: FunctionConfig, functions_dir: Path, environ: Mapping[str, str]) -> None:
        context = _process_context()
        ours, theirs = context.Pipe()
        self._conn: Connection = ours
        self.process = context.Process(
            target=serve_environment,
            args=(theirs, config, str(functions_dir), dict(environ)),
            name=f"lambda-{config.name}",
            daemon=True,
        )
        self.process.start()
        theirs.close()
        self._config = config

    def wait_ready(self) -> None:
        """Block until the handler is imported; ``InvocationError`` if it failed or took too long."""
        if not self._conn.poll(INIT_TIMEOUT_SECONDS):
            self.kill()
            raise InvocationError(f"{self._config.name}: init timed out after {INIT_TIMEOUT_SECONDS:.0f} s")
        kind, detail = self._receive()
        if kind != "ready":
            self.kill()
            raise InvocationError(f"{self._config.name}: init failed: {detail}")

    def invoke(self, event: dict[str, Any]) -> Any:
        """One invocation; the environment is killed (unusable) when it times out or dies."""
        self._conn.send(event)
        timeout = self._config.timeout_seconds
        if not self._conn.poll(timeout):
            self.kill()
            raise InvocationError(f"{self._config.name}: Task timed out after {timeout:.2f} seconds")
        kind, payload = self._receive()
        if kind == "error":
            raise InvocationError(f"{self._config.name}: {payload}")
        return payload

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        """Ask the process to exit after its current invocation; kill it if it does not."""
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(None)
        self.process.join(STOP_SECONDS)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
            self.process.join(STOP_SECONDS)
        self._conn.close()

    def _receive(self) -> tuple[str, Any]:
        try:
            message: tuple[str, Any] = self._conn.recv()
        except (EOFError, OSError):
            self.kill()
            raise InvocationError(f"{self._config.name}: the environment exited") from None
        return message


class FunctionPool:
    """A function's environments: reuses an idle one, starts one below ``concurrency``, else waits."""

    def __init__(self, config: FunctionConfig, functions_dir: Path, environ: Mapping[str, str]) -> None:
        self.config = config
        self._functions_dir = functions_dir
        self._environ = dict(environ)
        self._idle: list[_Environment] = []
        self._started = 0  # environments that exist or are starting
        self._busiest = 0
        self._busy = 0
        self._closed = False
        self._changed = threading.Condition()

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def environments(self) -> int:
        """How many environments exist now (idle or busy)."""
        with self._changed:
            return self._started

    @property
    def peak_concurrency(self) -> int:
        """The most invocations that ran at once so far."""
        with self._changed:
            return self._busiest

    def warm(self) -> None:
        """Start one environment and wait until its handler is imported (a failed import raises)."""
        environment = self._start()
        with self._changed:
            self._idle.append(environment)
            self._changed.notify()

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run one invocation in an environment of its own; its response, or ``InvocationError``."""
        environment = self._acquire()
        try:
            return environment.invoke(event)
        finally:
            self._release(environment)

    async def invoke_async(self, event: dict[str, Any], executor: Executor | None = None) -> Any:
        """``invoke`` in a worker thread, so the calling event loop keeps serving."""
        return await asyncio.get_running_loop().run_in_executor(executor, self.invoke, event)

    def close(self) -> None:
        """Stop every idle environment; busy ones stop when their invocation ends."""
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            self._changed.notify_all()
        for environment in idle:
            environment.stop()

    def _acquire(self) -> _Environment:
        with self._changed:
            while True:
                if self._closed:
                    raise InvocationError(f"{self.name}: the local stack is stopping")
                if self._idle:
                    environment = self._idle.pop()
                    self._count_busy(+1)
                    return environment
                if self._started < self.config.concurrency:
                    break
                self._changed.wait()
        environment = self._start()
        with self._changed:
            self._count_busy(+1)
        return environment

    def _start(self) -> _Environment:
        with self._changed:
            self._started += 1
        try:
            environment = _Environment(self.config, self._functions_dir, self._environ)
            environment.wait_ready()
        except BaseException:
            with self._changed:
                self._started -= 1
                self._changed.notify()
            raise
        return environment

    def _release(self, environment: _Environment) -> None:
        with self._changed:
            self._count_busy(-1)
            if environment.alive and not self._closed:
                self._idle.append(environment)
            else:
                self._started -= 1
            self._changed.notify()
        if self._closed and environment.alive:
            environment.stop()
        elif not environment.alive:
            environment.kill()

    def _count_busy(self, change: int) -> None:
        self._busy += change
        self._busiest = max(self._busiest, self._busy)


def serve_environment(
    conn: Connection, config: FunctionConfig, functions_dir: str, environ: dict[str, str]
) -> None:
    """The environment process: import the handler, then serve invocations until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the stack, which stops us
    os.environ.update(environ)
    try:
        from healthcoach_realtime.local.handlers import load_function
        from healthcoach_realtime.local.in_process import skip_signing

        skip_signing(environ.get("AWS_ACCESS_KEY_ID", "local"))
        function = load_function(
            config.name,
            Path(functions_dir),
            region=config.region,
            timeout_seconds=config.timeout_seconds,
            memory_mb=config.memory_mb,
            after_invoke=_discard_metrics,
        )
    except Exception as exc:  # reported to the stack, which refuses to start
        conn.send(("init_error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            event = conn.recv()
        except (EOFError, OSError):  # the stack is gone
            return
        if event is None:
            return
        try:
            response = function.invoke(event)
        except Exception as exc:
            traceback.print_exc()  # Lambda logs an unhandled error with its stack trace
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        else:
            conn.send(("ok", response))


def _discard_metrics() -> None:
    """Locally metrics go nowhere (``POWERTOOLS_METRICS_DISABLED``), yet Powertools keeps them and
    prints the whole set to stdout at every 100th value of a metric: drop them after each invocation.
    """
    from healthcoach_realtime.observability import metrics

    metrics.clear_metrics()
