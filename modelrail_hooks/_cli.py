"""What every hook shares: reading its file arguments and reporting problems."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path


def parse_files(description: str, argv: Sequence[str] | None) -> list[Path]:
    """The file names pre-commit passes to a hook."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("files", nargs="*", type=Path)
    return list(parser.parse_args(argv).files)


def report(problems: Iterable[str]) -> int:
    """Print each problem on stderr; exit status 1 when there was any."""
    found = 0
    for problem in problems:
        print(problem, file=sys.stderr)
        found += 1
    return 1 if found else 0
