"""The hooks as pre-commit installs them: `pre-commit try-repo` against this checkout.

pre-commit builds the hook environment with `pip install .` at the repository root (and
`./conformance`, the hook's additional_dependencies, for modelrail-config), so this proves
the root is an installable distribution whose console scripts and the
.pre-commit-hooks.yaml entries agree, and that modelrail-config finds the suite's parser.
It needs PyPI (pip fetches hatchling, packaging and the suite's dependencies).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO_ROOT, run

HOOK_IDS = [
    "modelrail-check-config",
    "modelrail-check-python-version",
    "modelrail-no-conflict-markers",
    "modelrail-no-rej-files",
]


def test_every_hook_points_at_a_console_script() -> None:
    import tomllib

    manifest = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert sorted(hook["entry"] for hook in manifest) == sorted(scripts) == HOOK_IDS
    assert all(hook["language"] == "python" for hook in manifest)


def test_the_config_hook_gets_the_suite_from_the_same_clone() -> None:
    """One parser and no copy of it: the hooks wheel ships modelrail_hooks alone, and the
    modelrail-config hook installs modelrail-conformance from the clone pre-commit made."""
    import tomllib

    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    manifest = {hook["id"]: hook for hook in hooks}
    assert manifest.pop("modelrail-config")["additional_dependencies"] == ["./conformance"]
    assert all("additional_dependencies" not in hook for hook in manifest.values())
    suite = tomllib.loads((REPO_ROOT / "conformance" / "pyproject.toml").read_text())
    assert suite["project"]["name"] == "modelrail-conformance"
    root = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert root["tool"]["hatch"]["build"]["targets"]["wheel"] == {"packages": ["modelrail_hooks"]}


@pytest.mark.usefixtures("hooks_are_committed")
def test_try_repo_installs_the_hooks_and_each_refuses_its_bad_example(
    generated: dict[str, Path], tmp_path: Path
) -> None:
    repo = tmp_path / "svc"
    shutil.copytree(generated["defaults"], repo)
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("port = 8080", "port = 0"))
    dockerfile = repo / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("python:3.11-slim", "python:3.12-slim"))
    (repo / "Makefile.rej").write_text("@@ -1 +1 @@\n-a\n+b\n")
    readme = repo / "README.md"
    conflict = f"{'<' * 7} ours\na\n{'=' * 7}\nb\n{'>' * 7} theirs\n"
    readme.write_text(readme.read_text() + conflict)
    run(["git", "init", "-q", "-b", "main"], repo)
    run(["git", "add", "-A"], repo)

    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(REPO_ROOT), "--all-files"],
        cwd=repo,
        env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")},
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "An unexpected error" not in output, output
    for expected in [
        "pyproject.toml: port = 0 is out of range; expected between 1 and 65535",
        "Dockerfile:4: base image default python:3.12-slim is Python 3.12",
        "Makefile.rej: rejected hunks",
        "README.md:",
        "merge conflict marker <<<<<<<",
    ]:
        assert expected in output, output
    passed = [line for line in output.splitlines() if line.endswith("Passed")]
    assert passed == [], "every hook had a bad example to refuse"


@pytest.fixture
def hooks_are_committed() -> None:
    """try-repo sees committed and staged files only: untracked hook code would be missed."""
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "modelrail_hooks",
         ".pre-commit-hooks.yaml", "conformance"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    if untracked:
        pytest.fail(f"git add these first, try-repo cannot see them: {untracked}")
