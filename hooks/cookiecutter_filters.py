"""Copier's Jinja filters for cookiecutter, loaded through cookiecutter.json's _extensions.

It also gives the post-generation hook this template's directory as an absolute path
(`TEMPLATE_DIR`, the Jinja global ``modelrail_template_dir``): cookiecutter's ``_repo_dir``
is the path as the user typed it (``.``, ``modelrail``), relative to a directory the hook no
longer runs in.

The defaults in cookiecutter.json are copier.yml's, and they use Copier's filters
(``regex_replace`` and friends), so cookiecutter computes the same defaults Copier would.
Loading this module is also the first thing cookiecutter does with the template, which
makes it the place to stop, before any question, when Copier is not installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

try:
    import copier  # noqa: F401 - only checked for: the post-generation hook runs it
    from jinja2_ansible_filters import AnsibleCoreFiltersExtension
except ImportError as exc:
    raise ImportError(
        f"{exc}. modelrail's cookiecutter entry point hands the answers to Copier, which "
        "must be installed next to cookiecutter: run `uvx --with copier cookiecutter "
        "<template>`, or `pipx inject cookiecutter copier`, or `pip install copier`"
    ) from exc


TEMPLATE_DIR = Path(__file__).resolve().parents[1]
"""Resolved on import, from the working directory cookiecutter imported this module from."""


class CopierFilters(AnsibleCoreFiltersExtension):
    """The filter set Copier adds to every template's Jinja environment."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.globals["modelrail_template_dir"] = str(TEMPLATE_DIR)
