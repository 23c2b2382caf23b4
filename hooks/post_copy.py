"""Post-copy set-up that Jinja cannot do; run by Copier's `_tasks` on `copier copy` only.

Steps, each idempotent and each skipped (with a message) when it cannot run here:

1. ``git init -b main`` unless the project is already in a git work tree (inside
   another repository, steps 3 and 4 are skipped too: they would change that repository);
2. ``uv lock`` unless ``uv.lock`` exists;
3. a first commit, unless the repository already has one;
4. ``pre-commit install`` when pre-commit is on PATH.

Only the standard library is used: this runs under the Python that runs Copier. The copy
never fails because of an optional step; ``make setup`` redoes whatever was skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

FALLBACK_IDENTITY = ("modelrail", "modelrail@localhost")
COMMIT_MESSAGE = "Initial commit from the modelrail template"


QUIET = "--quiet=True" in sys.argv[1:]


def say(message: str, *, problem: bool = False) -> None:
    """Report a step on stderr, where Copier prints its progress; --quiet keeps only problems."""
    if problem or not QUIET:
        print(f"modelrail: {message}", file=sys.stderr)


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> bool:
    """Run ``cmd``; on failure say so with its output and return False."""
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        output = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        say(
            f"`{' '.join(cmd)}` failed (exit {proc.returncode}): " + " / ".join(output),
            problem=True,
        )
        return False
    return True


def git_toplevel(project: Path) -> Path | None:
    """The root of the git work tree ``project`` is in, or None outside any."""
    proc = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    return Path(proc.stdout.strip()).resolve() if proc.returncode == 0 else None


def git_init(project: Path) -> bool:
    """Step 1; True when the project is the root of its own git repository.

    A project generated inside another repository (a monorepo, a scratch directory of a
    checkout) is left alone: committing or installing hooks there would change the
    enclosing repository.
    """
    if shutil.which("git") is None:
        say("git not found: skipped git init and the first commit (run `make setup` later)")
        return False
    toplevel = git_toplevel(project)
    if toplevel == project.resolve():
        say("already a git repository: left it as it is")
        return True
    if toplevel is not None:
        say(f"inside the git work tree {toplevel}: no git init, commit or hook installation")
        return False
    if run(["git", "init", "-q", "-b", "main"], project):
        say("initialised a git repository on branch main")
        return True
    return False


def uv_lock(project: Path) -> None:
    """Step 2."""
    if (project / "uv.lock").exists():
        say("uv.lock exists: not re-locking")
        return
    if shutil.which("uv") is None:
        say("uv not found: skipped `uv lock`; install uv, then run `make setup`")
        return
    if run(["uv", "lock", "--quiet"], project):
        say("created uv.lock")
    else:
        say("`uv lock` failed: run `make setup` once the package index is reachable")


def first_commit(project: Path) -> None:
    """Step 3: commit everything, unless there already is a commit."""
    has_head = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", "HEAD"],
        cwd=project,
        capture_output=True,
        check=False,
    )
    if has_head.returncode == 0:
        say("the repository already has commits: no initial commit made")
        return
    env: dict[str, str] = {}
    configured = subprocess.run(
        ["git", "config", "user.email"], cwd=project, capture_output=True, check=False
    )
    if configured.returncode != 0 and "GIT_AUTHOR_EMAIL" not in os.environ:
        name, email = FALLBACK_IDENTITY
        env = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }
        say(f"no git identity configured: committing as {name} <{email}> (amend if needed)")
    if run(["git", "add", "-A"], project) and run(
        ["git", "commit", "-q", "--no-verify", "-m", COMMIT_MESSAGE], project, env
    ):
        say(f"made the first commit: {COMMIT_MESSAGE!r}")


def pre_commit_install(project: Path) -> None:
    """Step 4."""
    if shutil.which("pre-commit") is None:
        say("pre-commit not on PATH: hooks not installed yet (`make setup` installs them)")
        return
    if run(["pre-commit", "install"], project):
        say("installed the pre-commit hooks")


def main() -> int:
    """Run every step in the current directory (Copier runs tasks in the new project)."""
    project = Path.cwd()
    in_git = git_init(project)
    uv_lock(project)
    if in_git:
        first_commit(project)
        pre_commit_install(project)
    say("done; next: make check train evaluate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
