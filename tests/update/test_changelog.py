"""CHANGELOG.md: an entry per version, in order, with both sections; releases.toml: the
commit of each released entry."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

import pytest

from tests.helpers import REPO_ROOT
from tests.update.changelog import ChangelogError, parse
from tests.update.releases import (
    RELEASES_FILE,
    Release,
    ReleasesError,
    parse_releases,
    recorded_releases,
    release_problems,
)
from tests.update.template_versions import TAGS, TemplateRepo, git, project_version

CHANGELOG = REPO_ROOT / "CHANGELOG.md"
GOOD_ENTRY = (
    "## {tag}\n\n### What changes in a generated repo\n\n- A change.\n\n"
    "### What owners must do\n\nNothing.\n\n"
)


def test_this_changelog_is_well_formed_and_names_the_project_version() -> None:
    entries = parse(CHANGELOG.read_text(encoding="utf-8"))
    assert entries[0].tag == project_version()


def test_every_tag_of_this_repository_has_an_entry() -> None:
    proc = subprocess.run(
        ["git", "tag", "--list", "v*"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    tags = set(proc.stdout.split())
    documented = {entry.tag for entry in parse(CHANGELOG.read_text(encoding="utf-8"))}
    assert tags - documented == set()


def test_every_version_of_the_test_template_is_released_the_documented_way(
    template_repo: TemplateRepo,
) -> None:
    """The first is this checkout under its own version; the scripted ones come after it,
    each with its CHANGELOG entry and its version in pyproject.toml."""
    assert TAGS[0] == project_version()
    for tag in TAGS:
        text = git(template_repo.path, "show", f"{tag}:CHANGELOG.md")
        assert parse(text)[0].tag == tag
        assert f'\nversion = "{tag[1:]}"\n' in git(
            template_repo.path, "show", f"{tag}:pyproject.toml"
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# Changelog\n\nNothing yet.\n", "no '## vX.Y.Z' entry"),
        (GOOD_ENTRY.format(tag="0.2.0"), "name it after its tag"),
        (GOOD_ENTRY.format(tag="v0.1.0") + GOOD_ENTRY.format(tag="v0.2.0"), "newest version"),
        (GOOD_ENTRY.format(tag="v0.1.0") * 2, "each version once"),
        (GOOD_ENTRY.format(tag="v0.2.0").replace("### What owners must do", ""), "sections"),
        (GOOD_ENTRY.format(tag="v0.2.0").replace("Nothing.", ""), "is empty"),
        (
            "## v0.2.0\n\n### What owners must do\n\nX\n\n"
            "### What changes in a generated repo\n\nY\n",
            "in that order",
        ),
    ],
)
def test_a_broken_changelog_is_refused_with_the_fix(text: str, message: str) -> None:
    with pytest.raises(ChangelogError, match=message):
        parse(text)


# --- releases.toml ------------------------------------------------------------------------
def test_releases_toml_records_every_release_of_the_changelog_at_its_commit() -> None:
    """Every entry but the newest (this checkout's version, not released yet) has a commit;
    each commit is in this repository and released that version: its pyproject.toml and
    the newest entry of its CHANGELOG.md say so."""
    releases = recorded_releases()
    assert releases, "releases.toml lists no release"
    assert release_problems(releases, CHANGELOG.read_text(encoding="utf-8")) == []


Breakage = Callable[[str, list[Release]], str]


def drop_oldest(text: str, releases: list[Release]) -> str:
    return text.replace(f'"{releases[0].tag}" = "{releases[0].commit}"\n', "")


def unknown_commit(text: str, releases: list[Release]) -> str:
    return text.replace(releases[-1].commit, "0" * 40)


def swap_commits(text: str, releases: list[Release]) -> str:
    first, last = releases[0].commit, releases[-1].commit
    return text.replace(first, "FIRST").replace(last, first).replace("FIRST", last)


def newest_first(text: str, releases: list[Release]) -> str:
    lines = [f'"{release.tag}" = "{release.commit}"' for release in releases]
    return text.replace("\n".join(lines), "\n".join(reversed(lines)))


def without_entry(text: str, releases: list[Release]) -> str:
    return text + f'"v0.0.1" = "{releases[0].commit}"\n'


BROKEN = [
    pytest.param(
        drop_oldest,
        lambda r: f"{r[0].tag} has a CHANGELOG entry but no commit in releases.toml: add",
        id="an-entry-without-release",
    ),
    pytest.param(
        unknown_commit,
        lambda r: f"{r[-1].tag}: commit 000000000000 is not in this repository",
        id="an-unknown-commit",
    ),
    pytest.param(
        swap_commits,
        lambda r: f"{r[0].tag}: at {r[-1].commit[:12]} pyproject.toml's version is",
        id="another-version-in-pyproject",
    ),
    pytest.param(
        swap_commits,
        lambda r: f"{r[-1].tag}: at {r[0].commit[:12]} CHANGELOG.md's newest entry is",
        id="another-newest-changelog-entry",
    ),
    pytest.param(
        newest_first,
        lambda r: "must list each release once, from the oldest to the newest",
        id="out-of-order",
    ),
    pytest.param(
        without_entry,
        lambda r: "v0.0.1 is in releases.toml but has no CHANGELOG entry",
        id="a-release-without-entry",
    ),
]


@pytest.mark.parametrize(("breakage", "message"), BROKEN)
def test_a_broken_copy_of_releases_toml_is_reported_with_the_fix(
    breakage: Breakage, message: Callable[[list[Release]], str]
) -> None:
    """Each check can fail: a broken copy of the real file gives its problem (and only the
    problems that breakage causes: the real file gives none)."""
    releases = recorded_releases()
    assert len(releases) >= 2, "these breakages need two releases"
    text = breakage(RELEASES_FILE.read_text(encoding="utf-8"), releases)
    problems = release_problems(parse_releases(text), CHANGELOG.read_text(encoding="utf-8"))
    assert any(message(releases) in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[releases\n", "is not TOML"),
        ('"v0.1.0" = "69613dd91090e1e6d4b50fc5d01c6a71249ef5b7"\n', "needs a [releases] table"),
        ('[releases]\n"0.1.0" = "69613dd91090e1e6d4b50fc5d01c6a71249ef5b7"\n', "vX.Y.Z"),
        ('[releases]\n"v0.1.0" = "69613dd"\n', "not a full commit hash"),
    ],
)
def test_an_unreadable_releases_toml_is_refused_with_the_fix(text: str, message: str) -> None:
    with pytest.raises(ReleasesError, match=re.escape(message)):
        parse_releases(text)


def test_release_tests_fail_rather_than_skip_without_a_recorded_release(
    pytester: pytest.Pytester,
) -> None:
    """An empty parametrize would skip the release tests; `each_release` fails them."""
    pytester.makepyfile(
        """
        from tests.update.releases import each_release, require_release

        @each_release([])
        def test_every_release(tag):
            require_release(tag)
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*releases.toml lists no release*"])
