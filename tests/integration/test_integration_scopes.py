"""Issue 21's acceptance on the real pretix (PostgreSQL, Celery workers, HTTP): a live series with 100 dates, 50 of
them over (the issue's size; 48 s on a quiet run here, 176 s beside a benchmark). The scope shred of the past dates
leaves 0 personal values of their orders (the job's residual report and an independent search), every row of the
other dates' orders is unchanged, and orders placed through pretix's API for coming dates while the export and the
shred run all succeed. ``SHREDDER_SCOPE_DATES`` / ``SHREDDER_SCOPE_OVER`` change the size."""

import os
import threading
import time

import pytest

from .api import ApiClient, describe

pytestmark = pytest.mark.integration
# The size: 100 dates, 50 of them over (2 orders each).
DATES = int(os.environ.get("SHREDDER_SCOPE_DATES", "100"))
OVER = int(os.environ.get("SHREDDER_SCOPE_OVER", "50"))

SHREDDERS = [
    "attendee_info", "cachedtickets", "invoice_addresses", "invoices", "order_emails", "payment_info",
    "phone_numbers", "question_answers", "waiting_list",
    "log_personal_data", "order_notes", "order_question_answers", "payment_details",
]  # fmt: skip


class Buyers:
    """Threads placing orders for coming dates through pretix's order API until stopped."""

    def __init__(self, pretix, series, threads=3):
        self.url = f"{pretix.url}/api/v1/organizers/{series['organizer']}/events/{series['event']}/orders/"
        self.series = series
        self.stop = threading.Event()
        self.answers = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def _run(self, n):
        client = ApiClient(self.series["token"])
        i = 0
        try:
            while not self.stop.is_set():
                date = self.series["coming"][i % len(self.series["coming"])]["subevent"]
                body = {
                    "email": f"live{n}.{i}@example.org",
                    "locale": "en",
                    "sales_channel": "web",
                    "positions": [{"item": self.series["item"], "price": "23.00", "subevent": date}],
                }
                resp = client.post(self.url, json=body)
                with self.lock:
                    self.answers.append((time.monotonic(), resp.status_code, resp.text[:300]))
                i += 1
        finally:
            client.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def test_scope_shred_of_past_dates_in_a_live_series(pretix, orm):
    series = orm.call("seed_series", dates=DATES, over=OVER, orders_per_date=2)
    o, e = series["organizer"], series["event"]
    past = [c for codes in series["past"].values() for c in codes]
    coming = [c for d in series["coming"] for c in d["codes"]]
    before = orm.call("dump_orders", organizer=o, event=e, codes=coming)
    assert orm.call("personal_values_of", organizer=o, event=e, codes=past) >= len(past) * 5

    # Seeding logged a change on every order: pretix's notification tasks for them go to the workers first. The
    # export must not wait behind that backlog longer than the suite's queue timeout (5 s), so let it drain.
    deadline = time.monotonic() + 300
    while orm.call("queued_tasks") and time.monotonic() < deadline:
        time.sleep(0.5)
    base = pretix.shredders_url(o, e)
    client = ApiClient(series["token"])
    try:
        with Buyers(pretix, series) as buyers:
            resp = client.post(f"{base}scopes/export/", json={"shredders": SHREDDERS, "ended_days_ago": 30})
            assert resp.status_code == 202, describe(resp)
            urls = resp.json()
            scope = client.get(urls["scope"]).json()
            assert sorted(scope["orders"]) == sorted(past)
            assert sorted(scope["subevents"]) == sorted(int(k) for k in series["past"])

            deadline = time.monotonic() + 120
            while (download := client.get(urls["download"])).status_code == 409 and time.monotonic() < deadline:
                time.sleep(0.3)
            assert download.status_code == 200, describe(download)
            shred = client.post(urls["shred"], json={})
            assert shred.status_code == 202, describe(shred)
            shred_started = time.monotonic()
            while (status := client.get(shred.json()["status"])).status_code == 409 and time.monotonic() < deadline:
                time.sleep(0.3)
            shred_done = time.monotonic()
            assert status.json() == {"status": "ok", "message": "OK"}, describe(status)
        report = client.get(shred.json()["status"].replace("/status/", "/report/")).json()
    finally:
        client.close()

    placed = buyers.answers
    during_shred = [a for a in placed if shred_started <= a[0] <= shred_done]
    print(f"orders placed while export and shred ran: {len(placed)}, while the shred ran: {len(during_shred)}")
    assert placed and all(status == 201 for _t, status, _b in placed), [a for a in placed if a[1] != 201][:3]
    assert report["values_found"] == 0 and report["values_before"] >= len(past) * 5, report
    assert orm.call("personal_values_of", organizer=o, event=e, codes=past) == 0
    assert orm.call("dump_orders", organizer=o, event=e, codes=coming) == before
