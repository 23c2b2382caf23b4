"""Session fixtures of the update tests: the versioned template, fresh copies, histories.

Every copy and update costs seconds, so each is made once per run and the tests assert
on what the fixtures recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import run
from tests.template.answers import MATRIX
from tests.update import edits
from tests.update.edits import Edit
from tests.update.projects import (
    Snapshot,
    commit_all,
    copier_update,
    copy_at,
    fresh_copy,
    rerun_migration,
    said,
    snapshot,
    status,
    update,
)
from tests.update.releases import (
    ReleaseRepo,
    build_release_repo,
    require_release,
    users_release,
)
from tests.update.template_versions import (
    BASE,
    LATEST,
    NEXT,
    REMOVED,
    RENAMED,
    TAGS,
    TARGETS,
    TemplateRepo,
    build_template_repo,
    git,
    project_version,
)

FreshCopies = Callable[[str, str], Path]

MAIN_ANSWERS = "defaults"
UNTOUCHED_ANSWERS = "py313-proprietary"
PREVIOUS = dict(zip(TARGETS, TAGS, strict=True))
"""Target -> the version a chained update to it comes from."""


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> TemplateRepo:
    """This checkout as `BASE` (its own version), then `NEXT`, `LATEST` and an untagged
    HEAD."""
    return build_template_repo(tmp_path_factory.mktemp("template") / "modelrail")


@pytest.fixture(scope="session")
def fresh(template_repo: TemplateRepo, tmp_path_factory: pytest.TempPathFactory) -> FreshCopies:
    """``fresh(version, answer_id)``: a fresh copy at a version, rendered once per run."""
    cache: dict[tuple[str, str], Path] = {}

    def get(version: str, answer_id: str) -> Path:
        if (version, answer_id) not in cache:
            parent = tmp_path_factory.mktemp(f"fresh-{version}-{answer_id}")
            cache[version, answer_id] = fresh_copy(
                template_repo, parent, version, MATRIX[answer_id]
            )
        return cache[version, answer_id]

    return get


@dataclass
class Step:
    """What one update of a history left behind."""

    target: str
    after: Snapshot
    status: str
    unmerged: str
    rerun: Snapshot
    rerun_output: str
    second: Snapshot
    second_status: str


@dataclass
class History:
    """A project generated at the oldest tag, edited, then updated to each target."""

    project: Path
    edits: list[Edit]
    edited: dict[str, bytes]
    lock: bytes
    steps: dict[str, Step] = field(default_factory=dict)


def migrations_of(target: str) -> list[tuple[str, ...]]:
    """The migrations an update to ``target`` runs (script and arguments), in order."""
    crossing = {NEXT: [("rename.py", *RENAMED)], LATEST: [("remove.py", REMOVED)]}
    return [*crossing.get(target, []), ("post_update.py",)]


def record_updates(project: Path, template: TemplateRepo, *, rerun: bool) -> dict[str, Step]:
    """Update ``project`` to each target in turn, committing after each. With ``rerun``,
    also run the migrations again and update a second time to the same version."""
    steps = {}
    for target in TARGETS:
        update(project, target)
        after, after_status = snapshot(project), status(project)
        unmerged = git(project, "ls-files", "--unmerged")
        rerun_snapshot, output = after, ""
        if rerun:
            for script, *args in migrations_of(target):
                proc = rerun_migration(
                    project, template, script, *args, VERSION_FROM=PREVIOUS[target]
                )
                output += proc.stderr
            rerun_snapshot = snapshot(project)
        commit_all(project, f"Update modelrail template to {target}")
        if rerun:
            update(project, target)
        steps[target] = Step(
            target=target,
            after=after,
            status=after_status,
            unmerged=unmerged,
            rerun=rerun_snapshot,
            rerun_output=output,
            second=snapshot(project),
            second_status=status(project),
        )
        if rerun:
            commit_all(project, f"Second update to {target}")
    return steps


def main_edits(package: str) -> list[Edit]:
    return [
        *edits.model_code(package),
        *edits.readme_and_model_card(),
        edits.dependency(),
        *edits.template_tweaks(),
        edits.removed_file_edit(),
        edits.added_file(),
    ]


@pytest.fixture(scope="session")
def history(template_repo: TemplateRepo, tmp_path_factory: pytest.TempPathFactory) -> History:
    """The main scenario: a trusted copy at `BASE` (git, uv.lock, hooks), typical local
    edits committed (model code, README, model card, a dependency re-locked, tweaks in
    template-owned files, one the template later removes, an added file), then updates to
    `NEXT`, `LATEST` and HEAD, each followed by the migrations run again and by a second
    update to the same version."""
    parent = tmp_path_factory.mktemp("history")
    project = copy_at(template_repo, parent, BASE, MATRIX[MAIN_ANSWERS], tasks=True)
    package = "churn_model"
    applied = main_edits(package)
    edited = {edit.path: edit.apply(project) for edit in applied}
    run(["uv", "lock", "--quiet"], project)
    commit_all(project, "Local edits")
    lock = (project / "uv.lock").read_bytes()
    result = History(project=project, edits=applied, edited=edited, lock=lock)
    result.steps = record_updates(project, template_repo, rerun=True)
    return result


@dataclass
class Untouched:
    """A project nobody edited, updated to each target."""

    first: Snapshot
    steps: dict[str, Step]


@pytest.fixture(scope="session")
def untouched(template_repo: TemplateRepo, tmp_path_factory: pytest.TempPathFactory) -> Untouched:
    """A copy at `BASE` with non-default answers, committed, updated to each target."""
    parent = tmp_path_factory.mktemp("untouched")
    project = copy_at(template_repo, parent, BASE, MATRIX[UNTOUCHED_ANSWERS])
    first = snapshot(project)
    return Untouched(first=first, steps=record_updates(project, template_repo, rerun=False))


# --- the real releases of this repository (releases.toml) -------------------------------
RUNTIME_AS_SOURCE = "v0.1.1"
"""The last release whose repositories carry the serving runtime as template-owned source
(v0.2.0 moved it into modelrail-runtime): the edited-release scenario edits those files."""


@pytest.fixture(scope="session")
def release_repo(tmp_path_factory: pytest.TempPathFactory) -> ReleaseRepo:
    """This repository with a tag per release of releases.toml, and this checkout on top."""
    return build_release_repo(tmp_path_factory.mktemp("releases") / "modelrail")


@pytest.fixture(scope="session")
def release_fresh(release_repo: ReleaseRepo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of this checkout (from the release repository), default answers."""
    parent = tmp_path_factory.mktemp("release-fresh")
    return fresh_copy(release_repo.template, parent, release_repo.target, MATRIX[MAIN_ANSWERS])


@dataclass
class ReleaseUpdate:
    """A project generated at a release, maybe edited, committed, then updated with
    ``copier update`` to this checkout (not committed)."""

    tag: str
    project: Path
    edits: dict[str, list[Edit]]
    """The owners' edits by kind."""
    before: Snapshot
    after: Snapshot
    said: list[str]
    unmerged: str

    def edited(self, kind: str | None = None) -> list[str]:
        """The paths the owners edited (of one ``kind``, or all)."""
        kinds = [kind] if kind else list(self.edits)
        return [edit.path for each in kinds for edit in self.edits.get(each, [])]


def update_from(
    repo: ReleaseRepo, parent: Path, tag: str, changes: dict[str, list[Edit]], *, tasks: bool
) -> ReleaseUpdate:
    """Generate a project at ``tag``, apply ``changes`` and commit, update to this checkout."""
    project = copy_at(repo.template, parent, tag, MATRIX[MAIN_ANSWERS], tasks=tasks)
    for change in (change for group in changes.values() for change in group):
        change.apply(project)
    commit_all(project, "Local edits")
    before = snapshot(project)
    proc = copier_update(project, repo.target)
    return ReleaseUpdate(
        tag=tag,
        project=project,
        edits=changes,
        before=before,
        after=snapshot(project),
        said=said(proc.stderr),
        unmerged=git(project, "ls-files", "--unmerged"),
    )


@pytest.fixture(scope="session")
def release_updates(
    release_repo: ReleaseRepo, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str | None], ReleaseUpdate]:
    """``release_updates(tag)``: a trusted copy at release ``tag`` (git, uv.lock, hooks), as
    its owners made it, untouched, updated to this checkout; made once per run."""
    cache: dict[str, ReleaseUpdate] = {}

    def get(tag: str | None) -> ReleaseUpdate:
        tag = require_release(tag)
        if tag not in cache:
            parent = tmp_path_factory.mktemp(f"release-{tag}")
            cache[tag] = update_from(release_repo, parent, tag, {}, tasks=True)
        return cache[tag]

    return get


@pytest.fixture(scope="session")
def users_update(
    release_repo: ReleaseRepo, release_updates: Callable[[str | None], ReleaseUpdate]
) -> ReleaseUpdate:
    """The untouched update from the release owners are on (the newest one before this
    checkout's version): the one checked end to end."""
    return release_updates(users_release(release_repo.releases, project_version()).tag)


@pytest.fixture(scope="session")
def edited_release(
    release_repo: ReleaseRepo, tmp_path_factory: pytest.TempPathFactory
) -> ReleaseUpdate:
    """A copy (no tasks) at `RUNTIME_AS_SOURCE`, with the owners' edits of runtime modules
    and a runtime test (``runtime``), of training code (``training``), of README and model
    card (``own``), committed and updated to this checkout."""
    tag = RUNTIME_AS_SOURCE
    if tag not in [release.tag for release in release_repo.releases]:
        pytest.fail(f"releases.toml does not record {tag}", pytrace=False)
    package = "churn_model"
    changes = {
        "runtime": edits.runtime_edits(package),
        "training": [edits.training_code_edit(package)],
        "own": edits.readme_and_model_card(),
    }
    parent = tmp_path_factory.mktemp(f"edited-{tag}")
    return update_from(release_repo, parent, tag, changes, tasks=False)
