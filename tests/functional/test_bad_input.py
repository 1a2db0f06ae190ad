"""Bad input gets the HF error shape, never a 500, and changes nothing (specs/hf-protocol.md §4.3, §9.3).

Malformed NDJSON commits, paths that escape the repo, and README metadata that is too large or not
valid YAML: each is refused with a clear status, and the repo is exactly as it was before.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from commonshub.app import create_app
from commonshub.hub import Hub
from tests.conftest import Account, add_user, make_settings
from tests.functional.test_errors import (
    add_file,
    assert_hf_error,
    commit,
    create_repo,
    head_sha,
)

HEADER = {"key": "header", "value": {"summary": "s", "description": ""}}
NDJSON = {"content-type": "application/x-ndjson"}


def lines(*rows: Any) -> bytes:
    return b"".join((row if isinstance(row, bytes) else json.dumps(row).encode()) + b"\n" for row in rows)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def snapshot(client: TestClient, account: Account, repo: str) -> tuple[str, list[str], dict[str, Any]]:
    """What a user sees of a repo: its head, its files, and its card metadata."""
    info = client.get(f"/api/models/{repo}", headers=account.headers).json()
    tree = client.get(f"/api/models/{repo}/tree/main?recursive=true", headers=account.headers).json()
    return info["sha"], sorted(e["path"] for e in tree), info["cardData"]


@pytest.fixture
def repo(client: TestClient, alice: Account) -> str:
    name = create_repo(client, alice, "alice/m")
    card = b"---\nlicense: mit\n---\n# m\n"
    r = commit(client, alice, name, add_file("README.md", card), add_file("folder/a.txt", b"a"))
    assert r.status_code == 200, r.text
    return name


# --- malformed NDJSON ---

MALFORMED: list[tuple[str, bytes, int, str | None, str]] = [
    ("not json", b"this is not json\n", 400, "BadRequest", "not valid JSON"),
    (
        "truncated json",
        lines(HEADER) + b'{"key": "file", "value": {"path": "a"\n',
        400,
        "BadRequest",
        "Line ",
    ),
    ("json array line", lines(HEADER, [1, 2]), 400, "BadRequest", "Line "),
    ("value is a list", lines(HEADER, {"key": "file", "value": []}), 400, "BadRequest", "Line "),
    ("no value", lines(HEADER, {"key": "file"}), 400, "BadRequest", "Line "),
    (
        "first line not a header",
        lines({"key": "file", "value": {"path": "a.txt", "content": ""}}),
        400,
        "BadRequest",
        "header",
    ),
    ("header twice", lines(HEADER, HEADER), 400, "BadRequest", "header"),
    ("unknown key", lines(HEADER, {"key": "copy", "value": {"path": "a"}}), 400, "BadRequest", "copy"),
    (
        "bad base64",
        lines(HEADER, {"key": "file", "value": {"path": "a.txt", "content": "!!not base64!!"}}),
        400,
        "BadRequest",
        "base64",
    ),
    (
        "unsupported encoding",
        lines(HEADER, {"key": "file", "value": {"path": "a.txt", "content": "x", "encoding": "utf-8"}}),
        400,
        "BadRequest",
        "encoding",
    ),
    ("missing path", lines(HEADER, {"key": "file", "value": {"content": ""}}), 422, None, "path"),
    (
        "path is a number",
        lines(HEADER, {"key": "file", "value": {"path": 5, "content": ""}}),
        422,
        None,
        "path",
    ),
    (
        "content is a number",
        lines(HEADER, {"key": "file", "value": {"path": "a.txt", "content": 5}}),
        400,
        "BadRequest",
        "content",
    ),
    (
        "summary is a list",
        lines(
            {"key": "header", "value": {"summary": ["x"]}},
            {"key": "file", "value": {"path": "a", "content": ""}},
        ),
        400,
        "BadRequest",
        "summary",
    ),
    (
        "parentCommit not a commit id",
        lines({"key": "header", "value": {"summary": "s", "parentCommit": "main"}}),
        400,
        "BadRequest",
        "parentCommit",
    ),
    (
        "lfsFile without a sha256",
        lines(HEADER, {"key": "lfsFile", "value": {"path": "w.bin", "oid": "abc", "size": 3}}),
        400,
        "BadRequest",
        "sha256",
    ),
    (
        "lfsFile with another algo",
        lines(
            HEADER, {"key": "lfsFile", "value": {"path": "w.bin", "oid": "a" * 64, "algo": "md5", "size": 3}}
        ),
        400,
        "BadRequest",
        "sha256",
    ),
    (
        "lfsFile size as text",
        lines(HEADER, {"key": "lfsFile", "value": {"path": "w.bin", "oid": "a" * 64, "size": "3"}}),
        400,
        "BadRequest",
        "size",
    ),
    (
        "lfsFile negative size",
        lines(HEADER, {"key": "lfsFile", "value": {"path": "w.bin", "oid": "a" * 64, "size": -3}}),
        400,
        "BadRequest",
        "size",
    ),
    (
        "lfsFile never uploaded",
        lines(HEADER, {"key": "lfsFile", "value": {"path": "w.bin", "oid": "a" * 64, "size": 3}}),
        422,
        None,
        "a" * 64,
    ),
    ("empty body", b"", 400, "BadRequest", "empty"),
    ("only blank lines", b"\n\n   \n", 400, "BadRequest", "empty"),
    (
        "invalid utf-8",
        lines(HEADER) + b'{"key":"file","value":{"path":"\xff\xfe","content":""}}\n',
        400,
        None,
        "Line ",
    ),
    (
        "lone surrogate",
        lines(HEADER) + b'{"key":"file","value":{"path":"a\\ud800","content":""}}\n',
        400,
        None,
        "",
    ),
]


def test_malformed_commits_are_refused_and_change_nothing(
    client: TestClient, alice: Account, repo: str, subtests: pytest.Subtests
) -> None:
    before = snapshot(client, alice, repo)
    good_line = {"key": "file", "value": {"path": "new.txt", "content": b64(b"new")}}
    for case, body, status, code, message in MALFORMED:
        with subtests.test(case):
            payloads = [body]
            if body.startswith(lines(HEADER)):
                # A good line first: a malformed payload is refused whole, not applied up to the bad line.
                payloads.append(lines(HEADER, good_line) + body[len(lines(HEADER)) :])
            for payload in payloads:
                r = client.post(
                    f"/api/models/{repo}/commit/main", content=payload, headers={**NDJSON, **alice.headers}
                )
                assert_hf_error(r, status, code, message)
                assert snapshot(client, alice, repo) == before
    # The refusals left no lock or half-state behind: a good commit lands.
    good = lines(HEADER, good_line)
    r = client.post(f"/api/models/{repo}/commit/main", content=good, headers={**NDJSON, **alice.headers})
    assert r.status_code == 200, r.text
    assert client.get(f"/{repo}/resolve/main/new.txt").content == b"new"


@pytest.fixture
def sqlite_client(tmp_path: Path, sqlite_url: str) -> Iterator[tuple[TestClient, Account]]:
    hub = Hub(make_settings(tmp_path / "data", sqlite_url))
    alice = add_user(hub, "alice")
    with TestClient(create_app(hub.settings, hub=hub), base_url="http://hub.test") as client:
        yield client, alice


def test_a_line_longer_than_the_limit_is_413_and_changes_nothing(
    sqlite_client: tuple[TestClient, Account],
) -> None:
    # SQLite only: 300 MiB go through the parser, which runs before the database is touched.
    from commonshub.uploads.ndjson import MAX_LINE

    client, alice = sqlite_client
    repo = create_repo(client, alice, "alice/big")
    before = head_sha(client, alice, repo)
    body = lines(HEADER) + b'{"key":"file","value":{"path":"big.txt","content":"' + b"A" * (MAX_LINE + 8)
    r = client.post(f"/api/models/{repo}/commit/main", content=body, headers={**NDJSON, **alice.headers})
    assert_hf_error(r, 413, None, "LFS")
    assert head_sha(client, alice, repo) == before


def test_a_nul_in_the_commit_message_is_refused(client: TestClient, alice: Account, repo: str) -> None:
    # git would cut the message at the NUL without a word: refuse it instead.
    before = snapshot(client, alice, repo)
    for header in ({"summary": "a\u0000b"}, {"summary": "ok", "description": "line\u0000"}):
        body = lines(
            {"key": "header", "value": header}, {"key": "file", "value": {"path": "n.txt", "content": ""}}
        )
        r = client.post(f"/api/models/{repo}/commit/main", content=body, headers={**NDJSON, **alice.headers})
        assert_hf_error(r, 400, "BadRequest", "NUL")
        assert snapshot(client, alice, repo) == before
    # Other control characters are text like any other.
    body = lines(
        {"key": "header", "value": {"summary": "tab\there", "description": "line 1\r\nline 2\u0001"}},
        {"key": "file", "value": {"path": "n.txt", "content": ""}},
    )
    r = client.post(f"/api/models/{repo}/commit/main", content=body, headers={**NDJSON, **alice.headers})
    assert r.status_code == 200, r.text
    latest = client.get(f"/api/models/{repo}/commits/main", headers=alice.headers).json()[0]
    assert latest["title"] == "tab\there"
    assert "line 2\u0001" in latest["message"]


# --- paths that escape the repo (§4.3: 422) ---

BAD_PATHS = [
    "..",
    "../escape.txt",
    "a/../../escape.txt",
    "a/./b.txt",
    ".",
    "/abs.txt",
    "/etc/passwd",
    "a//b.txt",
    "a/",
    "",
    ".git/config",
    "sub/.git/hooks/post-update",
    ".cache/huggingface/x",
    "..\\ddd",
    "a\\b.txt",
    "C:\\windows",
    "a\u0000b",
    "a\nb",
    "tab\there",
    "bell\u0007",
    "del\u007f",
    "x" * 1001,
]


def test_paths_that_escape_the_repo_are_422_and_change_nothing(
    client: TestClient, alice: Account, repo: str, subtests: pytest.Subtests
) -> None:
    before = snapshot(client, alice, repo)
    for path in BAD_PATHS:
        with subtests.test(repr(path)[:40]):
            for op in (
                add_file(path, b"x"),
                ("lfsFile", {"path": path, "algo": "sha256", "oid": "a" * 64, "size": 1}),
                ("deletedFile", {"path": path}),
                ("deletedFolder", {"path": path}),
            ):
                if op[0] == "deletedFolder" and path == "a/":
                    continue  # a folder path may end with a slash
                r = commit(client, alice, repo, add_file("fine.txt", b"fine"), op)
                assert_hf_error(r, 422, None, "path")
                assert snapshot(client, alice, repo) == before
            # preupload validates the same way, before any bytes are sent.
            r = client.post(
                f"/api/models/{repo}/preupload/main",
                json={"files": [{"path": path, "size": 1, "sample": ""}]},
                headers=alice.headers,
            )
            assert_hf_error(r, 422)


def test_unusual_but_valid_paths_are_accepted(client: TestClient, alice: Account, repo: str) -> None:
    # The counterpart: the validation refuses escapes, not names that merely look odd.
    names = [
        "a..b.txt",
        "...",
        "dir/.hidden",
        "spaces in name.txt",
        "ünïcödé/文件.txt",
        "#hash?.txt",
        ".gitignore",
    ]
    r = commit(client, alice, repo, *[add_file(n, n.encode()) for n in names])
    assert r.status_code == 200, r.text
    tree = client.get(f"/api/models/{repo}/tree/main?recursive=true", headers=alice.headers).json()
    assert set(names) <= {e["path"] for e in tree}
    r = commit(client, alice, repo, ("deletedFolder", {"path": "dir/"}))
    assert r.status_code == 200, r.text


# --- README metadata: too large or not valid YAML (§9.3) ---


def _alias_bomb(levels: int = 9) -> str:
    rows = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        rows.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(rows)


BAD_CARDS: list[tuple[str, str, str]] = [
    ("bad syntax", "---\nlicense: [mit\n---\n# card\n", "Invalid metadata"),
    ("bad indentation", "---\nlicense: mit\n  tags: x\n---\n", "Invalid metadata"),
    ("a list at the top", "---\n- license\n- mit\n---\n", "Invalid metadata"),
    ("a string at the top", "---\njust text\n---\n", "Invalid metadata"),
    ("model-index: foo", "---\nmodel-index: foo\n---\n", "model-index"),
    ("model-index without results", "---\nmodel-index:\n- name: x\n---\n", "model-index"),
    ("a YAML alias bomb", f"---\n{_alias_bomb()}\n---\n", "Invalid metadata"),
    ("deeply nested lists", "---\na: " + "[" * 1000 + "]" * 1000 + "\n---\n", "nested too deeply"),
    # Deeper than a JSON encoder goes (orjson: 255), though YAML parses it: it could never be shown.
    ("lists nested 300 deep", "---\na: " + "[" * 300 + "]" * 300 + "\n---\n", "nested too deeply"),
    ("deeply nested maps", "---\na: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n---\n", "Invalid metadata"),
    ("a NUL character", "---\nlicense: mit\u0000\n---\n", "Invalid metadata"),
    ("a python tag", "---\na: !!python/object/apply:os.system ['true']\n---\n", "Invalid metadata"),
    ("an unpaired surrogate", '---\nlicense: "\\ud800"\n---\n', "surrogate"),
    ("an unpaired surrogate in a key", '---\n"\\udfff": x\n---\n', "surrogate"),
]


@pytest.mark.parametrize(("card", "message"), [c[1:] for c in BAD_CARDS], ids=[c[0] for c in BAD_CARDS])
def test_invalid_card_metadata_is_a_clear_400_and_changes_nothing(
    client: TestClient, alice: Account, repo: str, card: str, message: str
) -> None:
    r = client.post("/api/validate-yaml", json={"content": card, "repoType": "model"}, headers=alice.headers)
    assert r.status_code == 400, r.text
    errors = r.json()["errors"]
    assert errors and message in errors[0]["message"]
    before = snapshot(client, alice, repo)
    r = commit(client, alice, repo, add_file("other.txt", b"o"), add_file("README.md", card.encode()))
    assert_hf_error(r, 400, None, message)
    assert snapshot(client, alice, repo) == before
    assert client.get(f"/{repo}/resolve/main/README.md").content == b"---\nlicense: mit\n---\n# m\n"


def test_a_readme_larger_than_max_card_bytes_is_refused(
    client: TestClient, hub: Hub, alice: Account, repo: str
) -> None:
    limit = hub.settings.max_card_bytes
    card = "---\nlicense: mit\n---\n" + "x" * limit
    r = client.post("/api/validate-yaml", json={"content": card}, headers=alice.headers)
    assert r.status_code == 400
    assert str(limit) in r.json()["errors"][0]["message"]
    before = snapshot(client, alice, repo)
    r = commit(client, alice, repo, add_file("README.md", card.encode()))
    assert_hf_error(r, 400, None, "README.md is larger than")
    assert snapshot(client, alice, repo) == before


def test_valid_cards_pass_and_a_card_without_metadata_warns(
    client: TestClient, alice: Account, repo: str
) -> None:
    good = "---\nlicense: apache-2.0\ntags: [a, b]\nmodel-index:\n- name: m\n  results: []\n---\n# m\n"
    r = client.post("/api/validate-yaml", json={"content": good, "repoType": "model"}, headers=alice.headers)
    assert r.status_code == 200 and r.json() == {"errors": [], "warnings": []}
    r = client.post("/api/validate-yaml", json={"content": "# no metadata\n"}, headers=alice.headers)
    assert r.status_code == 200 and r.json()["errors"] == [] and r.json()["warnings"]
    r = commit(client, alice, repo, add_file("README.md", good.encode()))
    assert r.status_code == 200, r.text
    info = client.get(f"/api/models/{repo}", headers=alice.headers).json()
    assert info["cardData"]["license"] == "apache-2.0"
    assert "license:apache-2.0" in info["tags"]


def test_nul_characters_in_metadata_are_refused_or_left_out(
    client: TestClient, alice: Account, repo: str
) -> None:
    # YAML's "\0" escape is valid YAML, but a tag or a library name with a NUL cannot be indexed.
    card = '---\nlicense: mit\ntags: ["a\\0b", ok]\n---\n'
    r = client.post("/api/validate-yaml", json={"content": card}, headers=alice.headers)
    assert r.status_code == 400 and "NUL" in r.json()["errors"][0]["message"]
    before = snapshot(client, alice, repo)
    r = commit(client, alice, repo, add_file("README.md", card.encode()))
    assert_hf_error(r, 400, None, "NUL")
    assert snapshot(client, alice, repo) == before
    # config.json is any JSON: a config that cannot be indexed is left out, the commit stands.
    config = json.dumps({"model_type": "bert\u0000x", "architectures": ["BertModel"]}).encode()
    r = commit(client, alice, repo, add_file("config.json", config))
    assert r.status_code == 200, r.text
    info = client.get(f"/api/models/{repo}", headers=alice.headers).json()
    assert info.get("config") is None
    assert not any("\u0000" in tag for tag in info["tags"])
    assert "transformers" in info["tags"]
    r = client.get("/api/models?filter=transformers", headers=alice.headers)
    assert r.status_code == 200 and [m["id"] for m in r.json()] == [repo]


def test_any_config_json_leaves_the_repo_and_the_listing_readable(
    client: TestClient, alice: Account, repo: str
) -> None:
    # config.json is shown as `config` in model_info and listings: whatever it holds, they must
    # still answer, for this repo and for everyone listing models.
    deep = "[" * 300 + "]" * 300
    for text, shown in (
        ('{"model_type": "bert", "task_specific_params": {"a": ' + deep + "}}", None),
        ('{"model_type": "bert", "architectures": ' + deep + "}", None),
        ('{"model_type": "bert", "architectures": ' + "[" * 100_000 + "]" * 100_000 + "}", None),
        (
            '{"model_type": "bert", "task_specific_params": {"t": {"x": NaN, "y": Infinity}}}',
            {"x": None, "y": None},
        ),
        ("not json at all", None),
        ('["a", "list"]', None),
    ):
        r = commit(client, alice, repo, add_file("config.json", text.encode()))
        assert r.status_code == 200, r.text
        info = client.get(f"/api/models/{repo}", headers=alice.headers)
        assert info.status_code == 200, info.text
        if shown is not None:
            assert info.json()["config"]["task_specific_params"]["t"] == shown
        else:
            assert info.json().get("config") is None
        for query in ("config=true", "full=true", "expand=config"):
            assert client.get(f"/api/models?{query}", headers=alice.headers).status_code == 200


def test_card_values_beyond_json_are_kept_readable(client: TestClient, alice: Account, repo: str) -> None:
    # YAML numbers JSON encoders cannot send: huge integers keep their digits, nan/inf become null.
    card = b"---\nlicense: mit\nbig: 99999999999999999999999\nsmall: -0x7fffffffffffffffffff\nnan: .nan\ninf: -.inf\n---\n"
    r = commit(client, alice, repo, add_file("README.md", card))
    assert r.status_code == 200, r.text
    info = client.get(f"/api/models/{repo}", headers=alice.headers)
    assert info.status_code == 200, info.text
    data = info.json()["cardData"]
    assert data["big"] == "99999999999999999999999"
    assert data["small"] == str(-0x7FFFFFFFFFFFFFFFFFFF)
    assert data["nan"] is None and data["inf"] is None
    assert client.get("/api/models?cardData=true&full=true", headers=alice.headers).status_code == 200


def test_json_bodies_with_lone_surrogates_are_400(client: TestClient, alice: Account, repo: str) -> None:
    # "\ud800" is valid JSON but no text that git or a database can store.
    before = snapshot(client, alice, repo)
    for url, body in (
        (f"/api/models/{repo}/paths-info/main", {"paths": ["\ud800"]}),
        (f"/api/models/{repo}/preupload/main", {"files": [{"path": "\ud800", "size": 1}]}),
        (
            f"/{repo}.git/info/lfs/objects/batch",
            {"operation": "upload", "objects": [], "ref": {"name": "\ud800"}},
        ),
        (f"/api/models/{repo}/branch/b", {"startingPoint": "\ud800"}),
        (f"/api/models/{repo}/tag/main", {"tag": "\ud800"}),
        (f"/api/models/{repo}/tag/main", {"tag": "t", "message": "\ud800"}),
        (f"/api/models/{repo}/super-squash/main", {"message": "\ud800"}),
        ("/api/repos/create", {"name": "ok", "organization": "\ud800"}),
        ("/api/repos/move", {"fromRepo": repo, "toRepo": "alice/\ud800"}),
        ("/api/validate-yaml", {"content": "---\na: \ud800\n---\n"}),
    ):
        content = json.dumps(body).encode()  # ASCII, with the surrogate escaped
        r = client.post(url, content=content, headers={"content-type": "application/json", **alice.headers})
        assert_hf_error(r, 400)
    line = b'{"key":"header","value":{"summary":"\\ud800"}}\n'
    r = client.post(f"/api/models/{repo}/commit/main", content=line, headers={**NDJSON, **alice.headers})
    assert_hf_error(r, 400, "BadRequest")
    assert snapshot(client, alice, repo) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"content": 5},
        {"content": None},
        {"content": ["---"]},
        {"content": "---\na: b\n---\n", "repoType": "kernel"},
        {"content": "---\na: b\n---\n", "repoType": 5},
    ],
)
def test_validate_yaml_with_a_malformed_body_is_400_json(
    client: TestClient, alice: Account, body: Any
) -> None:
    r = client.post("/api/validate-yaml", json=body, headers=alice.headers)
    assert r.status_code == 400, r.text
    assert r.json()  # the client calls r.json() before it looks at the status
    for raw in (b"{", b"[]", b"null", b"\xff"):
        r = client.post(
            "/api/validate-yaml", content=raw, headers={"content-type": "application/json", **alice.headers}
        )
        assert_hf_error(r, 400)
