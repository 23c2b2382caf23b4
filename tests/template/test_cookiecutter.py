"""The cookiecutter entry point produces exactly what `copier copy` produces.

Both routes run here for several answer sets with the post-copy tasks (git init, uv lock,
first commit): every file must be byte-identical, the answers file included, so that a
repo made with cookiecutter is updated with `copier update` like any other. `.git/` is
left out: commit ids carry timestamps.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO_ROOT, answers_with_index, run
from tests.template.answers import MATRIX, PROJECT_DIR

pytestmark = pytest.mark.slow

# Every answer set of the matrix would do; these cover each choice of each question.
ANSWER_SETS = ["defaults", "py312-mit", "py313-proprietary"]


def same_moment(tmp_path: Path) -> dict[str, str]:
    """An environment in which both routes see the same package index and the same clock.

    `uv lock` resolves against the index as of a fixed date (`exclude-newer`, in a uv
    configuration file: the local runtime index has no upload dates, so modelrail-runtime
    is exempt), and Copier commits a dirty working tree before rendering it, so with a
    fixed date the commit id recorded in the answers file (`_commit`) does not depend on
    the second each route ran in. Both resolve from fresh index pages (UV_REFRESH): a
    page uv had cached earlier may lack a release the other route sees (filelock 4.3.1
    against 4.3.2 once). Both routes run as commands: Copier's in-process runner keeps the
    environment it was imported with.
    """
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    config = tmp_path / "uv.toml"
    config.write_text(
        f'exclude-newer = "{now}"\nexclude-newer-package = {{ modelrail-runtime = false }}\n'
    )
    env = {**os.environ, "UV_CONFIG_FILE": str(config), "UV_REFRESH": "1", "GIT_AUTHOR_DATE": now}
    env["GIT_COMMITTER_DATE"] = now
    env.pop("VIRTUAL_ENV", None)
    return env


def as_data(answers: dict[str, Any]) -> list[str]:
    return [f"{name}={value}" for name, value in answers.items()]


def copier_copy(output: Path, answers: dict[str, Any], env: dict[str, str]) -> Path:
    """`copier copy --trust --defaults` of this checkout's working tree (like render())."""
    project = output / PROJECT_DIR
    data = [arg for pair in as_data(answers) for arg in ("--data", pair)]
    command = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet"]
    run([*command, "--vcs-ref", "HEAD", *data, str(REPO_ROOT), str(project)], REPO_ROOT, env=env)
    return project


def cookiecutter_copy(
    output: Path,
    answers: dict[str, Any],
    config: Path,
    env: dict[str, str],
    *,
    template: str = str(REPO_ROOT),
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`cookiecutter <template> --checkout HEAD --no-input` with ``answers``, run in ``cwd``
    (default: beside ``output``); the template is this checkout, by default absolute."""
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "--config-file", str(config)]
    # --checkout HEAD: like render(), the working tree rather than the last tag.
    command += ["--checkout", "HEAD", "--output-dir", str(output), template]
    command += as_data({"folder_name": PROJECT_DIR, **answers})
    return subprocess.run(
        command, cwd=cwd or output.parent, env=env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip


@pytest.fixture
def cookiecutter_config(tmp_path: Path) -> Path:
    """A cookiecutter configuration that keeps its clones and replays out of $HOME."""
    config = tmp_path / "cookiecutter.yml"
    config.write_text(
        f"cookiecutters_dir: {tmp_path / 'cookiecutters'}\nreplay_dir: {tmp_path / 'replay'}\n"
    )
    return config


def tree(root: Path) -> dict[str, tuple[bool, bytes]]:
    """Relative path -> (executable, content) of every file outside .git/."""
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] == ".git" or path.is_dir():
            continue
        executable = bool(path.stat().st_mode & stat.S_IXUSR)
        files[relative.as_posix()] = (executable, path.read_bytes())
    return files


@pytest.mark.parametrize("answer_id", ANSWER_SETS)
def test_cookiecutter_and_copier_give_identical_trees(
    answer_id: str, tmp_path: Path, cookiecutter_config: Path
) -> None:
    answers, env = answers_with_index(MATRIX[answer_id]), same_moment(tmp_path)
    copied = copier_copy(tmp_path / "copier", answers, env)
    proc = cookiecutter_copy(tmp_path / "cookiecutter", answers, cookiecutter_config, env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    cut = tmp_path / "cookiecutter" / PROJECT_DIR
    expected, actual = tree(copied), tree(cut)
    assert sorted(actual) == sorted(expected)
    different = {
        path: (expected[path][1], actual[path][1])
        for path in expected
        if actual[path] != expected[path]
    }
    assert different == {}
    assert {".copier-answers.yml", "uv.lock", "MODELRAIL-NOT-GENERATED.md"} & set(actual) == {
        ".copier-answers.yml",
        "uv.lock",
    }
    assert (cut / ".git").is_dir(), "the post-copy tasks ran"


@pytest.mark.parametrize(
    ("cwd", "template"),
    [(REPO_ROOT, "."), (REPO_ROOT.parent, REPO_ROOT.name)],
    ids=["cookiecutter .", "cookiecutter <checkout> from its parent"],
)
def test_a_relative_template_path_generates_the_project(
    cwd: Path, template: str, tmp_path: Path, cookiecutter_config: Path
) -> None:
    # The hook runs in the new project, where the relative path means nothing.
    answers, env = answers_with_index(MATRIX["defaults"]), same_moment(tmp_path)
    output = tmp_path / "out"
    proc = cookiecutter_copy(output, answers, cookiecutter_config, env, template=template, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-4000:]
    recorded = (output / PROJECT_DIR / ".copier-answers.yml").read_text()
    # `copier update` finds the template where the user named it, as an absolute path.
    assert f"_src_path: {REPO_ROOT}\n" in recorded


def test_a_refused_answer_leaves_nothing_behind(tmp_path: Path, cookiecutter_config: Path) -> None:
    out = tmp_path / "out"
    proc = cookiecutter_copy(out, {"team": "acme/ml"}, cookiecutter_config, same_moment(tmp_path))
    assert proc.returncode != 0
    assert "is not a CODEOWNERS handle: write it as @org/team-name" in proc.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_without_copier_cookiecutter_stops_before_any_question() -> None:
    code = (
        "import sys; sys.modules['copier'] = None; sys.path.append(sys.argv[1]); "
        "import hooks.cookiecutter_filters"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(REPO_ROOT)],
        capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": ""},
    )  # fmt: skip
    assert proc.returncode == 1
    assert "must be installed next to cookiecutter: run `uvx --with copier cookiecutter" in (
        proc.stderr
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("gh:acme/modelrail", "gh:acme/modelrail"),
        ("https://git.example.com/ml/modelrail.git", "https://git.example.com/ml/modelrail.git"),
        ("git@github.com:acme/modelrail.git", "git@github.com:acme/modelrail.git"),
        ("bb:acme/modelrail", "https://bitbucket.org/acme/modelrail"),
        ("../modelrail", "<repo_dir>"),
    ],
)  # fmt: skip
def test_copier_gets_the_source_the_user_named(
    template: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(REPO_ROOT / "hooks"))
    from cookiecutter_copy import source

    monkeypatch.setenv("COOKIECUTTER_CONFIG", str(tmp_path / "none.yml"))
    (tmp_path / "none.yml").write_text("{}\n")
    repo_dir = tmp_path / "clone"
    context = {"_template": template, "_repo_dir": str(repo_dir)}
    assert source(context) == expected.replace("<repo_dir>", str(repo_dir.resolve()))
