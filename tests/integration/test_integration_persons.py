"""Requests of one person against a real pretix (PostgreSQL, Redis, two Celery workers): a whole request walked
through over HTTP - request → found → export → erase → proof 0 - and the erasure happens once when its POST
arrives many times at once, or when two requests for the same address are erased at the same moment."""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from .api import ApiClient

pytestmark = pytest.mark.integration

PARALLEL = 10


def requests_url(pretix, organizer) -> str:
    return pretix.api_url(f"organizers/{organizer}/shredder-requests/")


def wait_state(client, url, states, timeout=60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(url).json()
        if body["state"] in states:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.3)


def post_at_once(token, urls) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(len(urls))

    def post(url):
        client = ApiClient(token)
        try:
            barrier.wait(timeout=30)
            response = client.post(url, json={})
            return response.status_code, response.json()
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        return [f.result(timeout=120) for f in [pool.submit(post, u) for u in urls]]


def rows(orm, organizer) -> dict:
    return orm.run(
        "from pretix.base.models import Order, OrderPosition, LogEntry\n"
        "result = {\n"
        "  'orders': {o.code: o.email for o in Order.objects.filter(event__organizer__slug=organizer)},\n"
        "  'positions': {p.order.code: [p.attendee_email, p.attendee_name_cached] for p in\n"
        "                OrderPosition.all.filter(order__event__organizer__slug=organizer)},\n"
        "  'erased_logs': LogEntry.objects.filter(organizer__slug=organizer,\n"
        "                  action_type='pretix_shredder_api.person.erased').count(),\n"
        "}",
        organizer=organizer,
    )


def test_a_whole_request_with_workers_and_parallel_erase_posts(pretix, orm, seeded_event, api_client):
    organizer, token = seeded_event["organizer"], seeded_event["token"]
    base = requests_url(pretix, organizer)
    email = seeded_event["emails"][0].upper()
    before = rows(orm, organizer)

    resp = api_client.post(base, json={"email": f"  {email} ", "kind": "erasure"})
    assert resp.status_code == 201, resp.text
    url = f"{base}{resp.json()['id']}/"
    found = wait_state(api_client, url, {"found"})
    assert found["held"] is True and found["counts"]["orders"] == 1

    assert api_client.post(url + "export/", json={}).status_code == 202
    wait_state(api_client, url, {"exported"})
    download = api_client.get(url + "download/", headers={"Accept": "application/zip"})
    assert download.status_code == 200 and download.content[:2] == b"PK"

    began = time.monotonic()
    answers = post_at_once(token, [url + "erase/"] * PARALLEL)
    print(f"\n{PARALLEL} parallel erase POSTs answered within {time.monotonic() - began:.1f} s")
    assert Counter(code for code, _ in answers) == {202: PARALLEL}, answers
    done = wait_state(api_client, url, {"done"})
    assert done["proof"]["found"] == 0 and done["email"] is None, done["proof"]["locations"]
    code = seeded_event["order_codes"][0]
    assert done["orders_affected"] == [code]

    after = rows(orm, organizer)
    assert after["erased_logs"] == 1  # erased once
    assert after["orders"][code] is None
    # the ticket on the order carries its attendee's own address: the attendee's data, kept (the shared-order rule)
    assert after["positions"][code] == before["positions"][code]
    others = {c: e for c, e in before["orders"].items() if c != code}
    assert {c: after["orders"][c] for c in others} == others  # everyone else's rows as they were
    assert {c: after["positions"][c] for c in others} == {c: before["positions"][c] for c in others}


def test_two_requests_for_one_address_erased_at_once(pretix, orm, seeded_event, api_client):
    organizer, token = seeded_event["organizer"], seeded_event["token"]
    base = requests_url(pretix, organizer)
    email = seeded_event["emails"][1]
    urls = []
    for spelling in (email, email.upper()):
        body = api_client.post(base, json={"email": spelling, "kind": "erasure"}).json()
        urls.append(f"{base}{body['id']}/")
    for url in urls:
        wait_state(api_client, url, {"found"})
        assert api_client.post(url + "export/", json={}).status_code == 202  # nothing unexported is erased
        wait_state(api_client, url, {"exported"})
    answers = post_at_once(token, [u + "erase/" for u in urls])
    assert [code for code, _ in answers] == [202, 202]
    done = [wait_state(api_client, u, {"done"}) for u in urls]
    affected = sorted((d["orders_affected"] for d in done), key=len)
    assert affected == [[], [seeded_event["order_codes"][1]]]
    assert sorted(d["message"] or "" for d in done)[-1] == (
        "The data of this address had already been erased by another request."
    )
    assert all(d["proof"]["found"] == 0 for d in done)
