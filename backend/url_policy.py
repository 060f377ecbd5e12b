"""Which URLs the product follows: web URLs (http/https with a host) from the museums, and file:// URLs only
for a folder source's own images, resolved inside a folder that was crawled."""

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

FOLDER_SOURCE = "folder"  # the one source whose images are local files
WEB_SCHEMES = frozenset({"http", "https"})
URL_FIELDS = ("image_url", "thumbnail_url", "full_image_url", "page_url")


def url_refusal(url: str | None, schemes: frozenset[str] = WEB_SCHEMES) -> str | None:
    """Why a URL from a museum's response cannot be kept (its scheme, no host), or None for a usable one."""
    if url is None:
        return None
    if any(ord(char) < 0x21 for char in url):
        return "holds whitespace or control characters"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a URL"
    if parts.scheme.lower() not in schemes:
        allowed = " or ".join(sorted(schemes))
        return f"has scheme {parts.scheme or 'none'!r}; only {allowed} is accepted"
    if not parts.hostname:
        return "has no host"
    return None


def is_web_url(url: str | None) -> bool:
    """An http(s) URL with a host: one the API may redirect a browser to or link to."""
    return url is not None and url_refusal(url) is None


def file_url_path(url: str) -> Path | None:
    """The path of a file:// URL naming a local file (no host), not yet resolved; None for any other URL."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    return Path(unquote(parts.path))


def local_image_path(url: str | None, roots: Iterable[Path]) -> Path | None:
    """The regular file a folder work's file:// URL names, symlinks followed, when it lies inside one of the
    crawled folders; None for anything else (another scheme, a path outside them, a missing file)."""
    path = file_url_path(url) if url else None
    if path is None or not path.is_absolute():
        return None
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, unreadable, or a symlink loop
        return None
    inside = any(resolved.is_relative_to(root) for root in roots)
    return resolved if inside and resolved.is_file() else None
