"""Order-level shredders: e-mail addresses (with the attendees'), phone numbers, invoice addresses.

Each mirrors the ``generate_files`` of its pretix class in ``pretix.base.shredder`` (same querysets, same order, same
serialization), reading only the columns it writes, in batches; given a scope below the event (``scopes.Scope``), the
rows of the scope's orders only, as the scope shredders' own ``generate_files`` write them (``scope_shredders``).
"""

from pretix.api.serializers.order import InvoiceAddressSerializer
from pretix.base.models import InvoiceAddress, Order, OrderPosition
from pretix.helpers.json import CustomJSONEncoder
from pretix.helpers.names import build_name
from rest_framework.fields import DateTimeField

from .. import scopes
from . import stream
from .stream import Counter, batched, write_json

ADDRESS_COLUMNS = tuple(f for f in InvoiceAddressSerializer.Meta.fields if f != "name") + ("country_old",)
STRING_FIELDS = {"company", "name", "street", "zipcode", "city", "state", "vat_id", "custom_field"}
STRING_FIELDS |= {"internal_reference", "transmission_type"}


def export_emails(event, zf, progress=None, scope=scopes.WHOLE_EVENT) -> None:
    orders = scope.restrict(event.orders.filter(email__isnull=False), None)
    attendees = OrderPosition.all.filter(order__event=event, attendee_email__isnull=False)
    attendees = scope.restrict(attendees).order_by(*OrderPosition._meta.ordering)
    counter = Counter(progress, orders.count() + attendees.count())

    def by_order():
        for batch in batched(orders.values_list("code", "email").iterator(chunk_size=stream.BATCH)):
            yield dict(batch)
            counter.add(len(batch))

    def by_attendee():
        rows = attendees.values_list("order__code", "positionid", "attendee_email").iterator(chunk_size=stream.BATCH)
        for batch in batched(rows):
            yield {f"{code}-{positionid}": email for code, positionid, email in batch}
            counter.add(len(batch))

    write_json(zf, "emails-by-order.json", by_order())
    write_json(zf, "emails-by-attendee.json", by_attendee())


def export_phone_numbers(event, zf, progress=None, scope=scopes.WHOLE_EVENT) -> None:
    orders = scope.restrict(event.orders.filter(phone__isnull=False), None)
    counter = Counter(progress, orders.count())
    to_python = Order._meta.get_field("phone").to_python  # what the model attribute holds: a PhoneNumber

    def rows():
        for batch in batched(orders.values_list("code", "phone").iterator(chunk_size=stream.BATCH)):
            yield {code: to_python(phone) for code, phone in batch}
            counter.add(len(batch))

    write_json(zf, "phone-by-order.json", rows(), cls=CustomJSONEncoder)


def export_invoice_addresses(event, zf, progress=None, scope=scopes.WHOLE_EVENT) -> None:
    addresses = scope.restrict(InvoiceAddress.objects.filter(order__event=event)).order_by("pk")
    counter = Counter(progress, addresses.count())
    rows = addresses.values_list("order__code", *ADDRESS_COLUMNS).iterator(chunk_size=stream.BATCH)
    last_modified = DateTimeField()  # DRF's own field: the current time zone and ISO 8601 with "Z" as it writes them
    fallback = []

    def scheme():  # InvoiceAddress.name's fallback for name parts without a scheme, read once
        if not fallback:
            fallback.append(event.settings.name_scheme)
        return fallback[0]

    def address(row) -> dict:
        """``InvoiceAddressSerializer(ia).data``: its fields in its order; None stays None, strings as DRF's
        CharField writes them, the country as its CompatibleCountryField (the code, else ``country_old``)."""
        values = dict(zip(ADDRESS_COLUMNS, row, strict=True))
        out = {}
        for field in InvoiceAddressSerializer.Meta.fields:
            if field == "name":
                value = build_name(values["name_parts"], fallback_scheme=scheme) or ""
            elif field == "country":
                value = str(values["country"]) if values["country"] else values["country_old"]
            else:
                value = values[field]
            if field == "last_modified":
                value = last_modified.to_representation(value)
            elif field in STRING_FIELDS and value is not None:
                value = str(value)
            out[field] = value
        return out

    def batches():
        for batch in batched(rows):
            yield {row[0]: address(row[1:]) for row in batch}
            counter.add(len(batch))

    write_json(zf, "invoice-addresses.json", batches())
