"""``conformance-waivers.toml``: time-boxed, reasoned exceptions to rules.

Format::

    [[waiver]]
    rule = "MET-006"
    reason = "build info lands with the next release"
    expires = 2026-09-30

An expired waiver no longer applies and fails the run until it is renewed or removed.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelrail_conformance.failures import ConfigError


@dataclass(frozen=True)
class Waiver:
    """One waiver: the rule it covers, why, and until when."""

    rule: str
    reason: str
    expires: dt.date

    def expired(self, today: dt.date | None = None) -> bool:
        """True once the expiry date has passed (the expiry day itself still counts)."""
        return (today or dt.date.today()) > self.expires

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for the reports."""
        return {
            "rule": self.rule,
            "reason": self.reason,
            "expires": self.expires.isoformat(),
            "expired": self.expired(),
        }


def load_waivers(path: Path, known_rules: set[str]) -> list[Waiver]:
    """Read and validate a waivers file.

    Raises:
        ConfigError: the file is invalid, names an unknown rule, lacks a reason, or an
            expiry date, or waives a rule twice.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"waivers file {path}: cannot read it as TOML: {exc}") from exc
    unknown = set(data) - {"waiver"}
    if unknown:
        raise ConfigError(
            f"waivers file {path}: unknown top-level key(s) {sorted(unknown)}; "
            f"accepted: [[waiver]] tables"
        )
    waivers: list[Waiver] = []
    for index, entry in enumerate(data.get("waiver", []), start=1):
        where = f"waivers file {path}, waiver #{index}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a [[waiver]] table")
        extra = set(entry) - {"rule", "reason", "expires"}
        if extra:
            raise ConfigError(
                f"{where}: unknown key(s) {sorted(extra)}; accepted: rule, reason, expires"
            )
        rule = entry.get("rule")
        if not isinstance(rule, str) or rule.upper() not in known_rules:
            raise ConfigError(
                f"{where}: rule = {rule!r} is not a rule ID of the contract (e.g. MET-006)"
            )
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{where} ({rule}): reason is missing; say why the rule is waived")
        expires = entry.get("expires")
        if isinstance(expires, dt.datetime):
            expires = expires.date()
        if not isinstance(expires, dt.date):
            raise ConfigError(
                f"{where} ({rule}): expires = {expires!r} is invalid; expected a TOML date "
                f"such as 2026-12-31 (unquoted)"
            )
        if any(w.rule == rule.upper() for w in waivers):
            raise ConfigError(f"{where}: {rule} is waived twice; keep one waiver per rule")
        waivers.append(Waiver(rule=rule.upper(), reason=reason.strip(), expires=expires))
    return waivers
