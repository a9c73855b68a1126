"""Completing shredders: what pretix's built-in shredders leave behind, as shredders in pretix's own registry.

Each exports exactly what it deletes (``generate_files`` and ``shred_data`` walk the same plan), so they work in
pretix's control-panel shredder as in this plugin's API. They do not repeat what a built-in shredder covers:

- ``log_personal_data``: personal data in the event's log entries of *any* action type, blanked in place.
- ``order_question_answers``: answers to order-level questions (pretix's ``question_answers`` only deletes the
  answers of order positions).
- ``order_notes``: order comments, check-in texts, API metadata and the rest of the contact form.
- ``payment_details``: bank details and other personal payment data a payment provider's own shredding keeps
  (the bank transfer provider keeps IBAN and BIC), refund comments, imported bank transactions and refund exports.

``offered(event)`` is the one rule for which shredders an event offers: pretix's registry plus these, also where the
plugin is not switched on for the event (``register_data_shredders`` only asks active plugins, the API serves every
event).
"""

import json
import os

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from pretix.api.serializers.order import AnswerSerializer
from pretix.base.models import LogEntry, Order, OrderPayment, OrderRefund, QuestionAnswer
from pretix.base.shredder import BaseDataShredder, slow_delete
from pretix.helpers.json import CustomJSONEncoder

from . import residual, scopes

BLANK = residual.BLANK


class ScopedShredder(BaseDataShredder):
    """A completing shredder works on the whole event (as pretix's registry creates it) or on a scope below it
    (``scopes.Scope``: the orders of some dates, or whose validity ended)."""

    def __init__(self, event, scope=None):
        super().__init__(event)
        self.scope = scope or scopes.WHOLE_EVENT


def _progress(items, progress_callback, total, offset=0):
    for i, item in enumerate(items):
        yield item
        if progress_callback and total and i % 10 == 0:
            progress_callback((offset + i) / total * 100)


def blank_personal(data, values: residual.PersonalValues, key=None, below=False, by_key=True):
    """``(new data, changed)``: string leaves under personal keys, or containing personal values, replaced by █.

    ``by_key=False``: only leaves containing one of ``values`` (one person's values in an entry that also holds
    other people's, see ``persons``)."""
    if isinstance(data, dict):
        changed = False
        out = {}
        for k, v in data.items():
            out[k], c = blank_personal(v, values, k, below or k in residual.PERSONAL_CONTAINERS, by_key)
            changed |= c
        return out, changed
    if isinstance(data, list):
        changed = False
        out = []
        for v in data:
            new, c = blank_personal(v, values, key, below, by_key)
            out.append(new)
            changed |= c
        return out, changed
    if isinstance(data, str) and data.strip() and data != BLANK:
        if not by_key:
            return (BLANK, True) if values.find(data) else (data, False)
        personal_key = residual.personal_leaf(key, below) and residual.tokens(data) not in values.public
        if personal_key or values.is_personal(data):
            return BLANK, True
    return data, False


class LogEntryShredder(ScopedShredder):
    verbose_name = _("Personal data in log entries")
    identifier = "log_personal_data"
    description = _(
        "This will remove personal data from all log entries of the event, whatever their type: every value under a "
        "personal key (names, addresses, e-mail addresses, phone numbers, comments, answers), every text that "
        "contains one of the event's personal values, and every e-mail address or phone number the organizer did "
        "not publish. The log entries themselves are kept."
    )

    # The shred task may hand over the values it collected before any shredder ran (in memory only).
    extra_values = None

    def _values(self) -> residual.PersonalValues:
        values = residual.collect(self.event, scope=self.scope)
        if self.extra_values is not None:
            for tup in self.extra_values.values:
                values.add(" ".join(tup))
        return values

    def _plan(self, values):
        entries = self.scope.log_entries_of(self.event).exclude(data="").order_by("pk")
        for le in entries.iterator(chunk_size=1000):
            data = residual.parse_json(le.data)
            if isinstance(data, str):
                continue
            new, changed = blank_personal(data, values)
            if changed:
                yield le, data, new

    def generate_files(self):
        values = self._values()
        rows = {
            str(le.pk): {"action_type": le.action_type, "datetime": le.datetime.isoformat(), "data": data}
            for le, data, _new in self._plan(values)
        }
        yield "log-entries.json", "application/json", json.dumps(rows, indent=4, cls=CustomJSONEncoder)

    def shred_data(self, progress_callback=None):
        values = self._values()
        plan = [(le.pk, new) for le, _data, new in self._plan(values)]
        for pk, new in _progress(plan, progress_callback, len(plan)):
            # An update, not save(): no new log entry, nothing that looks like "the event changed after the export".
            LogEntry.objects.filter(pk=pk).update(data=json.dumps(new), shredded=True)


class OrderQuestionAnswerShredder(ScopedShredder):
    verbose_name = _("Answers to order-level questions")
    identifier = "order_question_answers"
    description = _(
        "This will remove all answers to questions asked once per order (not per ticket), including uploaded files. "
        "Answers per ticket are removed by the shredder for question answers."
    )

    def _answers(self):
        return QuestionAnswer.objects.filter(self.scope.order_q(self.event), orderposition__isnull=True)

    def generate_files(self):
        by_order = {}
        answers = self._answers().select_related("order", "question").prefetch_related("options")
        for a in answers.order_by("order__code", "question_id"):
            if a.file:
                name = f"{a.order.code}-{a.question.identifier}-{os.path.basename(a.file.name)}"
                yield f"order-question-files/{name}", "application/unknown", a.file.read()
            by_order.setdefault(a.order.code, []).append(AnswerSerializer(a, context={"request": None}).data)
        yield "order-question-answers.json", "application/json", json.dumps(by_order, indent=4)

    def shred_data(self, progress_callback=None):
        qs = self._answers()
        total = qs.count()
        for a in qs.exclude(file="").exclude(file__isnull=True):
            a.file.delete(save=False)
        slow_delete(qs, progress_callback=progress_callback, progress_total=total)


NOTES_FORM_KEYS_COVERED = ("email", "email_repeat", "phone")  # removed by pretix's e-mail and phone shredders


class OrderNotesShredder(ScopedShredder):
    verbose_name = _("Order comments, check-in texts and client metadata")
    identifier = "order_notes"
    description = _(
        "This will remove the internal comments on orders, the texts shown at check-in, the metadata API clients "
        "stored on orders, the contact form fields not covered by the e-mail and phone shredders, and the comments "
        "of refunds. Keep this one for later if you still need these notes."
    )

    def _plan(self):
        orders = (
            self.scope.orders_of(self.event)
            .filter(
                ~Q(comment="") | Q(checkin_text__isnull=False) | ~Q(api_meta={}) | Q(meta_info__contains="_form_data")
            )
            .order_by("code")
        )
        for o in orders.only("pk", "code", "comment", "checkin_text", "api_meta", "meta_info"):
            meta = residual.parse_json(o.meta_info or "{}")
            meta = meta if isinstance(meta, dict) else {}
            contact = {
                k: v for k, v in (meta.get("contact_form_data") or {}).items() if k not in NOTES_FORM_KEYS_COVERED
            }
            questions = meta.get("question_form_data") or {}
            found = {
                "comment": o.comment or None,
                "checkin_text": o.checkin_text or None,
                "api_meta": o.api_meta or None,
                "contact_form_data": contact or None,
                "question_form_data": questions or None,
            }
            found = {k: v for k, v in found.items() if v}
            if found:
                yield o, meta, found

    def generate_files(self):
        rows = {o.code: found for o, _meta, found in self._plan()}
        yield "order-notes.json", "application/json", json.dumps(rows, indent=4, cls=CustomJSONEncoder)

    def shred_data(self, progress_callback=None):
        plan = list(self._plan())
        for o, meta, found in _progress(plan, progress_callback, len(plan)):
            if "contact_form_data" in found:
                meta["contact_form_data"] = {
                    k: v for k, v in meta["contact_form_data"].items() if k in NOTES_FORM_KEYS_COVERED
                }
            meta.pop("question_form_data", None)
            Order.objects.filter(pk=o.pk).update(
                comment="", checkin_text=None, api_meta={}, meta_info=json.dumps(meta) if meta else o.meta_info
            )


class PaymentDetailsShredder(ScopedShredder):
    verbose_name = _("Payment details")
    identifier = "payment_details"
    tax_relevant = True
    description = _(
        "This will remove the personal payment details that payment providers keep after the shredder for payment "
        "information ran (for bank transfers: IBAN, BIC and account holder), refund comments, bank transactions "
        "imported for the event and its refund exports. Amounts, dates and provider references are kept."
    )

    def _bank_models(self):
        from django.apps import apps

        return apps.get_model("banktransfer", "BankTransaction"), apps.get_model("banktransfer", "RefundExport")

    def _plan(self):
        values = residual.collect(self.event, scope=self.scope)
        for model in (OrderPayment, OrderRefund):
            fields = ["pk", "info", "order__code", "provider"] + (["comment"] if model is OrderRefund else [])
            for row in model.objects.filter(self.scope.order_q(self.event)).order_by("pk").values(*fields):
                info = residual.parse_json(row["info"] or "{}")
                new, changed = (info, False) if isinstance(info, str) else blank_personal(info, values, below=False)
                comment = row.get("comment") or ""
                if changed or comment:
                    yield model, row, info if changed else None, new if changed else None, comment
        BankTransaction, RefundExport = self._bank_models()
        q = Q(event=self.event) | Q(order__event=self.event) if self.scope.is_event else self.scope.order_q(self.event)
        for bt in BankTransaction.objects.filter(q).exclude(payer=BLANK).order_by("pk"):
            yield BankTransaction, bt, None, None, ""
        if not self.scope.is_event:
            return  # refund exports are the event's (one file for many orders): the event's shred takes them
        for rex in RefundExport.objects.filter(event=self.event).order_by("pk"):
            new, changed = blank_personal(rex.rows, values)
            if changed:
                yield RefundExport, rex, rex.rows, new, ""

    def generate_files(self):
        out = {"payments": {}, "refunds": {}, "bank_transactions": {}, "refund_exports": {}}
        for model, obj, info, _new, comment in self._plan():
            if model in (OrderPayment, OrderRefund):
                entry = {"order": obj["order__code"], "provider": obj["provider"]}
                if info is not None:
                    entry["info"] = info
                if comment:
                    entry["comment"] = comment
                out["payments" if model is OrderPayment else "refunds"][str(obj["pk"])] = entry
            elif info is None:
                out["bank_transactions"][str(obj.pk)] = {
                    "payer": obj.payer, "iban": obj.iban, "bic": obj.bic, "reference": obj.reference,
                    "amount": obj.amount, "date": obj.date,
                }  # fmt: skip
            else:
                out["refund_exports"][str(obj.pk)] = {"rows": info}
        yield "payment-details.json", "application/json", json.dumps(out, indent=4, cls=CustomJSONEncoder)

    def shred_data(self, progress_callback=None):
        plan = list(self._plan())
        for model, obj, _info, new, comment in _progress(plan, progress_callback, len(plan)):
            if model in (OrderPayment, OrderRefund):
                update = {}
                if new is not None:
                    update["info"] = json.dumps(new)
                if comment:
                    update["comment"] = ""
                model.objects.filter(pk=obj["pk"]).update(**update)
            elif new is None:
                model.objects.filter(pk=obj.pk).update(payer=BLANK, iban=BLANK, bic=BLANK, reference=BLANK)
            else:
                model.objects.filter(pk=obj.pk).update(rows=new)


COMPLETING = (LogEntryShredder, OrderQuestionAnswerShredder, OrderNotesShredder, PaymentDetailsShredder)
# The log shredder runs first in this plugin's shred task: it then still sees every value the other shredders remove.
RUN_FIRST = (LogEntryShredder.identifier,)


def offered(event) -> dict:
    """The shredders an event offers: pretix's registry plus this plugin's, whether or not it is active there."""
    known = event.get_data_shredders()
    for cls in COMPLETING:
        if cls.identifier not in known:
            known[cls.identifier] = cls(event)
    return known


def offered_everywhere() -> dict:
    """Identifier → name of the shredders every event offers, whatever its plugins: pretix's own and this plugin's."""
    from pretix.base.shredder import register_core_shredders

    return {cls.identifier: str(cls.verbose_name) for cls in [*register_core_shredders(None), *COMPLETING]}


def run_order(shredders: list) -> list:
    """The order a shred runs them in: the export's order, the log shredder first."""
    return sorted(shredders, key=lambda s: 0 if s.identifier in RUN_FIRST else 1)
