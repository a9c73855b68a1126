"""Shredders for a scope below the event (``scopes.Scope``): what pretix's built-in shredders do to the rows of an
event, done to the rows of the scope's orders only, plus this plugin's completing shredders given the scope.

pretix's shredders take the event and nothing else (``BaseDataShredder(event)``), so a scope cannot be handed to
them. These classes keep pretix's identifiers, names, files and row changes (see ``pretix.base.shredder``) and select
the rows through the scope. A plugin's own shredder cannot be restricted to a scope: a scope offers only these.

``offered_in(event, scope)`` is the one rule for which shredders a job offers: ``shredders.offered`` for the whole
event, these for a scope.
"""

import json
import os

from django.db.models import Q
from pretix.api.serializers.order import AnswerSerializer, InvoiceAddressSerializer
from pretix.api.serializers.waitinglist import WaitingListSerializer
from pretix.base import shredder as builtin
from pretix.base.models import (
    CachedCombinedTicket,
    CachedTicket,
    Invoice,
    InvoiceAddress,
    OrderPayment,
    OrderRefund,
    OutgoingMail,
)
from pretix.base.services.invoices import invoice_pdf_task
from pretix.base.shredder import shred_log_fields, slow_delete, slow_update
from pretix.helpers.json import CustomJSONEncoder

from . import scopes, shredders
from .residual import BLANK

# Invoice columns pretix's InvoiceShredder keeps (numbers, the issuer, totals' context).
INVOICE_KEPT = (
    "prefix", "invoice_no", "full_invoice_no", "invoice_from", "invoice_from_name", "invoice_from_zipcode",
    "invoice_from_city", "invoice_from_state", "invoice_from_country", "invoice_from_tax_id", "invoice_from_vat_id",
    "locale", "payment_provider_stamp", "footer_text", "foreign_currency_display", "foreign_currency_source",
    "transmission_type", "transmission_provider", "transmission_status",
)  # fmt: skip
MODIFIED = "pretix.event.order.modified"


def _progress(items, progress_callback, total, offset=0):
    return shredders._progress(items, progress_callback, total, offset)


class _Scoped(shredders.ScopedShredder):
    """A built-in shredder's identity (identifier, name, description, tax relevance) over the scope's rows."""

    builtin_class = None

    def __init__(self, event, scope):
        super().__init__(event, scope)
        for attr in ("identifier", "verbose_name", "description"):
            setattr(self, attr, getattr(self.builtin_class, attr))
        # An instance's: on the class, a shredder that does not set it has pretix's (truthy) property object.
        self.tax_relevant = bool(self.builtin_class(event).tax_relevant)

    identifier = verbose_name = description = None
    tax_relevant = False

    def orders(self):
        return self.scope.orders_of(self.event)

    def positions(self):
        return self.scope.positions_of(self.event)

    def logs(self, *action_types):
        return self.scope.log_entries_of(self.event).filter(action_type__in=action_types).exclude(data="")


def _shred_modified_rows(le, fields, replacement=BLANK):
    """Blank ``fields`` in the rows of an ``order.modified`` log entry (as pretix's shredders do)."""
    d = le.parsed_data
    if isinstance(d, dict) and isinstance(d.get("data"), list):
        for row in d["data"]:
            if isinstance(row, dict):
                for f in fields(row) if callable(fields) else fields:
                    if f in row:
                        row[f] = replacement(f) if callable(replacement) else replacement
        le.data = json.dumps(d)
        le.shredded = True
        le.save(update_fields=["data", "shredded"])


class PhoneNumbers(_Scoped):
    builtin_class = builtin.PhoneNumberShredder

    def generate_files(self):
        rows = {o.code: o.phone for o in self.orders().filter(phone__isnull=False)}  # pretix's order (Order.Meta)
        yield "phone-by-order.json", "application/json", json.dumps(rows, cls=CustomJSONEncoder, indent=4)

    def shred_data(self, progress_callback=None):
        orders = self.orders()
        logs = self.logs("pretix.event.order.phone.changed")
        total = orders.count() + logs.count()
        for o in _progress(orders, progress_callback, total):
            changed = bool(o.phone)
            o.phone = None
            d = o.meta_info_data
            if d and "phone" in (d.get("contact_form_data") or {}):
                del d["contact_form_data"]["phone"]
                o.meta_info = json.dumps(d)
                changed = True
            if changed:
                o.save(update_fields=["meta_info", "phone"])
        for le in logs:
            shred_log_fields(le, banlist=["old_phone", "new_phone"])


class Emails(_Scoped):
    builtin_class = builtin.EmailAddressShredder

    def generate_files(self):
        rows = {o.code: o.email for o in self.orders().filter(email__isnull=False)}  # pretix's order (Order.Meta)
        yield "emails-by-order.json", "application/json", json.dumps(rows, indent=4)
        positions = self.positions().filter(attendee_email__isnull=False).select_related("order")
        rows = {f"{op.order.code}-{op.positionid}": op.attendee_email for op in positions}
        yield "emails-by-attendee.json", "application/json", json.dumps(rows, indent=4)

    def shred_data(self, progress_callback=None):
        positions = self.positions().filter(attendee_email__isnull=False)
        orders = self.orders()
        logs = (
            self.scope.log_entries_of(self.event)
            .filter(
                Q(action_type__contains="order.email")
                | Q(action_type__contains="position.email")
                | Q(action_type__in=("pretix.event.order.contact.changed", MODIFIED))
            )
            .exclude(data="")
        )
        total = positions.count() + orders.count() + logs.count()
        slow_update(positions, attendee_email=None, progress_callback=progress_callback, progress_total=total)
        slow_delete(OutgoingMail.objects.filter(event=self.event, order_id__in=self.scope.orders))
        for o in orders:
            changed = bool(o.email) or bool(o.customer_id)
            o.email = None
            o.customer = None
            d = o.meta_info_data
            form = (d or {}).get("contact_form_data") or {}
            for key in ("email", "email_repeat"):
                if key in form:
                    del form[key]
                    changed = True
            if changed:
                if d:
                    o.meta_info = json.dumps(d)
                o.save(update_fields=["meta_info", "email", "customer"])
        for le in logs:
            if le.action_type == MODIFIED:
                _shred_modified_rows(le, ["attendee_email"])
            else:
                shred_log_fields(
                    le,
                    banlist=["recipient", "message", "subject", "full_mail", "old_email", "new_email", "bcc", "cc"],
                )


class AttendeeInfo(_Scoped):
    builtin_class = builtin.AttendeeInfoShredder
    FIELDS = ("company", "street", "zipcode", "city")

    def generate_files(self):
        named = self.positions().filter(Q(attendee_name_cached__isnull=False) | Q(attendee_name_parts__isnull=False))
        rows = {
            f"{op.order.code}-{op.positionid}": {
                "name": op.attendee_name,
                "company": op.company,
                "street": op.street,
                "zipcode": op.zipcode,
                "city": op.city,
                "country": str(op.country) if op.country else None,
                "state": op.state,
            }
            for op in named.select_related("order")
        }
        yield "attendee-info.json", "application/json", json.dumps(rows, indent=4)

    def shred_data(self, progress_callback=None):
        q = Q(attendee_name_cached__isnull=False)
        for f in self.FIELDS:
            q |= Q(**{f"{f}__isnull": False})
        slow_update(
            self.positions().filter(q),
            attendee_name_cached=None,
            attendee_name_parts={"_shredded": True},
            company=None,
            street=None,
            zipcode=None,
            city=None,
            progress_callback=progress_callback,
            progress_total=self.positions().filter(q).count(),
        )
        for le in self.logs(MODIFIED):
            _shred_modified_rows(
                le,
                ("attendee_name", "attendee_name_parts") + self.FIELDS,
                lambda f: {"_legacy": BLANK} if f == "attendee_name_parts" else BLANK,
            )


class InvoiceAddresses(_Scoped):
    builtin_class = builtin.InvoiceAddressShredder

    def _addresses(self):
        return InvoiceAddress.objects.filter(self.scope.order_q(self.event))

    def generate_files(self):
        addresses = self._addresses().select_related("order").order_by("pk")
        rows = {ia.order.code: InvoiceAddressSerializer(ia).data for ia in addresses}
        yield "invoice-addresses.json", "application/json", json.dumps(rows, indent=4)

    def shred_data(self, progress_callback=None):
        qs = self._addresses()
        slow_delete(qs, progress_callback=progress_callback, progress_total=qs.count())
        for le in self.logs(MODIFIED):
            d = le.parsed_data
            data = d.get("invoice_data") if isinstance(d, dict) else None
            if isinstance(data, dict):
                for field in data:
                    if data[field] and field != "transmission_type":
                        data[field] = {"_shredded": True} if field == "transmission_info" else BLANK
                le.data = json.dumps(d)
                le.shredded = True
                le.save(update_fields=["data", "shredded"])


class QuestionAnswers(_Scoped):
    builtin_class = builtin.QuestionAnswerShredder

    def _answers(self):
        return self.scope.answers_of(self.event).filter(orderposition__isnull=False)

    def generate_files(self):
        d = {}
        for op in self.positions().select_related("order").prefetch_related("answers", "answers__question"):
            answers = sorted(op.answers.all(), key=lambda a: a.question_id)
            for a in answers:
                if a.file:
                    name = f"{op.order.code}-{op.positionid}-{a.question.identifier}-{os.path.basename(a.file.name)}"
                    yield name, "application/unknown", a.file.read()
            d[f"{op.order.code}-{op.positionid}"] = AnswerSerializer(answers, context={"request": None}, many=True).data
        yield "question-answers.json", "application/json", json.dumps(d, indent=4)

    def shred_data(self, progress_callback=None):
        qs = self._answers()
        slow_delete(qs, progress_callback=progress_callback, progress_total=qs.count())
        for le in self.logs(MODIFIED):
            _shred_modified_rows(le, lambda row: [f for f in row if f not in ("attendee_name", "attendee_email")])


class Invoices(_Scoped):
    builtin_class = builtin.InvoiceShredder

    def _invoices(self):
        return Invoice.objects.filter(self.scope.order_q(self.event), shredded=False)

    def generate_files(self):
        for i in self._invoices():
            if not i.file:
                invoice_pdf_task.apply(args=(i.pk,))
                i.refresh_from_db()
            with i.file.open("rb") as f:
                yield f"invoices/{i.number}.pdf", "application/pdf", f.read()

    def shred_data(self, progress_callback=None):
        qs = self._invoices()
        for i in _progress(qs, progress_callback, qs.count()):
            if i.file:
                i.file.delete()
            i.shredded = True
            for f in Invoice._meta.fields:
                if f.name in INVOICE_KEPT:
                    continue
                val = getattr(i, f.name, None)
                if val and isinstance(val, str):
                    setattr(i, f.name, BLANK)
                elif val and isinstance(val, list):
                    setattr(i, f.name, [])
                elif val and isinstance(val, dict):
                    setattr(i, f.name, {"_shredded": True})
            i.save()
            i.lines.update(description=BLANK, attendee_name=BLANK)


class CachedTickets(_Scoped):
    builtin_class = builtin.CachedTicketShredder

    def generate_files(self):
        return None

    def shred_data(self, progress_callback=None):
        slow_delete(CachedTicket.objects.filter(self.scope.order_q(self.event, "order_position__order")))
        slow_delete(CachedCombinedTicket.objects.filter(self.scope.order_q(self.event)))


class PaymentInfo(_Scoped):
    builtin_class = builtin.PaymentInfoShredder

    def generate_files(self):
        return None

    def shred_data(self, progress_callback=None):
        providers = self.event.get_payment_providers()
        for model in (OrderPayment, OrderRefund):
            for obj in model.objects.filter(self.scope.order_q(self.event)):
                provider = providers.get(obj.provider)
                if provider:
                    provider.shred_payment_info(obj)


class WaitingList(_Scoped):
    """The waiting list of the scope's dates (a validity scope has none)."""

    builtin_class = builtin.WaitingListShredder

    def generate_files(self):
        entries = self.scope.waiting_list_of(self.event)
        rows = [WaitingListSerializer(wle, context={"event": self.event}).data for wle in entries]
        yield "waiting-list.json", "application/json", json.dumps(rows, indent=4)

    def shred_data(self, progress_callback=None):
        entries = self.scope.waiting_list_of(self.event)
        for wle in entries.filter(voucher__isnull=False).select_related("voucher"):
            if "@" in (wle.voucher.comment or ""):
                wle.voucher.comment = BLANK
                wle.voucher.save(update_fields=["comment"])
        slow_update(
            entries.exclude(email=BLANK), name_cached=None, name_parts={"_shredded": True}, email=BLANK, phone=BLANK
        )
        for le in self.logs("pretix.voucher.added.waitinglist"):
            shred_log_fields(le, banlist=["name", "name_parts", "email", "phone"])


BUILTIN = (PhoneNumbers, Emails, AttendeeInfo, InvoiceAddresses, QuestionAnswers, Invoices, CachedTickets, PaymentInfo)


def offered_in(event, scope) -> dict:
    """The shredders a job of this scope offers: the event's (``shredders.offered``), or for a scope below it these
    scope-restricted ones (the waiting list only for a scope of dates)."""
    if scope is None or scope.is_event:
        return shredders.offered(event)
    classes = list(BUILTIN) + ([WaitingList] if scope.kind == scopes.DATES else [])
    known = {}
    for cls in classes:
        instance = cls(event, scope)
        known[instance.identifier] = instance
    for cls in shredders.COMPLETING:
        known[cls.identifier] = cls(event, scope)
    return known


def offered_for_scopes(event, kind: str) -> dict:
    """Identifier → shredder instance (not bound to orders) of what a scope of this kind offers: for validation."""
    return offered_in(event, scopes.Scope(kind=kind))
