"""A temporary template repository with tagged versions, built from this checkout.

v0.1.0 is this checkout's working tree (uncommitted files included). Later versions are
made by scripted edits that exercise each kind of change a real release makes:

- v0.2.0: a changed Dockerfile line, a new CI step, a new metric (code, test and docs),
  a renamed file (with a migration) and a new question with a default;
- v0.3.0: a removed file (with a migration), a change to a project-owned file (which must
  not reach projects) and a change to pyproject.toml;
- HEAD: one more commit after v0.3.0, untagged.

Each edit names the exact text it changes: when the template's text moves on, the edit
fails with a message saying which anchor to update here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import REPO_ROOT

TAGS = ("v0.1.0", "v0.2.0", "v0.3.0")
HEAD = "HEAD"
TARGETS = ("v0.2.0", "v0.3.0", HEAD)
"""What a project generated at the oldest tag is updated to, in order."""

RENAMED = ("docs/monitor.md", "docs/monitoring.md")
"""The file v0.2.0 renames (old, new), in a generated project."""
REMOVED = ".github/pull_request_template.md"
"""The file v0.3.0 removes, in a generated project."""
NEW_QUESTION = ("min_replicas", 2)
"""The question v0.2.0 adds, and its default."""
NEW_METRIC = "service_start_time_seconds"
CHANGED_PROJECT_OWNED = "docs/model-card.md"
"""A project-owned file v0.3.0 changes in the template."""

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "modelrail tests",
    "GIT_AUTHOR_EMAIL": "tests@modelrail.invalid",
    "GIT_COMMITTER_NAME": "modelrail tests",
    "GIT_COMMITTER_EMAIL": "tests@modelrail.invalid",
}


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity; raise with git's output on failure."""
    env = {**os.environ, **GIT_IDENTITY}
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {repo}:\n{proc.stderr}")
    return proc.stdout


class AnchorError(AssertionError):
    """A scripted edit did not find the text it changes."""


@dataclass(frozen=True)
class TemplateRepo:
    """The temporary template repository."""

    path: Path

    @property
    def source(self) -> str:
        """What Copier is given as the template (and records as ``_src_path``)."""
        return str(self.path)


class Editor:
    """Scripted edits of the template repository's files."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def replace(self, path: str, old: str, new: str) -> None:
        """Replace the single occurrence of ``old`` in ``path``."""
        file = self.root / path
        text = file.read_text(encoding="utf-8")
        if text.count(old) != 1:
            raise AnchorError(
                f"{path} holds {text.count(old)} copies of {old!r} (expected exactly one): "
                f"update the scripted edit in tests/update/template_versions.py"
            )
        file.write_text(text.replace(old, new), encoding="utf-8")

    def insert_after(self, path: str, anchor: str, text: str) -> None:
        """Insert ``text`` right after the single occurrence of ``anchor``."""
        self.replace(path, anchor, anchor + text)

    def move(self, old: str, new: str) -> None:
        git(self.root, "mv", old, new)

    def delete(self, path: str) -> None:
        git(self.root, "rm", "-q", path)

    def replace_everywhere(
        self, under: str, old: str, new: str, keep: tuple[str, ...] = ()
    ) -> None:
        """Replace every occurrence of ``old`` in the files under ``under`` but ``keep``
        (a rename's references: links, runbook URLs, tests)."""
        for file in sorted((self.root / under).rglob("*")):
            if not file.is_file() or file.relative_to(self.root).as_posix() in keep:
                continue
            text = file.read_text(encoding="utf-8")
            if old in text:
                file.write_text(text.replace(old, new), encoding="utf-8")

    def changelog(self, version: str, changes: str, owners: str) -> None:
        """Add a CHANGELOG entry above the newest one."""
        entry = (
            f"## {version}\n\n### What changes in a generated repo\n\n{changes}\n\n"
            f"### What owners must do\n\n{owners}\n\n"
        )
        file = self.root / "CHANGELOG.md"
        text = file.read_text(encoding="utf-8")
        newest = text.find("\n## v")
        if newest < 0:
            raise AnchorError("CHANGELOG.md has no '## vX.Y.Z' entry to add a newer one above")
        file.write_text(text[: newest + 1] + entry + text[newest + 1 :], encoding="utf-8")

    def migration(self, version: str, script: str, *args: str) -> None:
        """Add a ``_migrations`` entry for ``version``, in order, before post_update (last)."""
        quoted = ", ".join(f'"{arg}"' for arg in args)
        entry = (
            f"  - version: {version}\n"
            f'    command: ["{{{{ _copier_python }}}}", '
            f'"{{{{ _copier_conf.src_path }}}}/hooks/migrations/{script}", {quoted}]\n'
        )
        post_update = (
            '  - command:\n      - "{{ _copier_python }}"\n'
            '      - "{{ _copier_conf.src_path }}/hooks/migrations/post_update.py"'
        )
        self.replace("copier.yml", post_update, entry + post_update)


def v0_2_0(edit: Editor) -> None:
    edit.replace("template/Dockerfile.jinja", "--interval=10s", "--interval=15s")
    edit.insert_after(
        "template/.github/workflows/ci.yml.jinja",
        "      - run: make test\n",
        "      - name: lockfile matches pyproject.toml\n        run: uv lock --check\n",
    )
    metrics = "template/src/{{ package_name }}/metrics.py"
    edit.insert_after(
        metrics,
        "        build_info.labels(version=version, revision=revision).set(1)\n",
        "        self.start_time = Gauge(\n"
        f'            "{NEW_METRIC}",\n'
        '            "Unix time at which the service started.",\n'
        "            registry=self.registry,\n"
        "        )\n"
        "        self.start_time.set_to_current_time()\n",
    )
    edit.insert_after(
        "template/tests/test_metrics.py.jinja",
        '        "service_build_info",\n',
        f'        "{NEW_METRIC}",\n',
    )
    old, new = (f"template/{path}.jinja" for path in RENAMED)
    edit.move(old, new)
    edit.replace(new, "# Monitor\n", "# Monitoring\n")
    edit.insert_after(
        new,
        "| `service_build_info` | gauge (1) | `version`, `revision` |\n",
        f"| `{NEW_METRIC}` | gauge | |\n",
    )
    # Not in project-owned files: updates never change them, so their links are the
    # owners' to fix (the changelog says so).
    project_owned = ("template/README.md.jinja", "template/docs/model-card.md.jinja")
    edit.replace_everywhere("template", "monitor.md", "monitoring.md", keep=project_owned)
    edit.migration("v0.2.0", "rename.py", *RENAMED)
    name, default = NEW_QUESTION
    edit.replace(
        "copier.yml",
        "# Computed values",
        f"{name}:\n"
        "  type: int\n"
        "  help: Replicas the service always runs (the autoscaler's minimum)\n"
        f"  default: {default}\n"
        "  validator: >-\n"
        f"    {{% if {name} < 1 %}}Run at least one replica: give a whole number >= 1.\n"
        "    {%- endif %}\n\n"
        "# Computed values",
    )
    edit.insert_after(
        "template/docs/deploy.md.jinja",
        "  `replicas` field, so a deploy never resets the autoscaler's count.\n",
        f"\nRun at least {{{{ {name} }}}} replicas, so that a rollout or a node drain never "
        "leaves the model without a ready pod.\n",
    )
    edit.changelog(
        "v0.2.0",
        f"- The image's health check runs every 15 s (was 10 s).\n"
        f"- CI checks that uv.lock matches pyproject.toml.\n"
        f"- New metric `{NEW_METRIC}`.\n"
        f"- `{RENAMED[0]}` is now `{RENAMED[1]}` (local edits are carried over).\n"
        f"- New question `{name}` (default {default}), used in docs/deploy.md.",
        f"Point the links to docs/monitor.md in README.md and docs/model-card.md (yours) at "
        f"docs/monitoring.md. If the default of `{name}` does not fit: "
        f"`copier update --defaults --data {name}=N`.",
    )


def v0_3_0(edit: Editor) -> None:
    edit.delete(f"template/{REMOVED}")
    edit.migration("v0.3.0", "remove.py", REMOVED)
    edit.insert_after(
        "template/docs/model-card.md.jinja",
        "# Model card: {{ model_name }}\n",
        "\n## Fairness\n\nSay which groups the model was evaluated on, and how it fares.\n",
    )
    edit.replace(
        "template/pyproject.toml.jinja",
        'ignore = ["PLR2004", "PLR0913"]',
        'ignore = ["PLR2004", "PLR0913", "PLR0911"]',
    )
    edit.changelog(
        "v0.3.0",
        f"- `{REMOVED}` is no longer provided (a copy with local edits is kept).\n"
        f"- ruff also ignores PLR0911.\n"
        f"- The model card template has a Fairness section.",
        f"Copy the Fairness section into `{CHANGED_PROJECT_OWNED}` by hand: it is "
        f"project-owned, so updates never change it.",
    )


def head(edit: Editor) -> None:
    edit.insert_after(
        "template/CONTRIBUTING.md.jinja",
        "## Before you push\n",
        "\nKeep pull requests small: one change, one reason.\n",
    )


VERSIONS: tuple[tuple[str, Callable[[Editor], None]], ...] = (
    ("v0.2.0", v0_2_0),
    ("v0.3.0", v0_3_0),
    (HEAD, head),
)


def working_tree_files(root: Path) -> list[str]:
    """This checkout's files as a commit would see them, uncommitted ones included."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [path for path in out.split("\0") if path and (root / path).is_file()]


def build_template_repo(dst: Path, source: Path = REPO_ROOT) -> TemplateRepo:
    """Copy ``source``'s working tree to ``dst``, tag v0.1.0, then make the later versions."""
    dst.mkdir(parents=True)
    for path in working_tree_files(source):
        target = dst / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / path, target)
    git(dst, "init", "-q", "-b", "main")
    git(dst, "add", "-A")
    git(dst, "commit", "-q", "-m", "modelrail v0.1.0")
    git(dst, "tag", TAGS[0])
    edit = Editor(dst)
    for version, make in VERSIONS:
        make(edit)
        git(dst, "add", "-A")
        git(dst, "commit", "-q", "-m", f"modelrail {version}")
        if version != HEAD:
            git(dst, "tag", version)
    return TemplateRepo(dst)
