"""Where personal data is stored, in words: a residual scan location (``{"table", "column", "action_type"}``, see
``residual``) named by its model's and field's verbose names, a stored file as "stored file", a log entry by the
text of its type, and the data shredders that remove it - so that a page can say what is left and where to act,
without a database identifier."""

import re

from django.apps import apps
from django.utils.translation import gettext_lazy as _

FILE_SUFFIX = ":file"

# Which shredders remove a table's personal data: table → {column: shredders}, "" for the table's other columns.
# Shredders an event does not offer are left out when a location is described.
REMOVED_BY = {
    "pretixbase_order": {"email": ["order_emails"], "phone": ["phone_numbers"], "": ["order_notes"]},
    "pretixbase_orderposition": {"": ["attendee_info"]},
    "pretixbase_invoiceaddress": {"": ["invoice_addresses"]},
    "pretixbase_invoice": {"": ["invoices"]},
    "pretixbase_questionanswer": {"": ["question_answers", "order_question_answers"]},
    "pretixbase_cachedticket": {"": ["cachedtickets"]},
    "pretixbase_cachedcombinedticket": {"": ["cachedtickets"]},
    "pretixbase_orderpayment": {"": ["payment_info", "payment_details"]},
    "pretixbase_orderrefund": {"": ["payment_info", "payment_details"]},
    "pretixbase_waitinglistentry": {"": ["waiting_list"]},
    "pretixbase_logentry": {"": ["log_personal_data"]},
    "banktransfer_banktransaction": {"": ["payment_details"]},
}

# Tables whose model has no translated name of its own
TABLE_NAMES = {"pretixbase_logentry": _("Log entries")}

_MODELS = None


def model_of(table: str):
    global _MODELS
    if _MODELS is None:
        _MODELS = {m._meta.db_table: m for m in apps.get_models()}
    return _MODELS.get(table)


def _field_name(model, column: str) -> str:
    for f in model._meta.get_fields():
        if getattr(f, "column", None) == column:
            return str(f.verbose_name)
    return column.replace("_", " ")


def log_type_text(action_type: str) -> str:
    """The text pretix shows for entries of this type (placeholders as "…"), else the type in words."""
    from pretix.base.logentrytypes import log_entry_types

    entry_type, _meta = log_entry_types.get(action_type=action_type)
    plain = getattr(entry_type, "plain", None) if entry_type is not None else None
    if plain:
        return re.sub(r"\{[^}]*\}", "…", str(plain))
    return str(_("Log entries of another kind"))


def describe(location: dict, known: dict) -> dict:
    """``{"where", "what", "file", "log", "shredders": [(identifier, name)], "count"}`` for a scan location;
    ``known``: the event's shredders (``event.get_data_shredders()``)."""
    table, column = location.get("table", ""), location.get("column", "")
    is_file = column.endswith(FILE_SUFFIX)
    column = column.removesuffix(FILE_SUFFIX)
    model = model_of(table)
    if table in TABLE_NAMES:
        where = str(TABLE_NAMES[table])
    elif model is not None:
        opts = model._meta
        where = str(opts.verbose_name_plural if "verbose_name_plural" in opts.original_attrs else opts.verbose_name)
    else:
        where = str(_("Another table"))
    what = _field_name(model, column) if model is not None else column.replace("_", " ")
    by_column = REMOVED_BY.get(table, {})
    shredders = by_column.get(column, by_column.get("", []))
    return {
        "where": where[:1].upper() + where[1:],
        "what": what[:1].upper() + what[1:],
        "file": is_file,
        "log": log_type_text(location["action_type"]) if location.get("action_type") else "",
        "shredders": [(i, str(known[i].verbose_name)) for i in shredders if i in known],
        "count": location.get("count", 0),
    }
