"""What every response carries for the browser's sake, and HEAD answered wherever GET is."""

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No sniffing a JSON answer or a museum's image into script; referrers leave the site as an origin only (the museum
# pages linked from the panel learn where the visitor came from, not what they searched); no page may frame this
# one (clickjacking).
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
}
LOCKED = ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'")
# FastAPI's interactive docs load Swagger UI and ReDoc from their CDN and start them with an inline script.
DOCS_PATHS = ("/docs", "/redoc")
DOCS_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
    "font-src https://fonts.gstatic.com",
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
    "worker-src blob:",
    *LOCKED,
))  # fmt: skip


def content_security_policy(image_hosts: Iterable[str]) -> str:
    """The web app's policy: its own scripts and styles only; pictures and their bytes (the map's textures are
    fetched) from this server and the museums' image hosts, which /api/artworks/{id}/image redirects to."""
    hosts = " ".join(image_hosts)
    return "; ".join((
        "default-src 'self'",
        f"img-src 'self' data: blob: {hosts}",
        f"connect-src 'self' {hosts}",
        "worker-src 'self' blob:",
        *LOCKED,
    ))  # fmt: skip


class SecurityMiddleware:
    """Adds SECURITY_HEADERS and the content security policy to every HTTP response, and answers HEAD as GET with
    the body left out (the routes declare GET only; without this a HEAD fell through to the web app's 404)."""

    def __init__(self, app: ASGIApp, image_hosts: Iterable[str]) -> None:
        self.app = app
        self.policy = content_security_policy(image_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        policy = DOCS_POLICY if scope["path"].startswith(DOCS_PATHS) else self.policy

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("content-security-policy", policy)
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_with_headers)
