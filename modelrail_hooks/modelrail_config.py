"""Validate ``[tool.modelrail]`` with the conformance suite's own parser.

The suite reads the same table before every run; checking it at commit time turns a typo
into a one-line message instead of a failed CI job. modelrail-conformance is this hook's
dependency, not the hooks distribution's: its entry in ``.pre-commit-hooks.yaml`` has
pre-commit install it from the same clone (``additional_dependencies: [./conformance]``),
so the parser is the suite's at the hook's revision.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from modelrail_hooks._cli import parse_files, report

SUITE = "modelrail_conformance"
MISSING_SUITE = (
    "modelrail-check-config: modelrail-conformance is not installed; the hook validates "
    "[tool.modelrail] with its parser. Install it alongside the hooks from the same modelrail "
    "revision (`pip install ./conformance` in a modelrail checkout); in pre-commit, a hook "
    "entry that sets its own additional_dependencies must keep ./conformance in them"
)


def problems(files: Sequence[Path]) -> Iterator[str]:
    """One message per ``pyproject.toml`` whose ``[tool.modelrail]`` is missing or invalid."""
    # Imported here, not at the top: without the suite, main() says what to install.
    from modelrail_conformance.config import load_config
    from modelrail_conformance.failures import ConfigError

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
    files = parse_files(__doc__.splitlines()[0], argv)
    if importlib.util.find_spec(SUITE) is None:
        print(MISSING_SUITE, file=sys.stderr)
        return 2
    return report(problems(files))


if __name__ == "__main__":
    raise SystemExit(main())
