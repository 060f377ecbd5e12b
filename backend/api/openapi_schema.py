"""The API's OpenAPI schema without a running server, for the frontend's generated types (`npm run api-types`)."""

import json
from typing import Any

from backend.api.app import create_app
from backend.settings import Settings


def openapi_schema() -> dict[str, Any]:
    """The schema `/openapi.json` serves; building it starts no service (those start in the app's lifespan)."""
    # Default settings, not the environment's: the schema depends on the code alone.
    return create_app(Settings.model_construct()).openapi()


def openapi_json() -> str:
    """The schema as JSON with sorted keys, so that the generated types keep one order whatever the code's."""
    return json.dumps(openapi_schema(), indent=2, sort_keys=True)


if __name__ == "__main__":
    print(openapi_json())
