"""The docs keep up with the code: every setting, every command and option, the two commands.

A new setting or CLI option fails here until it is documented, and a documented one that no longer
exists fails too (STYLE.md habit 10, after datasette's tests/test_docs.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from commonshub.cli import app
from commonshub.settings import documented_settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def commands(command: Any, path: tuple[str, ...] = ("commonshub",)) -> Iterator[tuple[str, Any]]:
    """Every command of the click tree Typer builds, as ("commonshub user create", command)."""
    yield " ".join(path), command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not sub.hidden:
            yield from commands(sub, (*path, name))


ALL_COMMANDS = dict(commands(typer.main.get_command(app)))
# Leaf commands (not groups such as `commonshub user`) each get a section of docs/cli.md.
LEAVES = {name: cmd for name, cmd in ALL_COMMANDS.items() if not hasattr(cmd, "commands")}


def cli_sections() -> dict[str, str]:
    """docs/cli.md's sections whose heading names a command: "### `commonshub user create`"."""
    sections: dict[str, str] = {}
    current: str | None = None
    for line in read("docs/cli.md").splitlines():
        heading = re.fullmatch(r"#+\s+`(commonshub[^`]*)`\s*", line)
        if heading:
            current = heading[1].strip()
            sections[current] = ""
        elif line.startswith("#"):
            current = None
        elif current is not None:
            sections[current] += line + "\n"
    return sections


def test_the_cli_has_commands() -> None:
    # Guards the walk itself: if Typer's tree changed shape, the checks below would pass on nothing.
    assert {"commonshub serve", "commonshub user create", "commonshub token create"} <= set(LEAVES)
    assert all(cmd.params for cmd in LEAVES.values())


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_every_command_has_a_section_in_cli_md(name: str) -> None:
    assert name in cli_sections(), f"docs/cli.md has no section headed `{name}`"


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_every_option_and_argument_is_documented_in_its_section(name: str) -> None:
    section = cli_sections().get(name, "")
    for param in LEAVES[name].params:
        if param.param_type_name == "option":
            for flag in [*param.opts, *param.secondary_opts]:
                assert re.search(rf"`{re.escape(flag)}\b", section), f"`{name}` does not document {flag}"
        else:
            metavar = param.name.upper()
            assert re.search(rf"\b{metavar}\b", section), f"`{name}` does not document its argument {metavar}"


def test_cli_md_documents_no_command_that_does_not_exist() -> None:
    unknown = set(cli_sections()) - set(ALL_COMMANDS)
    assert not unknown, f"docs/cli.md documents commands that do not exist: {sorted(unknown)}"


def test_cli_md_names_every_command_group() -> None:
    text = read("docs/cli.md")
    for name in ALL_COMMANDS:
        assert f"`{name}" in text, f"docs/cli.md never mentions `{name}`"


@pytest.mark.parametrize("variable", documented_settings())
def test_every_setting_is_in_configuration_md(variable: str) -> None:
    # A row of the settings table: | `COMMONSHUB_X` | type | default | meaning |
    row = re.search(rf"^\|\s*`{variable}`\s*\|(.+)$", read("docs/configuration.md"), re.MULTILINE)
    assert row, f"docs/configuration.md has no table row for {variable}"
    cells = [cell.strip() for cell in row[1].split("|") if cell.strip()]
    assert len(cells) >= 3, f"the row for {variable} needs a type, a default and a meaning"


def test_docs_name_no_setting_that_does_not_exist() -> None:
    known = set(documented_settings())
    for path in [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]:
        named = set(re.findall(r"COMMONSHUB_[A-Z_]+[A-Z]", path.read_text(encoding="utf-8")))
        unknown = named - known
        assert not unknown, f"{path.name} names settings that do not exist: {sorted(unknown)}"


def test_readme_shows_the_two_commands() -> None:
    readme = read("README.md")
    assert "make serve" in readme
    assert "make test" in readme


def test_readme_links_resolve() -> None:
    readme = read("README.md")
    links = re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#[\w-]+)?\)", readme)
    assert links, "README.md should link the docs"
    for link in links:
        assert (ROOT / link).is_file(), f"README.md links to {link}, which does not exist"


def test_links_between_docs_resolve() -> None:
    for path in sorted(DOCS.glob("*.md")):
        for target, anchor in re.findall(
            r"\]\(([\w.-]+\.md)(?:#([\w-]+))?\)", path.read_text(encoding="utf-8")
        ):
            assert (DOCS / target).is_file(), f"{path.name} links to {target}, which does not exist"
            if anchor:
                assert anchor in anchors(DOCS / target), (
                    f"{path.name} links to {target}#{anchor}: no such heading"
                )


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings."""
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            title = re.sub(r"[^\w\- ]", "", title)
            out.add(title.replace(" ", "-"))
    return out
