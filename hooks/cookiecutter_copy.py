"""The cookiecutter entry point's work: run Copier with the answers cookiecutter collected.

cookiecutter renders ``{{cookiecutter.folder_name}}/`` (one placeholder file), then runs
hooks/post_gen_project.py in it, which calls ``main`` here. The placeholder is removed and
``copier.run_copy`` renders the template into the folder exactly as ``copier copy`` would
for the same answers, source and revision: the same files, the same answers file (so
``copier update`` works), the same post-copy tasks (hooks/post_copy.py). A refused answer
makes the hook fail, and cookiecutter then deletes the folder.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

PLACEHOLDER = "MODELRAIL-NOT-GENERATED.md"
FOLDER = "folder_name"

# Sources Copier clones itself, passed as given: URLs, scp-like addresses, and the
# abbreviations both tools know (gh:org/repo, gl:org/repo).
_REMOTE = re.compile(r"^([a-z][a-z0-9+.-]*://|[\w.-]+@[^:/]+:|(gh|gl):)", re.I)
# Other abbreviations (cookiecutter's bb:, or a user's own) that only cookiecutter expands.
_ABBREVIATION = re.compile(r"^[\w-]+:(?!//)")


def answers(context: dict[str, Any]) -> dict[str, Any]:
    """The template answers: cookiecutter's variables minus its own and the folder name."""
    return {
        key: value for key, value in context.items() if not key.startswith("_") and key != FOLDER
    }


def source(context: dict[str, Any]) -> str:
    """What to give Copier as the template: the user's URL, or the local template's path.

    It ends up as ``_src_path`` in the answers file, where ``copier update`` looks for the
    template, so it must be the source the user named, not cookiecutter's working clone.
    """
    template = str(context["_template"])
    if _REMOTE.match(template):
        return template
    if _ABBREVIATION.match(template) and not Path(template).exists():
        from cookiecutter.config import get_user_config
        from cookiecutter.repository import expand_abbreviations

        return str(expand_abbreviations(template, get_user_config()["abbreviations"]))
    return str(Path(context["_repo_dir"]).resolve())


def main(context: dict[str, Any], project: Path) -> int:
    """Render the template into ``project`` with Copier; 1 (with a message) on failure."""
    try:
        from copier import run_copy
    except ImportError:
        print(
            "modelrail: Copier is not installed next to cookiecutter; run `uvx --with copier "
            "cookiecutter <template>` or `pipx inject cookiecutter copier`",
            file=sys.stderr,
        )
        return 1
    (project / PLACEHOLDER).unlink(missing_ok=True)
    try:
        run_copy(
            source(context),
            str(project),
            data=answers(context),
            defaults=True,
            # Running cookiecutter runs the template's hooks: trusting it is already done.
            unsafe=True,
            vcs_ref=context.get("_checkout") or None,
        )
    except Exception as exc:  # reported in one line; cookiecutter then removes the folder
        print(f"modelrail: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
