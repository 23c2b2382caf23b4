"""Where prediction events land: date-partitioned Parquet files under a directory or URL.

``PREDICTION_LOG_URL`` is any lake location (`modelrail_runtime.lake.location`): a local
directory (the default, ``prediction-logs``), a ``file://`` URL, ``s3://bucket/prefix``
(credentials from the environment, never in the URL) or another scheme pyarrow or fsspec
opens.

Layout: ``<root>/date=YYYY-MM-DD/part-<unix ns>-<random>.parquet``, one file per flush and
day. Local files are written under a hidden temporary name and renamed, so a reader never
sees half a file; object stores make a whole object visible at once anyway. A write given
the same name again replaces the object: a retried write never leaves a duplicate.
`modelrail_runtime.lake.compaction` later merges a day's parts into one file.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from ..lake.location import Location, LocationError, open_location, redacted

__all__ = ["ParquetSink", "SinkError", "part_name", "redacted"]


class SinkError(Exception):
    """The prediction-log destination cannot be opened or written."""


class ParquetSink:
    """Writes Arrow tables as Parquet files under one root, one directory per day."""

    def __init__(self, url: str) -> None:
        self.url = redacted(url)
        """The destination, for messages (a URL with credentials is refused anyway)."""
        try:
            self.location: Location = open_location(url, single_attempt=True)
        except LocationError as exc:
            raise SinkError(str(exc)) from None
        self._local_root = Path(self.location.root) if self.location.local else None
        self._filesystem: Any = self.location.remote
        self._root = self.location.root

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

    def write(self, day: str, table: Any, name: str | None = None) -> str:
        """Write ``table`` as one Parquet file in the ``date=<day>`` partition; its path.

        ``name`` (default: a new `part_name`) is the file's name: writing the same name
        again replaces the file, so a retry after an unclear failure adds no duplicate.
        """
        import pyarrow.parquet as pq  # noqa: PLC0415 - only the writer thread writes

        name = name or part_name()
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


def part_name() -> str:
    """A new part file's name: ``part-<unix ns>-<random>.parquet``."""
    return f"part-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
