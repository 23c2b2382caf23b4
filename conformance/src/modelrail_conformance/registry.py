"""The rule registry: every rule of the contract, with its ID, level and docstring.

Rules are plain functions taking the target. Each rules module exposes a ``RULES`` tuple;
:func:`build_registry` assembles them from an explicit list, so importing a module never
registers anything by side effect.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from modelrail_conformance.config import Hook
from modelrail_conformance.failures import ConfigError

ID_PATTERN = re.compile(r"^(?P<family>[A-Z]{2,4})-(?P<number>\d{3})$")
SECTIONS = ("Why", "Checked by", "Fix")

FAMILIES: dict[str, str] = {
    "HLT": "Health",
    "RDY": "Readiness",
    "MD": "Metadata",
    "INF": "Inference",
    "ERR": "Errors",
    "TXT": "Text",
    "MET": "Metrics",
    "LAT": "Latency",
    "SHD": "Shutdown",
    "LOG": "Logging",
    "SEC": "Security",
    "IMG": "Image",
}


class Level(StrEnum):
    """RFC 2119 level: a MUST violation fails the run, a SHOULD one warns (fails if strict)."""

    MUST = "MUST"
    SHOULD = "SHOULD"


class Profile(StrEnum):
    """Which contract a run checks.

    ``oip``: the Open Inference Protocol v2 REST as its specification states it, for any
    model server; every such rule cites the section it checks. ``modelrail``: the platform
    contract, which is the protocol's rules and the platform's on top (metrics, logs,
    image, shutdown, latency, security, and stricter statuses than the protocol's
    "typically 400").
    """

    OIP = "oip"
    MODELRAIL = "modelrail"


OIP_SPEC_URL = (
    "https://github.com/kserve/open-inference-protocol/blob/main/"
    "specification/protocol/inference_rest.md"
)


@dataclass(frozen=True)
class SpecSection:
    """The section of the Open Inference Protocol's REST text that a rule checks.

    Attributes:
        title: The section's heading, e.g. ``Inference Response JSON Error Object``.
        quote: The sentence of that section the rule enforces, as the specification says it.
    """

    title: str
    quote: str

    @property
    def url(self) -> str:
        """A link to the section (GitHub's heading anchor)."""
        slug = re.sub(r"[^a-z0-9 -]", "", self.title.lower()).replace(" ", "-")
        return f"{OIP_SPEC_URL}#{slug}"


class DuplicateRuleError(ValueError):
    """Two rules were registered under the same ID (IDs are never reused)."""


@dataclass(frozen=True)
class Rule:
    """One rule of the contract.

    Attributes:
        id: ``FAM-NNN``, never reused.
        level: MUST or SHOULD.
        title: A short title for tables.
        check: The function that checks it; its docstring is the rule's documentation.
        needs_container: True if it needs to start, stop or inspect containers; such rules
            are not applicable in base-URL mode.
        spec: The section of the Open Inference Protocol it checks; a rule that cites one
            belongs to the ``oip`` profile, every other rule to ``modelrail`` only.
        hooks: The service hooks it needs (not applicable when one is not declared).
        retired: Retired rules stay in the registry (and the docs) but never run.
    """

    id: str
    level: Level
    title: str
    check: Callable[[Any], None]
    needs_container: bool = False
    spec: SpecSection | None = None
    hooks: tuple[Hook, ...] = ()
    retired: bool = False
    sections: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not ID_PATTERN.match(self.id):
            raise ValueError(f"rule ID {self.id!r} does not have the form FAM-NNN")
        if self.family not in FAMILIES:
            raise ValueError(f"rule {self.id}: unknown family {self.family!r}")
        object.__setattr__(self, "sections", parse_docstring(self.check.__doc__ or ""))

    @property
    def family(self) -> str:
        """The ID prefix, e.g. ``MET``."""
        return self.id.split("-", 1)[0]

    @property
    def profile(self) -> Profile:
        """The narrowest profile the rule belongs to (``oip`` rules are in both)."""
        return Profile.OIP if self.spec is not None else Profile.MODELRAIL

    def in_profile(self, profile: Profile) -> bool:
        """True when a run of ``profile`` checks this rule."""
        return profile is Profile.MODELRAIL or self.profile is Profile.OIP

    @property
    def anchor(self) -> str:
        """The anchor of the rule's section in docs/contract.md."""
        return self.id.lower()

    @property
    def statement(self) -> str:
        """The normative sentence (first paragraph of the docstring)."""
        return self.sections.get("", "")

    @property
    def fix_sentence(self) -> str:
        """The first sentence of the Fix section."""
        fix = " ".join(self.sections.get("Fix", "").split())
        return fix.split(". ")[0].rstrip(".") if fix else ""


def parse_docstring(doc: str) -> dict[str, str]:
    """Split a rule docstring into its statement ("") and its Why / Checked by / Fix sections."""
    lines = _dedent(doc).splitlines()
    sections: dict[str, list[str]] = {"": []}
    current = ""
    for line in lines:
        header = line.strip().rstrip(":")
        if line.strip().endswith(":") and header in SECTIONS and not line.startswith(" "):
            current = header
            sections[current] = []
            continue
        sections[current].append(line.strip())
    return {key: " ".join(" ".join(value).split()) for key, value in sections.items() if any(value)}


def _dedent(doc: str) -> str:
    lines = doc.expandtabs().splitlines()
    if not lines:
        return ""
    rest = [line for line in lines[1:] if line.strip()]
    indent = min((len(line) - len(line.lstrip()) for line in rest), default=0)
    return "\n".join([lines[0].strip(), *(line[indent:] for line in lines[1:])])


class Registry:
    """An ordered, duplicate-free collection of rules."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules: dict[str, Rule] = {}
        for rule in rules:
            if rule.id in self._rules:
                raise DuplicateRuleError(f"rule ID {rule.id} is registered twice")
            self._rules[rule.id] = rule

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    def __getitem__(self, rule_id: str) -> Rule:
        return self._rules[rule_id]

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def active(self, profile: Profile = Profile.MODELRAIL) -> list[Rule]:
        """Rules of ``profile`` that run (not retired), in registry order."""
        return [rule for rule in self if not rule.retired and rule.in_profile(profile)]

    def select(self, spec: str | None, profile: Profile = Profile.MODELRAIL) -> list[Rule]:
        """The active rules of ``profile`` named by a comma list of IDs and families (all
        when empty).

        Raises:
            ConfigError: an item is neither a known rule ID nor a family.
        """
        if not spec or not spec.strip():
            return self.active(profile)
        wanted: set[str] = set()
        for raw in spec.split(","):
            item = raw.strip().upper()
            if not item:
                continue
            if item in self._rules:
                wanted.add(item)
            elif item in FAMILIES:
                wanted.update(r.id for r in self if r.family == item)
            else:
                raise ConfigError(
                    f"--modelrail-rules: {raw.strip()!r} is neither a rule ID nor a family; "
                    f"accepted: a comma list of families ({', '.join(FAMILIES)}) "
                    f"or IDs such as HLT-001"
                )
        return [rule for rule in self.active(profile) if rule.id in wanted]


def build_registry() -> Registry:
    """The registry of every rule, assembled from the rules modules in contract order."""
    from modelrail_conformance.rules import (
        errors,
        health,
        inference,
        latency,
        logging,
        metadata,
        metrics,
        openapi,
        readiness,
        security,
        shutdown,
        text,
    )

    modules = (
        health,
        readiness,
        metadata,
        openapi,
        inference,
        errors,
        text,
        metrics,
        logging,
        security,
        shutdown,
        latency,
    )
    return Registry(rule for module in modules for rule in module.RULES)
