"""Property-based fuzzing of every route under ``…/shredders/`` (found through the URL resolver).

Random methods, ids, bodies (JSON of every shape, forms, garbage, huge, deeply nested, wrong encodings), content
types, Range/If-* headers, event paths and credentials. For every answer: never ≥ 500, never a 2xx that hands a job to
a caller who does not own it (a download must be that job's own bytes), every error in JSON; and in the database,
nothing shredded without a finished export and no "ok" with data left.

Each example runs in a savepoint that is rolled back, so every request meets the same world and a run is
reproducible (derandomized). ``make test`` sends at least 2,100 requests; ``make fuzz`` 50,000.
"""

import os
import time
import traceback

import pytest
from django.db import transaction
from django_scopes import scopes_disabled
from hypothesis import given
from hypothesis import strategies as st

from .fuzzing import (
    METHODS,
    Case,
    body_strategy,
    build_world,
    data_problems,
    examples_per_endpoint,
    fuzz_settings,
    headers_strategy,
    path_strategy,
    query_strategy,
    response_problems,
    send,
    shredder_endpoints,
)

pytestmark = pytest.mark.django_db

ENDPOINTS = shredder_endpoints()
PER_ENDPOINT = examples_per_endpoint(ENDPOINTS)
CALLERS_WEIGHTED = ["own"] * 6 + [
    "same_team", "readonly", "oauth_write", "oauth_read", "session", "device", "foreign", "none", "garbage",
    "bad_scheme",
]  # fmt: skip


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for the module (built in about a second), in a transaction rolled back at the end; each test
    runs in its own transaction inside it and each example in a savepoint inside that."""
    with django_db_blocker.unblock(), scopes_disabled():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture(scope="module")
def tally(pytestconfig):
    """Counts what the fuzz tests sent; printed at the end of the module (the figures in docs/reliability.rst)."""
    counts = {"requests": 0, "statuses": {}, "slowest": []}
    yield counts
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not counts["requests"]:
        return
    with capture.global_and_fixture_disabled():
        _report(reporter, counts)


def _report(reporter, counts):
    if os.environ.get("SHREDDER_FUZZ_TIMES"):
        for seconds, what in sorted(counts["slowest"], reverse=True)[:15]:
            reporter.write_line(f"{seconds:.3f} s  {what}")
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(counts["statuses"].items()))
    reporter.write_line(f"\nfuzz: {counts['requests']} requests to {len(ENDPOINTS)} endpoints ({statuses})")


def test_the_documented_endpoints_are_found():
    names = {e.name for e in ENDPOINTS}
    assert {"shredders-list", "shredders-detail", "shredders-export", "shredders-download"} <= names
    assert {"shredders-shred", "shredders-status", "api-unmatched"} <= names


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_fuzz(endpoint, world, tally):
    sent = []

    @fuzz_settings(PER_ENDPOINT)
    @given(
        caller=st.sampled_from(CALLERS_WEIGHTED),
        method=st.one_of(st.sampled_from(endpoint.methods), st.sampled_from(METHODS)),
        path=path_strategy(world, endpoint),
        query=query_strategy,
        headers=headers_strategy(world),
        body=body_strategy(world),
    )
    def run(caller, method, path, query, headers, body):
        case = Case(endpoint, world.callers[caller], method, path[0], path[1], query, headers, *body)
        problems = []
        # A savepoint, not an atomic block: pretix's idempotency middleware opens a durable atomic block, which
        # may only nest in the test case's own transaction.
        savepoint = transaction.savepoint()
        started = time.perf_counter()
        try:
            resp = send(case)
        except Exception:
            problems.append("exception (a 500): " + traceback.format_exc(limit=-8))
        else:
            problems.extend(response_problems(case, resp))
            tally["statuses"][resp.status_code] = tally["statuses"].get(resp.status_code, 0) + 1
        tally["slowest"].append((time.perf_counter() - started, case.describe()[:300]))
        try:
            problems.extend(data_problems(world))
        finally:
            transaction.savepoint_rollback(savepoint)
            world.restore_files()
        sent.append(1)
        assert not problems, f"{case.describe()}\n" + "\n".join(problems)

    run()
    tally["requests"] += len(sent)
    assert len(sent) >= PER_ENDPOINT * 0.9, f"only {len(sent)} of {PER_ENDPOINT} examples ran"
