"""This repository's real template releases (releases.toml), tagged in a temporary clone.

Tags do not travel with every clone, so releases.toml records the commit each version was
released from. `build_release_repo` clones this repository, tags each recorded release at
its commit, and commits this checkout's working tree (uncommitted changes included) on top,
tagged with this checkout's own version: a project generated at a real release is then
updated to this checkout exactly as its owners will update to the next release, across real
tags, so that Copier runs the ``version:`` migrations the update crosses. (Copier runs them
only between two PEP 440 versions: an update to an untagged HEAD whose description is
``0.1.1.postN`` would not cross v0.2.0.)

`release_problems` checks releases.toml against CHANGELOG.md and the history.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from tests.helpers import REPO_ROOT
from tests.update.changelog import ChangelogError, parse
from tests.update.template_versions import (
    HEAD,
    TemplateRepo,
    copy_working_tree,
    git,
    project_version,
)

RELEASES_FILE = REPO_ROOT / "releases.toml"
TAG = re.compile(r"v\d+\.\d+\.\d+")
COMMIT = re.compile(r"[0-9a-f]{40}")
NO_RELEASE = (
    "releases.toml lists no release, so no real release is updated to this checkout: "
    "record the commit of each released version under [releases] (docs/rolling-out.md, "
    '"Releasing a template version")'
)


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


def users_release(releases: list[Release], version: str) -> Release:
    """The release owners are on now: the newest one older than ``version``."""
    older = [release for release in releases if release.version < Version(version)]
    if not older:
        pytest.fail(NO_RELEASE, pytrace=False)
    return older[-1]


def each_release(releases: list[Release]) -> pytest.MarkDecorator:
    """Parametrize a test's ``tag`` with every release. With none recorded, the test gets
    one case, ``tag=None``, which `require_release` fails: an empty parametrize would
    only skip the test, and a skip is easy to miss."""
    tags = [release.tag for release in releases]
    return pytest.mark.parametrize("tag", tags or [pytest.param(None, id="no-release")])


def require_release(tag: str | None) -> str:
    """``tag``, or a failed test when it is `each_release`'s "no release" case."""
    if tag is None:
        pytest.fail(NO_RELEASE, pytrace=False)
    return tag


@dataclass(frozen=True)
class ReleaseRepo:
    """A clone of this repository with a tag per release and this checkout on top."""

    template: TemplateRepo
    releases: list[Release]
    target: str
    """The ref of this checkout: its version's tag, or HEAD when that version is already
    released (then this checkout is a later, untagged commit)."""


def build_release_repo(
    dst: Path, source: Path = REPO_ROOT, releases: list[Release] | None = None
) -> ReleaseRepo:
    """Clone ``source`` into ``dst``, tag its releases, commit its working tree on top."""
    releases = recorded_releases(source / "releases.toml") if releases is None else releases
    missing = [release.tag for release in releases if not has_commit(source, release.commit)]
    if missing:
        pytest.fail(
            f"releases {', '.join(missing)}: their commits are not in {source} (a shallow "
            "clone? `git fetch --unshallow`)",
            pytrace=False,
        )
    # Without the source's own tags: a maintainer's clone may hold v0.1.0 and the like,
    # which `git tag` below would refuse to create again.
    subprocess.run(["git", "clone", "-q", "--no-tags", str(source), str(dst)], check=True)
    git(dst, "rm", "-r", "-q", ".")
    copy_working_tree(source, dst)
    git(dst, "add", "-A")
    git(dst, "commit", "-q", "--allow-empty", "-m", "This checkout's working tree")
    for release in releases:
        git(dst, "tag", release.tag, release.commit)
    version = project_version(source)
    target = HEAD if version in {release.tag for release in releases} else version
    if target != HEAD:
        git(dst, "tag", version)
    return ReleaseRepo(TemplateRepo(dst), releases, target)


@dataclass(frozen=True)
class Migration:
    """A ``version:`` migration of copier.yml: its script, ``--hint`` and patterns."""

    version: Version
    script: str
    hint: str | None
    patterns: tuple[str, ...]
    together: bool = False
    """``renew.py --together``: the matched files are renewed, or kept, as one unit."""

    def matches(self, path: str) -> bool:
        """Whether ``path`` matches a pattern (one segment per ``*``, as in the scripts)."""
        return any(
            len(path.split("/")) == len(pattern.split("/"))
            and all(map(fnmatch.fnmatchcase, path.split("/"), pattern.split("/")))
            for pattern in self.patterns
        )


def crossed_migrations(
    from_tag: str, to_version: Version, config: Path = REPO_ROOT / "copier.yml"
) -> list[Migration]:
    """The ``version:`` migrations an update from ``from_tag`` to ``to_version`` runs, as
    Copier picks them: ``from < version <= to``."""
    crossed = []
    for entry in yaml.safe_load(config.read_text(encoding="utf-8")).get("_migrations", []):
        if not isinstance(entry, dict) or "version" not in entry:
            continue
        version = Version(entry["version"])
        if not Version(from_tag) < version <= to_version:
            continue
        command = [str(arg) for arg in entry["command"]]
        script = next(i for i, arg in enumerate(command) if "/hooks/migrations/" in arg)
        args = command[script + 1 :]
        hints = [arg.removeprefix("--hint=") for arg in args if arg.startswith("--hint=")]
        crossed.append(
            Migration(
                version=version,
                script=Path(command[script]).name,
                hint=hints[-1] if hints else None,
                patterns=tuple(arg for arg in args if not arg.startswith("--")),
                together="--together" in args,
            )
        )
    return crossed
