"""OpenAPI links: how one answer leads to the next request (a result to its artwork, the map to its tiles), for
clients that follow them and for the stateful fuzzing that walks them."""

from backend.api.schemas import ErrorBody

ARTWORK = "#/paths/~1api~1artworks~1{artwork_id}"
TILE = "#/paths/~1api~1map~1{version}~1tiles~1{z}~1{x}~1{y}"


def _link(operation: str, description: str, **parameters: object) -> dict:
    return {"operationRef": f"{operation}/get", "description": description, "parameters": parameters}


def _first_result(operation: str, description: str) -> dict:
    return _link(operation, description, artwork_id="$response.body#/results/0/id")


RESULT_LINKS = {
    "FirstResult": _first_result(ARTWORK, "the best hit's metadata"),
    "LikeFirstResult": _first_result(ARTWORK + "~1similar", "works like the best hit"),
    "FirstResultImage": _first_result(ARTWORK + "~1image", "the best hit's image"),
}
MAP_LINKS = {
    "WholeMapTile": _link(TILE, "the tile that holds the whole map", version="$response.body#/version", z=0, x=0, y=0),
    "WholeMapAtlas": _link(
        TILE + ".jpg", "the thumbnails of that tile", version="$response.body#/version", z=0, x=0, y=0
    ),
}


def answer_with(links: dict) -> dict:
    """A route's 200 answer in `responses=`, with these links."""
    return {200: {"links": links}}


def search_answers(*errors: int) -> dict:
    """A search route's `responses=`: its 200 with RESULT_LINKS, and these error answers."""
    return answer_with(RESULT_LINKS) | {code: {"model": ErrorBody} for code in errors}
