"""Sign-out: close every connection of a user, for the app's sign-out and account-disable paths.

The row goes first, then the socket (``DeleteConnection``): once the row is gone no dispatcher
finds the connection, so nothing more is posted to it while it closes, and the ``$disconnect``
API Gateway then sends finds nothing left to do.

The user's connections are the index's and those noted on the user's seq counter too recently
for the index (it lags its table) to show them: a tab opened a moment before sign-out is closed too.

The caller needs, on the stage's resources (the stack's ``SignOutPolicyArn`` output grants
exactly this): ``dynamodb:Query`` on the connections table's ``GSI1``, ``dynamodb:DeleteItem`` on
the table, ``dynamodb:GetItem`` on the history table (the notes), and
``execute-api:ManageConnections`` on ``<api>/<stage>/DELETE/@connections/*``::

    from healthcoach_realtime.sessions import disconnect_user
    closed = disconnect_user("user-123")   # CONNECTIONS_TABLE, HISTORY_TABLE, WS_API_ENDPOINT
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from healthcoach_realtime.sessions.sockets import close_sockets

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

    from healthcoach_realtime.connections import ConnectionStore
    from healthcoach_realtime.history.store import HistoryStore

__all__ = ["disconnect_user"]


def disconnect_user(
    user_id: str,
    *,
    store: ConnectionStore | None = None,
    management: ApiGatewayManagementApiClient | None = None,
    recent: HistoryStore | None = None,
    now: float | None = None,
) -> int:
    """Close every connection of ``user_id`` now; returns how many were open (rows removed).

    Revoke the user's tokens first (Cognito ``AdminUserGlobalSignOut``): this ends the sessions
    that are open, and an id token still valid elsewhere could open a new one until its ``exp``.
    Without ``store``/``management``/``recent``, the process's cached clients are used.
    """
    if store is None or management is None or recent is None:
        from healthcoach_realtime.clients import dynamodb_client, management_api_client
        from healthcoach_realtime.connections import ConnectionStore
        from healthcoach_realtime.history.store import HistoryStore
        from healthcoach_realtime.settings import get_settings

        settings = get_settings()
        store = store or ConnectionStore(dynamodb_client(), settings.connections_table)
        management = management or management_api_client()
        recent = recent or HistoryStore(dynamodb_client(), settings.history_table)
    from healthcoach_realtime.history.store import young_connections

    noted = young_connections(recent.recent_connections(user_id), time.time() if now is None else now)
    candidates = sorted({*store.connection_ids_of(user_id), *noted})
    removed = [cid for cid in candidates if store.remove(cid) is not None]
    close_sockets(management, removed)
    return len(removed)
