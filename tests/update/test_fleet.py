"""``modelrail fleet status|update`` on the test fleet (tests/update/fleet.py).

The fleet is built and both commands are run once per session; the tests assert on what
they printed and on the repositories afterwards. The update runs ``--run "make lint"``:
a real check of each updated branch (uv builds the environment from the lockfile, ruff
runs), cheap enough for seven repositories. The full default pair (`make check`, then
`make conformance`) would build an image and start containers per repository; one
repository runs the real `make check` in its own test below.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from modelrail_fleet.cli import main as modelrail
from modelrail_fleet.update import DEFAULT_COMMANDS

from tests.helpers import REPO_ROOT, runtime_index
from tests.update import edits
from tests.update.fleet import MEMBERS, TARGET, as_in_docs, build_fleet, package_of
from tests.update.projects import Snapshot, commit_all, copy_at, snapshot
from tests.update.releases import ReleaseRepo, users_release
from tests.update.template_versions import (
    BASE,
    GIT_IDENTITY,
    LATEST,
    NEW_ALERT,
    NEXT,
    TemplateRepo,
    git,
    project_version,
)

pytestmark = pytest.mark.slow

BRANCH = f"modelrail/update-{TARGET}"
LINT = "make lint"
DOCS_PAGE = REPO_ROOT / "docs" / "rolling-out.md"


@dataclass
class Run:
    """One invocation of the ``modelrail`` command."""

    code: int
    out: str
    err: str

    def json(self) -> dict[str, dict[str, Any]]:
        return {repo["repo"]: repo for repo in json.loads(self.out)["repos"]}


@contextlib.contextmanager
def committer() -> Iterator[None]:
    """A git identity for the commits the fleet makes (CI machines may have none)."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in GIT_IDENTITY.items():
            patch.setenv(key, value)
        patch.delenv("VIRTUAL_ENV", raising=False)
        yield


def invoke(*args: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with committer(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = modelrail(list(args))
    return Run(code, out.getvalue(), err.getvalue())


@dataclass(frozen=True)
class RepoState:
    """Everything an update could change in a repository."""

    head: str
    branch: str
    refs: str
    worktrees: str
    status: str
    files: Snapshot


def state(repo: Path) -> RepoState:
    return RepoState(
        head=git(repo, "rev-parse", "HEAD"),
        branch=git(repo, "symbolic-ref", "--short", "HEAD"),
        refs=git(repo, "for-each-ref"),
        worktrees=git(repo, "worktree", "list", "--porcelain"),
        status=git(repo, "status", "--porcelain", "--untracked-files=all"),
        files=snapshot(repo),
    )


@dataclass
class FleetRuns:
    template: TemplateRepo
    root: Path
    repos_file: Path
    before: dict[str, RepoState]
    status: Run
    status_json: Run
    update: Run
    update_json: dict[str, dict[str, Any]]
    after: dict[str, RepoState]
    status_after: Run


@pytest.fixture(scope="session")
def fleet(template_repo: TemplateRepo, tmp_path_factory: pytest.TempPathFactory) -> FleetRuns:
    root = tmp_path_factory.mktemp("fleet")
    repos_file = build_fleet(template_repo, root)
    names = [member.name for member in MEMBERS]
    before = {name: state(root / name) for name in names}
    listing = ("--from-file", str(repos_file))
    status = invoke("fleet", "status", *listing)
    status_json = invoke("fleet", "status", *listing, "--format", "json")
    json_file = root / "update.json"
    update = invoke("fleet", "update", *listing, "--to", TARGET, "--run", LINT,
                    "--json", str(json_file))  # fmt: skip
    return FleetRuns(
        template=template_repo,
        root=root,
        repos_file=repos_file,
        before=before,
        status=status,
        status_json=status_json,
        update=update,
        update_json={r["repo"]: r for r in json.loads(json_file.read_text())["repos"]},
        after={name: state(root / name) for name in names},
        status_after=invoke("fleet", "status", *listing, "--format", "json"),
    )


# --- status ------------------------------------------------------------------------------
def test_status_shows_versions_updates_and_conformance(fleet: FleetRuns) -> None:
    assert fleet.status.code == 0
    rows = fleet.status_json.json()
    assert list(rows) == [member.name for member in MEMBERS]
    expected = {
        "churn-model": (BASE, True),
        "fraud-detector": (BASE, True),
        "demand-forecast": (BASE, True),
        "pricing": (NEXT, True),
        "recsys": (NEXT, True),
        "ranking": (LATEST, False),
        "legacy-scorer": (None, None),
    }
    for name, (version, available) in expected.items():
        assert (rows[name]["template"], rows[name]["update_available"]) == (version, available)
        assert rows[name]["latest"] == (None if version is None else TARGET)
    assert rows["churn-model"]["conformance"]["passed"] is True
    assert rows["recsys"]["conformance"]["passed"] is False
    assert rows["demand-forecast"]["conformance"] is None
    table = fleet.status.out
    assert f"| churn-model | {BASE} | {TARGET} | yes | passed (2026-01-05) |" in table
    assert f"| recsys | {NEXT} | {TARGET} | yes | FAILED: MUST 1 fail (2026-01-05) |" in table
    assert "1 uncommitted change(s): update refused" in fleet.status.out
    legacy = " ".join(rows["legacy-scorer"]["notes"])
    assert "no .copier-answers.yml" in legacy
    assert f"uvx copier copy --trust --overwrite --vcs-ref {TARGET} " in legacy


# --- update ------------------------------------------------------------------------------
EXPECTED_OUTCOMES = {
    "churn-model": ("updated", "is ready"),
    "fraud-detector": ("updated", "is ready"),
    "demand-forecast": ("failed", "conflicts with the new standard in Dockerfile"),
    "pricing": ("refused", "uncommitted changes (1 file(s): README.md)"),
    "recsys": ("failed", f"`{LINT}` failed (exit 2) on the updated branch"),
    "ranking": ("up-to-date", ""),
    "legacy-scorer": ("refused", "no .copier-answers.yml"),
}


def test_each_repository_gets_its_outcome_and_reason(fleet: FleetRuns) -> None:
    assert fleet.update.code == 1
    for name, (outcome, reason) in EXPECTED_OUTCOMES.items():
        result = fleet.update_json[name]
        assert (result["outcome"], name) == (outcome, name)
        assert reason in result["reason"], (name, result["reason"])
    assert "F401" in fleet.update_json["recsys"]["details"]
    assert "4 of 7 repositories not updated" in fleet.update.err


def test_updated_repositories_have_a_checked_commit_on_their_branch_and_main_untouched(
    fleet: FleetRuns,
) -> None:
    for name in ("churn-model", "fraud-detector"):
        repo, result = fleet.root / name, fleet.update_json[name]
        assert result["branch"] == BRANCH
        assert [(c["command"], c["exit_code"]) for c in result["commands"]] == [(LINT, 0)]
        assert git(repo, "rev-parse", BRANCH).strip() == result["commit"]
        assert git(repo, "rev-parse", f"{BRANCH}~1").strip() == fleet.before[name].head.strip()
        subject = git(repo, "log", "-1", "--format=%s", BRANCH).strip()
        assert subject == f"Update modelrail template to {TARGET}"
        assert f"_commit: {TARGET}\n" in git(repo, "show", f"{BRANCH}:.copier-answers.yml")
        after, before = fleet.after[name], fleet.before[name]
        assert (after.head, after.branch, after.status, after.files, after.worktrees) == (
            before.head, before.branch, before.status, before.files, before.worktrees,
        )  # fmt: skip
        assert git(repo, "branch", "--list", "--format=%(refname:short)").split() == [
            "main",
            BRANCH,
        ]


def test_a_kept_file_stays_byte_for_byte_and_owner_edits_survive(fleet: FleetRuns) -> None:
    repo = fleet.root / "fraud-detector"
    assert git(repo, "show", f"{BRANCH}:Dockerfile") == git(repo, "show", "main:Dockerfile")
    assert "--interval=30s" in git(repo, "show", f"{BRANCH}:Dockerfile")
    package = package_of(repo)
    dataset = f"src/{package}/dataset.py"
    assert git(repo, "show", f"{BRANCH}:{dataset}") == git(repo, "show", f"main:{dataset}")
    assert "def class_balance" in git(repo, "show", f"{BRANCH}:{dataset}")
    rules = git(repo, "show", f"{BRANCH}:monitoring/prometheus/rules.yml")
    assert f"- alert: {NEW_ALERT}\n" in rules


def test_failed_and_refused_repositories_are_exactly_as_they_were(fleet: FleetRuns) -> None:
    for name in ("demand-forecast", "pricing", "recsys", "ranking", "legacy-scorer"):
        assert fleet.after[name] == fleet.before[name], name


def test_status_after_the_update_lists_the_branches_ready_to_push(fleet: FleetRuns) -> None:
    rows = fleet.status_after.json()
    for name in ("churn-model", "fraud-detector"):
        assert rows[name]["pending_branches"] == [BRANCH]
        assert f"ready to push: {BRANCH}" in rows[name]["notes"]
        assert rows[name]["template"] == BASE  # main did not move
    assert rows["demand-forecast"]["pending_branches"] == []


def test_a_second_run_leaves_prepared_branches_alone(fleet: FleetRuns) -> None:
    repo = fleet.root / "churn-model"
    before = state(repo)
    again = invoke("fleet", "update", str(repo), "--to", TARGET, "--run", "false")
    assert again.code == 0
    assert "| prepared |" in again.out
    assert state(repo) == before


def test_update_defaults_run_make_check_then_make_conformance() -> None:
    assert DEFAULT_COMMANDS == ("make check", "make conformance")


# --- the docs page -----------------------------------------------------------------------
def docs_block(name: str) -> str:
    text = DOCS_PAGE.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name}:begin -->\n(.*?)<!-- {name}:end -->", text, re.DOTALL)
    assert match, f"{DOCS_PAGE} has no <!-- {name}:begin/end --> block"
    return match.group(1)


def test_the_docs_tables_are_those_of_the_test_fleet(fleet: FleetRuns) -> None:
    """docs/rolling-out.md shows what `make fleet-demo` prints; regenerate it from there."""
    assert docs_block("fleet-status") == as_in_docs(fleet.status.out, fleet.template)
    assert docs_block("fleet-update") == as_in_docs(fleet.update.out, fleet.template)


# --- the real make check -----------------------------------------------------------------
def test_the_real_make_check_runs_on_the_updated_branch(
    template_repo: TemplateRepo, tmp_path: Path
) -> None:
    """One repository with the owners' model code, updated with `--run "make check"`:
    lint, format check, mypy --strict and its own tests, on the update branch."""
    repo = copy_at(template_repo, tmp_path, NEXT, tasks=True, name="search-ranker")
    for edit in edits.model_code(package_of(repo)):
        edit.apply(repo)
    commit_all(repo, "Our model code")
    run = invoke("fleet", "update", str(repo), "--to", TARGET, "--run", "make check",
                 "--format", "json")  # fmt: skip
    (result,) = run.json().values()
    assert (run.code, result["outcome"]) == (0, "updated"), json.dumps(result, indent=1)
    (check,) = result["commands"]
    assert check["exit_code"] == 0
    assert re.search(r"\d+ passed", check["output_tail"])


# --- the real rollout of this version ----------------------------------------------------
RUNTIME_PIN = re.compile(r"modelrail-runtime\[[a-z]+\]==([0-9][0-9.]*)")


def test_the_fleet_rolls_the_release_owners_are_on_out_to_this_checkout(
    release_repo: ReleaseRepo, tmp_path: Path
) -> None:
    """A repository at the release owners are on (on the runtime that release pinned, from
    the index), updated by the fleet command to this checkout, an answer given for the
    whole fleet (``--data``), and its `make check` run on the update branch, on this
    checkout's runtime."""
    tag = users_release(release_repo.releases, project_version()).tag
    repo = copy_at(release_repo.template, tmp_path, tag, tasks=True, name="churn-model")
    (released,) = RUNTIME_PIN.findall((repo / "pyproject.toml").read_text(encoding="utf-8"))
    runtime = tomllib.loads((REPO_ROOT / "runtime" / "pyproject.toml").read_text("utf-8"))
    assert released != runtime["project"]["version"], f"{tag} pinned this checkout's runtime"
    assert (repo / "uv.lock").is_file(), f"{tag}'s runtime {released} is not in the index"
    index = f"runtime_index={runtime_index()}"
    run = invoke("fleet", "update", str(repo), "--to", release_repo.target, "--data", index,
                 "--run", "make check", "--format", "json")  # fmt: skip
    (result,) = run.json().values()
    assert (run.code, result["outcome"]) == (0, "updated"), json.dumps(result, indent=1)
    (check,) = result["commands"]
    assert check["exit_code"] == 0
    assert re.search(r"\d+ passed", check["output_tail"])
    branch = result["branch"]
    updated = git(repo, "show", f"{branch}:pyproject.toml")
    assert RUNTIME_PIN.findall(updated) == [runtime["project"]["version"]]
    files = git(repo, "ls-tree", "-r", "--name-only", branch, "src/").split()
    assert sorted(Path(path).name for path in files) == sorted(
        ["__init__.py", "__main__.py", "dataset.py", "estimator.py", "evaluate.py",
         "py.typed", "train.py", "training_config.py"]
    )  # fmt: skip


def test_an_answer_that_is_not_name_equals_value_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as usage:
        modelrail(["fleet", "update", ".", "--to", "v1.0.0", "--data", "runtime_index"])
    assert usage.value.code == 2
    assert "'runtime_index' is not NAME=VALUE" in capsys.readouterr().err
