"""``modelrail-conformance``: pytest over the packaged contract tests, with the plugin.

Every argument is passed on to pytest, e.g.::

    modelrail-conformance --modelrail-image churn-model:dev
    modelrail-conformance --modelrail-base-url http://127.0.0.1:8080 --modelrail-rules HLT,MET
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

CONTRACT_DIR = Path(__file__).resolve().parent / "contract"
PLUGIN = "modelrail_conformance.plugin"


def pytest_args(argv: list[str]) -> list[str]:
    """The full pytest command line for the given user arguments."""
    return [
        str(CONTRACT_DIR / "test_contract.py"),
        "-c",
        str(CONTRACT_DIR / "pytest.ini"),
        "--rootdir",
        str(CONTRACT_DIR),
        # The plugin is no pytest11 entry point: only this command (or -p) loads it.
        "-p",
        PLUGIN,
        *argv,
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the contract; the exit code is pytest's."""
    return int(pytest.main(pytest_args(list(sys.argv[1:] if argv is None else argv))))


if __name__ == "__main__":
    raise SystemExit(main())
