"""Fast exporters for pretix's built-in shredders: the same files with the same JSON content as their own
``generate_files``, built with a constant number of queries per batch and streamed into the zip entry.

``exporter_for(shredder)`` answers a function ``export(event, zf, progress)`` for a shredder it has one for, or
``None``: then (and for every plugin's shredder) the archive uses the shredder's own ``generate_files``. Only the
pretix versions in ``CHECKED_PRETIX_VERSIONS`` – those whose output ``tests/test_fast_export.py`` compares against –
get the fast path; ``[shredder_api] fast_export = off`` in pretix.cfg turns it off.

The scope-restricted versions of the same shredders (``scope_shredders``, for a scope below the event) get the same
exporters bound to their scope: the scope's rows only, with the same queries per batch (one ``IN`` of the scope's
order ids added), so the export's cost follows the scope, not the event around it.
"""

from collections.abc import Callable
from functools import partial

import pretix
from django.conf import settings
from pretix.base import shredder as builtin

from .. import scope_shredders
from . import orders, positions, rest

CONFIG_SECTION = "shredder_api"
CHECKED_PRETIX_VERSIONS = frozenset({"2026.8.0"})

# identifier -> (pretix's class the exporter reproduces, the exporter)
EXPORTERS: dict[str, tuple[type, Callable]] = {
    "order_emails": (builtin.EmailAddressShredder, orders.export_emails),
    "phone_numbers": (builtin.PhoneNumberShredder, orders.export_phone_numbers),
    "invoice_addresses": (builtin.InvoiceAddressShredder, orders.export_invoice_addresses),
    "attendee_info": (builtin.AttendeeInfoShredder, positions.export_attendee_info),
    "question_answers": (builtin.QuestionAnswerShredder, positions.export_question_answers),
    "waiting_list": (builtin.WaitingListShredder, rest.export_waiting_list),
    "invoices": (builtin.InvoiceShredder, rest.export_invoices),
}
# identifier -> the scope shredder class whose generate_files the same exporter reproduces for its scope
SCOPED: dict[str, type] = {
    "order_emails": scope_shredders.Emails,
    "phone_numbers": scope_shredders.PhoneNumbers,
    "invoice_addresses": scope_shredders.InvoiceAddresses,
    "attendee_info": scope_shredders.AttendeeInfo,
    "question_answers": scope_shredders.QuestionAnswers,
    "waiting_list": scope_shredders.WaitingList,
    "invoices": scope_shredders.Invoices,
}


def fast_export_enabled() -> bool:
    if pretix.__version__ not in CHECKED_PRETIX_VERSIONS:
        return False
    return settings.CONFIG_FILE.getboolean(CONFIG_SECTION, "fast_export", fallback=True)


def exporter_for(shredder) -> Callable | None:
    """The fast exporter reproducing ``shredder.generate_files()``, or None to use that method itself.

    Only pretix's own classes and this plugin's scope versions of them qualify (``type(...) is``): a plugin's
    subclass or a shredder registered under a built-in identifier may write something else. A scope shredder's
    exporter is bound to its scope.
    """
    identifier = getattr(shredder, "identifier", None)
    known = EXPORTERS.get(identifier)
    if known is None or not fast_export_enabled():
        return None
    if type(shredder) is known[0]:
        return known[1]
    if type(shredder) is SCOPED[identifier]:
        return partial(known[1], scope=shredder.scope)
    return None
