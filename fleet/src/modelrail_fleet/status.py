"""``modelrail fleet status``: what each repository runs and whether it can move on."""

from __future__ import annotations

from dataclasses import dataclass, field

from modelrail_fleet.repos import (
    ANSWERS_FILE,
    ConformanceResult,
    GitError,
    RepoRef,
    branches,
    is_repo_root,
    last_conformance,
    read_answers,
    uncommitted,
)
from modelrail_fleet.versions import SourceError, TagCache, parse_version

UPDATE_BRANCH_PREFIX = "modelrail/update-"


def adoption_hint(template: str | None, version: str | None) -> str:
    """How a repository without an answers file adopts the template."""
    source = template or "<modelrail template>"
    ref = f" --vcs-ref {version}" if version else ""
    return (
        f"no {ANSWERS_FILE}, so no template version to update from. To adopt the "
        f"template: on a new branch, in the repository, run `uvx copier copy --trust "
        f"--overwrite{ref} {source} .` with the answers that match it (existing "
        f"project-owned files are kept), review `git diff`, run `make check` and commit"
    )


@dataclass
class RepoStatus:
    """One row of ``modelrail fleet status``."""

    repo: str
    path: str
    template: str | None = None
    source: str | None = None
    latest: str | None = None
    update_available: bool | None = None
    conformance: ConformanceResult | None = None
    pending_branches: list[str] = field(default_factory=list)
    uncommitted: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        """True when the repository's template version could be read."""
        return self.template is not None


def inspect(ref: RepoRef, tags: TagCache, template_hint: str | None = None) -> RepoStatus:
    """The status of one repository; problems become notes, never exceptions."""
    status = RepoStatus(repo=ref.name, path=str(ref.path))
    if not ref.path.is_dir():
        status.notes.append(f"no such directory: {ref.path}")
        return status
    status.conformance = last_conformance(ref.path)
    if not is_repo_root(ref.path):
        status.notes.append("not the root of a git repository")
        return status
    try:
        status.pending_branches = branches(ref.path, UPDATE_BRANCH_PREFIX + "*")
        status.uncommitted = len(uncommitted(ref.path))
    except GitError as exc:
        status.notes.append(str(exc))
    answers = read_answers(ref.path)
    if answers is None:
        latest = None
        if template_hint:
            try:
                latest = tags.latest(template_hint)
            except SourceError:
                latest = None
        status.notes.append(adoption_hint(template_hint, latest))
        return status
    status.template = str(answers.get("_commit") or "") or None
    status.source = str(answers.get("_src_path") or "") or None
    if status.source is None:
        status.notes.append(f"{ANSWERS_FILE} has no _src_path: cannot tell the latest version")
    else:
        try:
            status.latest = tags.latest(status.source)
        except SourceError as exc:
            status.notes.append(str(exc))
    current, newest = parse_version(status.template), parse_version(status.latest)
    if current is None:
        status.notes.append(f"_commit {status.template!r} is not a version tag")
    elif newest is not None:
        status.update_available = newest > current
    if status.uncommitted:
        status.notes.append(f"{status.uncommitted} uncommitted change(s): update refused")
    if status.pending_branches:
        status.notes.append("ready to push: " + ", ".join(status.pending_branches))
    return status


def shared_source(refs: list[RepoRef]) -> str | None:
    """The template source every readable repository names, when they agree on one."""
    sources = set()
    for ref in refs:
        answers = read_answers(ref.path) if ref.path.is_dir() else None
        if answers and answers.get("_src_path"):
            sources.add(str(answers["_src_path"]))
    return sources.pop() if len(sources) == 1 else None
