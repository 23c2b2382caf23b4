"""Where prediction events land: date-partitioned Parquet files under a directory or URL.

``PREDICTION_LOG_URL`` is a local directory (the default, ``prediction-logs``), a
``file://`` URL, or any URL pyarrow's filesystems open (``s3://``, ``gs://``,
``abfs://``, ``hdfs://``). Other schemes go through fsspec when it is installed
(``pip install fsspec`` plus the scheme's package, e.g. ``adlfs``).

Layout: ``<root>/date=YYYY-MM-DD/part-<unix ns>-<random>.parquet``, one file per flush and
day. Local files are written under a hidden temporary name and renamed, so a reader never
sees half a file; object stores make a whole object visible at once anyway.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

_CREDENTIALS = re.compile(r"(?<=://)[^/@]*@")


class SinkError(Exception):
    """The prediction-log destination cannot be opened or written."""


class ParquetSink:
    """Writes Arrow tables as Parquet files under one root, one directory per day."""

    def __init__(self, url: str) -> None:
        self.url = redacted(url)
        """The destination, for messages (credentials in the URL are masked)."""
        self._local_root: Path | None = None
        self._filesystem: Any = None
        self._root = ""
        local = _local_path(url)
        if local is not None:
            self._local_root = local
        else:
            self._filesystem, self._root = _remote_filesystem(url)

    @classmethod
    def open(cls, url: str) -> ParquetSink:
        """A sink for ``url`` that has just proved it can write there.

        Raises:
            SinkError: the destination cannot be created or written.
        """
        sink = cls(url)
        sink.check_writable()
        return sink

    def check_writable(self) -> None:
        """Create the root and write then delete a probe file in it.

        Raises:
            SinkError: naming the destination and the reason.
        """
        probe = f".write-probe-{uuid.uuid4().hex}"
        try:
            if self._local_root is not None:
                self._local_root.mkdir(parents=True, exist_ok=True)
                path = self._local_root / probe
                path.write_bytes(b"")
                path.unlink()
            else:
                self._filesystem.create_dir(self._root, recursive=True)
                path_text = f"{self._root}/{probe}"
                with self._filesystem.open_output_stream(path_text) as stream:
                    stream.write(b"")
                self._filesystem.delete_file(path_text)
        except Exception as exc:
            reason = redacted(f"{type(exc).__name__}: {exc}")
            raise SinkError(f"{self.url} is not writable: {reason}") from exc

    def write(self, day: str, table: Any) -> str:
        """Write ``table`` as one Parquet file in the ``date=<day>`` partition; its path."""
        import pyarrow.parquet as pq  # noqa: PLC0415 - only the writer thread writes

        name = f"part-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
        if self._local_root is not None:
            directory = self._local_root / f"date={day}"
            directory.mkdir(parents=True, exist_ok=True)
            partial = directory / f".{name}.partial"
            pq.write_table(table, partial)
            final = directory / name
            os.replace(partial, final)
            return str(final)
        directory_text = f"{self._root}/date={day}"
        self._filesystem.create_dir(directory_text, recursive=True)
        path_text = f"{directory_text}/{name}"
        pq.write_table(table, path_text, filesystem=self._filesystem)
        return path_text


def redacted(url: str) -> str:
    """``url`` without the ``user:secret@`` part a URL may carry."""
    return _CREDENTIALS.sub("***@", url)


def _local_path(url: str) -> Path | None:
    if url.startswith("file://"):
        return Path(url.removeprefix("file://"))
    if "://" not in url:
        return Path(url)
    return None


def _remote_filesystem(url: str) -> tuple[Any, str]:
    """pyarrow's filesystem for ``url``, or fsspec's behind pyarrow's adapter."""
    import pyarrow as pa  # noqa: PLC0415 - only for URLs, so start-up stays light by default
    import pyarrow.fs as pafs  # noqa: PLC0415

    shown = redacted(url)
    try:
        filesystem, path = pafs.FileSystem.from_uri(url)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as pyarrow_error:
        try:
            import fsspec  # noqa: PLC0415 - optional: other schemes only
        except ImportError:
            raise SinkError(
                f"{shown}: pyarrow cannot open this URL ({redacted(str(pyarrow_error))}) and "
                "fsspec is not installed to try"
            ) from None
        try:
            fs, path = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise SinkError(f"{shown}: no filesystem for this URL: {redacted(str(exc))}") from None
        return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), str(path).rstrip("/")
    except OSError as exc:
        raise SinkError(f"{shown} cannot be opened: {redacted(str(exc))}") from None
    return filesystem, str(path).rstrip("/")
