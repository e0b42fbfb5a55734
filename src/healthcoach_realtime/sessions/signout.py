"""Sign-out: close every connection of a user, for the app's sign-out and account-disable paths.

The row goes first, then the socket (``DeleteConnection``): once the row is gone no dispatcher
finds the connection, so nothing more is posted to it while it closes, and the ``$disconnect``
API Gateway then sends finds nothing left to do.

The caller needs, on the stage's resources (the stack's ``SignOutPolicyArn`` output grants
exactly this): ``dynamodb:Query`` on the connections table's ``GSI1``, ``dynamodb:DeleteItem`` on
the table, and ``execute-api:ManageConnections`` on ``<api>/<stage>/DELETE/@connections/*``::

    from healthcoach_realtime.sessions import disconnect_user
    closed = disconnect_user("user-123")   # CONNECTIONS_TABLE, WS_API_ENDPOINT from the environment
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from healthcoach_realtime.sessions.sockets import close_sockets

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

    from healthcoach_realtime.connections import ConnectionStore

__all__ = ["disconnect_user"]


def disconnect_user(
    user_id: str,
    *,
    store: ConnectionStore | None = None,
    management: ApiGatewayManagementApiClient | None = None,
) -> int:
    """Close every connection of ``user_id`` now; returns how many were open (rows removed).

    Revoke the user's tokens first (Cognito ``AdminUserGlobalSignOut``): this ends the sessions
    that are open, and an id token still valid elsewhere could open a new one until its ``exp``.
    Without ``store``/``management``, the process's cached clients are used.
    """
    if store is None or management is None:
        from healthcoach_realtime.clients import dynamodb_client, management_api_client
        from healthcoach_realtime.connections import ConnectionStore
        from healthcoach_realtime.settings import get_settings

        store = store or ConnectionStore(dynamodb_client(), get_settings().connections_table)
        management = management or management_api_client()
    removed = [cid for cid in store.connection_ids_of(user_id) if store.remove(cid) is not None]
    close_sockets(management, removed)
    return len(removed)
