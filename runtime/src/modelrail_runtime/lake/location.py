"""Where the lake is: one URL turned into a pyarrow filesystem and a root path.

A location is a local directory (``prediction-logs``), a ``file://`` URL, or any URL
pyarrow's filesystems open (``s3://bucket/prefix``, ``gs://``, ``abfs://``, ``hdfs://``).
Other schemes go through fsspec when it is installed (``pip install fsspec`` plus the
scheme's package, e.g. ``adlfs``).

Credentials never travel in the URL: a URL with a ``user:secret@`` part is refused. For
``s3://`` they come from the AWS default chain: ``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY`` (or a mounted credentials file named by
``AWS_SHARED_CREDENTIALS_FILE``), the region from ``AWS_REGION`` and an S3-compatible
store's endpoint from ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CREDENTIALS = re.compile(r"(?<=://)[^/@]*@")
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a credentials file named by "
    "AWS_SHARED_CREDENTIALS_FILE), with AWS_REGION and AWS_ENDPOINT_URL for the store"
)


class LocationError(Exception):
    """A lake URL cannot be used: credentials in it, or no filesystem opens it."""


@dataclass(frozen=True)
class Location:
    """An opened lake URL: the filesystem, the root path in it, and the URL for messages."""

    url: str
    """The URL as given (it never carries credentials: those are refused)."""
    root: str
    """The root directory in `filesystem` (no trailing slash)."""
    local: bool
    """True for a local directory: writes there go through a temporary name and a rename."""
    remote: Any = None
    """The ``pyarrow.fs.FileSystem`` of a URL; None for a local directory."""

    @functools.cached_property
    def filesystem(self) -> Any:
        """A ``pyarrow.fs.FileSystem`` (for a local directory made when first asked for,
        so that a service logging to a directory does not import pyarrow at start-up)."""
        if self.remote is not None:
            return self.remote
        import pyarrow.fs as pafs  # noqa: PLC0415

        return pafs.LocalFileSystem()

    def path(self, *parts: str) -> str:
        """``root/part/...`` in the filesystem."""
        return "/".join((self.root, *parts))


def open_location(url: str, *, single_attempt: bool = False) -> Location:
    """The filesystem and root of ``url``.

    ``single_attempt``: an S3 request that fails fails at once, instead of after the S3
    client's own three attempts (six seconds against a store that is down), for a caller
    that retries on its own schedule (the prediction-log writer).

    Raises:
        LocationError: the URL carries credentials, or no filesystem opens it.
    """
    refuse_credentials(url)
    local = local_path(url)
    if local is not None:
        return Location(url, str(local.absolute()), local=True)
    filesystem, root = remote_filesystem(url)
    if single_attempt:
        filesystem = _without_retries(filesystem)
    return Location(url, root, local=False, remote=filesystem)


def refuse_credentials(url: str) -> None:
    """Raise `LocationError` (showing the URL masked) if ``url`` carries a ``user@`` part.

    Raises:
        LocationError: naming the variables that carry credentials instead.
    """
    if "://" in url and _CREDENTIALS.search(url):
        raise LocationError(
            f"{redacted(url)}: credentials in the URL are refused (they would end up in "
            f"logs and process listings); give them as {CREDENTIAL_VARIABLES}"
        )


def redacted(text: str) -> str:
    """``text`` without the ``user:secret@`` part a URL in it may carry."""
    return _CREDENTIALS.sub("***@", text)


def local_path(url: str) -> Path | None:
    """The directory of a local ``url`` (a path or ``file://``); None for other URLs."""
    if url.startswith("file://"):
        return Path(url.removeprefix("file://"))
    if "://" not in url:
        return Path(url)
    return None


def remote_filesystem(url: str) -> tuple[Any, str]:
    """pyarrow's filesystem for ``url`` and the path in it, or fsspec's behind pyarrow's adapter.

    Raises:
        LocationError: no filesystem opens ``url``.
    """
    import pyarrow as pa  # noqa: PLC0415 - only for URLs, so start-up stays light by default
    import pyarrow.fs as pafs  # noqa: PLC0415

    shown = redacted(url)
    try:
        filesystem, path = pafs.FileSystem.from_uri(url)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as pyarrow_error:
        try:
            import fsspec  # noqa: PLC0415 - optional: other schemes only
        except ImportError:
            raise LocationError(
                f"{shown}: pyarrow cannot open this URL ({redacted(str(pyarrow_error))}) and "
                "fsspec is not installed to try"
            ) from None
        try:
            fs, path = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise LocationError(
                f"{shown}: no filesystem for this URL: {redacted(str(exc))}"
            ) from None
        return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), str(path).rstrip("/")
    except OSError as exc:
        raise LocationError(f"{shown} cannot be opened: {redacted(str(exc))}") from None
    return filesystem, str(path).rstrip("/")


def _without_retries(filesystem: Any) -> Any:
    """An S3 filesystem like ``filesystem`` that tries each request once; others as given."""
    import pyarrow.fs as pafs  # noqa: PLC0415

    if not isinstance(filesystem, pafs.S3FileSystem):
        return filesystem
    # The options `from_uri` resolved (endpoint, region; never the credentials, which the
    # S3 client reads from the environment), as pyarrow pickles them.
    _, (options,) = filesystem.__reduce__()
    return pafs.S3FileSystem(
        **options, retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1)
    )
