"""Exceptions raised by rules and by the suite's own configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelrail_conformance.registry import Rule


class ConformanceError(Exception):
    """Base class of every error the suite raises on purpose."""


class ConfigError(ConformanceError):
    """A ``[tool.modelrail]`` table, a waivers file or an option value is invalid.

    The message names the key, the bad value and what is accepted; the plugin turns it into
    a ``pytest.UsageError``.
    """


class TargetError(ConformanceError):
    """The service under test could not be built, started or reached at all."""


class NotApplicable(ConformanceError):  # noqa: N818 - it is a verdict, not an error
    """A rule cannot be checked against this target (e.g. it needs a container).

    Reported as "not applicable", never as a pass.
    """


class Blocked(ConformanceError):  # noqa: N818 - it is a verdict, not an error
    """A rule cannot be checked because another rule's precondition failed.

    E.g. requests derived from the model metadata cannot be made when the metadata has no
    inputs: MD-002 fails once, and each rule that needed it is "blocked by MD-002" instead
    of failing again for the same cause.

    Args:
        by: The ID of the rule that reports the cause.
        reason: What was missing, in a few words.
    """

    def __init__(self, by: str, reason: str) -> None:
        self.by = by
        self.reason = reason
        super().__init__(f"blocked by {by}: {reason}")


class RuleViolation(AssertionError):  # noqa: N818 - reads as the verdict it is
    """A service broke a rule.

    Rule checks raise it with what they sent and what they saw; the runner binds it to the
    rule (ID, level, fix, anchor) before it is reported. ``str()`` gives the fixed message
    order: rule and level, request, received vs expected, fix, anchor, reproduction.

    Args:
        request: What was sent, e.g. ``"GET /metrics"``.
        received: What came back.
        expected: What the contract requires.
        reproduce: A command that reproduces it (usually curl), if there is one.
        fix: A fix specific to this failure; defaults to the rule's Fix section.
        details: Extra text for the report (not part of the one-line message).
    """

    def __init__(
        self,
        request: str,
        received: str,
        expected: str,
        *,
        reproduce: str | None = None,
        fix: str | None = None,
        details: str | None = None,
    ) -> None:
        self.request = request
        self.received = received
        self.expected = expected
        self.reproduce = reproduce
        self.fix = fix
        self.details = details
        self.rule: Rule | None = None
        super().__init__(self.message)

    def bind(self, rule: Rule) -> RuleViolation:
        """Attach the rule this violation belongs to, filling in its fix and anchor."""
        self.rule = rule
        if self.fix is None:
            self.fix = rule.fix_sentence
        self.args = (self.message,)
        return self

    @property
    def message(self) -> str:
        """The one-line report, in the order fixed by the style guide."""
        head = f"[{self.rule.id} {self.rule.level}] " if self.rule else ""
        parts = [f"{head}{self.request}: received {self.received}, expected {self.expected}."]
        if self.fix:
            parts.append(f"Fix: {self.fix.rstrip('.')}.")
        if self.rule:
            parts.append(f"See docs/contract.md#{self.rule.anchor}.")
        if self.reproduce:
            parts.append(f"Reproduce: {self.reproduce}")
        return " ".join(parts)

    def __str__(self) -> str:
        return self.message
