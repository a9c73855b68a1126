"""Position-level shredders: attendee info, and question answers with their uploaded files.

Both read ``OrderPosition.all`` (cancelled positions included) of the event in the model's ordering, as pretix's
``AttendeeInfoShredder`` and ``QuestionAnswerShredder`` do, but as plain column values, streamed in batches: a fixed
number of queries instead of several per position. Given a scope below the event, the positions (and answers) of the
scope's orders only, with the same queries.
"""

import os

from django.db.models import Q
from pretix.base.models import OrderPosition, QuestionAnswer, QuestionOption
from pretix.helpers.names import build_name
from rest_framework.reverse import reverse

from .. import scopes
from . import stream
from .stream import Counter, batched, copy_file, write_json

POSITION_ORDER = OrderPosition._meta.ordering
OPTION_ORDER = [f"questionoption__{f}" for f in QuestionOption._meta.ordering]


def _positions(event, scope=scopes.WHOLE_EVENT):
    return scope.restrict(OrderPosition.all.filter(order__event=event)).order_by(*POSITION_ORDER)


def export_attendee_info(event, zf, progress=None, scope=scopes.WHOLE_EVENT) -> None:
    named = _positions(event, scope).filter(
        Q(attendee_name_cached__isnull=False) | Q(attendee_name_parts__isnull=False)
    )
    counter = Counter(progress, named.count())
    columns = ("order__code", "positionid", "attendee_name_parts", "company", "street", "zipcode", "city")
    rows = named.values_list(*columns, "country", "state").iterator(chunk_size=stream.BATCH)

    fallback = []

    def scheme():  # OrderPosition.attendee_name's fallback for name parts without a scheme, read once
        if not fallback:
            fallback.append(event.settings.name_scheme)
        return fallback[0]

    def batches():
        for batch in batched(rows):
            yield {
                f"{code}-{positionid}": {
                    "name": build_name(parts, fallback_scheme=scheme),
                    "company": company,
                    "street": street,
                    "zipcode": zipcode,
                    "city": city,
                    "country": str(country) if country else None,
                    "state": state,
                }
                for code, positionid, parts, company, street, zipcode, city, country, state in batch
            }
            counter.add(len(batch))

    write_json(zf, "attendee-info.json", batches())


def export_question_answers(event, zf, progress=None, scope=scopes.WHOLE_EVENT) -> None:
    positions = _positions(event, scope)
    counter = Counter(progress, positions.count())
    _write_answer_files(event, zf, scope)
    rows = positions.values_list("pk", "order__code", "positionid").iterator(chunk_size=stream.BATCH)
    answers = _answers_in_position_order(event, scope)

    def batches():
        for batch in batched(rows):
            yield {f"{code}-{positionid}": answers.of(pk, positionid) for pk, code, positionid in batch}
            counter.add(len(batch))

    write_json(zf, "question-answers.json", batches())


def _write_answer_files(event, zf, scope=scopes.WHOLE_EVENT) -> None:
    """The uploaded files, named as pretix names them, in the order of their positions (pretix yields them while
    it walks the positions, before the JSON file)."""
    with_file = (
        scope.restrict(QuestionAnswer.objects.filter(orderposition__order__event=event), "orderposition__order")
        .exclude(Q(file__isnull=True) | Q(file=""))
        .select_related("question", "orderposition__order")
        .order_by(*[f"orderposition__{f}" for f in POSITION_ORDER], "pk")
    )
    for a in with_file.iterator(chunk_size=stream.BATCH):
        op = a.orderposition
        name = f"{op.order.code}-{op.positionid}-{a.question.identifier}-{os.path.basename(a.file.name)}"
        copy_file(zf, name, a.file)


class _answers_in_position_order:
    """pretix's ``AnswerSerializer`` output (``context={'request': None}``) of each position's answers, sorted by
    question id as pretix sorts them, for positions asked in ``POSITION_ORDER`` (positionid, id).

    Two streaming queries for the whole event – the answers and their chosen options, both ordered like the
    positions – merged with the positions as they go by: a constant number of queries whatever the size, and only
    the current position's answers in memory. Rows of a position that is not asked for (one created after the
    positions were read) are skipped, so they cannot hold up the rows that follow.
    """

    def __init__(self, event, scope=scopes.WHOLE_EVENT):
        self.event = event
        order = [f"orderposition__{f}" for f in POSITION_ORDER] + ["orderposition_id", "question_id"]
        answers = QuestionAnswer.objects.filter(orderposition__order__event=event)
        answers = scope.restrict(answers, "orderposition__order").order_by(*order)
        columns = ("orderposition__positionid", "orderposition_id", "question_id", "answer", "question__identifier")
        self.answers = answers.values_list(*columns, "pk").iterator(chunk_size=stream.BATCH)
        through = QuestionAnswer.options.through.objects.filter(questionanswer__orderposition__order__event=event)
        through = scope.restrict(through, "questionanswer__orderposition__order").order_by(
            *[f"questionanswer__{f}" for f in order], *OPTION_ORDER
        )
        key = ("questionanswer__orderposition__positionid", "questionanswer__orderposition_id")
        columns = (*key, "questionanswer__question_id", "questionoption_id", "questionoption__identifier")
        self.options = through.values_list(*columns).iterator(chunk_size=stream.BATCH)
        self.answer = next(self.answers, None)
        self.option = next(self.options, None)

    def of(self, pk, positionid) -> list[dict]:
        position = (positionid, pk)
        while self.answer is not None and self.answer[:2] < position:  # a position we were not asked for
            self.answer = next(self.answers, None)
        out = []
        while self.answer is not None and self.answer[:2] == position:
            _positionid, _pk, question_id, answer, question_identifier, _answer_pk = self.answer
            self.answer = next(self.answers, None)
            chosen = self._options_of((positionid, pk, question_id))
            if answer.startswith("file://"):  # AnswerSerializer links file answers to the API's download URL
                answer = self._file_url(pk, question_id)
            out.append(
                {
                    "question": question_id,
                    "answer": answer,
                    "question_identifier": question_identifier,
                    "options": [option[3] for option in chosen],
                    "option_identifiers": [option[4] for option in chosen],
                }
            )
        return out

    def _options_of(self, answer_key) -> list[tuple]:
        while self.option is not None and self.option[:3] < answer_key:  # options of an answer not asked for
            self.option = next(self.options, None)
        chosen = []
        while self.option is not None and self.option[:3] == answer_key:
            chosen.append(self.option)
            self.option = next(self.options, None)
        return chosen

    def _file_url(self, position_id, question_id) -> str:
        kwargs = {"organizer": self.event.organizer.slug, "event": self.event.slug, "pk": position_id}
        return reverse("api-v1:orderposition-answer", kwargs={**kwargs, "question": question_id}, request=None)
