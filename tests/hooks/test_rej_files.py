"""modelrail-no-rej-files refuses the hunks an update could not apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrail_hooks import rej_files


def test_files_without_rejects_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Makefile").write_text("all:\n")
    (tmp_path / "notes.reject.md").write_text("not a reject file\n")
    assert rej_files.main([str(tmp_path / "Makefile"), str(tmp_path / "notes.reject.md")]) == 0
    assert capsys.readouterr().err == ""


def test_a_rej_file_is_refused_with_its_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rej = tmp_path / "Makefile.rej"
    rej.write_text("--- Makefile\n+++ Makefile\n@@ -1 +1 @@\n-a\n+b\n")
    assert rej_files.main([str(tmp_path / "README.md"), str(rej)]) == 1
    message = capsys.readouterr().err.strip()
    assert message.startswith(f"{rej}: ")
    assert f"apply them to {tmp_path / 'Makefile'} by hand, then delete {rej}" in message
