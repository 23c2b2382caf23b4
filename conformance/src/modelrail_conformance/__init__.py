"""Checks, rule by rule, that a running model service meets the modelrail platform contract.

Public API: the registry, the rule and violation types, and the CLI entry point.
"""

from modelrail_conformance.cli import main
from modelrail_conformance.failures import ConfigError, NotApplicable, RuleViolation
from modelrail_conformance.registry import Level, Registry, Rule, build_registry

__all__ = [
    "ConfigError",
    "Level",
    "NotApplicable",
    "Registry",
    "Rule",
    "RuleViolation",
    "build_registry",
    "main",
]
