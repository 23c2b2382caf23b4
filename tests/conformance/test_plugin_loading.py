"""The plugin does nothing in a pytest session that did not ask for it, and changes no
environment variable in one that did: testcontainers is configured by whoever runs it."""

from __future__ import annotations

import importlib.metadata
import os

import pytest
from modelrail_conformance import cli

TESTCONTAINERS_VARIABLES = ("TESTCONTAINERS_RYUK_DISABLED", "TC_HOST")


def test_the_suite_is_no_pytest11_entry_point() -> None:
    plugins = importlib.metadata.entry_points(group="pytest11")
    assert [ep.value for ep in plugins if ep.value.startswith("modelrail_conformance")] == []


def test_a_session_that_did_not_ask_has_neither_options_nor_side_effects(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in TESTCONTAINERS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(
        "import os\n"
        "def test_environment():\n"
        "    assert os.environ.get('TC_HOST') is None\n"
        "    assert os.environ.get('TESTCONTAINERS_RYUK_DISABLED') is None\n"
    )
    result = pytester.runpytest_subprocess("--help")
    assert "--modelrail-image" not in result.stdout.str()
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_the_suite_leaves_the_environment_as_it_found_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in TESTCONTAINERS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    result = pytester.runpytest(*cli.pytest_args(["--modelrail-rules", "MD-001"]))
    result.stdout.fnmatch_lines(["*no service to check: pass one of --modelrail-image*"])
    assert {name: os.environ.get(name) for name in TESTCONTAINERS_VARIABLES} == dict.fromkeys(
        TESTCONTAINERS_VARIABLES
    )


def test_pytest_loads_it_when_asked_with_p(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("-p", cli.PLUGIN, "--help")
    assert "--modelrail-image" in result.stdout.str()
