"""modelrail-no-conflict-markers refuses conflict blocks, not look-alike lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrail_hooks import conflict_markers

# Built from pieces so that this file does not trip the hook itself.
OPEN, BASE, MIDDLE, CLOSE = "<" * 7, "|" * 7, "=" * 7, ">" * 7
CONFLICT = f"""\
[tool.modelrail]
{OPEN} before updating
port = 8080
{BASE} last update
port = 8000
{MIDDLE}
port = 9090
{CLOSE} after updating
"""

LOOK_ALIKES = """\
Title
=======

A diff shows `<<<<<<<` and `>>>>>>>` inline, which is fine.
    ======= (indented, outside a conflict)
"""


def test_clean_files_and_setext_headings_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "README.md"
    doc.write_text(LOOK_ALIKES)
    binary = tmp_path / "model.skops"
    binary.write_bytes(b"\0\x01<<<<<<< not text\n")
    assert conflict_markers.main([str(doc), str(binary)]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_each_marker_line_is_reported_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], newline: str
) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(CONFLICT.replace("\n", newline).encode())
    assert conflict_markers.main([str(path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        f"{path}:2",
        f"{path}:4",
        f"{path}:6",
        f"{path}:8",
    ]
    assert all("delete the marker lines), then stage the file" in line for line in lines)
