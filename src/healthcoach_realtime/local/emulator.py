"""The embedded AWS emulator: moto's server (DynamoDB + Streams, SQS) on loopback,
plus EventBridge's Custom Event Bus (EventsV2), which moto lacks (``local.eventsv2``).

Built like moto's ``ThreadedMotoServer`` but binding in the caller's thread, so a port in use
raises ``OSError`` at once (``ThreadedMotoServer`` binds in its thread and then waits forever).
State lives in memory and is gone when the process stops. The WSGI app behind the port
(``Emulator.app``) sends EventsV2 operations to ``Emulator.eventsv2`` and everything else to
moto; the EventsV2 subscribers deliver straight into moto's SQS backend in this process.

moto's hot spots are cached, since every emit -> frame crosses them (``cProfile`` of the
emulator under load; latency numbers in ``bench/latency.py``'s docstring):

- the request dispatcher finds a request's backend by listing moto's package directory (about
  160 ``stat`` calls), twice per request, under a lock every request takes;
- every request lists its response class's methods with ``inspect.getmembers`` to find the
  action (~2% of the stack's CPU per event);
- every DynamoDB query and scan first sorts the whole table comparing ``DynamoType`` objects
  (each comparison converts both values): with the load test's 500 connections that sort was
  a third of the stack's CPU, each GSI lookup ~13 ms. ``sort_items_by_plain_keys`` gives the
  same order from keys converted once per item, and sorts again only when the items change;
- SQS reads the clock through ``unix_time_millis``, which builds and subtracts two datetimes,
  for every message each time it counts a queue's messages, which every subscriber -> FIFO
  queue delivery does several times (queue attributes): ~12% of the stack's CPU under the load
  test. ``read_sqs_clock_directly`` reads ``time.time()``, the same instant in the same unit;
- the same queue attributes convert each of their ~20 names from CamelCase to snake_case on every
  call (~7% after the clock fix): ``cache_sqs_attribute_names`` remembers the conversions.

One behaviour is corrected, not sped up: a long poll on a FIFO queue rechecks which message
groups are in flight while it waits (``sqs_long_poll``), as SQS does.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from types import ModuleType
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from healthcoach_realtime.local import index_lag
from healthcoach_realtime.local.eventsv2 import EventsV2Middleware, EventsV2Options, EventsV2Service
from healthcoach_realtime.local.keep_alive import KeepAliveRequestHandler, close_connections
from healthcoach_realtime.local.sqs_atomic import serialize_queue_operations
from healthcoach_realtime.local.sqs_long_poll import recheck_groups_while_polling

__all__ = [
    "Emulator",
    "MemoizedDispatcher",
    "cache_action_lookup",
    "cache_sqs_attribute_names",
    "read_sqs_clock_directly",
    "sort_items_by_plain_keys",
]


class MemoizedDispatcher(DomainDispatcherApplication):
    """moto's request dispatcher, with its host -> backend lookup cached (~2.3 ms per request).

    The answer depends on the host string only.
    """

    def __init__(self) -> None:
        super().__init__(create_backend_app)
        self._backends_by_host: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        # moto calls this under its dispatcher lock, so the cache needs no lock of its own.
        if host not in self._backends_by_host:
            self._backends_by_host[host] = super().get_backend_for_host(host)
        return self._backends_by_host[host]


def cache_action_lookup() -> None:
    """Make moto's per-request list of a response class's method names a lookup; idempotent.

    The list depends on the class only, and moto only tests membership in it.
    """
    import moto.core.responses

    _memoize(moto.core.responses, "method_names_from_class", maxsize=None)


def sort_items_by_plain_keys() -> None:
    """Replace moto 5.2's ``Table.all_items`` with one that sorts by each item's converted key
    values (what ``DynamoType``'s comparisons compare), computed once per item, and keeps that
    order until the table's items change (a GSI lookup on an unchanged connections table then
    sorts nothing); idempotent.

    Same items, same order (``tests/unit/test_local_emulator.py`` compares the two). The kept
    order is checked against the identities of the table's current items on every call: an
    item added, deleted or replaced (a put over its key makes a new ``Item``) sorts again. An
    update changes an ``Item`` in place, never its keys, so the order stays right.
    """
    from moto.dynamodb.models.table import Table

    if getattr(Table.all_items, "plain_keys", False):
        return
    moto_all_items = Table.all_items

    def all_items(self: Any) -> list[Any]:
        if self.range_key_attr:
            items = [item for by_range in self.items.values() for item in by_range.values()]
        else:
            items = list(self.items.values())
        identities = list(map(id, items))
        # (identities, order): a kept item cannot be freed, so its id is not reused meanwhile.
        kept = getattr(self, "_sorted_by_plain_keys", None)
        if kept is None or kept[0] != identities:
            kept = (identities, sorted(items, key=_plain_key))
            self._sorted_by_plain_keys = kept
        return list(kept[1])

    all_items.plain_keys = True  # type: ignore[attr-defined]
    all_items.moto = moto_all_items  # type: ignore[attr-defined]
    Table.all_items = all_items  # type: ignore[method-assign]


def read_sqs_clock_directly() -> None:
    """Give moto's SQS models ``unix_time``/``unix_time_millis`` that read ``time.time()`` when
    asked for now (a given datetime still goes to moto's own conversion); idempotent."""
    import moto.sqs.models

    namespace = vars(moto.sqs.models)
    if getattr(namespace["unix_time"], "direct", False):
        return
    seconds_of, millis_of = namespace["unix_time"], namespace["unix_time_millis"]

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else float(seconds_of(dt))

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else float(millis_of(dt))

    unix_time.direct = unix_time_millis.direct = True  # type: ignore[attr-defined]
    namespace["unix_time"], namespace["unix_time_millis"] = unix_time, unix_time_millis


def cache_sqs_attribute_names() -> None:
    """Make the CamelCase -> snake_case conversion moto's SQS models use remember its answers
    (a pure function of a string, and SQS asks for the same ~20 names); idempotent."""
    import moto.sqs.models

    _memoize(moto.sqs.models, "camelcase_to_underscores", maxsize=1024)


def _memoize(module: ModuleType, name: str, *, maxsize: int | None) -> None:
    """Replace the function ``module.name`` (as the module's own code looks it up) with an
    ``lru_cache`` of it, unless it already is one: idempotent."""
    namespace = vars(module)
    if not hasattr(namespace[name], "cache_info"):
        namespace[name] = functools.lru_cache(maxsize=maxsize)(namespace[name])


def _plain_key(item: Any) -> Any:
    if item.range_key:
        return (item.hash_key.cast_value, item.range_key.cast_value)
    return item.hash_key.cast_value


class Emulator:
    """``start()`` binds and serves in a daemon thread; ``stop()`` shuts it down.

    ``eventsv2`` sets the EventsV2 emulator's knobs (``EventsV2Options``; defaults suit the
    local stack); the service itself is ``emulator.eventsv2``. ``index_lag_seconds`` makes
    DynamoDB's global secondary indexes lag their tables as on AWS (``local.index_lag``; 0: off,
    moto's read-your-write). moto's state is process-wide, so that lag is too: ``start()`` sets
    it, and so does assigning ``emulator.index_lag_seconds`` (at once).
    """

    def __init__(
        self,
        port: int,
        host: str = "127.0.0.1",
        *,
        eventsv2: EventsV2Options | None = None,
        index_lag_seconds: float = 0.0,
    ) -> None:
        if index_lag_seconds < 0:
            raise ValueError(f"index lag must be >= 0 seconds, got {index_lag_seconds}")
        self.host = host
        self.port = port
        self._index_lag_seconds = index_lag_seconds
        # Deliveries go straight into moto's SQS backend, which runs in this process.
        self.eventsv2 = EventsV2Service(eventsv2)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        """What ``AWS_ENDPOINT_URL`` is set to."""
        return f"http://{self.host}:{self.port}"

    @property
    def index_lag_seconds(self) -> float:
        """How far behind its table a GSI query or scan reads (0: not at all)."""
        return self._index_lag_seconds

    @index_lag_seconds.setter
    def index_lag_seconds(self, seconds: float) -> None:
        index_lag.set_index_lag(seconds)
        self._index_lag_seconds = seconds

    @property
    def app(self) -> EventsV2Middleware:
        """The WSGI app behind the port (started), for in-process callers (``in_process``):
        EventsV2 operations, and moto's ``MemoizedDispatcher`` for the rest."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        app: EventsV2Middleware = self._server.app  # type: ignore[assignment]
        return app

    def start(self) -> None:
        """Bind (``OSError`` if the port is taken) and serve."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        cache_action_lookup()
        sort_items_by_plain_keys()
        read_sqs_clock_directly()
        cache_sqs_attribute_names()
        serialize_queue_operations()
        recheck_groups_while_polling()
        index_lag.set_index_lag(self._index_lag_seconds)
        app = EventsV2Middleware(self.eventsv2, MemoizedDispatcher())
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=KeepAliveRequestHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-emulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and the EventsV2 deliveries; idempotent."""
        self.eventsv2.close()
        if self._server is not None:
            self._server.shutdown()
            close_connections(self._server)
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
