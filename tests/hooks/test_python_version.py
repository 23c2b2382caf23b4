"""modelrail-check-python-version: one Python in pyproject, Dockerfile, CI and uv.lock."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from modelrail_hooks import python_version
from tests.template.answers import MATRIX


@pytest.mark.parametrize("answer_id", sorted(MATRIX))
def test_every_generated_project_agrees_with_itself(
    generated: dict[str, Path], answer_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    project = generated[answer_id]
    assert python_version.main(["--project", str(project), "Dockerfile"]) == 0
    assert capsys.readouterr().err == ""
    # Every place was found: the check would have had something to disagree with.
    pins = python_version.pyproject_pins(project)[0]
    pins += python_version.dockerfile_pins(project) + python_version.ci_pins(project)
    gitlab = (
        {".gitlab-ci.yml"} if MATRIX[answer_id].get("ci_provider") == "github+gitlab" else set()
    )
    assert {pin.file for pin in pins} == {
        "pyproject.toml",
        "Dockerfile",
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
        ".github/workflows/model-release.yml",
        *gitlab,
    }
    assert {pin.version for pin in pins} == {MATRIX[answer_id].get("python_version", "3.11")}


def test_a_minimal_repository_with_no_pins_passes(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert python_version.main(["--project", str(tmp_path)]) == 0


# (file, old text, new text, expected message parts); the defaults project pins 3.11.
# "{line}" stands for the line of the first occurrence of the old text.
MUTATIONS = {
    "dockerfile": ("Dockerfile", "python:3.11-slim", "python:3.12-slim",
                   ["Dockerfile:{line}: base image default python:3.12-slim is Python 3.12",
                    "say 3.11: change it to python:3.11-slim"]),
    "workflow": (".github/workflows/ci.yml", 'python-version: "3.11"', 'python-version: "3.13"',
                 [".github/workflows/ci.yml:{line}: python-version is Python 3.13",
                  'set python-version: "3.11"']),
    "uv-python": (".github/workflows/ci.yml", 'UV_PYTHON: "3.11"', 'UV_PYTHON: "3.12"',
                  [".github/workflows/ci.yml:{line}: UV_PYTHON is Python 3.12"]),
    "ruff": ("pyproject.toml", 'target-version = "py311"', 'target-version = "py312"',
             ["[tool.ruff] target-version is Python 3.12",
              'set target-version = "py311" in [tool.ruff]']),
    "mypy": ("pyproject.toml", 'python_version = "3.11"', 'python_version = "3.13"',
             ['[tool.mypy] python_version is Python 3.13',
              'set python_version = "3.11" in [tool.mypy]']),
    "requires-python": ("pyproject.toml", 'requires-python = ">=3.11"',
                        'requires-python = ">=3.12"',
                        ['pyproject.toml:8: requires-python = ">=3.12" excludes Python 3.11',
                         "widen requires-python",
                         'uv.lock:3: locked for requires-python ">=3.11"', "run `uv lock`"]),
    "lock": ("uv.lock", 'requires-python = ">=3.11"', 'requires-python = ">=3.10"',
             ['uv.lock:3: locked for requires-python ">=3.10", but pyproject.toml:8 says '
              '">=3.11": run `uv lock` and commit uv.lock']),
    "bad-specifier": ("pyproject.toml", 'requires-python = ">=3.11"', 'requires-python = "3.11+"',
                      ['requires-python = "3.11+" is not a version specifier']),
    "python-version-file": (".python-version", None, "3.12.4\n",
                            [".python-version:1: .python-version is Python 3.12",
                             "write 3.11"]),
    "gitlab": (".gitlab-ci.yml", None, "test:\n  image: python:3.13-slim\n",
               [".gitlab-ci.yml:2: image python:3.13-slim is Python 3.13",
                "change it to python:3.11-slim"]),
}  # fmt: skip


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_version_moved_alone_is_refused_with_file_line_and_fix(
    generated: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    mutation: str,
) -> None:
    file, old, new, expected = MUTATIONS[mutation]
    project = tmp_path / "svc"
    shutil.copytree(generated["defaults"], project)
    path = project / file
    line = 1
    if old is None:
        path.write_text(new)
    else:
        text = path.read_text()
        assert old in text
        line = text[: text.index(old)].count("\n") + 1
        path.write_text(text.replace(old, new, 1))
    assert python_version.main(["--project", str(project)]) == 1
    err = capsys.readouterr().err
    for part in expected:
        assert part.replace("{line}", str(line)) in err


def test_the_majority_wins_and_a_tie_goes_to_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.mypy]\npython_version = "3.12"\n')
    (tmp_path / "Dockerfile").write_text("FROM python:3.13-slim AS build\n")
    assert python_version.main(["--project", str(tmp_path)]) == 1
    problems = list(python_version.problems(tmp_path))
    assert problems == [
        "Dockerfile:1: base image python:3.13-slim is Python 3.13, but pyproject.toml:2 "
        "([tool.mypy] python_version) say 3.12: change it to python:3.12-slim "
        "(or move the others to 3.13)"
    ]
