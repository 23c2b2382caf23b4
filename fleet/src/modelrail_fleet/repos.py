"""One repository of the fleet: where it is, its git state, its answers file, its report."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ANSWERS_FILE = ".copier-answers.yml"
# Where `make conformance` leaves its JSON report: the conformance suite's default report
# directory and the report's file name. The fleet reads the report as data (schema
# `modelrail-conformance/1`: `passed`, `summary`, `started`) and imports nothing of the
# suite; tests/update/test_fleet_units.py keeps this path and the suite's in step.
CONFORMANCE_REPORT = Path("reports/conformance/report.json")
GIT_TIMEOUT = 120.0


class GitError(Exception):
    """A git command failed; the message holds the command and git's own words."""


@dataclass(frozen=True)
class RepoRef:
    """A repository as the user named it (``name``) and where it is (``path``)."""

    name: str
    path: Path


def repo_refs(names: list[str], from_file: Path | None = None) -> list[RepoRef]:
    """The repositories named on the command line, then those listed in ``from_file``.

    The file lists one path per line; blank lines and ``#`` comments are ignored, and
    relative paths are relative to the file's directory. A repository named twice is
    taken once.
    """
    refs = [RepoRef(name, Path(name).expanduser()) for name in names]
    if from_file is not None:
        for line in from_file.read_text(encoding="utf-8").splitlines():
            entry = line.split("#", 1)[0].strip()
            if entry:
                refs.append(RepoRef(entry, from_file.parent / Path(entry).expanduser()))
    unique: dict[Path, RepoRef] = {}
    for ref in refs:
        unique.setdefault(ref.path.resolve(), ref)
    return list(unique.values())


def clean_env() -> dict[str, str]:
    """The environment for commands run in a repository: never this tool's virtualenv."""
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    return env


def git(repo: Path, *args: str, timeout: float = GIT_TIMEOUT) -> str:
    """Run git in ``repo`` and return its stdout; raise GitError on failure."""
    proc = subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=clean_env(),
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise GitError(f"`git {' '.join(args)}` failed: {detail[-1] if detail else 'no output'}")
    return proc.stdout


def git_ok(repo: Path, *args: str) -> bool:
    """True when the git command succeeds in ``repo``."""
    try:
        git(repo, *args)
    except GitError:
        return False
    return True


def is_repo_root(path: Path) -> bool:
    """True when ``path`` is the top directory of a git work tree."""
    try:
        top = git(path, "rev-parse", "--show-toplevel").strip()
    except (GitError, OSError):
        return False
    return Path(top).resolve() == path.resolve()


def uncommitted(repo: Path) -> list[str]:
    """Paths with uncommitted changes, untracked files included (ignored ones are not)."""
    out = git(repo, "status", "--porcelain", "--untracked-files=all")
    return [line[3:] for line in out.splitlines() if line.strip()]


def branch_exists(repo: Path, branch: str) -> bool:
    """True when the local branch exists."""
    return git_ok(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")


def branches(repo: Path, pattern: str) -> list[str]:
    """Local branches matching a glob such as ``modelrail/update-*``."""
    out = git(repo, "branch", "--list", "--format=%(refname:short)", pattern)
    return sorted(line.strip() for line in out.splitlines() if line.strip())


def read_answers(repo: Path, revision: str | None = None) -> dict[str, Any] | None:
    """The answers file in the working tree (or at ``revision``), or None when absent."""
    if revision is None:
        file = repo / ANSWERS_FILE
        if not file.is_file():
            return None
        text = file.read_text(encoding="utf-8")
    else:
        try:
            text = git(repo, "show", f"{revision}:{ANSWERS_FILE}")
        except GitError:
            return None
    data = yaml.safe_load(text)
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class ConformanceResult:
    """The last conformance run of a repository, from its JSON report."""

    passed: bool | None
    started: str
    summary: dict[str, dict[str, int]]
    problem: str = ""

    def short(self) -> str:
        """``passed (2026-01-05)``, ``FAILED: MUST 1 fail (...)``, or the problem."""
        if self.problem:
            return self.problem
        day = self.started[:10] or "unknown date"
        if self.passed:
            return f"passed ({day})"
        failures = [
            f"{level} {count} {status}"
            for level, counts in self.summary.items()
            for status, count in counts.items()
            if status in ("fail", "error") and count
        ]
        return f"FAILED: {', '.join(failures) or 'expired waiver'} ({day})"


def last_conformance(repo: Path) -> ConformanceResult | None:
    """Read ``reports/conformance/report.json``; None when no run left one."""
    file = repo / CONFORMANCE_REPORT
    if not file.is_file():
        return None
    try:
        report = json.loads(file.read_text(encoding="utf-8"))
        passed = report["passed"]
        if not isinstance(passed, bool):
            raise TypeError("passed is not a boolean")
        return ConformanceResult(
            passed=passed, started=str(report.get("started", "")), summary=report["summary"]
        )
    except (ValueError, KeyError, TypeError) as exc:
        return ConformanceResult(
            passed=None,
            started="",
            summary={},
            problem=f"unreadable report ({CONFORMANCE_REPORT}: {exc})",
        )
