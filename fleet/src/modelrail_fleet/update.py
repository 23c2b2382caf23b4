"""``modelrail fleet update``: one repository's update, prepared on a branch of its own.

For each repository: refuse what cannot be updated safely (no answers file, uncommitted
changes, an unknown target, ...); then, in a temporary git worktree on a new branch
``modelrail/update-<version>`` made from the base branch (``main``), run
``copier update``, refuse conflicts, run the repository's checks (``make check``,
``make conformance``) and commit. The repository's own checkout is never switched or
written to, nothing is pushed and the base branch never moves. On any failure the branch
is deleted: the repository is exactly as it was.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modelrail_fleet.repos import (
    GitError,
    RepoRef,
    branch_exists,
    clean_env,
    git,
    git_ok,
    is_repo_root,
    read_answers,
    uncommitted,
)
from modelrail_fleet.status import UPDATE_BRANCH_PREFIX, adoption_hint
from modelrail_fleet.versions import SourceError, TagCache, parse_version

DEFAULT_COMMANDS = ("make check", "make conformance")
DEFAULT_TIMEOUT = 3600.0
KEEP_TABLE = "tool.modelrail-update"
CONFLICT_LINE = re.compile(r"^(<<<<<<< |>>>>>>> )", re.MULTILINE)
OUTPUT_TAIL_LINES = 40

# Outcomes: the first three leave nothing to fix; the last two make the run fail.
UPDATED, UP_TO_DATE, PREPARED, REFUSED, FAILED = (
    "updated",
    "up-to-date",
    "prepared",
    "refused",
    "failed",
)
FAILING = frozenset({REFUSED, FAILED})


@dataclass
class CommandResult:
    """One check run on the updated branch."""

    command: str
    exit_code: int
    seconds: float
    output_tail: str


@dataclass
class UpdateResult:
    """One row of ``modelrail fleet update``."""

    repo: str
    path: str
    to_version: str
    outcome: str = FAILED
    from_version: str | None = None
    branch: str | None = None
    commit: str | None = None
    reason: str = ""
    details: str = ""
    commands: list[CommandResult] = field(default_factory=list)
    seconds: float = 0.0


class Stop(Exception):  # noqa: N818 - an outcome, not an error
    """Ends one repository's update with an outcome and a reason (what, why, how to fix)."""

    def __init__(self, outcome: str, reason: str, details: str = "") -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.details = details


def tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    """The last lines of a command's output."""
    return "\n".join(text.strip().splitlines()[-lines:])


@dataclass
class Updater:
    """Settings shared by every repository of one ``fleet update`` run."""

    to_version: str
    commands: tuple[str, ...] = DEFAULT_COMMANDS
    base: str = "main"
    timeout: float = DEFAULT_TIMEOUT
    tags: TagCache = field(default_factory=TagCache)
    template_hint: str | None = None
    data: tuple[str, ...] = ()
    """``NAME=VALUE`` answers for every repository (a question the target version adds)."""
    progress: Callable[[str], None] = lambda message: None

    @property
    def branch(self) -> str:
        """The branch an update to ``to_version`` is committed on."""
        return UPDATE_BRANCH_PREFIX + self.to_version

    def update(self, ref: RepoRef) -> UpdateResult:
        """Update one repository; every failure is caught and reported, never raised."""
        started = time.monotonic()
        result = UpdateResult(repo=ref.name, path=str(ref.path), to_version=self.to_version)
        try:
            self._update(ref, result)
        except Stop as stop:
            result.outcome, result.reason, result.details = stop.outcome, stop.reason, stop.details
        except (GitError, OSError, subprocess.SubprocessError) as exc:
            result.outcome, result.reason = FAILED, f"unexpected error: {exc}"
        result.seconds = round(time.monotonic() - started, 1)
        self.progress(
            f"{ref.name}: {result.outcome}{': ' + result.reason if result.reason else ''}"
        )
        return result

    # --- the steps --------------------------------------------------------------------
    def _update(self, ref: RepoRef, result: UpdateResult) -> None:
        repo = ref.path
        self._refuse_unsafe(repo, result)
        self.progress(f"{ref.name}: updating {result.from_version} -> {self.to_version}")
        workdir = Path(tempfile.mkdtemp(prefix="modelrail-update-"))
        worktree = workdir / repo.resolve().name
        git(repo, "worktree", "add", "--quiet", "-b", self.branch, str(worktree), self.base)
        succeeded = False
        try:
            self._copier_update(worktree)
            self._refuse_conflicts(worktree)
            result.commands = self._run_commands(worktree)
            result.commit = self._commit(worktree, result.from_version)
            result.branch = self.branch
            result.outcome = UPDATED
            result.reason = (
                f"branch {self.branch} is ready: review it, then "
                f"`git push -u origin {self.branch}` and open a pull request"
            )
            succeeded = True
        finally:
            if not git_ok(repo, "worktree", "remove", "--force", str(worktree)):
                shutil.rmtree(worktree, ignore_errors=True)
                git_ok(repo, "worktree", "prune")
            shutil.rmtree(workdir, ignore_errors=True)
            if not succeeded:
                git_ok(repo, "branch", "-D", self.branch)

    def _refuse_unsafe(self, repo: Path, result: UpdateResult) -> None:
        """Everything checked before the repository is touched at all."""
        if not repo.is_dir():
            raise Stop(REFUSED, f"no such directory: {repo}")
        if not is_repo_root(repo):
            raise Stop(REFUSED, f"{repo} is not the root of a git repository")
        if not branch_exists(repo, self.base):
            raise Stop(
                REFUSED,
                f"no branch {self.base}: updates start from it; pass --base BRANCH to name "
                f"the repository's main branch",
            )
        answers = read_answers(repo, self.base)
        if answers is None:
            raise Stop(REFUSED, adoption_hint(self.template_hint, self.to_version))
        result.from_version = str(answers.get("_commit") or "") or None
        changes = uncommitted(repo)
        if changes:
            shown = ", ".join(changes[:5]) + (", ..." if len(changes) > 5 else "")
            raise Stop(
                REFUSED,
                f"uncommitted changes ({len(changes)} file(s): {shown}): an update would "
                f"mix with them; commit or stash them, then run the update again",
            )
        self._refuse_version(answers.get("_src_path"), result.from_version)
        if branch_exists(repo, self.branch):
            raise Stop(
                PREPARED,
                f"branch {self.branch} exists from an earlier run: review and push it, or "
                f"delete it (`git branch -D {self.branch}`) to prepare the update again",
            )
        if not git_ok(repo, "var", "GIT_COMMITTER_IDENT"):
            raise Stop(
                REFUSED,
                "git has no identity to commit the update with: set user.name and "
                "user.email (git config --global ...), then run again",
            )
        if importlib.util.find_spec("copier") is None:
            raise Stop(
                REFUSED,
                "Copier cannot be imported by this command's Python, though modelrail-fleet "
                "depends on it: reinstall it (`uv tool install --reinstall "
                "'modelrail-fleet @ git+<modelrail>#subdirectory=fleet'`)",
            )

    def _refuse_version(self, source: object, current_ref: str | None) -> None:
        target = parse_version(self.to_version)
        if target is None:
            raise Stop(REFUSED, f"--to {self.to_version} is not a version tag such as v1.2.0")
        if source:
            try:
                tags = self.tags.tags(str(source))
            except SourceError as exc:
                raise Stop(FAILED, f"{exc}; check the template source (_src_path)") from None
            if self.to_version not in tags:
                newest = self.tags.latest(str(source))
                raise Stop(
                    REFUSED,
                    f"the template {source} has no tag {self.to_version} (latest: "
                    f"{newest or 'none'}); pass an existing tag to --to",
                )
        current = parse_version(current_ref)
        if current is None:
            raise Stop(
                REFUSED,
                f"_commit {current_ref!r} in the answers file is not a version: Copier "
                f"cannot tell what to update from; adopt a tagged version first",
            )
        if current == target:
            raise Stop(UP_TO_DATE, "")
        if current > target:
            raise Stop(
                REFUSED,
                f"already at {current_ref}, newer than {self.to_version}: downgrades are "
                f"not supported",
            )

    def _copier_update(self, worktree: Path) -> None:
        cmd = [
            sys.executable, "-m", "copier", "update", "--trust", "--defaults",
            "--conflict", "inline", "--vcs-ref", self.to_version,
        ]  # fmt: skip
        for answer in self.data:
            cmd += ["--data", answer]
        for path in self._kept_files(worktree):
            cmd += ["--skip", path]
        proc = self._run(cmd, worktree)
        if proc.returncode != 0:
            last = tail(proc.stdout, 1) or "no output"
            raise Stop(FAILED, f"copier update failed: {last}", tail(proc.stdout))

    def _kept_files(self, worktree: Path) -> list[str]:
        """Template-owned files this repository keeps as they are (``[tool.modelrail-update]``)."""
        pyproject = worktree / "pyproject.toml"
        if not pyproject.is_file():
            return []
        try:
            table = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise Stop(FAILED, f"pyproject.toml is not valid TOML: {exc}") from None
        keep = table.get("tool", {}).get("modelrail-update", {}).get("keep", [])
        if not isinstance(keep, list) or not all(isinstance(path, str) for path in keep):
            raise Stop(
                FAILED,
                f'[{KEEP_TABLE}] keep must be a list of paths, e.g. keep = ["Dockerfile"]',
            )
        return keep

    def _refuse_conflicts(self, worktree: Path) -> None:
        conflicts = set(git(worktree, "diff", "--name-only", "--diff-filter=U").split())
        status = git(worktree, "status", "--porcelain", "--untracked-files=all", "--ignored")
        for line in status.splitlines():
            path = line[3:]
            file = worktree / path
            if path.endswith(".rej"):
                conflicts.add(path)
            elif line[:2] != "!!" and file.is_file():
                text = file.read_text(encoding="utf-8", errors="replace")
                if CONFLICT_LINE.search(text):
                    conflicts.add(path)
        if conflicts:
            raise Stop(
                FAILED,
                f"conflicts with the new standard in {', '.join(sorted(conflicts))}: local "
                f"edits overlap the template's changes; the owners update by hand "
                f"(`copier update --trust --defaults --conflict inline --vcs-ref "
                f"{self.to_version}`, then resolve the <<<<<<< markers)",
            )

    def _run_commands(self, worktree: Path) -> list[CommandResult]:
        results = []
        for command in self.commands:
            started = time.monotonic()
            proc = self._run(["bash", "-c", command], worktree)
            results.append(
                CommandResult(
                    command=command,
                    exit_code=proc.returncode,
                    seconds=round(time.monotonic() - started, 1),
                    output_tail=tail(proc.stdout),
                )
            )
            if proc.returncode != 0:
                raise Stop(
                    FAILED,
                    f"`{command}` failed (exit {proc.returncode}) on the updated branch: "
                    f"the repository does not pass its checks with {self.to_version}; the "
                    f"output's last lines are in the JSON report",
                    tail(proc.stdout),
                )
        return results

    def _commit(self, worktree: Path, from_version: str | None) -> str:
        git(worktree, "add", "--all")
        checks = "; ".join(self.commands) or "no checks (none requested)"
        message = (
            f"Update modelrail template to {self.to_version}\n\n"
            f"From {from_version}, with `copier update --defaults --conflict inline`.\n"
            f"Checked with: {checks}.\n"
        )
        # The checks that matter ran above; pre-commit hooks would need the repository's
        # own environment and re-run part of them.
        git(worktree, "commit", "--quiet", "--no-verify", "--message", message)
        return git(worktree, "rev-parse", "HEAD").strip()

    def _run(self, cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                cmd,
                cwd=cwd,
                env=clean_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise Stop(
                FAILED,
                f"`{shlex.join(cmd)}` took longer than {self.timeout:g} s (--timeout)",
            ) from None
