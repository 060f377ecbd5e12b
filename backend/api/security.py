"""What every response carries for the browser's sake, and HEAD answered wherever GET is."""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No sniffing a JSON answer or a museum's image into script; referrers leave the site as an origin only (the museum
# pages linked from the panel learn where the visitor came from, not what they searched); no page may frame this
# one (clickjacking). A full Content-Security-Policy would also have to allow each museum's image hosts.
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "content-security-policy": "frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    "x-frame-options": "DENY",
}


class SecurityMiddleware:
    """Adds SECURITY_HEADERS to every HTTP response, and answers HEAD as GET with the body left out (the routes
    declare GET only; without this a HEAD fell through to the web app's 404)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_with_headers)
