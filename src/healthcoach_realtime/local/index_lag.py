"""Global secondary indexes that lag their table, as on AWS, in the local emulator's moto.

moto answers a query on a global secondary index (GSI) from the table's current items: a write
is visible to the index at once. On AWS a GSI is updated asynchronously (normally well under a
second, unbounded under load), so code that writes a row and then finds it through a GSI works
against moto and fails on AWS. With a lag set, a Query or Scan on a GSI sees each table as it
was ``lag`` seconds ago: an item put less than ``lag`` ago is not there yet, an item deleted
less than ``lag`` ago is still there, an item updated less than ``lag`` ago shows its previous
image. Base-table reads (GetItem, Query, Scan, consistent or not) and local secondary indexes
(which may be read strongly consistent) are not lagged.

The model: every write (PutItem, UpdateItem, DeleteItem, and BatchWriteItem, TransactWriteItems
and PartiQL, which all go through the same moto entry points) records its time and the item's
previous image (a copy; ``None`` when the item was absent). The lagged image of a key is the
previous image of its oldest write within the last ``lag`` seconds, else the current item.
Writes older than the lag are forgotten. A table's writes and its lagged reads hold that
table's lock, so a read never sees a write that is applied but not yet recorded.

moto's backends are process-wide, so the lag is too: ``set_index_lag(seconds)`` (0 turns it
off: moto's own behaviour, nothing recorded). ``Emulator(..., index_lag_seconds=...)`` and its
``index_lag_seconds`` property set it.
"""

from __future__ import annotations

import copy
import inspect
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_INDEX_LAG_SECONDS",
    "Write",
    "WriteLog",
    "index_lag_seconds",
    "install",
    "lagged_images",
    "set_index_lag",
]

# A GSI normally catches up well under a second on AWS; half a second makes a missing wait show
# up locally while a person using the dev stack barely notices it.
DEFAULT_INDEX_LAG_SECONDS = 0.5

ItemKey = tuple[Hashable, Hashable | None]  # moto's (hash key, range key or None) DynamoTypes


@dataclass(frozen=True, eq=False)
class Write:
    """One write to one item: when (on the lag's clock) and the item before it (None: absent)."""

    at: float
    key: ItemKey
    before: Any


def lagged_images(writes: Iterable[Write], since: float) -> dict[ItemKey, Any]:
    """For each key written after ``since``: its image at ``since`` (the image before its
    oldest such write; None: absent). ``writes`` in the order they were made."""
    images: dict[ItemKey, Any] = {}
    for write in writes:
        if write.at > since and write.key not in images:
            images[write.key] = write.before
    return images


class WriteLog:
    """One table's writes within the lag window; its lock guards the log and the table."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._writes: deque[Write] = deque()

    def record(self, at: float, key: ItemKey, before: Any) -> Write:
        """Append a write (the caller holds ``lock`` and has not applied it yet)."""
        write = Write(at, key, before)
        self._writes.append(write)
        return write

    def discard(self, write: Write) -> None:
        """Forget a write that failed (a condition, a validation): the table did not change."""
        if self._writes and self._writes[-1] is write:
            self._writes.pop()
        else:
            self._writes = deque(w for w in self._writes if w is not write)

    def images_at(self, since: float) -> dict[ItemKey, Any]:
        """Drop the writes made at or before ``since``; the lagged images of the rest."""
        while self._writes and self._writes[0].at <= since:
            self._writes.popleft()
        return lagged_images(self._writes, since)

    def __len__(self) -> int:
        return len(self._writes)


class _Lag:
    """The process-wide setting and each table's log, keyed by (account, region, table name):
    moto's transactions roll back by replacing a table with a copy, so its identity changes."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.clock: Callable[[], float] = time.monotonic
        self._logs: dict[tuple[str, str, str], WriteLog] = {}
        self._logs_lock = threading.Lock()

    def log_for(self, table: Any) -> WriteLog:
        key = (table.account_id, table.region_name, table.name)
        log = self._logs.get(key)
        if log is None:
            with self._logs_lock:
                log = self._logs.setdefault(key, WriteLog())
        return log

    def forget(self, account_id: str, region: str, table_name: str) -> None:
        with self._logs_lock:
            self._logs.pop((account_id, region, table_name), None)

    def forget_all(self) -> None:
        with self._logs_lock:
            self._logs.clear()


_LAG = _Lag()


def set_index_lag(seconds: float, *, clock: Callable[[], float] | None = None) -> None:
    """Lag every GSI of this process's moto by ``seconds`` (0: off); ``clock`` (default
    ``time.monotonic``) is what write times and reads are measured on (tests pass their own)."""
    if seconds < 0:
        raise ValueError(f"index lag must be >= 0 seconds, got {seconds}")
    if seconds > 0:
        install()
    new_clock = clock or time.monotonic
    if seconds == 0 or new_clock is not _LAG.clock:
        _LAG.forget_all()  # times on another clock mean nothing; with no lag nothing is kept
    _LAG.clock = new_clock
    _LAG.seconds = float(seconds)


def index_lag_seconds() -> float:
    """The lag in force (0: off)."""
    return _LAG.seconds


def install() -> None:
    """Wrap moto's DynamoDB write and read entry points (idempotent). With the lag at 0 each
    wrapper calls moto's own method at once."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "index_lag", False):
        return
    _wrap(Table, "put_item", _recording_put)
    _wrap(Table, "delete_item", _recording_delete)
    _wrap(DynamoDBBackend, "update_item", _recording_update)
    _wrap(DynamoDBBackend, "delete_table", _forgetting_delete_table)
    _wrap(Table, "query", _lagged_read)
    _wrap(Table, "scan", _lagged_read)


def _wrap(owner: type, name: str, wrapper: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    moto_method = getattr(owner, name)
    wrapped = wrapper(moto_method)
    wrapped.index_lag = True  # type: ignore[attr-defined]
    wrapped.moto = moto_method  # type: ignore[attr-defined]
    setattr(owner, name, wrapped)


def _recorded(table: Any, key: ItemKey, apply: Callable[[], Any]) -> Any:
    """Record a write of ``key`` (with a copy of its current image), then apply it, under the
    table's lock; a write that fails is forgotten."""
    log = _LAG.log_for(table)
    with log.lock:
        write = log.record(_LAG.clock(), key, _detached_copy(_current(table, key)))
        try:
            return apply()
        except BaseException:
            log.discard(write)
            raise


def _recording_put(moto_put: Callable[..., Any]) -> Callable[..., Any]:
    def put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        key = _key_of_item(self, item_attrs) if _LAG.seconds > 0 else None
        if key is None:  # no lag, or no key (moto refuses the item)
            return moto_put(self, item_attrs, *args, **kwargs)
        return _recorded(self, key, lambda: moto_put(self, item_attrs, *args, **kwargs))

    return put_item


def _recording_delete(moto_delete: Callable[..., Any]) -> Callable[..., Any]:
    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        if _LAG.seconds <= 0:
            return moto_delete(self, hash_key, range_key)
        key = (hash_key, range_key if self.range_key_attr else None)
        return _recorded(self, key, lambda: moto_delete(self, hash_key, range_key))

    return delete_item


def _recording_update(moto_update: Callable[..., Any]) -> Callable[..., Any]:
    """moto's UpdateItem changes the ``Item`` in place: its image is copied before the call."""

    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if _LAG.seconds <= 0:
            return moto_update(self, table_name, key, *args, **kwargs)
        table = self.get_table(table_name)
        item_key = _key_of_update(table, key)
        if item_key is None:
            return moto_update(self, table_name, key, *args, **kwargs)
        return _recorded(table, item_key, lambda: moto_update(self, table_name, key, *args, **kwargs))

    return update_item


def _forgetting_delete_table(moto_delete_table: Callable[..., Any]) -> Callable[..., Any]:
    """A table created again under a deleted one's name starts with no writes."""

    def delete_table(self: Any, name: str) -> Any:
        table = moto_delete_table(self, name)
        _LAG.forget(self.account_id, self.region_name, name)
        return table

    return delete_table


def _lagged_read(moto_read: Callable[..., Any]) -> Callable[..., Any]:
    """``Table.query`` / ``Table.scan``: on a GSI, run moto's own on the table's lagged image."""
    index_position = list(inspect.signature(moto_read).parameters).index("index_name")

    def read(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _LAG.seconds <= 0:
            return moto_read(self, *args, **kwargs)
        given = (self, *args)
        index_name = given[index_position] if len(given) > index_position else kwargs.get("index_name")
        if not index_name or not any(index.name == index_name for index in self.global_indexes):
            return moto_read(self, *args, **kwargs)
        log = _LAG.log_for(self)
        with log.lock:
            images = log.images_at(_LAG.clock() - _LAG.seconds)
            view = _lagged_view(self, images) if images else self
            return moto_read(view, *args, **kwargs)

    return read


def _lagged_view(table: Any, images: dict[ItemKey, Any]) -> Any:
    """A shallow copy of ``table`` whose items are ``images`` over the current ones.

    Made without moto's ``BaseModel.__new__``, which keeps every instance it makes forever."""
    view = object.__new__(type(table))
    view.__dict__.update(table.__dict__)
    items = table.items.copy()
    if table.range_key_attr:
        copied: set[Any] = set()
        for (hash_key, range_key), image in images.items():
            if hash_key not in copied:
                items[hash_key] = dict(items.get(hash_key, {}))
                copied.add(hash_key)
            _place(items[hash_key], range_key, image)
    else:
        for (hash_key, _), image in images.items():
            _place(items, hash_key, image)
    view.items = items
    return view


def _place(items: dict[Any, Any], key: Any, image: Any) -> None:
    if image is None:
        items.pop(key, None)
    else:
        items[key] = image


def _current(table: Any, key: ItemKey) -> Any:
    """The table's item at ``key`` now, or None (never creates an entry in moto's defaultdict)."""
    hash_key, range_key = key
    if table.range_key_attr:
        return table.items.get(hash_key, {}).get(range_key)
    return table.items.get(hash_key)


def _key_of_item(table: Any, attrs: dict[str, Any]) -> ItemKey | None:
    """PutItem's key, as moto stores it; None when the item lacks it (moto refuses it)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        hash_key = DynamoType(attrs[table.hash_key_attr])
        range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, TypeError, AttributeError, IndexError):
        return None
    return (hash_key, range_key)


def _key_of_update(table: Any, key: dict[str, Any]) -> ItemKey | None:
    """UpdateItem's key, read as moto's ``update_item`` reads it; None when it has no key."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_name, range_name = table.hash_key_attr, table.range_key_attr
    try:
        if hash_name in key and range_name in key:
            return (DynamoType(key[hash_name]), DynamoType(key[range_name]))
        if hash_name in key:
            return (DynamoType(key[hash_name]), None)
    except (KeyError, TypeError, AttributeError, IndexError):
        return None
    return None


def _detached_copy(item: Any) -> Any:
    """A deep copy of a moto ``Item`` (or None), made without ``BaseModel.__new__``'s tracking."""
    if item is None:
        return None
    clone = object.__new__(type(item))
    clone.__dict__.update(copy.deepcopy(item.__dict__))
    return clone
