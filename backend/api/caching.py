"""HTTP caching: strong ETags (of a local file's rendition, or of a body) and If-None-Match (RFC 9110, 13.1.2)."""

import hashlib
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response


def file_etag(path: Path, *variant: object) -> str:
    """A strong ETag for one rendition of a file: it changes with the file (path, size, mtime) and the rendition."""
    stat = path.stat()
    key = "\0".join(str(part) for part in (path, stat.st_size, stat.st_mtime_ns, *variant))
    return f'"{hashlib.sha256(key.encode()).hexdigest()[:32]}"'


def client_has(etag: str, if_none_match: str | None) -> bool:
    """Whether the client's If-None-Match names this ETag (or *), so a 304 answers it; the comparison is weak, as
    the RFC asks for this header."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def content_etag(content: bytes) -> str:
    """A strong ETag that is the body's own hash: equal bodies, equal tags, on every replica."""
    return '"' + hashlib.blake2b(content, digest_size=12).hexdigest() + '"'


def conditional(content: bytes, media_type: str, etag: str, cache_control: str, request: Request) -> Response:
    """200 with the body, or 304 when the client holds it already; a HEAD request gets the headers alone."""
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if client_has(etag, request.headers.get("if-none-match")):
        return Response(status_code=304, headers=headers)
    headers["Content-Length"] = str(len(content))
    return Response(b"" if request.method == "HEAD" else content, media_type=media_type, headers=headers)
