"""The questions of copier.yml, read once for every file derived from them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, meta

ROOT = Path(__file__).resolve().parents[1]
COPIER_YML = ROOT / "copier.yml"

# The text between Jinja tags of a validator: the messages it can give.
_TAG = re.compile(r"\{%-?.*?-?%\}", re.S)


@dataclass(frozen=True)
class Question:
    """One entry of copier.yml's prompt section."""

    name: str
    type: str
    help: str
    default: Any
    choices: dict[str, Any]
    """Label -> value; empty for a free answer."""
    validator: str
    asked: bool
    """False for computed values (``when: false``): never asked, not in the answers file."""

    @property
    def refusals(self) -> list[str]:
        """The messages the validator gives, in order (Jinja expressions left in place)."""
        return [" ".join(part.split()) for part in _TAG.split(self.validator) if part.strip()]


def variables(expression: str) -> set[str]:
    """The variables a Jinja expression reads, parsed with Copier's filters available."""
    env = Environment(extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"])
    return meta.find_undeclared_variables(env.parse(expression))


def load(path: Path = COPIER_YML) -> tuple[dict[str, Any], list[Question]]:
    """copier.yml's configuration block (``_`` keys) and its questions, in order."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    config = {key: value for key, value in data.items() if key.startswith("_")}
    questions = []
    for name, spec in data.items():
        if name.startswith("_"):
            continue
        choices = spec.get("choices") or {}
        if isinstance(choices, list):
            choices = {str(choice): choice for choice in choices}
        # A choice may be `{value, validator}`: shown disabled when the validator says why;
        # the question's own validator refuses it as an answer too.
        choices = {
            label: value["value"] if isinstance(value, dict) else value
            for label, value in choices.items()
        }
        questions.append(
            Question(
                name=name,
                type=spec.get("type", "str"),
                help=" ".join(str(spec.get("help", "")).split()),
                default=spec.get("default"),
                choices=choices,
                validator=str(spec.get("validator") or ""),
                asked=spec.get("when", True) is not False,
            )
        )
    return config, questions
