"""Migration: these project-owned files must take the new version's; unedited ones do.

Usage (a ``before`` migration in copier.yml, with the version that changed the files)::

    renew.py [--hint=TEXT] [--together] PATTERN...

Project-owned files (``_skip_if_exists``) are never overwritten by an update. When a
version changes what such a file must contain (it used modules that moved away, say),
a copy still exactly as the previous version rendered it holds nothing of the owner's:
this script deletes it before Copier renders the new version, which then writes its own.
A copy the owner changed is kept byte for byte, and the script says so, with ``--hint``
(``{path}`` is replaced by the file) telling the owner what to change in it.

With ``--together`` the matched files are one unit (an example model's dataset, estimator,
training, evaluation, tests and golden files): they are renewed only if none of them was
changed. One changed file keeps them all as they were (putting back any an earlier
version's migration renewed in the same update), so that a repository's own model never
gets half of the new example's code; the script names the changed ones (with the hint)
and the ones kept with them.

Idempotent: a second run leaves a file holding anything but the previous version's bytes
(the new version's, once Copier has written it), and says the same about edited ones.
"""

from __future__ import annotations

from pathlib import Path

from common import arguments, at_head, head_paths, option, render_previous, rendered, say

DEFAULT_HINT = "compare it with a fresh copy of the new version and carry your changes over"


def renew(path: str, hint: str = DEFAULT_HINT) -> None:
    """Delete ``path`` when it is as the previous version rendered it; else report it."""
    ours = at_head(path)
    if ours is None:
        return
    base = rendered(render_previous(), path)
    if ours == base:
        file = Path(path)
        # Only the previous version's bytes go: after the update the file holds the new
        # version's, which a second run must leave alone.
        if file.is_file() and file.read_bytes() == base:
            file.unlink()
            say(f"{path} had no local edits: it takes the new version's")
        return
    say(
        f"kept {path} as you changed it, but this version changes what it must contain: "
        + hint.replace("{path}", path),
        problem=True,
    )


def edited(path: str) -> bool:
    """Whether HEAD's ``path`` differs from the previous version's render of it."""
    return at_head(path) != rendered(render_previous(), path)


def renew_together(paths: list[str], hint: str = DEFAULT_HINT) -> None:
    """Renew every one of ``paths`` if none was edited; else keep them all, and say why."""
    changed = [path for path in paths if at_head(path) is not None and edited(path)]
    if not changed:
        for path in paths:
            renew(path, hint)
        return
    for path in changed:
        renew(path, hint)  # keeps it, with the hint
    alongside = [path for path in paths if path not in changed]
    for path in alongside:
        # An earlier version's migration in this same update may have renewed it already.
        file, ours = Path(path), at_head(path)
        if ours is not None and not file.exists():
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(ours)
    if alongside:
        say(
            f"kept {', '.join(alongside)} as they were too: they go with "
            f"{', '.join(changed)}; compare them with a fresh copy of the new version",
            problem=True,
        )


def main() -> int:
    args = arguments()
    together = "--together" in args
    hint, patterns = option([arg for arg in args if arg != "--together"], "hint")
    if not patterns:
        raise SystemExit(
            "usage: renew.py [--hint=TEXT] [--together] PATTERN... (relative to the project root)"
        )
    paths = head_paths(patterns)
    if together:
        renew_together(paths, hint or DEFAULT_HINT)
    else:
        for path in paths:
            renew(path, hint or DEFAULT_HINT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
