"""modelrail-check-config validates [tool.modelrail] with the conformance suite's parser."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from modelrail_hooks import modelrail_config


@pytest.mark.parametrize("answer_id", ["defaults", "py313-proprietary"])
def test_generated_projects_pass(
    generated: dict[str, Path], answer_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert modelrail_config.main([str(generated[answer_id] / "pyproject.toml")]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("tolerance = ", "tolerence = ", "unknown key 'tolerence' in [tool.modelrail]; "
         "did you mean 'tolerance'?"),
        ("port = 8080", "port = 80800", "port = 80800 is out of range; expected between 1 and"),
        ("concurrency = 8", 'concurrency = "8"', "latency.concurrency = '8' is invalid; "
         "expected an integer"),
        ('golden_request = "tests/golden/infer_request.json"', 'golden_request = "nope.json"',
         "golden_request = 'nope.json' points to"),
        ("[tool.modelrail", "[tool.other", "has no [tool.modelrail] table; add one with "
         "at least model_name, golden_request and golden_response (or exclude this file"),
    ],
    ids=["typo", "range", "type", "golden-missing", "no-table"],
)  # fmt: skip
def test_invalid_tables_are_refused_naming_the_file(
    generated: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    expected: str,
) -> None:
    project = tmp_path / "svc"
    shutil.copytree(generated["defaults"], project)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    assert old in text
    pyproject.write_text(text.replace(old, new))
    status = modelrail_config.main([str(pyproject)])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(str(pyproject))
    assert expected in err


def test_other_files_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text("[metadata]\n")
    assert modelrail_config.main([str(tmp_path / "setup.cfg")]) == 0


def test_a_missing_suite_is_named_with_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "modelrail_conformance" else real(name, *a),
    )
    assert modelrail_config.main([str(tmp_path / "pyproject.toml")]) == 2
    err = capsys.readouterr().err
    assert "modelrail-conformance is not installed" in err
    assert "keep ./conformance" in err
