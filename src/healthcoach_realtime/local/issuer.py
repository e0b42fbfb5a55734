"""The dev token issuer's HTTP side: a JWKS where the connect handler looks for Cognito's, and tokens.

``GET <issuer>/.well-known/jwks.json`` is what the real ``$connect`` handler fetches (it is
given ``TOKEN_ISSUER=<issuer>``); ``GET <issuer>/token?user=<id>[&expiresIn=<seconds>]`` mints an
id token for any user (valid an hour unless ``expiresIn`` says otherwise: 1 s to a day), for the
demo page and ``hc-realtime token``. Dev only: it signs whatever it is asked to.
"""

from __future__ import annotations

import time

from aiohttp import web

from healthcoach_realtime.dev_identity import DevIssuer

__all__ = ["MAX_TOKEN_TTL_SECONDS", "TOKEN_TTL_SECONDS", "IssuerEndpoints"]

TOKEN_TTL_SECONDS = 3600
MAX_TOKEN_TTL_SECONDS = 86400
MAX_USER_ID_LENGTH = 128  # the schemas' limit on ``userId``


class IssuerEndpoints:
    """Serves one ``DevIssuer`` under ``path`` (the issuer URL's path, e.g. ``/local/issuer``)."""

    def __init__(self, issuer: DevIssuer, path: str) -> None:
        self._issuer = issuer
        self._path = path.rstrip("/")

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(f"{self._path}/.well-known/jwks.json", self.jwks)
        app.router.add_get(f"{self._path}/token", self.token)

    async def jwks(self, request: web.Request) -> web.Response:
        """The public keys, as Cognito publishes them."""
        return web.json_response(self._issuer.jwks(), headers={"Cache-Control": "no-store"})

    async def token(self, request: web.Request) -> web.Response:
        """``{"token", "userId", "expiresIn", "exp"}`` for ``?user=<id>[&expiresIn=<s>]``; 400 when
        either is unusable."""
        user = request.query.get("user", "").strip()
        if not user or len(user) > MAX_USER_ID_LENGTH:
            return web.json_response(
                {"error": f"?user= must name a user id of 1 to {MAX_USER_ID_LENGTH} characters"}, status=400
            )
        text = request.query.get("expiresIn", str(TOKEN_TTL_SECONDS)).strip()
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_TOKEN_TTL_SECONDS:
            return web.json_response(
                {"error": f"?expiresIn= must be whole seconds from 1 to {MAX_TOKEN_TTL_SECONDS}"}, status=400
            )
        ttl = int(text)
        issued_at = int(time.time())
        token = self._issuer.mint(user, ttl=ttl, now=issued_at)
        return web.json_response(
            {"token": token, "userId": user, "expiresIn": ttl, "exp": issued_at + ttl},
            headers={"Cache-Control": "no-store"},
        )
