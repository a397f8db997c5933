"""gridmap.head: ``HEAD`` on every ``GET`` route, answered as ``GET`` without the body.

FastAPI registers a route only for the methods it names, so ``HEAD /health`` would be 405 and
uptime monitors would see the service as down. Rather than name ``HEAD`` on every route, this
middleware runs a ``HEAD`` request as a ``GET`` and sends the status and headers (``ETag``,
``Content-Length``, ``Content-Type`` …) without the body.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run ``HEAD`` as ``GET`` and drop the body; pass every other request on as it is."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        ended = False

        async def bodiless(message: Message) -> None:
            nonlocal ended
            if message["type"] != "http.response.body":
                await send(message)
            elif not ended and not message.get("more_body", False):
                ended = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        # A copy: the server keeps its own scope, and must still know the request was HEAD.
        await self.app({**scope, "method": "GET"}, receive, bodiless)
