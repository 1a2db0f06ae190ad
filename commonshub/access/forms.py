"""The access form of a gated repo: the card's `extra_gated_fields`, and checking the answers.

As on huggingface.co, a card's front matter may ask requesters questions:

    extra_gated_fields:
      Company: text
      Country: country
      Start date: date_picker
      Use case:
        type: select
        options: [Research, Education, {label: Other, value: other}]
      I agree to the licence: checkbox

Every field is required; a checkbox must be checked. Pure functions: card data in, answers out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

FIELD_TYPES = ("text", "checkbox", "date_picker", "country", "select")
MAX_ANSWER_CHARS = 1000


class FormError(ValueError):
    """The answers do not fit the form; the message names the field, for the requester."""


@dataclass(frozen=True)
class FormField:
    label: str
    type: str
    options: tuple[str, ...] = ()


def gate_form(card_data: dict[str, Any] | None) -> list[FormField]:
    """The fields the card asks for, in the card's order.

    Lenient, as the card is the owner's to write: a type the hub does not know is asked as text,
    so a form never becomes impossible to fill in.
    """
    spec = (card_data or {}).get("extra_gated_fields")
    if not isinstance(spec, dict):
        return []
    form = []
    for label, value in spec.items():
        kind = value if isinstance(value, str) else value.get("type") if isinstance(value, dict) else None
        if kind not in FIELD_TYPES:
            kind = "text"
        options: tuple[str, ...] = ()
        if kind == "select":
            raw = value.get("options") if isinstance(value, dict) else None
            options = tuple(_option_value(o) for o in raw) if isinstance(raw, list) else ()
        form.append(FormField(str(label), kind, options))
    return form


def _option_value(option: Any) -> str:
    # An option is a string, or {label, value} where the value is what gets recorded.
    if isinstance(option, dict):
        option = option.get("value", option.get("label"))
    return str(option)


def check_answers(form: list[FormField], answers: Any) -> dict[str, Any]:
    """The answers to record, or FormError naming the first field that is wrong."""
    if answers is None:
        answers = {}
    if not isinstance(answers, dict):
        raise FormError("`fields` must be a JSON object of answers by field name")
    labels = {f.label for f in form}
    for key in answers:
        if key not in labels:
            asked = ", ".join(repr(f.label) for f in form) or "nothing"
            raise FormError(f"Unknown field {key!r}: this repo's access form asks for {asked}")
    recorded: dict[str, Any] = {}
    for field in form:
        value = answers.get(field.label)
        if field.type == "checkbox":
            if value is not True:
                raise FormError(f"Field {field.label!r} must be checked (true)")
            recorded[field.label] = True
            continue
        if not isinstance(value, str) or not value.strip():
            raise FormError(f"Field {field.label!r} is required")
        if len(value) > MAX_ANSWER_CHARS:
            raise FormError(f"Field {field.label!r} is longer than {MAX_ANSWER_CHARS} characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: JSON can say it, no database can store it
            raise FormError(f"Field {field.label!r} is not valid text") from None
        if "\x00" in value:
            raise FormError(f"Field {field.label!r} is not valid text")
        if field.type == "date_picker":
            try:
                date.fromisoformat(value)
            except ValueError:
                raise FormError(f"Field {field.label!r} must be a date (YYYY-MM-DD)") from None
        if field.type == "select" and not field.options:
            raise FormError(f"Field {field.label!r} has no options: the repo card's form is incomplete")
        if field.type == "select" and value not in field.options:
            choices = ", ".join(repr(o) for o in field.options)
            raise FormError(f"Field {field.label!r} must be one of {choices}")
        recorded[field.label] = value
    return recorded
