"""Migration: the template no longer provides PATH; remove it unless the owner changed it.

Usage (an ``after`` migration in copier.yml, with the version that removed the file)::

    remove.py PATH

Copier deletes a file the new version no longer renders, even one the owner edited. This
script puts an edited copy back (from HEAD) and says so: the owner decides what to keep,
nothing is lost silently. An unedited copy stays deleted (and is deleted here if Copier
did not, e.g. a file an earlier version's task created).

Idempotent: the decision depends only on HEAD and the previous version, so a second run
finds the working tree already as it leaves it.
"""

from __future__ import annotations

from pathlib import Path

from common import arguments, at_head, git, render_previous, rendered, say


def remove(path: str) -> None:
    """Delete ``path`` if it is as the previous version rendered it; else keep HEAD's copy."""
    ours = at_head(path)
    file = Path(path)
    if ours is None:
        say(f"{path} is not in this repository: nothing to remove")
        return
    base = rendered(render_previous(), path)
    if base is not None and ours == base:
        file.unlink(missing_ok=True)
        say(f"removed {path} (no longer part of the template; it had no local edits)")
        return
    if not file.exists():
        git("checkout", "HEAD", "--", path)
    say(
        f"kept {path}: the template no longer provides it, but this repository changed it; "
        f"move what you still need elsewhere, then delete it (`git rm {path}`)",
        problem=True,
    )


def main() -> int:
    args = arguments()
    if len(args) != 1:
        raise SystemExit("usage: remove.py PATH (relative to the project root)")
    remove(args[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
