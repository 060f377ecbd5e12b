"""Property-based fuzzing of every operation in the OpenAPI schema, alone and in sequences that follow its links:
whatever a client sends, never a 5xx and always an answer the schema describes.

`make fuzz` runs the slow lane (ARTSEARCH_FUZZ=slow): four times the cases of the default suite."""

import os
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

# (examples per operation and mode, the fewest cases the stateless run must send, stateful sequences); operations
# with few inputs (health, metrics) run out of distinct cases sooner
LANES = {"default": (60, 500, 40), "slow": (250, 2000, 200)}
EXAMPLES_PER_OPERATION, MIN_CASES, SEQUENCES = LANES[os.environ.get("ARTSEARCH_FUZZ", "default")]
CHECKS = [not_a_server_error, response_schema_conformance]


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
        case.call_and_validate(checks=CHECKS)

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
    print(dict(calls), calls.total())
    assert calls.total() >= MIN_CASES


def test_no_server_errors_along_the_links(api_schema: schemathesis.BaseSchema) -> None:
    """Sequences that carry a search's first hit to its artwork, neighbours and image, and the map to its tiles."""
    calls: Counter = Counter()

    class Walk(api_schema.as_state_machine()):
        def after_call(self, response: schemathesis.Response, case: schemathesis.Case) -> None:
            calls[case.operation.label] += 1

        def validate_response(self, response: schemathesis.Response, case: schemathesis.Case, **_: object) -> None:
            case.validate_response(response, checks=CHECKS)

    Walk.run(
        settings=settings(
            max_examples=SEQUENCES,
            stateful_step_count=6,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    print(dict(calls), calls.total())
    linked = ("GET /api/artworks/{artwork_id}", "GET /api/artworks/{artwork_id}/similar")
    assert all(calls[label] > 0 for label in linked) and calls.total() >= 2 * SEQUENCES
