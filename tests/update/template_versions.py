"""A temporary template repository with tagged versions, built from this checkout.

The first version, `BASE`, is this checkout's working tree (uncommitted files included)
under this checkout's own version (pyproject.toml, e.g. v0.2.0): its real migrations, those
of `BASE` and older, are behind every update between the scripted versions, as they are
behind real users' updates to later releases. The later versions are made by scripted
edits that exercise each kind of change a real release makes:

- `NEXT` (the next minor version): a changed Dockerfile line, a new CI step, a new alert
  rule (the rule, its promtool test and its runbook section, which the generated tests
  check), a renamed file (with a migration) and a new question with a default;
- `LATEST` (the one after): a removed file (with a migration), a change to a project-owned
  file (which must not reach projects) and a change to pyproject.toml;
- HEAD: one more commit after `LATEST`, untagged.

Each edit names the exact text it changes: when the template's text moves on, the edit
fails with a message saying which anchor to update here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from tests.helpers import REPO_ROOT


def project_version(root: Path = REPO_ROOT) -> str:
    """The template version ``root`` is (or is about to be released as): ``v`` and
    pyproject.toml's ``version``."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return "v" + pyproject["project"]["version"]


def next_minor(tag: str) -> str:
    """The minor version after ``tag`` (v0.2.0 -> v0.3.0)."""
    major, minor = Version(tag).release[:2]
    return f"v{major}.{minor + 1}.0"


BASE = project_version()
"""This checkout, as the test template's first version."""
NEXT = next_minor(BASE)
LATEST = next_minor(NEXT)
TAGS = (BASE, NEXT, LATEST)
HEAD = "HEAD"
TARGETS = (NEXT, LATEST, HEAD)
"""What a project generated at the oldest tag is updated to, in order."""

RENAMED = ("docs/monitor.md", "docs/monitoring.md")
"""The file `NEXT` renames (old, new), in a generated project."""
REMOVED = ".github/pull_request_template.md"
"""The file `LATEST` removes, in a generated project."""
NEW_QUESTION = ("min_replicas", 2)
"""The question `NEXT` adds, and its default."""
NEW_ALERT = "ServiceRestarting"
"""The alert rule `NEXT` adds (template-owned code, its test and its docs)."""
CHANGED_PROJECT_OWNED = "docs/model-card.md"
"""A project-owned file `LATEST` changes in the template."""

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

    def release(self, version: str, changes: str, owners: str) -> None:
        """Release ``version`` the documented way: a CHANGELOG entry above the newest one,
        and the version in pyproject.toml."""
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
        current = project_version(self.root).removeprefix("v")
        self.replace(
            "pyproject.toml", f'\nversion = "{current}"\n', f'\nversion = "{version[1:]}"\n'
        )

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


def next_version(edit: Editor) -> None:
    edit.replace("template/Dockerfile.jinja", "--interval=10s", "--interval=15s")
    edit.insert_after(
        "template/.github/workflows/ci.yml.jinja",
        "      - run: make test\n",
        "      - name: lockfile matches pyproject.toml\n        run: uv lock --check\n",
    )
    new_alert(edit)
    old, new = (f"template/{path}.jinja" for path in RENAMED)
    edit.move(old, new)
    edit.replace(new, "# Monitor\n", "# Monitoring\n")
    # Not in project-owned files: updates never change them, so their links are the
    # owners' to fix (the changelog says so).
    project_owned = ("template/README.md.jinja", "template/docs/model-card.md.jinja")
    edit.replace_everywhere("template", "monitor.md", "monitoring.md", keep=project_owned)
    edit.migration(NEXT, "rename.py", *RENAMED)
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
    edit.release(
        NEXT,
        f"- The image's health check runs every 15 s (was 10 s).\n"
        f"- CI checks that uv.lock matches pyproject.toml.\n"
        f"- New alert `{NEW_ALERT}`, with its promtool test and runbook section.\n"
        f"- `{RENAMED[0]}` is now `{RENAMED[1]}` (local edits are carried over).\n"
        f"- New question `{name}` (default {default}), used in docs/deploy.md.",
        f"Point the links to docs/monitor.md in README.md and docs/model-card.md (yours) at "
        f"docs/monitoring.md. If the default of `{name}` does not fit: "
        f"`copier update --defaults --data {name}=N`.",
    )


def new_alert(edit: Editor) -> None:
    """`NEW_ALERT`: the rule, a promtool unit test of it, its runbook section. The generated
    tests/test_monitoring_assets.py checks the rule against the metrics the service
    exports and the runbook; `make rules` runs the promtool test."""
    instance = "{% raw %}{{ $labels.instance }}{% endraw %}"
    runbook = f"docs/monitor.md#{NEW_ALERT.lower()}"
    summary = "restarted 3 times or more in 30 minutes"
    description = (
        "The process started 3 times or more in 30 minutes: it crashes, or the orchestrator "
        "kills it (out of memory, failed liveness probes), and it comes back."
    )
    edit.insert_after(
        "template/monitoring/prometheus/rules.yml.jinja",
        '          runbook_url: "docs/monitor.md#predictionlogeventsdropped"\n',
        f"      - alert: {NEW_ALERT}\n"
        "        expr: |\n"
        "          changes(process_start_time_seconds{ {{- job }}}[30m]) >= 3\n"
        "        labels:\n"
        "          severity: ticket\n"
        "        annotations:\n"
        f'          summary: "{{{{ model_name }}}} on {instance} {summary}"\n'
        f"          description: >-\n            {description}\n"
        f'          runbook_url: "{runbook}"\n',
    )
    edit.insert_after(
        "template/monitoring/tests/model_test.yml.jinja",
        "      # Ten minutes after the last drop the alert resolves.\n"
        "      - eval_time: 30m\n"
        "        alertname: PredictionLogEventsDropped\n"
        "        exp_alerts: []\n",
        f"\n  # {NEW_ALERT}: a replica that starts again every 5 minutes, one that starts once.\n"
        "  - interval: 1m\n"
        "    input_series:\n"
        "      - series: 'process_start_time_seconds{ {{- job }},instance=\"replica-a\"}'\n"
        "        values: '0x4 300x4 600x4 900x4 1200x4'\n"
        "      - series: 'process_start_time_seconds{ {{- job }},instance=\"replica-b\"}'\n"
        "        values: '0x24'\n"
        "    alert_rule_test:\n"
        "      - eval_time: 12m\n"
        f"        alertname: {NEW_ALERT}\n"
        "        exp_alerts: []\n"
        "      - eval_time: 17m\n"
        f"        alertname: {NEW_ALERT}\n"
        "        exp_alerts:\n"
        "          - exp_labels:\n"
        "              job: {{ model_name }}\n"
        "              instance: replica-a\n"
        "              severity: ticket\n"
        "            exp_annotations:\n"
        f'              summary: "{{{{ model_name }}}} on replica-a {summary}"\n'
        f'              description: "{description}"\n'
        f'              runbook_url: "{runbook}"\n',
    )
    edit.replace(
        "template/docs/monitor.md.jinja",
        "\n## Drift detection\n",
        f"\n### {NEW_ALERT}\n\n"
        "A replica's process started 3 times or more in 30 minutes: it crashes, or the\n"
        "orchestrator kills it, and it comes back.\n\n"
        "1. The pod's last state: `OOMKilled` needs a higher memory limit (or a smaller model);\n"
        "   a failed liveness probe, a service too slow to answer it under load.\n"
        '2. Otherwise the service log before each start: "model failed to load" and its reason.\n'
        "\n## Drift detection\n",
    )


def latest_version(edit: Editor) -> None:
    edit.delete(f"template/{REMOVED}")
    edit.migration(LATEST, "remove.py", REMOVED)
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
    edit.release(
        LATEST,
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
    (NEXT, next_version),
    (LATEST, latest_version),
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


def copy_working_tree(source: Path, dst: Path) -> None:
    """Copy ``source``'s working tree (`working_tree_files`) into ``dst``."""
    for path in working_tree_files(source):
        target = dst / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / path, target)


def build_template_repo(dst: Path, source: Path = REPO_ROOT) -> TemplateRepo:
    """Copy ``source``'s working tree to ``dst``, tag it `BASE`, then make the later
    versions."""
    dst.mkdir(parents=True)
    copy_working_tree(source, dst)
    git(dst, "init", "-q", "-b", "main")
    git(dst, "add", "-A")
    git(dst, "commit", "-q", "-m", f"modelrail {BASE}")
    git(dst, "tag", BASE)
    edit = Editor(dst)
    for version, make in VERSIONS:
        make(edit)
        git(dst, "add", "-A")
        git(dst, "commit", "-q", "-m", f"modelrail {version}")
        if version != HEAD:
            git(dst, "tag", version)
    return TemplateRepo(dst)
