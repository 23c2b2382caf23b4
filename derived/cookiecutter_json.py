"""cookiecutter.json from copier.yml.

Cookiecutter asks the same questions, in the same order, with the same help, choices and
defaults; its post-generation hook (hooks/post_gen_project.py) then hands the answers to
Copier, which validates them and renders the project. Two things differ:

- cookiecutter needs the destination folder as an answer (``folder_name``, asked first):
  Copier's ``_folder_name``, from which the project name's default is derived;
- defaults refer to earlier answers as ``cookiecutter.<name>``; the filters they use are
  Copier's own (hooks/cookiecutter_filters.py loads them as a cookiecutter extension).
"""

from __future__ import annotations

import json
import re
from typing import Any

from derived.copier_questions import Question, variables

FOLDER = "folder_name"
FOLDER_DEFAULT = "my-model-service"
FOLDER_PROMPT = "Directory to create (the project name defaults to it)"
EXTENSION = "hooks.cookiecutter_filters.CopierFilters"
# Only the Jinja parts of a default name variables; the text around them is literal.
_BLOCK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def translate(expression: str, names: set[str]) -> str:
    """Rewrite a Copier default for cookiecutter: ``x`` -> ``cookiecutter.x``.

    Raises:
        ValueError: the default refers to something cookiecutter does not have.
    """
    renames = {name: f"cookiecutter.{name}" for name in names} | {
        "_folder_name": f"cookiecutter.{FOLDER}"
    }
    name = re.compile(r"(?<![\w.'\"])(" + "|".join(map(re.escape, renames)) + r")(?![\w'\"])")
    translated = _BLOCK.sub(
        lambda block: name.sub(lambda m: renames[m.group(1)], block.group(0)), expression
    )
    unknown = variables(translated) - {"cookiecutter"}
    if unknown:
        raise ValueError(f"default {expression!r} uses {sorted(unknown)}: not a question")
    return translated


def _default(question: Question, earlier: set[str]) -> Any:
    derived = isinstance(question.default, str) and "{{" in question.default
    if question.choices:
        values = list(question.choices.values())
        if derived:
            # cookiecutter's default is the first choice, and it renders every choice: the
            # expression goes first, and shows again among the values it can give.
            return [translate(question.default, earlier), *values]
        return [question.default] + [value for value in values if value != question.default]
    if question.type == "bool":
        return bool(question.default)
    if question.type in ("int", "float"):
        # A derived number is rendered as text; Copier casts the answer to the type.
        return translate(question.default, earlier) if derived else question.default
    if question.type == "str":
        return translate(str(question.default), earlier)
    raise ValueError(f"{question.name}: type {question.type} has no cookiecutter equivalent")


def render(questions: list[Question]) -> str:
    """The text of cookiecutter.json."""
    context: dict[str, Any] = {FOLDER: FOLDER_DEFAULT}
    prompts: dict[str, Any] = {FOLDER: FOLDER_PROMPT}
    earlier: set[str] = set()
    for question in questions:
        if not question.asked:
            continue  # computed by Copier itself
        context[question.name] = _default(question, earlier)
        labels = {str(value): label for label, value in question.choices.items()}
        if any(label != value for value, label in labels.items()):
            prompts[question.name] = {"__prompt__": question.help, **labels}
        else:
            prompts[question.name] = question.help
        earlier.add(question.name)
    context["__prompts__"] = prompts
    context["_extensions"] = [EXTENSION]
    return json.dumps(context, indent=2, ensure_ascii=False) + "\n"
