"""The champion gate: a candidate version may replace the champion if it is not worse."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class GateRule:
    """Which metric decides, which way is better, and how much worse is still noise."""

    metric: str
    higher_is_better: bool = True
    tolerance: float = 0.0
    """How much worse than the champion the candidate may be and still pass."""


@dataclass(frozen=True)
class Comparison:
    """The verdict on a candidate against the champion, and why."""

    passed: bool
    message: str
    candidate: float
    champion: float | None
    """None when there is no champion yet."""


def compare_metrics(
    rule: GateRule,
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    *,
    candidate_name: str = "candidate",
    champion_name: str = "champion",
) -> Comparison:
    """Gate ``candidate``'s metrics on ``champion``'s (None: no champion yet, which passes).

    Raises:
        KeyError: a side did not record ``rule.metric``; the message names which.
    """
    if rule.metric not in candidate:
        raise KeyError(f"{candidate_name} has no metric {rule.metric!r}")
    value = float(candidate[rule.metric])
    if champion is None:
        return Comparison(
            passed=True,
            message=f"{candidate_name}: {rule.metric} {value:.6g}; no {champion_name} yet, "
            "nothing to compare with: passes",
            candidate=value,
            champion=None,
        )
    if rule.metric not in champion:
        raise KeyError(f"{champion_name} has no metric {rule.metric!r}")
    best = float(champion[rule.metric])
    # How much worse the candidate is, positive when worse, whichever way is better.
    shortfall = best - value if rule.higher_is_better else value - best
    passed = shortfall <= rule.tolerance
    direction = "higher" if rule.higher_is_better else "lower"
    verdict = "passes" if passed else "fails"
    return Comparison(
        passed=passed,
        message=(
            f"{candidate_name}: {rule.metric} {value:.6g} against {champion_name} {best:.6g} "
            f"({direction} is better, tolerance {rule.tolerance:g}): {verdict}"
        ),
        candidate=value,
        champion=best,
    )
