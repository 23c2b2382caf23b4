"""CHANGELOG.md: an entry per version, in order, with both sections; one per tag."""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers import REPO_ROOT
from tests.update.changelog import ChangelogError, parse
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
