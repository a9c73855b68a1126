"""``pretix-shredder verify``: the residual report of a shredded export, and its exit codes."""

import json

from pretix_shredder_api.client.errors import ExitCode

from .conftest import EVENT, JOB, ORGANIZER

COMPLETE = {
    "shred": "ok",
    "shredders": ["order_emails"],
    "checked_at": "2026-12-03T08:00:00Z",
    "values_before": 41,
    "values_found": 0,
    "complete": True,
    "locations": [],
}
LEFT = {
    **COMPLETE,
    "values_found": 3,
    "complete": False,
    "locations": [
        {"table": "pretixbase_logentry", "column": "data", "action_type": "pretix.event.order.email.sent", "count": 2},
        {"table": "pretixbase_order", "column": "comment", "action_type": None, "count": 1},
    ],
}


def status_url(fake):
    return f"{fake.base}/api/v1/organizers/{ORGANIZER}/events/{EVENT}/shredders/status/{JOB}/"


def test_complete_is_exit_0(cli, fake):
    fake.report = (200, COMPLETE)
    result = cli("verify", status_url(fake))
    assert result.code == ExitCode.OK
    assert result.out.strip() == (
        "Complete: none of the event's 41 personal values is stored any more (checked 2026-12-03T08:00:00Z)."
    )
    assert fake.seen("GET", "/report/")


def test_values_left_are_listed_by_location_and_exit_12(cli, fake):
    fake.report = (200, LEFT)
    result = cli("verify", status_url(fake))
    assert result.code == ExitCode.RESIDUAL == 12
    assert result.out.splitlines()[:3] == [
        "NOT complete: 3 of the event's 41 personal values are still stored (checked 2026-12-03T08:00:00Z):",
        "  pretixbase_logentry.data [pretix.event.order.email.sent]: 2",
        "  pretixbase_order.comment: 1",
    ]


def test_json_output_is_the_report(cli, fake):
    fake.report = (200, LEFT)
    result = cli("--json", "verify", status_url(fake))
    assert json.loads(result.out) == LEFT


def test_not_shredded_yet_is_not_finished(cli, fake):
    fake.report = (200, {**COMPLETE, "shred": "running", "values_found": None, "checked_at": None})
    result = cli("verify", status_url(fake))
    assert result.code == ExitCode.NOT_FINISHED


def test_unknown_job_is_404(cli, fake):
    result = cli("verify", status_url(fake))
    assert result.code == ExitCode.NOT_FOUND
    assert "This export does not exist." in result.err


def test_not_a_job_url_is_a_bad_url_error(cli, fake):
    result = cli("verify", fake.base + "/somewhere/else/")
    assert result.code == ExitCode.BAD_URL == 13
    assert not fake.requests
