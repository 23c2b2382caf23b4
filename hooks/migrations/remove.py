"""Migration: the template no longer provides these files; remove each unless the owner changed it.

Usage (an ``after`` migration in copier.yml, with the version that removed the files)::

    remove.py [--hint=TEXT] PATTERN...

A pattern is a path relative to the project (segments may hold ``*``: ``src/*/app.py``).
Copier deletes a file the new version no longer renders, even one the owner edited. This
script puts an edited copy back (from HEAD) and says so, with ``--hint`` (``{path}`` is
replaced by the file) telling the owner what to do with the change: nothing is lost
silently. An unedited copy stays deleted (and is deleted here if Copier did not, e.g. a
file an earlier version's task created).

Idempotent: the decision depends only on HEAD and the previous version, so a second run
finds the working tree already as it leaves it.
"""

from __future__ import annotations

from pathlib import Path

from common import arguments, at_head, git, head_paths, option, render_previous, rendered, say

DEFAULT_HINT = "move what you still need elsewhere, then delete it (`git rm {path}`)"


def remove(path: str, hint: str = DEFAULT_HINT) -> None:
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
        + hint.replace("{path}", path),
        problem=True,
    )


def main() -> int:
    hint, patterns = option(arguments(), "hint")
    if not patterns:
        raise SystemExit("usage: remove.py [--hint=TEXT] PATTERN... (relative to the project root)")
    paths = head_paths(patterns)
    if not paths:
        say(f"nothing to remove: no file matches {' '.join(patterns)}")
    else:
        unmatched = [pattern for pattern in patterns if not head_paths([pattern])]
        if unmatched:
            say(f"no file matches {' '.join(unmatched)}: nothing to remove there")
    for path in paths:
        remove(path, hint or DEFAULT_HINT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
