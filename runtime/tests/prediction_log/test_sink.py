"""The sink: date-partitioned Parquet under a directory or URL, checked when it is opened."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from modelrail_runtime import Settings
from modelrail_runtime.http.app import create_app
from modelrail_runtime.lake.location import redacted
from modelrail_runtime.prediction_log import ParquetSink, SinkError

TABLE = pa.table({"n": [1, 2, 3]})


def test_a_local_directory_gets_one_file_per_write_in_its_day(tmp_path: Path) -> None:
    sink = ParquetSink.open(str(tmp_path / "logs"))
    first = Path(sink.write("2024-05-01", TABLE))
    second = Path(sink.write("2024-05-01", TABLE))
    assert first.parent == second.parent == tmp_path / "logs" / "date=2024-05-01"
    assert first != second
    assert first.name.startswith("part-")
    assert first.suffix == ".parquet"
    assert [path.name for path in first.parent.iterdir() if path.name.startswith(".")] == []
    assert pq.read_table(tmp_path / "logs").num_rows == 6


def test_a_file_url_is_a_local_directory(tmp_path: Path) -> None:
    sink = ParquetSink.open(f"file://{tmp_path}")
    assert Path(sink.write("2024-05-01", TABLE)).parent == tmp_path / "date=2024-05-01"


def test_other_urls_go_through_pyarrow_filesystems() -> None:
    sink = ParquetSink.open("mock:///lake/predictions")
    written = sink.write("2024-05-01", TABLE)
    assert written.startswith("lake/predictions/date=2024-05-01/part-")
    selector = pafs.FileSelector("lake/predictions", recursive=True)
    files = [info.path for info in sink._filesystem.get_file_info(selector) if info.is_file]
    assert files == [written], "the write probe is removed"
    assert pq.read_table(written, filesystem=sink._filesystem).num_rows == 3


def test_an_unwritable_destination_is_refused_when_opened(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(SinkError, match="is not writable"):
        ParquetSink.open(str(blocker / "logs"))
    settings = dataclasses.replace(Settings(), prediction_log_url=str(blocker / "logs"))
    with pytest.raises(SinkError, match="is not writable"):
        create_app(settings)


def test_an_unknown_scheme_is_refused_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)  # an image without fsspec
    with pytest.raises(SinkError, match=r"pyarrow cannot open this URL .* fsspec is not installed"):
        ParquetSink.open("nosuchscheme://host/predictions")


def test_an_unknown_scheme_is_refused_by_fsspec_too() -> None:
    # fsspec comes with the `onnx` extra (tokenizers -> huggingface-hub) and the test env.
    assert importlib.util.find_spec("fsspec") is not None
    with pytest.raises(SinkError, match="no filesystem for this URL"):
        ParquetSink.open("nosuchscheme://host/predictions")


def test_credentials_in_a_url_never_reach_a_message() -> None:
    with pytest.raises(SinkError) as error:
        ParquetSink.open("nosuchscheme://admin:s3cr3t@host/predictions")
    assert "s3cr3t" not in str(error.value)
    assert "nosuchscheme://***@host/predictions" in str(error.value)
    assert redacted("s3://key:secret@bucket/path") == "s3://***@bucket/path"
    assert redacted("/local/path") == "/local/path"
