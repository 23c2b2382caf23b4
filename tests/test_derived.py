"""Files derived from copier.yml (cookiecutter.json, docs/questions.md) stay in step."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from derived.__main__ import main
from derived.cookiecutter_json import translate
from derived.copier_questions import load
from tests.helpers import REPO_ROOT

DERIVED = ["copier.yml", "cookiecutter.json", "docs/questions.md"]


def test_derived_files_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 0, capsys.readouterr().err


def test_a_changed_question_makes_both_files_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in DERIVED:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    copier_yml = tmp_path / "copier.yml"
    copier_yml.write_text(copier_yml.read_text().replace("default: 99.9\n", "default: 99.5\n", 1))
    assert main(["--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "stale: cookiecutter.json, docs/questions.md" in err
    assert "run `make derived`" in err
    assert main(["--root", str(tmp_path)]) == 0
    assert main(["--check", "--root", str(tmp_path)]) == 0


def test_cookiecutter_asks_every_copier_question_in_order() -> None:
    import json

    _, questions = load()
    context = json.loads((REPO_ROOT / "cookiecutter.json").read_text())
    asked = [key for key in context if not key.startswith("_")]
    assert asked == ["folder_name"] + [q.name for q in questions if q.asked]


@pytest.mark.parametrize(
    ("default", "expected"),
    [
        ("{{ _folder_name }}", "{{ cookiecutter.folder_name }}"),
        ("{{ team | regex_replace('^@team', '') }}",
         "{{ cookiecutter.team | regex_replace('^@team', '') }}"),
        ("team {{ team.split('/')[0] }}", "team {{ cookiecutter.team.split('/')[0] }}"),
    ],
)  # fmt: skip
def test_defaults_read_earlier_answers_from_the_cookiecutter_context(
    default: str, expected: str
) -> None:
    assert translate(default, {"team"}) == expected


def test_a_default_cookiecutter_cannot_compute_is_refused() -> None:
    with pytest.raises(ValueError, match=r"uses \['_copier_conf'\]: not a question"):
        translate("{{ _copier_conf.dst_path }}", {"team"})
