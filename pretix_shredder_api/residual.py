"""The residual scan: which personal values of an event are still stored, and where.

``collect(event)`` gathers the event's personal values from every source we know of: the current rows (orders,
positions, answers, invoice addresses, invoices, waiting list, vouchers, payments, mails) *and* their history in the
event's log entries (leaves under personal keys, and anything shaped like an e-mail address or phone number). The
values stay in memory only; they are never stored, logged or hashed.

``scan(event, values)`` then searches every text column of every table that belongs to the event, every log entry
of the event and every stored file of the event (PDF text included) for them, and answers with counts and locations
(table, column, log action type), never with the values.

Values are compared by words (``\\w+`` tokens, case-folded): "Ada Lovelace" is found in "Dear Ada Lovelace," but
"Ada" is not found in "Adam". Values shorter than 3 characters are ignored, and so is anything the organizer
publishes about the event (event and organizer settings, names, product names): the organizer's own contact address
in a settings log entry is not the personal data of a customer.
"""

import json
import logging
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field

from django.apps import apps
from django.db import models

from . import scopes

logger = logging.getLogger(__name__)

BLANK = "█"
MIN_LENGTH = 3
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE_RE = re.compile(r"\+\d[\d ()/-]{5,}\d")
TOKEN_RE = re.compile(r"\w+")
MAX_FILE_BYTES = 20 * 1024 * 1024

# Keys under which log entries, payment details and exports keep personal data (the last dict key of a leaf).
PERSONAL_KEYS = frozenset(
    {
        "email", "old_email", "new_email", "attendee_email", "email_repeat", "recipient", "to", "cc", "bcc",
        "phone", "old_phone", "new_phone",
        "name", "attendee_name", "name_cached", "full_name", "given_name", "family_name", "first_name", "last_name",
        "company", "street", "zipcode", "city", "vat_id", "internal_reference", "beneficiary", "custom_field",
        "comment", "checkin_text", "payer", "iban", "bic", "account_holder", "holder", "owner", "send_invoice_to",
        "reference",
    }
)  # fmt: skip
# Every leaf below one of these keys is personal.
PERSONAL_CONTAINERS = frozenset(
    {"name_parts", "attendee_name_parts", "invoice_data", "contact_form_data", "question_form_data", "api_meta"}
)
QUESTION_KEY_RE = re.compile(r"^(question_)?\d+$")  # answers in order.modified rows are keyed by question id
# Question types whose answers are free text (choices, booleans, numbers, dates are the organizer's or too generic).
FREE_TEXT_QUESTION_TYPES = ("S", "T", "TEL", "EMAIL")
# Columns holding files that are personal data in themselves: one value each while the file is stored.
PERSONAL_FILE_COLUMNS = (
    ("pretixbase", "QuestionAnswer", "file"),
    ("pretixbase", "Invoice", "file"),
    ("pretixbase", "CachedTicket", "file"),
    ("pretixbase", "CachedCombinedTicket", "file"),
)
SKIPPED_MODELS = {("pretixbase", "LogEntry"), ("pretixbase", "Event")}
# Organizer-level data that reaches an order through a nullable link (customer accounts and what hangs on them)
ORGANIZER_LEVEL = {("pretixbase", "Membership"), ("pretixbase", "Customer"), ("pretixbase", "GiftCard")}


def tokens(text: str) -> tuple:
    return tuple(TOKEN_RE.findall(text.casefold()))


def leaves(data, key=None, personal=False):
    """``(key, string, personal)`` for every string leaf of parsed JSON; ``personal`` below a personal container."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from leaves(v, k, personal or k in PERSONAL_CONTAINERS)
    elif isinstance(data, list):
        for v in data:
            yield from leaves(v, key, personal)
    elif isinstance(data, str):
        yield key, data, personal


def parse_json(value):
    """A JSON text as data, a JSON column's value as it is; anything else as one string."""
    if isinstance(value, str):
        stripped = value.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value
    return value


def personal_leaf(key, personal: bool) -> bool:
    if personal:
        return True
    if key is None:
        return False
    key = str(key)
    return key in PERSONAL_KEYS or bool(QUESTION_KEY_RE.match(key))


@dataclass
class PersonalValues:
    """The event's personal values as token tuples (in memory only), with a word index for searching texts."""

    public: set = field(default_factory=set)
    values: list = field(default_factory=list)
    files: list = field(default_factory=list)  # (storage name, table, column) of personal files
    _seen: dict = field(default_factory=dict)
    _index: dict = field(default_factory=lambda: defaultdict(list))

    def add(self, text) -> None:
        if text is None or isinstance(text, bool):
            return
        text = str(text).strip()
        if len(text) < MIN_LENGTH or BLANK in text:
            return
        tup = tokens(text)
        if not tup or sum(len(t) for t in tup) < MIN_LENGTH or tup in self.public or tup in self._seen:
            return
        self._seen[tup] = len(self.values)
        self.values.append(tup)
        self._index[tup[0]].append((tup, self._seen[tup]))

    def add_patterns(self, text: str) -> None:
        for m in EMAIL_RE.finditer(text):
            self.add(m.group(0))
        for m in PHONE_RE.finditer(text):
            self.add(m.group(0))

    def add_data(self, data, personal=False) -> None:
        """Leaves under personal keys, and e-mail/phone patterns anywhere."""
        for key, text, below in leaves(data, personal=personal):
            if personal_leaf(key, below):
                self.add(text)
            else:
                self.add_patterns(text)

    def __len__(self):
        return len(self.values) + len(self.files)

    def find(self, text: str) -> set:
        """Indexes of the values that occur in ``text`` as whole words."""
        found = set()
        if not text or not self._index:
            return found
        toks = tokens(text)
        for i, tok in enumerate(toks):
            for tup, idx in self._index.get(tok, ()):
                if toks[i : i + len(tup)] == tup:
                    found.add(idx)
        return found

    def is_personal(self, text: str) -> bool:
        """A text contains one of the values, or an e-mail address or phone number the organizer did not publish."""
        if self.find(text):
            return True
        for regex in (EMAIL_RE, PHONE_RE):
            for m in regex.finditer(text):
                if tokens(m.group(0)) not in self.public and BLANK not in m.group(0):
                    return True
        return False


# ---------------------------------------------------------------------------------------------------------------------
# Which tables belong to the event


def _fk_paths(model, event_model, depth=3, seen=()):
    """Lookup paths from ``model`` to the event (``event``, ``order__event``, …), shortest first."""
    paths = []
    for f in model._meta.get_fields():
        if not (f.concrete and f.many_to_one and f.related_model is not None):
            continue
        if f.related_model is event_model:
            paths.append(((f.name,), f.null))
        elif depth > 1 and f.related_model not in seen and f.related_model._meta.app_label != "auth":
            for sub, nullable in _fk_paths(f.related_model, event_model, depth - 1, seen + (model,)):
                paths.append(((f.name,) + sub, f.null or nullable))
    paths.sort(key=lambda p: len(p[0]))
    return paths


def event_filter(model):
    """The lookups that select a model's rows of one event, or None if the table is not the event's.

    A table is the event's if a chain of non-null foreign keys leads to the event (the shortest one is used:
    ``question__event`` for answers, ``order__event`` for payments), or if it has an event column of its own
    (``OutgoingMail.event``, ``BankTransaction.event``). Tables that reach an event only through nullable links
    (gift cards, memberships: organizer-level data) are not.
    """
    from pretix.base.models import Event

    paths = _fk_paths(model, Event)
    strict = [path for path, nullable in paths if not nullable]
    if strict:
        return ["__".join(strict[0])]
    direct = [path for path, _nullable in paths if len(path) == 1]
    return ["__".join(path) for path in direct] or None


def text_columns(model) -> list:
    cols = []
    for f in model._meta.concrete_fields:
        if f.choices or f.primary_key:
            continue
        if isinstance(f, models.CharField | models.TextField | models.JSONField | models.FileField):
            cols.append(f)
    return cols


def event_tables():
    """``(model, [lookup, …], [text column, …])`` for every table with rows of an event (cached per process)."""
    global _TABLES
    if _TABLES is None:
        found = []
        for model in apps.get_models():
            if _key(model) in SKIPPED_MODELS or model._meta.proxy:
                continue
            lookups = event_filter(model)
            cols = text_columns(model)
            if lookups and cols:
                found.append((model, lookups, cols))
        _TABLES = found
    return _TABLES


_TABLES = None


def _key(model) -> tuple:
    return model._meta.app_label, model.__name__


def rows_of(model, lookups, event):
    q = models.Q()
    for lookup in lookups:
        q |= models.Q(**{lookup: event})
    return model._base_manager.filter(q)


def order_paths(model) -> list[str] | None:
    """The lookups from a model to ``Order`` that select its rows of some orders, or None if it has no such rows.

    Every path of at most three foreign keys whose hops after the first are non-null (``order``,
    ``orderposition__order``, ``order_position__order``, ``position__order``): a nullable first hop is how pretix
    links answers, mails and transactions to an order *or* a position. Organizer-level tables are not an order's
    (the same rule as for the event: ``ORGANIZER_LEVEL``)."""
    from pretix.base.models import Order

    if _key(model) in ORGANIZER_LEVEL:
        return None
    found = []
    for f in model._meta.get_fields():
        if not (f.concrete and f.many_to_one and f.related_model is not None):
            continue
        if f.related_model is Order:
            found.append(f.name)
        elif f.related_model._meta.app_label != "auth" and f.related_model is not model:
            for sub, nullable in _fk_paths(f.related_model, Order, depth=2, seen=(model,)):
                if not nullable:
                    found.append("__".join((f.name,) + sub))
    return sorted(set(found), key=len) or None


def scope_tables():
    """``(model, [lookup to Order, …], [text column, …])`` for every table with rows of orders (cached)."""
    global _SCOPE_TABLES
    if _SCOPE_TABLES is None:
        found = []
        for model in apps.get_models():
            if _key(model) in SKIPPED_MODELS or model._meta.proxy or model._meta.label == "pretixbase.Order":
                continue
            paths = order_paths(model)
            cols = text_columns(model)
            if paths and cols:
                found.append((model, paths, cols))
        from pretix.base.models import Order

        found.append((Order, ["self"], text_columns(Order)))
        _SCOPE_TABLES = found
    return _SCOPE_TABLES


_SCOPE_TABLES = None


def scope_rows(model, event, scope):
    """The rows of ``model`` in ``scope``: of the event (``event_filter``), or of the scope's orders."""
    if scope.is_event:
        return rows_of(model, event_filter(model), event)
    from pretix.base.models import Order

    if model is Order:
        return scope.orders_of(event)
    q = models.Q()
    for path in order_paths(model) or ():
        q |= models.Q(**{f"{path}__in": scope.orders})
    return model._base_manager.filter(q) if q else model._base_manager.none()


# ---------------------------------------------------------------------------------------------------------------------
# Collecting


def _i18n(value):
    """An i18n text in every language (a dict of them), anything else as a string."""
    data = getattr(value, "data", None)
    return data if isinstance(data, dict) else str(value)


def public_values(event) -> set:
    """What is not personal: what the organizer publishes (settings, names and product texts of the event and its
    organizer) and the identifiers kept by design."""
    from pretix.base.models import Event_SettingsStore, Organizer_SettingsStore

    public = set()

    def add(value):
        data = parse_json(value)
        for _key, text, _p in leaves(data) if not isinstance(data, str) else [(None, data, False)]:
            tup = tokens(text)
            if tup:
                public.add(tup)
            for regex in (EMAIL_RE, PHONE_RE):
                for m in regex.finditer(text):
                    public.add(tokens(m.group(0)))

    for value in Event_SettingsStore.objects.filter(object=event).values_list("value", flat=True):
        add(value)
    for value in Organizer_SettingsStore.objects.filter(object=event.organizer).values_list("value", flat=True):
        add(value)
    for value in (event.organizer.name, event.organizer.slug, event.slug, str(event.location or "")):
        add(value)
    add(_i18n(event.name))
    # the names of what the organizer set up (they appear in the log entries of that set-up)
    config = (
        (event.items, "name"),
        (event.categories, "name"),
        (event.quotas, "name"),
        (event.questions, "question"),
        (event.checkin_lists, "name"),
        (event.tax_rules, "name"),
        (event.subevents, "name"),
    )
    for queryset, column in config:
        for name in queryset.values_list(column, flat=True):
            add(_i18n(name))
    # Identifiers kept by design (order codes, invoice numbers, voucher codes): a payment reference that quotes the
    # order code is personal as a whole, its order code alone is not.
    for code in event.orders.values_list("code", flat=True).iterator(chunk_size=5000):
        public.add(tokens(code))
        public.add(tokens(f"{event.slug}-{code}"))
    for number in event.invoices.values_list("full_invoice_no", flat=True):
        public.add(tokens(number))
    for code in event.vouchers.values_list("code", flat=True).iterator(chunk_size=5000):
        public.add(tokens(code))
    return public


def collect(event, export_file=None, scope=None) -> PersonalValues:
    """All personal values the event - or a scope below it (``scopes.Scope``: the rows of its orders, their log
    entries and mails, its dates' waiting list) - holds now (rows and log history), plus those in an export file."""
    from pretix.base.models import (
        Invoice,
        InvoiceAddress,
        InvoiceLine,
        OrderPayment,
        OrderRefund,
        OutgoingMail,
        QuestionAnswer,
    )

    scope = scope or scopes.WHOLE_EVENT
    values = PersonalValues(public=public_values(event))
    add = values.add
    orders = scope.orders_of(event)
    for row in orders.values_list("email", "phone", "comment", "checkin_text", "meta_info", "api_meta"):
        for v in row[:4]:
            add(v)
        values.add_data(parse_json(row[4]) or {}, personal=False)
        values.add_data(row[5] or {}, personal=True)
    positions = scope.positions_of(event)
    for row in positions.values_list(
        "attendee_name_cached", "attendee_name_parts", "attendee_email", "company", "street", "zipcode", "city"
    ):
        add(row[0])
        values.add_data(row[1] or {}, personal=True)
        for v in row[2:]:
            add(v)
    answers = QuestionAnswer.objects.filter(question__event=event) if scope.is_event else scope.answers_of(event)
    for v in answers.filter(question__type__in=FREE_TEXT_QUESTION_TYPES).values_list("answer", flat=True):
        add(v)
    for ia in InvoiceAddress.objects.filter(scope.order_q(event)).values_list(
        "company", "name_cached", "name_parts", "street", "zipcode", "city", "vat_id", "internal_reference",
        "beneficiary", "custom_field", "transmission_info",
    ):  # fmt: skip
        for v in ia:
            if isinstance(v, dict | list):
                values.add_data(v, personal=True)
            else:
                add(v)
    to_fields = [f.name for f in Invoice._meta.concrete_fields if f.name.startswith("invoice_to")]
    invoices = Invoice.objects.filter(event=event) if scope.is_event else Invoice.objects.filter(scope.order_q(event))
    for row in invoices.values_list(*to_fields, "internal_reference", "custom_field"):
        for v in row:
            if isinstance(v, dict | list):
                values.add_data(v, personal=True)
            elif isinstance(v, str):
                # invoice_to is the whole address block: its lines are values of their own
                for line in v.splitlines():
                    add(line)
    for v in InvoiceLine.objects.filter(invoice__in=invoices).values_list("attendee_name", flat=True):
        add(v)
    for row in scope.waiting_list_of(event).values_list("email", "phone", "name_cached", "name_parts"):
        add(row[0])
        add(row[1])
        add(row[2])
        values.add_data(row[3] or {}, personal=True)
    vouchers = event.vouchers.filter(waitinglistentries__in=scope.waiting_list_of(event))
    for v in vouchers.values_list("comment", flat=True):
        values.add_patterns(v or "")
    for model in (OrderPayment, OrderRefund):
        for info in model.objects.filter(scope.order_q(event)).values_list("info", flat=True):
            values.add_data(parse_json(info or "{}"))
    for v in OrderRefund.objects.filter(scope.order_q(event)).values_list("comment", flat=True):
        add(v)
    mails = OutgoingMail.objects.filter(event=event)
    for row in (mails if scope.is_event else mails.filter(order_id__in=scope.orders)).values_list("to", "cc", "bcc"):
        for v in row:
            values.add_data(v or [], personal=True)
    _collect_bank(event, values, scope)
    logs = scope.log_entries_of(event).exclude(data="")
    for data in logs.values_list("data", flat=True).iterator(chunk_size=2000):
        values.add_data(_without_attribution(parse_json(data)))
    _collect_files(event, values, scope)
    if export_file is not None:
        _collect_export(export_file, values)
    return values


def _without_attribution(data):
    """A log entry's data without this plugin's record of whose retention policy acted (``attribution``: the names of
    the organizer's own token, team or application, never a customer's data), so they are not taken for personal
    values of the event."""
    if isinstance(data, dict) and "attribution" in data:
        return {k: v for k, v in data.items() if k != "attribution"}
    return data


def _collect_bank(event, values, scope) -> None:
    try:
        BankTransaction = apps.get_model("banktransfer", "BankTransaction")
    except LookupError:  # pragma: no cover - the bank transfer plugin is part of pretix
        return
    q = (models.Q(event=event) | models.Q(order__event=event)) if scope.is_event else scope.order_q(event)
    for row in BankTransaction.objects.filter(q).values_list("payer", "iban", "bic", "reference"):
        for v in row:
            values.add(v)


def _collect_files(event, values, scope) -> None:
    for app_label, model_name, column in PERSONAL_FILE_COLUMNS:
        model = apps.get_model(app_label, model_name)
        for obj in scope_rows(model, event, scope).exclude(**{column: ""}).exclude(**{f"{column}__isnull": True}):
            stored = getattr(obj, column)
            if stored and stored.name:
                values.files.append((stored.name, model._meta.db_table, column))


def _collect_export(cf, values) -> None:
    """Personal values in the JSON files of an export zip (a retried shred: the first attempt may have deleted some)."""
    if cf is None or not cf.file:
        return
    try:
        with cf.file.storage.open(cf.file.name, "rb") as f, zipfile.ZipFile(f) as zf:
            for name in zf.namelist():
                if name.endswith(".json") and name != "index.json":
                    values.add_data(json.loads(zf.read(name).decode("utf-8")))
    except (OSError, ValueError, zipfile.BadZipFile):
        logger.warning("Could not read the export file %s for the residual scan", cf.pk, exc_info=True)


# ---------------------------------------------------------------------------------------------------------------------
# Searching


@dataclass
class Report:
    values: int  # distinct personal values that were looked for
    found: int  # how many of them are still stored somewhere
    locations: list  # [{"table", "column", "action_type", "count"}], count = distinct values found there
    retained: list = field(default_factory=list)  # the same, in tables kept on purpose (not counted in found)

    def as_dict(self) -> dict:
        return {"values": self.values, "found": self.found, "locations": self.locations}


def _text_of(value) -> str:
    data = parse_json(value)
    if isinstance(data, str):
        return data
    if data is None:
        return ""
    if isinstance(data, dict | list):
        return "\n".join(text for _k, text, _p in leaves(data))
    return str(data)


def file_text(storage, name: str) -> str:
    """The text of a stored file: a PDF's extracted text, a text file's content, nothing for other formats."""
    try:
        if storage.size(name) > MAX_FILE_BYTES:
            return ""
        with storage.open(name, "rb") as f:
            content = f.read()
    except OSError:
        return ""
    if content[:5] == b"%PDF-":
        try:
            import io

            from pypdf import PdfReader

            return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)
        except Exception:  # a damaged PDF: search its raw bytes instead
            logger.warning("Could not extract the text of %s for the residual scan", name, exc_info=True)
    if b"\x00" in content[:1024]:
        return ""
    return content.decode("utf-8", errors="ignore")


def _search_rows(model, qs, cols, values, hits, files=()) -> None:
    """Add the values found in the text columns ``cols`` of ``qs`` (and in the files of the columns ``files``, given
    by index) to ``hits``."""
    from django.core.files.storage import default_storage

    rows = qs.values_list(*[c.attname for c in cols])
    for row in rows.iterator(chunk_size=2000):
        for i, value in enumerate(row):
            if value in (None, "", {}, []):
                continue
            found = values.find(_text_of(value))
            if found:
                hits[(model._meta.db_table, cols[i].column, None)] |= found
            if i in files:
                found = values.find(file_text(default_storage, value))
                if found:
                    hits[(model._meta.db_table, cols[i].column + ":file", None)] |= found


def _search_logs(logs, values, hits) -> None:
    for action_type, data in logs.exclude(data="").values_list("action_type", "data").iterator(chunk_size=2000):
        found = values.find(_text_of(data))
        if found:
            hits[("pretixbase_logentry", "data", action_type)] |= found


def _report(values, hits, retained_tables=frozenset()) -> Report:
    """Counts and locations of ``hits``; hits in ``retained_tables`` (kept on purpose, e.g. invoices under tax law)
    are listed in ``retained`` and not counted as found."""
    from django.core.files.storage import default_storage

    kept = {k: v for k, v in hits.items() if k[0] in retained_tables}
    hits = {k: v for k, v in hits.items() if k[0] not in retained_tables}
    found_total = set().union(*hits.values()) if hits else set()
    file_hits = defaultdict(int)
    for name, table, column in values.files:
        if default_storage.exists(name):
            file_hits[(table, column + ":file", None)] += 1
    kept_files = {k: n for k, n in file_hits.items() if k[0] in retained_tables}
    file_hits = {k: n for k, n in file_hits.items() if k[0] not in retained_tables}

    def as_locations(counted):
        locations = [{"table": t, "column": c, "action_type": a, "count": n} for (t, c, a), n in counted]
        return sorted(locations, key=lambda loc: (loc["table"], loc["column"], loc["action_type"] or ""))

    locations = as_locations([(k, len(v)) for k, v in hits.items()] + list(file_hits.items()))
    retained = as_locations([(k, len(v)) for k, v in kept.items()] + list(kept_files.items()))
    return Report(
        values=len(values),
        found=len(found_total) + sum(file_hits.values()),
        locations=locations,
        retained=retained,
    )


def scan(event, values: PersonalValues, scope=None, retained_tables=frozenset()) -> Report:
    """Search the event's rows, log entries and files - or those of a scope below it (its orders' rows, log entries,
    mails and files) - for ``values``; counts and locations only. Hits in ``retained_tables`` (kept on purpose) are
    listed apart (``_report``)."""
    hits = defaultdict(set)  # (table, column, action_type) -> value indexes

    scope = scope or scopes.WHOLE_EVENT
    if values.values:
        for model, _lookups, cols in event_tables() if scope.is_event else scope_tables():
            # Files that are personal in themselves (invoices, tickets, uploads) count as one value each while they
            # are stored (below); the text of every other file of the event is searched.
            personal = {column for app, name, column in PERSONAL_FILE_COLUMNS if (app, name) == _key(model)}
            files = [i for i, c in enumerate(cols) if isinstance(c, models.FileField) and c.name not in personal]
            _search_rows(model, scope_rows(model, event, scope), cols, values, hits, files)
        _search_logs(scope.log_entries_of(event), values, hits)
    return _report(values, hits, retained_tables)


# Organizer-level tables that hold personal data (rows of no event): customer accounts and what hangs on them, mails
# not sent for an event, and the organizer's own log entries.
ORGANIZER_TABLES = (
    ("pretixbase", "Customer", "organizer"),
    ("pretixbase", "AttendeeProfile", "customer__organizer"),
    ("pretixbase", "Membership", "customer__organizer"),
    ("pretixbase", "InvoiceAddress", "customer__organizer"),
    ("pretixbase", "OutgoingMail", "organizer"),
)


def scan_organizer(organizer, values: PersonalValues) -> Report:
    """Search the organizer-level rows and log entries (those of no event) for ``values``."""
    from pretix.base.models import LogEntry

    hits = defaultdict(set)
    if values.values:
        for app_label, model_name, lookup in ORGANIZER_TABLES:
            model = apps.get_model(app_label, model_name)
            qs = model._base_manager.filter(**{lookup: organizer})
            if model_name in ("OutgoingMail", "InvoiceAddress"):
                qs = qs.filter(**({"event__isnull": True} if model_name == "OutgoingMail" else {"order__isnull": True}))
            _search_rows(model, qs, text_columns(model), values, hits)
        _search_logs(LogEntry.objects.filter(organizer=organizer, event__isnull=True), values, hits)
    return _report(values, hits)


def check(event) -> Report:
    """On demand: what personal data does this event still hold?"""
    return scan(event, collect(event))
