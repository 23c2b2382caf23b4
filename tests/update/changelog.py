"""CHANGELOG.md: one entry per template version, each saying what changes and what to do."""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

SECTIONS = ("What changes in a generated repo", "What owners must do")
ENTRY = re.compile(r"^## (?P<tag>\S+)[ \t]*$", re.MULTILINE)
SECTION = re.compile(r"^### (?P<title>.+?)[ \t]*$", re.MULTILINE)
TAG = re.compile(r"v\d+\.\d+\.\d+")


class ChangelogError(ValueError):
    """The changelog breaks the format; the message says where and how to fix it."""


@dataclass(frozen=True)
class Entry:
    tag: str
    sections: dict[str, str]


def parse(text: str) -> list[Entry]:
    """The entries, newest first; raises ChangelogError on any format problem."""
    starts = list(ENTRY.finditer(text))
    if not starts:
        raise ChangelogError("no '## vX.Y.Z' entry: add one per template version")
    entries = []
    for index, start in enumerate(starts):
        tag = start["tag"]
        if not TAG.fullmatch(tag):
            raise ChangelogError(f"entry '## {tag}': name it after its tag, vX.Y.Z (PEP 440)")
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        body = text[start.end() : end]
        titles = list(SECTION.finditer(body))
        found = {m["title"]: m for m in titles}
        if [m["title"] for m in titles] != list(SECTIONS):
            raise ChangelogError(
                f"entry {tag}: needs exactly the sections "
                + ", ".join(f"'### {s}'" for s in SECTIONS)
                + f", in that order (found {[m['title'] for m in titles]})"
            )
        sections = {}
        for position, title in enumerate(SECTIONS):
            stop = titles[position + 1].start() if position + 1 < len(titles) else len(body)
            content = body[found[title].end() : stop].strip()
            if not content:
                raise ChangelogError(f"entry {tag}: '### {title}' is empty (write 'Nothing.')")
            sections[title] = content
        entries.append(Entry(tag, sections))
    versions = [_version(entry.tag) for entry in entries]
    if versions != sorted(versions, reverse=True) or len(set(versions)) != len(versions):
        raise ChangelogError(
            "entries must go from the newest version to the oldest, each version once: "
            + ", ".join(entry.tag for entry in entries)
        )
    return entries


def _version(tag: str) -> Version:
    try:
        return Version(tag)
    except InvalidVersion:
        raise ChangelogError(f"{tag} is not a PEP 440 version") from None
