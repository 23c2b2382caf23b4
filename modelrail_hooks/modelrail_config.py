"""Validate ``[tool.modelrail]`` with the conformance suite's own parser.

The suite reads the same table before every run; checking it at commit time turns a typo
into a one-line message instead of a failed CI job.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from modelrail_conformance.config import load_config
from modelrail_conformance.failures import ConfigError

from modelrail_hooks._cli import parse_files, report


def problems(files: Sequence[Path]) -> Iterator[str]:
    """One message per ``pyproject.toml`` whose ``[tool.modelrail]`` is missing or invalid."""
    for path in files:
        if path.name != "pyproject.toml":
            continue
        try:
            load_config(path.parent)
        except ConfigError as exc:
            hint = (
                ""
                if "[tool.modelrail] table" not in str(exc)
                else (" (or exclude this file from the modelrail-config hook with `exclude:`)")
            )
            yield f"{exc}{hint}"


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``modelrail-check-config``."""
    return report(problems(parse_files(__doc__.splitlines()[0], argv)))


if __name__ == "__main__":
    raise SystemExit(main())
