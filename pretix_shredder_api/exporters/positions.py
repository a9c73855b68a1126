"""Position-level shredders: attendee info, and question answers with their uploaded files.

Both read ``OrderPosition.all`` (cancelled positions included) of the event in the model's ordering, as pretix's
``AttendeeInfoShredder`` and ``QuestionAnswerShredder`` do, but as plain column values, one batch of positions at a
time: a fixed number of queries per batch instead of several per position.
"""

import os
from collections import defaultdict

from django.db.models import Q
from pretix.base.models import OrderPosition, QuestionAnswer, QuestionOption
from pretix.helpers.names import build_name
from rest_framework.reverse import reverse

from . import stream
from .stream import Counter, batched, copy_file, write_json

POSITION_ORDER = OrderPosition._meta.ordering
OPTION_ORDER = [f"questionoption__{f}" for f in QuestionOption._meta.ordering]


def _positions(event):
    return OrderPosition.all.filter(order__event=event).order_by(*POSITION_ORDER)


def export_attendee_info(event, zf, progress=None) -> None:
    named = _positions(event).filter(Q(attendee_name_cached__isnull=False) | Q(attendee_name_parts__isnull=False))
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


def export_question_answers(event, zf, progress=None) -> None:
    positions = _positions(event)
    counter = Counter(progress, positions.count())
    _write_answer_files(event, zf)
    rows = positions.values_list("pk", "order__code", "positionid").iterator(chunk_size=stream.BATCH)

    def batches():
        for batch in batched(rows):
            answers = _answers_of(event, [pk for pk, _code, _positionid in batch])
            yield {f"{code}-{positionid}": answers.get(pk, []) for pk, code, positionid in batch}
            counter.add(len(batch))

    write_json(zf, "question-answers.json", batches())


def _write_answer_files(event, zf) -> None:
    """The uploaded files, named as pretix names them, in the order of their positions (pretix yields them while
    it walks the positions, before the JSON file)."""
    with_file = (
        QuestionAnswer.objects.filter(orderposition__order__event=event)
        .exclude(Q(file__isnull=True) | Q(file=""))
        .select_related("question", "orderposition__order")
        .order_by(*[f"orderposition__{f}" for f in POSITION_ORDER], "pk")
    )
    for a in with_file.iterator(chunk_size=stream.BATCH):
        op = a.orderposition
        name = f"{op.order.code}-{op.positionid}-{a.question.identifier}-{os.path.basename(a.file.name)}"
        copy_file(zf, name, a.file)


def _answers_of(event, position_ids: list[int]) -> dict[int, list[dict]]:
    """pretix's ``AnswerSerializer`` output (``context={'request': None}``) of each position's answers, sorted by
    question id as pretix sorts them: two queries for any number of positions."""
    answers = (
        QuestionAnswer.objects.filter(orderposition_id__in=position_ids)
        .order_by("pk")
        .values_list("pk", "orderposition_id", "question_id", "answer", "question__identifier")
    )
    options = defaultdict(list)
    through = QuestionAnswer.options.through.objects.filter(questionanswer__orderposition_id__in=position_ids)
    for answer_id, option_id, identifier in through.order_by(*OPTION_ORDER).values_list(
        "questionanswer_id", "questionoption_id", "questionoption__identifier"
    ):
        options[answer_id].append((option_id, identifier))
    out = defaultdict(list)
    for pk, position_id, question_id, answer, question_identifier in answers:
        chosen = options.get(pk, ())
        if answer.startswith("file://"):  # AnswerSerializer links file answers to the API's download URL
            kwargs = {"organizer": event.organizer.slug, "event": event.slug, "pk": position_id}
            answer = reverse("api-v1:orderposition-answer", kwargs={**kwargs, "question": question_id}, request=None)
        out[position_id].append(
            {
                "question": question_id,
                "answer": answer,
                "question_identifier": question_identifier,
                "options": [option_id for option_id, _identifier in chosen],
                "option_identifiers": [identifier for _option_id, identifier in chosen],
            }
        )
    for position_answers in out.values():
        position_answers.sort(key=lambda a: a["question"])
    return out
