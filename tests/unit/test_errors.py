"""Typed errors (specs/hf-protocol.md §1.6) and messages made safe to send as a header."""

from __future__ import annotations

import re

import pytest

from commonshub.errors import (
    BadRequest,
    EntryNotFound,
    GatedRepo,
    HubError,
    InvalidCredentials,
    PreconditionFailed,
    RangeNotSatisfiable,
    RepoNotFound,
    RevisionNotFound,
    Unprocessable,
    header_safe,
)

# RFC 9110 field-value: visible ASCII, spaces and tabs between them, and obs-text (0x80-0xFF).
FIELD_VALUE = re.compile(r"(?:[\x21-\x7e\x80-\xff](?:[ \t]*[\x21-\x7e\x80-\xff])*)?")


def assert_header_value(value: str) -> None:
    assert FIELD_VALUE.fullmatch(value), repr(value)
    assert len(value.encode("latin-1")) <= 1024


# --- header_safe ---


def test_plain_ascii_is_unchanged() -> None:
    assert header_safe("Repository not found") == "Repository not found"


def test_latin1_text_is_kept() -> None:
    assert header_safe("Fichier déjà présent: données.csv") == "Fichier déjà présent: données.csv"


def test_other_scripts_become_escapes() -> None:
    value = header_safe("Invalid path '数据/ファイル.txt' 🚀")
    assert value == "Invalid path '\\u6570\\u636e/\\u30d5\\u30a1\\u30a4\\u30eb.txt' \\U0001f680"
    assert_header_value(value)


def test_line_breaks_and_runs_of_spaces_become_one_space() -> None:
    assert (
        header_safe("  Invalid metadata:\n  line 2,\r\n\tcolumn 3  ") == "Invalid metadata: line 2, column 3"
    )


@pytest.mark.parametrize("control", ["\x00", "\x01", "\x08", "\x0e", "\x1b", "\x7f"])
def test_control_characters_are_escaped(control: str) -> None:
    # A revision `%01` in a URL ends up in "Invalid rev id: \x01"; sent raw, the server would drop
    # the connection instead of answering 404.
    value = header_safe(f"Invalid rev id: a{control}b")
    assert value == f"Invalid rev id: a\\x{ord(control):02x}b"
    assert_header_value(value)


def test_long_messages_are_cut_to_1_kib() -> None:
    value = header_safe("x" * 5000)
    assert value == "x" * 1024


def test_escapes_cannot_push_a_message_past_1_kib() -> None:
    # 1024 characters of CJK become 6 bytes each once escaped: still at most 1 KiB in the header.
    for text in ("中" * 1024, "🚀" * 2000, "\x01" * 3000, "a " * 3000):
        assert_header_value(header_safe(text))


def test_a_cut_never_leaves_a_trailing_space() -> None:
    value = header_safe("y" * 1023 + " z")
    assert value == "y" * 1023
    assert_header_value(value)


def test_empty_message() -> None:
    assert header_safe("") == ""
    assert header_safe(" \n ") == ""


# --- the error types clients key on ---


def test_repo_not_found_has_the_exact_message_and_code() -> None:
    error = RepoNotFound()
    assert (error.status_code, error.code, error.message) == (404, "RepoNotFound", "Repository not found")
    assert RepoNotFound(anonymous=True).status_code == 401


def test_revision_not_found_names_the_revision() -> None:
    error = RevisionNotFound("v9")
    assert (error.status_code, error.code, error.message) == (404, "RevisionNotFound", "Invalid rev id: v9")


def test_entry_not_found_tells_transformers_the_commit() -> None:
    assert EntryNotFound(commit="a" * 40).headers == {"X-Repo-Commit": "a" * 40}
    assert EntryNotFound().headers == {}
    assert (EntryNotFound().status_code, EntryNotFound().code) == (404, "EntryNotFound")


def test_invalid_credentials_has_no_code_and_the_message_the_client_matches() -> None:
    error = InvalidCredentials()
    assert error.status_code == 401 and error.code is None
    assert error.message == "Invalid credentials in Authorization header"


def test_precondition_failed_is_the_hub_message() -> None:
    error = PreconditionFailed()
    assert error.status_code == 412
    assert error.message == "The branch was updated since you opened this page. Please refresh and try again."


def test_range_not_satisfiable_carries_the_size() -> None:
    error = RangeNotSatisfiable(1234)
    assert error.status_code == 416 and error.headers == {"Content-Range": "bytes */1234"}


def test_status_can_be_overridden_per_instance() -> None:
    assert GatedRepo("restricted", status=401).status_code == 401
    assert GatedRepo("restricted").status_code == 403
    assert GatedRepo.status == 403  # the class default is untouched


def test_extra_body_keys_and_defaults() -> None:
    error = HubError("exists", status=409, extra={"url": "http://hub/x/y"})
    assert error.extra == {"url": "http://hub/x/y"} and error.headers == {}
    assert str(error) == "exists"
    assert (BadRequest("x").status_code, BadRequest("x").code) == (400, "BadRequest")
    assert (Unprocessable("x").status_code, Unprocessable("x").code) == (422, "InvalidInput")
