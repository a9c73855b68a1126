"""Event-level shredders: the waiting list and the invoice PDFs (in a scope below the event: the waiting list of its
dates, ``Scope.waiting_list_of``, and the invoices of its orders)."""

from pretix.api.serializers.waitinglist import WaitingListSerializer
from pretix.base.services.invoices import invoice_pdf_task

from .. import scopes
from . import stream
from .stream import Counter, batched, copy_file, write_json


def export_waiting_list(event, zf, progress=None, scope=scopes.WHOLE_EVENT) -> None:
    entries = scope.waiting_list_of(event)
    counter = Counter(progress, entries.count())
    serializer = WaitingListSerializer(context={"event": event})  # one instance; to_representation is .data

    def batches():
        for batch in batched(entries.iterator(chunk_size=stream.BATCH)):
            out = []
            for wle in batch:
                wle.event = event  # the name scheme fallback reads the event's settings
                out.append(serializer.to_representation(wle))
            yield out
            counter.add(len(batch))

    write_json(zf, "waiting-list.json", batches(), kind=list)


def export_invoices(event, zf, progress=None, scope=scopes.WHOLE_EVENT) -> None:
    # the ids first: a missing PDF is rendered (and saved) while we go, which must not run under an open cursor
    ids = list(scope.restrict(event.invoices.filter(shredded=False)).values_list("pk", flat=True))
    counter = Counter(progress, len(ids))
    for chunk in batched(ids):
        for i in event.invoices.filter(pk__in=chunk):
            if not i.file:  # as pretix does: render the missing PDF first
                invoice_pdf_task.apply(args=(i.pk,))
                i.refresh_from_db()
            copy_file(zf, f"invoices/{i.number}.pdf", i.file)
            counter.add(1)
