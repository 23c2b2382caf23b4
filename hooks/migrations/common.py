"""What the update-time scripts share: git queries, messages, the previous version's render.

Copier runs these scripts (``_migrations`` in copier.yml) in the project being updated,
after it has merged the new template version into the working tree and before anything
is committed: ``HEAD`` is still the project as it was before the update. Each script is
idempotent: run twice, it changes nothing the second time.

Only the standard library, PyYAML and Copier are used: the scripts run under the Python
that runs Copier (``_copier_python``), which has both.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ANSWERS_FILE = ".copier-answers.yml"
# Copier's labels for an inline conflict; the migrations use the same ones.
LABELS = ("before updating", "last update", "after updating")
CONFLICT_MARKER = re.compile(rb"^(<<<<<<< |>>>>>>> )", re.MULTILINE)

QUIET = "--quiet=True" in sys.argv[1:]


def arguments() -> list[str]:
    """The script's arguments without the ``--quiet=...`` flag Copier passes."""
    return [arg for arg in sys.argv[1:] if not arg.startswith("--quiet=")]


def say(message: str, *, problem: bool = False) -> None:
    """Report on stderr, where Copier prints its progress; --quiet keeps only problems."""
    if problem or not QUIET:
        print(f"modelrail: {message}", file=sys.stderr)


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run git in the project (the current directory)."""
    return subprocess.run(["git", *args], capture_output=True, check=check)


def head_paths(patterns: list[str]) -> list[str]:
    """Files of HEAD matching any of ``patterns``, in order.

    A pattern is a path relative to the project root whose segments may hold ``*``, ``?``
    and ``[...]``; each segment matches one segment (``src/*/app.py`` matches
    ``src/churn_model/app.py``, not ``src/a/b/app.py``), as in ``_skip_if_exists``.
    """
    files = git("ls-tree", "-r", "--name-only", "-z", "HEAD", check=False).stdout.decode()
    tracked = [path for path in files.split("\0") if path]
    found: list[str] = []
    for pattern in patterns:
        parts = pattern.split("/")
        for path in tracked:
            segments = path.split("/")
            matches = len(segments) == len(parts) and all(
                fnmatch.fnmatchcase(segment, part)
                for segment, part in zip(segments, parts, strict=True)
            )
            if matches and path not in found:
                found.append(path)
    return found


def option(args: list[str], name: str) -> tuple[str | None, list[str]]:
    """The value of ``--name=VALUE`` in ``args`` (None if absent), and the other args."""
    prefix = f"--{name}="
    values = [arg.removeprefix(prefix) for arg in args if arg.startswith(prefix)]
    return (values[-1] if values else None), [arg for arg in args if not arg.startswith(prefix)]


def at_head(path: str) -> bytes | None:
    """The content of ``path`` in HEAD (the project before this update), or None."""
    proc = git("show", f"HEAD:{path}", check=False)
    return proc.stdout if proc.returncode == 0 else None


def has_conflict_markers(content: bytes) -> bool:
    """True when ``content`` holds a line opening or closing a merge conflict."""
    return CONFLICT_MARKER.search(content) is not None


def changed_paths() -> list[str]:
    """Files changed, added or deleted in the working tree since HEAD (untracked included)."""
    out = git("status", "--porcelain", "-z", "--untracked-files=all").stdout.decode()
    paths = []
    entries = iter(out.split("\0"))
    for entry in entries:
        if not entry:
            continue
        status, path = entry[:2], entry[3:]
        if "R" in status or "C" in status:
            next(entries, None)  # the original path of a rename follows
        paths.append(path)
    return paths


def conflicted_paths() -> list[str]:
    """Files an update left unresolved: unmerged, holding conflict markers, or ``*.rej``."""
    found = set(git("diff", "--name-only", "--diff-filter=U").stdout.decode().split())
    for path in changed_paths():
        file = Path(path)
        rejected = path.endswith(".rej")
        if rejected or (file.is_file() and has_conflict_markers(file.read_bytes())):
            found.add(path)
    return sorted(found)


def previous_answers() -> dict[str, Any]:
    """The answers file as it was before this update (it records the old version)."""
    import yaml

    content = at_head(ANSWERS_FILE)
    if content is None:
        raise SystemExit(f"modelrail: {ANSWERS_FILE} is not in HEAD; cannot find the old version")
    answers = yaml.safe_load(content)
    if not isinstance(answers, dict) or "_src_path" not in answers:
        raise SystemExit(f"modelrail: {ANSWERS_FILE} in HEAD has no _src_path")
    return answers


def previous_cache() -> Path:
    """Where renders of previous versions are kept during one update: inside .git, so
    git status never sees them; post_update removes the directory at the end."""
    path = git("rev-parse", "--git-path", "modelrail-previous").stdout.decode().strip()
    return Path(path).resolve()


def render_previous() -> Path:
    """Render the version this update comes from, with this project's answers.

    That render is the common ancestor of a three-way merge: what the template gave the
    project before the owner's edits. Copier does not hand it to migrations, so it is
    rendered again (tasks skipped), once per update: the migrations of one update share it.
    """
    from copier import run_copy

    answers = previous_answers()
    version = os.environ.get("VERSION_FROM") or str(answers.get("_commit", ""))
    head = git("rev-parse", "HEAD").stdout.decode().strip()
    destination = previous_cache() / f"{head}-{version}" / "project"
    done = destination.parent / "complete"
    if done.exists():
        return destination
    shutil.rmtree(destination.parent, ignore_errors=True)
    run_copy(
        str(answers["_src_path"]),
        str(destination),
        data={key: value for key, value in answers.items() if not key.startswith("_")},
        vcs_ref=version or None,
        defaults=True,
        overwrite=True,
        quiet=True,
        skip_tasks=True,
        unsafe=True,
    )
    done.touch()
    return destination


def forget_previous() -> None:
    """Remove the renders of previous versions (the update they served is over)."""
    shutil.rmtree(previous_cache(), ignore_errors=True)


def rendered(previous: Path, path: str) -> bytes | None:
    """The content of ``path`` in a previous render, or None when it rendered no such file."""
    file = previous / path
    return file.read_bytes() if file.is_file() else None


def merge3(ours: bytes, base: bytes, theirs: bytes) -> tuple[bytes, bool]:
    """Three-way merge with git merge-file; returns the result and whether it conflicts."""
    with tempfile.TemporaryDirectory(prefix="modelrail-merge-") as tmp:
        files = []
        for name, content in (("ours", ours), ("base", base), ("theirs", theirs)):
            file = Path(tmp) / name
            file.write_bytes(content)
            files.append(str(file))
        labels = [arg for label in LABELS for arg in ("-L", label)]
        proc = subprocess.run(
            ["git", "merge-file", "-p", *labels, *files], capture_output=True, check=False
        )
    if proc.returncode < 0 or proc.returncode > 127:
        raise SystemExit(f"modelrail: git merge-file failed: {proc.stderr.decode().strip()}")
    return proc.stdout, proc.returncode > 0
