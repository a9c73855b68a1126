"""Runs as a subprocess with the pretix instance's environment (pretix.settings, PRETIX_CONFIG_FILE).

Reads one JSON request per line on stdin and answers one JSON line on stdout:
- ``{"function": "seed_event", "kwargs": {...}}`` calls a function of ``orm_functions``;
- ``{"code": "...", "kwargs": {...}}`` runs Python code with ``kwargs`` in scope; the answer is its ``result``.
Everything runs with ``django_scopes.scopes_disabled()``. Answers: ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "<traceback>"}``. Anything else the code prints goes to stderr (the log file).
"""

import json
import os
import sys
import traceback


def main():
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr

    import django

    django.setup()
    import orm_functions
    from django.db import connection
    from django_scopes import scopes_disabled

    answers.write(json.dumps({"ok": True, "result": "ready"}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            kwargs = request.get("kwargs") or {}
            with scopes_disabled():
                if "function" in request:
                    result = getattr(orm_functions, request["function"])(**kwargs)
                else:
                    namespace = {**kwargs, "kwargs": kwargs, "result": None}  # the kwargs also as names
                    exec(request["code"], namespace)  # noqa: S102 - test helper, code comes from the tests
                    result = namespace["result"]
            answer = {"ok": True, "result": result}
        except Exception:
            answer = {"ok": False, "error": traceback.format_exc()}
        finally:
            connection.close_if_unusable_or_obsolete()
        answers.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    main()
