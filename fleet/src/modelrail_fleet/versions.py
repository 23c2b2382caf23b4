"""Template versions: ``vX.Y.Z`` git tags compared as PEP 440 versions.

A repository records its version in ``.copier-answers.yml`` as ``_commit``: the tag it
was generated or last updated from, or a ``git describe`` string (``v0.3.0-2-g1a2b3c4``)
when that was a commit after the tag. Copier compares versions the same way.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import InvalidVersion, Version

from modelrail_fleet.repos import clean_env

DESCRIBE = re.compile(r"(?P<tag>.+)-(?P<distance>\d+)-g(?P<sha>[0-9a-f]{4,40})")
LS_REMOTE_TIMEOUT = 60.0


def parse_version(ref: str | None) -> Version | None:
    """The PEP 440 version of a tag or ``git describe`` string; None for anything else."""
    if not ref:
        return None
    described = DESCRIBE.fullmatch(ref)
    try:
        if described is None:
            return Version(ref)
        base = Version(described["tag"])
        return Version(f"{base.public}.post{described['distance']}.dev0+g{described['sha']}")
    except InvalidVersion:
        return None


def git_url(source: str) -> str:
    """A git-clonable URL for a Copier source (``gh:``/``gl:`` shortcuts expanded)."""
    for prefix, host in (("gh:", "github.com"), ("gl:", "gitlab.com")):
        if source.startswith(prefix):
            path = source[len(prefix) :]
            return f"https://{host}/{path}" + ("" if path.endswith(".git") else ".git")
    return source


class SourceError(Exception):
    """The template source's tags could not be listed."""


def list_tags(source: str) -> list[str]:
    """Tag names of a template source: a local git repository or a git URL."""
    local = Path(source).expanduser()
    if local.is_dir():
        cmd = ["git", "-C", str(local), "tag", "--list"]
    else:
        cmd = ["git", "ls-remote", "--tags", "--refs", git_url(source)]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=LS_REMOTE_TIMEOUT,
            check=False,
            env=clean_env(),
        )
    except subprocess.TimeoutExpired:
        raise SourceError(f"listing the tags of {source} timed out") from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise SourceError(
            f"cannot list the tags of {source}: {detail[-1] if detail else 'git failed'}"
        )
    names = []
    for line in proc.stdout.splitlines():
        name = line.split("\t")[-1].strip()
        names.append(name.removeprefix("refs/tags/"))
    return [name for name in names if name]


def latest(tags: list[str], *, prereleases: bool = False) -> str | None:
    """The highest PEP 440 version tag; pre-releases only when asked for, as Copier does."""
    versions = [
        (version, tag)
        for tag in tags
        if (version := parse_version(tag)) is not None
        and (prereleases or not (version.is_prerelease or version.is_devrelease))
    ]
    return max(versions)[1] if versions else None


@dataclass
class TagCache:
    """Tags per template source, listed once per run (fifty repos, one source)."""

    prereleases: bool = False
    _tags: dict[str, list[str] | SourceError] = field(default_factory=dict)

    def tags(self, source: str) -> list[str]:
        """The source's tags; raises SourceError (also on later calls) when unlistable."""
        if source not in self._tags:
            try:
                self._tags[source] = list_tags(source)
            except SourceError as exc:
                self._tags[source] = exc
        found = self._tags[source]
        if isinstance(found, SourceError):
            raise found
        return found

    def latest(self, source: str) -> str | None:
        """The source's latest release tag."""
        return latest(self.tags(source), prereleases=self.prereleases)
