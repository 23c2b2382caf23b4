"""Refuse ``*.rej`` files: the hunks ``copier update`` (or ``patch``) could not apply.

A committed ``.rej`` file means a change from the template was silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from modelrail_hooks._cli import parse_files, report


def problems(files: Sequence[Path]) -> Iterator[str]:
    """One message per ``.rej`` file among ``files``."""
    for path in files:
        if path.suffix == ".rej":
            target = path.with_suffix("")
            yield (
                f"{path}: rejected hunks of an update that could not be applied to {target}; "
                f"apply them to {target} by hand, then delete {path}"
            )


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``modelrail-no-rej-files``."""
    return report(problems(parse_files(__doc__.splitlines()[0], argv)))


if __name__ == "__main__":
    raise SystemExit(main())
