"""Secret-looking values in text: what must never be in a manifest or an image.

The patterns are the shapes of real credentials (key blocks, cloud and forge tokens, JWTs,
passwords in URLs) plus any secret-named setting given a literal value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PATTERNS: dict[str, re.Pattern[str]] = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    "GitLab token": re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:[^/\s@'\"]+@[\w.-]+"),
    # NAME = value, NAME: value, --name=value where NAME says it is a secret. Values that
    # are references ($VAR, ${{ secrets.X }}) or empty do not count.
    "secret-named setting": re.compile(
        r"(?i)\b[\w.-]*(?:passw(?:or)?d|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)"
        r"[\w.-]*[\"']?[ \t]*[:=][ \t]*[\"']?(?![$\"'{]|true\b|false\b|null\b)[^\s\"',}]{8,}"
    ),
}

SECRET_NAME = re.compile(
    r"(?i)passw(?:or)?d|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential"
)
"""An environment variable or setting whose name says it holds a secret."""


def findings(text: str, where: str) -> list[str]:
    """Every secret-looking value in ``text``, as "where: kind: excerpt"."""
    found = []
    for kind, pattern in PATTERNS.items():
        for match in pattern.finditer(text):
            found.append(f"{where}: {kind}: {match.group(0)[:60]!r}")
    return found


def scan(texts: Iterable[tuple[str, str]]) -> list[str]:
    """Findings over several (where, text) pairs."""
    return [finding for where, text in texts for finding in findings(text, where)]
