"""Typical local edits of a generated project, as functions of a file's text.

An edit is a function, not a fixed result, so that the expected outcome of an update can
be computed: a template-owned file the owner edited must end up as the fresh copy at the
new version with the same edit applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.update.template_versions import BASE, REMOVED, RENAMED


def after(anchor: str, text: str) -> Callable[[str], str]:
    """Insert ``text`` after the single occurrence of ``anchor``."""

    def change(content: str) -> str:
        assert content.count(anchor) == 1, f"edit anchor {anchor!r} not found exactly once"
        return content.replace(anchor, anchor + text)

    return change


def replacing(old: str, new: str) -> Callable[[str], str]:
    """Replace the single occurrence of ``old``."""

    def change(content: str) -> str:
        assert content.count(old) == 1, f"edit anchor {old!r} not found exactly once"
        return content.replace(old, new)

    return change


def appending(text: str) -> Callable[[str], str]:
    return lambda content: content + text


def chain(*changes: Callable[[str], str]) -> Callable[[str], str]:
    """Several changes of one file, in order."""

    def change(content: str) -> str:
        for one in changes:
            content = one(content)
        return content

    return change


@dataclass(frozen=True)
class Edit:
    """A change to one file of a project generated at `BASE`."""

    path: str
    change: Callable[[str], str]

    def apply(self, project: Path) -> bytes:
        """Edit the file in ``project``; return its new bytes."""
        file = project / self.path
        file.parent.mkdir(parents=True, exist_ok=True)
        before = file.read_text(encoding="utf-8") if file.exists() else ""
        file.write_text(self.change(before), encoding="utf-8")
        return file.read_bytes()

    def path_at(self, version: str) -> str:
        """Where the file is at ``version`` (after the rename, for the renamed file)."""
        old, new = RENAMED
        return new if self.path == old and version != BASE else self.path


def model_code(package: str) -> list[Edit]:
    """The owners' model and data code, and its test (project-owned files)."""
    return [
        Edit(
            f"src/{package}/dataset.py",
            appending(
                "\n\ndef class_balance(labels: NDArray[np.int64]) -> dict[int, int]:\n"
                '    """Rows per class: the owners check it before each retraining."""\n'
                "    classes, counts = np.unique(labels, return_counts=True)\n"
                "    return {int(c): int(n) for c, n in zip(classes, counts, strict=True)}\n"
            ),
        ),
        Edit(
            "tests/test_training.py",
            chain(
                replacing("import pytest\n", "import numpy as np\nimport pytest\n"),
                after(
                    f"from {package} import dataset, evaluate\n",
                    f"from {package}.dataset import class_balance\n",
                ),
                appending(
                    "\n\ndef test_class_balance_counts_rows_per_class() -> None:\n"
                    "    assert class_balance(np.array([0, 1, 1])) == {0: 1, 1: 2}\n"
                ),
            ),
        ),
    ]


def readme_and_model_card() -> list[Edit]:
    """The README body and the model card (project-owned)."""
    return [
        Edit("README.md", appending("\n## Runbook\n\nPage #churn-oncall; dashboards: grafana.\n")),
        Edit(
            "docs/model-card.md",
            after("## Data\n", "\nRetrained monthly on the last 90 days of accounts.\n"),
        ),
    ]


def dependency() -> Edit:
    """A dependency added to pyproject.toml (template-owned, merged)."""
    return Edit("pyproject.toml", after("dependencies = [\n", '    "pyyaml>=6",\n'))


def template_tweaks() -> list[Edit]:
    """Tweaks in template-owned files, away from what the later versions change."""
    return [
        Edit("Dockerfile", after("WORKDIR /app\n", "ENV OMP_NUM_THREADS=1\n")),
        Edit(RENAMED[0], appending("\n## Our alerts\n\nPage #churn-oncall when p99 > SLO.\n")),
    ]


def removed_file_edit() -> Edit:
    """An edit of the file `LATEST` removes: the update must keep it and say so."""
    return Edit(REMOVED, appending("- [ ] The on-call runbook is updated\n"))


def added_file() -> Edit:
    """A file the template knows nothing about."""
    return Edit("notebooks/README.md", appending("# Exploration notebooks\n"))


def overlapping() -> list[Edit]:
    """Edits of the very lines `NEXT` changes: they must conflict."""
    return [
        Edit("Dockerfile", replacing("--interval=10s", "--interval=30s")),
        Edit(RENAMED[0], replacing("# Monitor\n", "# Monitoring the churn model\n")),
    ]


def keep_dockerfile() -> Edit:
    """The project keeps its own Dockerfile on updates run by the fleet command."""
    return Edit("pyproject.toml", appending('\n[tool.modelrail-update]\nkeep = ["Dockerfile"]\n'))


def lint_error(package: str) -> Edit:
    """An unused import in the model code: `make lint` fails."""
    return Edit(f"src/{package}/dataset.py", after("import hashlib\n", "import os\n"))


def runtime_edits(package: str) -> list[Edit]:
    """Edits of v0.1.x's runtime modules and one of their tests, which later versions take
    from modelrail-runtime instead: the update must keep each edited copy and say so."""
    return [
        Edit(
            f"src/{package}/frameworks/sklearn.py",
            replacing(
                "TRUSTED_TYPES: Final[tuple[str, ...]] = ()",
                'TRUSTED_TYPES: Final[tuple[str, ...]] = ("sklearn.tree._tree.Tree",)',
            ),
        ),
        Edit(
            f"src/{package}/app.py",
            replacing(
                "logger = logging.getLogger(__name__)",
                f'logger = logging.getLogger("{package}.service")',
            ),
        ),
        Edit(
            "tests/test_health.py",
            appending(
                "\n\ndef test_liveness_answers_while_the_model_loads(client: TestClient) -> None:\n"
                '    assert client.get("/v2/health/live").status_code == 200\n'
            ),
        ),
    ]


def training_code_edit(package: str) -> Edit:
    """A function the owners added to their data code (project-owned)."""
    return model_code(package)[0]
