"""Git's path patterns, for `.gitattributes` (which files are LFS) and `.gitignore` (pure).

The rules are git's (gitignore(5), gitattributes(5)): a pattern without a slash matches a file
name at any depth; one with a slash is anchored at the repo root; `*` stops at slashes, `**`
crosses them; in `.gitignore`, a trailing slash matches folders only, `!` re-includes, and a
file in an ignored folder stays ignored.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
    basename_only: bool
    folder_only: bool
    negated: bool = False

    def matches(self, path: str, *, is_folder: bool = False) -> bool:
        if self.folder_only and not is_folder:
            return False
        target = path.rsplit("/", 1)[-1] if self.basename_only else path
        return self.regex.fullmatch(target) is not None


def _translate(glob: str) -> str:
    out, i, n = [], 0, len(glob)
    while i < n:
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == n:
            out.append("/.*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[":
            close = glob.find("]", i + 2 if glob[i + 1 : i + 2] in ("!", "]") else i + 1)
            if close == -1:
                out.append(re.escape("["))
                i += 1
            else:
                body = glob[i + 1 : close]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = close + 1
        elif glob[i] == "\\" and i + 1 < n:
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def compile_pattern(text: str) -> Pattern:
    negated = text.startswith("!")
    if negated:
        text = text[1:]
    folder_only = text.endswith("/")
    text = text.rstrip("/")
    basename_only = "/" not in text
    text = text.lstrip("/")
    return Pattern(re.compile(_translate(text)), basename_only, folder_only, negated)


@lru_cache(maxsize=256)
def _lfs_rules(gitattributes: str) -> tuple[tuple[Pattern, bool], ...]:
    rules = []
    for line in gitattributes.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            parts = shlex.split(line, posix=True) if line.startswith('"') else line.split()
        except ValueError:
            continue
        pattern, attributes = parts[0], parts[1:]
        for attribute in attributes:
            if attribute.startswith("filter="):
                rules.append((compile_pattern(pattern), attribute == "filter=lfs"))
            elif attribute in ("-filter", "!filter"):
                rules.append((compile_pattern(pattern), False))
    return tuple(rules)


def is_lfs(gitattributes: str, path: str) -> bool:
    """Whether `.gitattributes` puts `path` through the LFS filter (the last matching rule wins)."""
    result = False
    for pattern, lfs in _lfs_rules(gitattributes):
        if pattern.matches(path):
            result = lfs
    return result


@lru_cache(maxsize=256)
def _ignore_rules(gitignore: str) -> tuple[Pattern, ...]:
    rules = []
    for line in gitignore.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        # A leading `\#` or `\!` stays escaped: compile_pattern reads it as a literal character,
        # where stripping the backslash here would turn `\!name` into a negation.
        rules.append(compile_pattern(line.rstrip()))
    return tuple(rules)


def is_ignored(gitignore: str, path: str) -> bool:
    """Whether `.gitignore` ignores `path`, including by ignoring a folder it is in."""
    rules = _ignore_rules(gitignore)
    if not rules:
        return False
    parts = path.split("/")
    for depth in range(1, len(parts) + 1):
        candidate = "/".join(parts[:depth])
        is_folder = depth < len(parts)
        ignored = False
        for pattern in rules:
            if pattern.matches(candidate, is_folder=is_folder):
                ignored = not pattern.negated
        if ignored:
            return True
    return False
