"""One test per selected rule of the contract (parametrised by the modelrail plugin)."""

from collections.abc import Callable

from modelrail_conformance.registry import Rule


def test_rule(modelrail_rule: Rule, modelrail_check: Callable[[Rule], None]) -> None:
    modelrail_check(modelrail_rule)
