"""Image uploads read into memory only: the body is bounded before it gets here (backend.api.body_limit), and the
file in it is held to the upload limit."""

from dataclasses import dataclass

from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from backend.api.body_limit import body_limit
from backend.api.params import DEFAULT_K, MAX_K

K_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": DEFAULT_K}

# The request body as the OpenAPI schema shows it (the route parses it itself, to stay in memory), and `k` in the
# query string, which counts as the form's field does.
UPLOAD_REQUEST_BODY = {
    "parameters": [{"name": "k", "in": "query", "required": False, "schema": K_SCHEMA, "description": "how many hits"}],
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "a JPEG, PNG or WebP"},
                        "k": K_SCHEMA | {"description": "how many hits (the query string's `k` when absent)"},
                    },
                }
            }
        },
    },
}


@dataclass(frozen=True)
class ImageUpload:
    """The uploaded bytes and how many hits were asked for."""

    data: bytes
    k: int


async def read_image_upload(request: Request) -> ImageUpload:
    """Parse multipart `file` and `k` (the form's, else the query string's); 413 past the limit, 415 for another body
    type, 422 for a bad form."""
    limit = request.app.state.settings.max_upload_bytes
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(415, "send the image as multipart/form-data with a `file` field")
    parser = MultiPartParser(request.headers, request.stream(), max_files=1)
    parser.spool_max_size = body_limit(limit)  # all a body may hold: the upload stays in memory, never on disk
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise HTTPException(422, f"bad multipart form: {exc.message}") from exc
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(422, "the form needs a `file` field holding the image")
    data = await upload.read()
    if len(data) > limit:
        raise HTTPException(413, too_large(limit))
    return ImageUpload(data, _parse_k(form.get("k", request.query_params.get("k"))))


def too_large(limit: int) -> str:
    """The 413 message."""
    return f"the upload is over the limit of {limit // (1024 * 1024)} MB"


def _parse_k(value: object) -> int:
    if value is None:
        return DEFAULT_K
    k = _as_int(value)
    if not 1 <= k <= MAX_K:
        raise HTTPException(422, f"k must be an integer from 1 to {MAX_K}")
    return k


def _as_int(value: object) -> int:
    """A form value as an integer; -1 when it is not one."""
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return -1
