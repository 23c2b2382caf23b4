"""Checks, rule by rule, that a running model service meets the modelrail platform contract.

Public API: the registry, the rule and violation types, and the CLI entry point.

The names are imported on first use, so that ``modelrail_conformance.config`` (and the
``failures`` it raises) import with the standard library alone: modelrail's pre-commit
hook ``modelrail-config`` validates ``[tool.modelrail]`` with that module at every commit,
and need not load pytest or a Docker client to do so.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelrail_conformance.cli import main
    from modelrail_conformance.failures import ConfigError, NotApplicable, RuleViolation
    from modelrail_conformance.registry import Level, Registry, Rule, build_registry

_HOMES = {
    "main": "modelrail_conformance.cli",
    "ConfigError": "modelrail_conformance.failures",
    "NotApplicable": "modelrail_conformance.failures",
    "RuleViolation": "modelrail_conformance.failures",
    "Level": "modelrail_conformance.registry",
    "Registry": "modelrail_conformance.registry",
    "Rule": "modelrail_conformance.registry",
    "build_registry": "modelrail_conformance.registry",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'modelrail_conformance' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
