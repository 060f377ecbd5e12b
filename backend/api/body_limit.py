"""A bound on every request body: a JSON body is read whole before a route sees it and a form as it streams, so
without one a client could make the server hold as much as it cares to send. A body over it is read on to its end
(and dropped, up to DISCARD_BYTES) before the 413: a server that answers and closes while the client still sends
makes most clients (urllib, requests) see a connection reset instead of the answer."""

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MB = 1024 * 1024
FORM_OVERHEAD = 64 * 1024  # boundaries, part headers and the small `k` field around an uploaded image
DISCARD_BYTES = 64 * MB  # past this, a client still sending is cut off: its reset costs less than reading on


def body_limit(max_upload_bytes: int) -> int:
    """The largest body any route takes: an upload, or a composed query holding it base64-encoded (4/3 larger)."""
    return max_upload_bytes * 4 // 3 + FORM_OVERHEAD


class BodyLimitMiddleware:
    """Answers 413 for a request body over max_bytes, declared (Content-Length) or as it streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0
        declared = dict(scope["headers"]).get(b"content-length", b"")
        over = declared.isdigit() and int(declared) > self.max_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if over or received > self.max_bytes:
                    await _discard(receive, message, received)
                    raise HTTPException(413, f"the request body is over the limit of {self.max_bytes // MB} MB")
            return message

        await self.app(scope, limited_receive, send)


async def _discard(receive: Receive, message: Message, received: int) -> None:
    """Read the rest of a refused body, until it ends or DISCARD_BYTES have come in all."""
    while message.get("more_body", False) and received <= DISCARD_BYTES:
        message = await receive()
        received += len(message.get("body", b""))
