"""This repository's template releases (releases.toml), checked against CHANGELOG.md.

Tags do not travel with every clone, so releases.toml records the commit each version was
released from. `release_problems` checks it against CHANGELOG.md and the history.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from tests.helpers import REPO_ROOT
from tests.update.changelog import ChangelogError, parse

RELEASES_FILE = REPO_ROOT / "releases.toml"
TAG = re.compile(r"v\d+\.\d+\.\d+")
COMMIT = re.compile(r"[0-9a-f]{40}")


class ReleasesError(ValueError):
    """releases.toml cannot be read as a list of releases; the message says how to fix it."""


@dataclass(frozen=True)
class Release:
    """A released template version and the commit it was released from."""

    tag: str
    commit: str

    @property
    def version(self) -> Version:
        return Version(self.tag)


def parse_releases(text: str) -> list[Release]:
    """The releases of a releases.toml, in file order; raises ReleasesError."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ReleasesError(f"releases.toml is not TOML ({error})") from None
    table = document.get("releases")
    if not isinstance(table, dict):
        raise ReleasesError('releases.toml needs a [releases] table of "vX.Y.Z" = "<commit>"')
    releases = []
    for tag, commit in table.items():
        if not TAG.fullmatch(tag):
            raise ReleasesError(f"release {tag!r}: name it after its tag, vX.Y.Z")
        if not isinstance(commit, str) or not COMMIT.fullmatch(commit):
            raise ReleasesError(
                f"release {tag}: {commit!r} is not a full commit hash (40 hex digits; "
                f"`git rev-parse {tag}` prints it)"
            )
        releases.append(Release(tag, commit))
    return releases


def recorded_releases(path: Path = RELEASES_FILE) -> list[Release]:
    """The releases recorded in ``path`` (this checkout's releases.toml)."""
    return parse_releases(path.read_text(encoding="utf-8"))


def show(repo: Path, commit: str, path: str) -> str | None:
    """``path`` at ``commit`` of ``repo``, or None when either is missing."""
    proc = subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=repo, capture_output=True, text=True, check=False
    )
    return proc.stdout if proc.returncode == 0 else None


def has_commit(repo: Path, commit: str) -> bool:
    proc = subprocess.run(
        ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=repo, capture_output=True,
        check=False,
    )  # fmt: skip
    return proc.returncode == 0


def release_problems(releases: list[Release], changelog: str, repo: Path = REPO_ROOT) -> list[str]:
    """What is wrong with ``releases`` against ``changelog`` and ``repo``'s history.

    Every CHANGELOG entry but the newest (the version this checkout is about to release,
    which may already be recorded) has a release; every release has an entry; releases go
    from the oldest to the newest; each commit is in ``repo``, and there pyproject.toml's
    version and CHANGELOG.md's newest entry are that release.
    """
    problems = []
    entries = [entry.tag for entry in parse(changelog)]
    recorded = [release.tag for release in releases]
    for tag in entries[1:]:
        if tag not in recorded:
            problems.append(
                f"{tag} has a CHANGELOG entry but no commit in releases.toml: add "
                f'"{tag}" = "<the commit it was released from>"'
            )
    for tag in recorded:
        if tag not in entries:
            problems.append(f"{tag} is in releases.toml but has no CHANGELOG entry")
    versions = [release.version for release in releases]
    if versions != sorted(set(versions)):
        problems.append(
            "releases.toml must list each release once, from the oldest to the newest: "
            + ", ".join(recorded)
        )
    for release in releases:
        problems.extend(commit_problems(release, repo))
    return problems


def commit_problems(release: Release, repo: Path) -> list[str]:
    """What is wrong with ``release``'s commit in ``repo``."""
    short = release.commit[:12]
    if not has_commit(repo, release.commit):
        return [
            f"{release.tag}: commit {short} is not in this repository (a shallow clone? "
            "`git fetch --unshallow`; otherwise record the commit the release was made from)"
        ]
    problems = []
    pyproject = show(repo, release.commit, "pyproject.toml") or ""
    version = tomllib.loads(pyproject).get("project", {}).get("version") if pyproject else None
    if f"v{version}" != release.tag:
        problems.append(
            f"{release.tag}: at {short} pyproject.toml's version is {version}, not "
            f"{release.tag[1:]}: record the commit that released {release.tag}"
        )
    try:
        newest = parse(show(repo, release.commit, "CHANGELOG.md") or "")[0].tag
    except ChangelogError as error:
        newest = f"unreadable ({error})"
    if newest != release.tag:
        problems.append(
            f"{release.tag}: at {short} CHANGELOG.md's newest entry is {newest}, not "
            f"{release.tag}: record the commit that released {release.tag}"
        )
    return problems
