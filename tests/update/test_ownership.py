"""The file-ownership contract: copier.yml, the docs and the generated repos agree."""

from __future__ import annotations

import re

import pathspec
import pytest
import yaml

from tests.helpers import REPO_ROOT
from tests.update.conftest import MAIN_ANSWERS, UNTOUCHED_ANSWERS, FreshCopies
from tests.update.projects import PROJECT_OWNED, SKIP_IF_EXISTS, snapshot
from tests.update.template_versions import BASE

answer_sets = pytest.mark.parametrize("answer_id", [MAIN_ANSWERS, UNTOUCHED_ANSWERS])
BACKTICKED = re.compile(r"`([^`\s]+)`")


def project_owned_files(files: dict[str, bytes]) -> set[str]:
    return {path for path in files if PROJECT_OWNED.match_file(path)}


@answer_sets
def test_every_project_owned_pattern_matches_a_rendered_file(
    fresh: FreshCopies, answer_id: str
) -> None:
    """A pattern that matches nothing is a typo: the file it meant would be overwritten."""
    files = snapshot(fresh(BASE, answer_id))
    for pattern in SKIP_IF_EXISTS:
        spec = pathspec.GitIgnoreSpec.from_lines([pattern])
        assert any(spec.match_file(path) for path in files), f"{pattern} matches no file"


@answer_sets
def test_the_generated_updating_page_lists_exactly_the_project_owned_files(
    fresh: FreshCopies, answer_id: str
) -> None:
    files = snapshot(fresh(BASE, answer_id))
    page = files["docs/updating.md"].decode()
    section = page.split("**Project-owned**", 1)[1].split("**Template-owned**", 1)[0]
    listed = {
        match.group(1)
        for line in section.splitlines()
        if line.startswith("- ") and (match := BACKTICKED.search(line))
    }
    assert listed == project_owned_files(files) | {"uv.lock"}


def test_the_rolling_out_page_names_every_project_owned_pattern() -> None:
    page = (REPO_ROOT / "docs" / "rolling-out.md").read_text(encoding="utf-8")
    row = next(line for line in page.splitlines() if line.startswith("| project | `README.md`"))
    assert set(BACKTICKED.findall(row)) == set(SKIP_IF_EXISTS)


def test_no_rendered_file_trips_the_generated_conflict_hook(fresh: FreshCopies) -> None:
    """The hook that refuses conflict markers must not refuse the template's own files
    (a docs example of a conflict once did)."""
    files = snapshot(fresh(BASE, MAIN_ANSWERS))
    config = yaml.safe_load(files[".pre-commit-config.yaml"])
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    (hook,) = [hook for hook in hooks if hook["id"] == "check-merge-conflict"]
    marker = re.compile(hook["entry"].encode(), re.MULTILINE)
    assert marker.search(b"x\n<<<<<<< before updating\n")
    assert [path for path, content in files.items() if marker.search(content)] == []
