"""Property-based fuzzing of every operation in the OpenAPI schema: whatever a client sends, never a 5xx."""

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from backend.api.app import create_app
from backend.settings import Settings
from tests.helpers import fresh_database
from tests.search_seed import seeded_template

EXAMPLES_PER_OPERATION = 60  # per operation and mode (valid, invalid); health and metrics run out sooner


@pytest.fixture(scope="module")
def seeded_name(pg_server_url: str, tiny_clip_dir: Path) -> Iterator[str]:
    with seeded_template(pg_server_url, tiny_clip_dir) as (name, _):
        yield name


@pytest.fixture
def api_schema(pg_server_url: str, seeded_name: str, tiny_clip_dir: Path, tmp_path: Path) -> Iterator[object]:
    """The app on a copy of the seeded collection, started (lifespan) and loaded as a schemathesis schema."""
    with fresh_database(pg_server_url, "s", seeded_name) as url:
        app_settings = Settings(
            database_url=url,
            home=tmp_path,
            model=str(tiny_clip_dir),
            device="cpu",
            max_upload_bytes=100_000,
            search_rate_limit="0",
        )
        app = create_app(app_settings, frontend_dir=tmp_path / "no-dist")
        with TestClient(app):
            yield schemathesis.openapi.from_asgi("/openapi.json", app)


def fuzzer(operation: schemathesis.APIOperation, mode: GenerationMode, calls: Counter) -> Callable[[], None]:
    """A hypothesis test that sends this operation's generated cases and counts them."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def fuzz(case: schemathesis.Case) -> None:
        calls[f"{operation.label} ({mode.value})"] += 1
        case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

    return fuzz


def test_no_server_errors(api_schema: schemathesis.BaseSchema) -> None:
    """Each operation fuzzed in turn with valid and invalid inputs; counts what ran."""
    calls: Counter = Counter()
    for result in api_schema.get_all_operations():
        for mode in GenerationMode:
            try:
                fuzzer(result.ok(), mode, calls)()
            except Unsatisfiable:  # an operation without inputs (health, metrics) has no invalid request
                assert mode is GenerationMode.NEGATIVE
    print(dict(calls))
    assert calls.total() >= 500
