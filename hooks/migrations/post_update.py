"""After every ``copier update``: list the conflicts left to resolve, then re-lock uv.lock.

Copier runs this as the last entry of ``_migrations`` (stage ``after``, every version),
once the new template version is merged into the working tree:

1. conflicts: files left unmerged, holding ``<<<<<<<`` markers, or ``*.rej`` files are
   listed with what to do (the generated pre-commit hook refuses to commit them);
2. ``uv lock``: the merged pyproject.toml may require other packages than uv.lock pins,
   and every make target runs ``uv run --locked``. uv keeps every pin it can (no
   upgrade), so an unchanged pyproject.toml leaves uv.lock byte for byte as it was.

Never fails the update: a step that cannot run says why and what to run instead.
It also removes the previous version's render the rename and remove migrations shared.
Idempotent: listing changes nothing, and a second ``uv lock`` finds the lock current.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from common import conflicted_paths, forget_previous, say


def report_conflicts(conflicts: list[str]) -> None:
    """Say which files need a hand merge, and how."""
    if not conflicts:
        return
    say(
        "the update left conflicts in "
        + ", ".join(conflicts)
        + ": in each file keep what you need from both sides and delete the <<<<<<< ======= "
        ">>>>>>> lines (delete *.rej files once merged by hand), then `git add` them; the "
        "pre-commit hook refuses to commit unresolved conflicts",
        problem=True,
    )


def relock(conflicts: list[str]) -> None:
    """Bring uv.lock in line with the merged pyproject.toml."""
    lock = Path("uv.lock")
    if not lock.exists():
        say("no uv.lock here: not re-locking (`make setup` creates it)")
        return
    if "pyproject.toml" in conflicts:
        say("pyproject.toml has conflicts: resolve them, then run `uv lock`", problem=True)
        return
    if shutil.which("uv") is None:
        say("uv not found: run `uv lock` once uv is installed", problem=True)
        return
    before = lock.read_bytes()
    proc = subprocess.run(["uv", "lock", "--quiet"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = " / ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        say(f"`uv lock` failed ({detail}): fix that, then run `uv lock`", problem=True)
    elif lock.read_bytes() != before:
        say("uv.lock updated for the new pyproject.toml: review and commit it with the update")
    else:
        say("uv.lock already matches pyproject.toml")


def main() -> int:
    forget_previous()
    conflicts = conflicted_paths()
    report_conflicts(conflicts)
    relock(conflicts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
