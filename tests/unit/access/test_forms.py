"""The access form of a gated repo (commonshub/access/forms.py): reading it from a card, checking answers."""

from __future__ import annotations

import re
from typing import Any

import pytest

from commonshub.access.forms import FormError, FormField, check_answers, gate_form


def test_the_form_is_read_in_the_card_s_order_with_select_values() -> None:
    card = {
        "extra_gated_fields": {
            "Name": "text",
            "Country": "country",
            "When": {"type": "date_picker"},
            "Use": {"type": "select", "options": ["Research", {"label": "Other use", "value": "other"}, 3]},
            "Agree": "checkbox",
        }
    }
    assert gate_form(card) == [
        FormField("Name", "text"),
        FormField("Country", "country"),
        FormField("When", "date_picker"),
        FormField("Use", "select", ("Research", "other", "3")),
        FormField("Agree", "checkbox"),
    ]


@pytest.mark.parametrize(
    "card",
    [None, {}, {"extra_gated_fields": None}, {"extra_gated_fields": ["Name"]}, {"extra_gated_fields": "x"}],
)
def test_no_form_asks_nothing(card: dict[str, Any] | None) -> None:
    assert gate_form(card) == []
    assert check_answers(gate_form(card), None) == {}
    with pytest.raises(FormError, match=r"Unknown field 'x'.*asks for nothing"):
        check_answers(gate_form(card), {"x": "y"})


def test_what_the_hub_does_not_know_is_asked_as_text() -> None:
    card = {"extra_gated_fields": {"A": "slider", "B": {"type": 5}, "C": 7, "D": {"type": "select"}}}
    form = gate_form(card)
    assert [f.type for f in form] == ["text", "text", "text", "select"]
    # A select without options cannot be answered: the card is wrong, and the message says so.
    with pytest.raises(FormError, match="'D' has no options"):
        check_answers(form, {"A": "a", "B": "b", "C": "c", "D": "d"})


FORM = [
    FormField("Name", "text"),
    FormField("When", "date_picker"),
    FormField("Use", "select", ("Research", "other")),
    FormField("Agree", "checkbox"),
]
GOOD = {"Name": "Ada", "When": "2026-02-28", "Use": "other", "Agree": True}


def test_good_answers_are_recorded_as_given() -> None:
    assert check_answers(FORM, GOOD) == GOOD


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([], "must be a JSON object"),
        ({}, "'Name' is required"),
        ({**GOOD, "Name": ""}, "'Name' is required"),
        ({**GOOD, "Name": None}, "'Name' is required"),
        ({**GOOD, "Name": "a" * 1001}, "longer than 1000"),
        ({**GOOD, "Name": "a\x00"}, "'Name' is not valid text"),
        ({**GOOD, "Name": "\ud800"}, "'Name' is not valid text"),
        ({**GOOD, "When": "2026-02-30"}, "'When' must be a date"),
        ({**GOOD, "When": "tomorrow"}, "'When' must be a date"),
        ({**GOOD, "Use": "Other use"}, "'Use' must be one of 'Research', 'other'"),
        ({**GOOD, "Agree": False}, "'Agree' must be checked"),
        ({**GOOD, "Agree": "true"}, "'Agree' must be checked"),
        ({**GOOD, "Agree": 1}, "'Agree' must be checked"),
        ({**GOOD, "Extra": "x"}, "Unknown field 'Extra'"),
    ],
)
def test_wrong_answers_name_the_field(answers: Any, message: str) -> None:
    with pytest.raises(FormError, match=re.escape(message)):
        check_answers(FORM, answers)
