"""Migration: the template renamed OLD to NEW; carry the owner's edits of OLD over to NEW.

Usage (an ``after`` migration in copier.yml, with the version that renamed the file)::

    rename.py OLD NEW

Left alone, Copier renders NEW fresh and deletes OLD: whatever the owner had changed in
OLD would be lost without a word. This script merges the owner's edits into NEW instead,
three ways: the previous version's OLD is the common ancestor, HEAD's OLD is the owner's
side, the new NEW is the template's side. Overlapping edits leave Copier's inline conflict
markers, which the generated pre-commit hook refuses to commit.

Idempotent: OLD missing from HEAD, OLD unchanged by the owner, or NEW already holding the
merge (or its conflict markers) all leave the working tree as it is.
"""

from __future__ import annotations

from pathlib import Path

from common import arguments, at_head, has_conflict_markers, merge3, render_previous, rendered, say


def rename(old: str, new: str) -> None:
    """Carry the owner's edits of ``old`` (as in HEAD) over to ``new``."""
    ours = at_head(old)
    if ours is None:
        say(f"{old} is not in this repository: nothing to carry over to {new}")
        return
    if at_head(new) is not None:
        say(
            f"both {old} and {new} were in this repository before the update: left both "
            f"as they are; move what you need from {old} into {new}, then delete {old}",
            problem=True,
        )
        return
    old_file, new_file = Path(old), Path(new)
    if not new_file.is_file():
        # The new version does not render NEW for these answers: keep the owner's file there.
        new_file.parent.mkdir(parents=True, exist_ok=True)
        new_file.write_bytes(ours)
        old_file.unlink(missing_ok=True)
        say(f"moved {old} to {new}")
        return
    theirs = new_file.read_bytes()
    if has_conflict_markers(theirs):
        say(f"{new} already holds a merge with conflict markers: resolve them", problem=True)
        return
    base = rendered(render_previous(), old)
    if base is None:
        say(
            f"{old} was not rendered by the previous version: left it as it is; move what "
            f"you need into {new}, then delete {old}",
            problem=True,
        )
        return
    old_file.unlink(missing_ok=True)
    if ours == base:
        say(f"{old} is now {new} (it had no local edits)")
        return
    merged, conflicted = merge3(ours, base, theirs)
    new_file.write_bytes(merged)
    if conflicted:
        say(
            f"{old} is now {new}; your edits of {old} overlap the template's changes: "
            f"resolve the <<<<<<< markers in {new}",
            problem=True,
        )
    elif merged != theirs:
        say(f"{old} is now {new}, with your edits of {old} merged in")


def main() -> int:
    args = arguments()
    if len(args) != 2:
        raise SystemExit("usage: rename.py OLD NEW (paths relative to the project root)")
    rename(*args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
