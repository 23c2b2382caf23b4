"""Copier's Jinja filters for cookiecutter, loaded through cookiecutter.json's _extensions.

The defaults in cookiecutter.json are copier.yml's, and they use Copier's filters
(``regex_replace`` and friends), so cookiecutter computes the same defaults Copier would.
Loading this module is also the first thing cookiecutter does with the template, which
makes it the place to stop, before any question, when Copier is not installed.
"""

from __future__ import annotations

try:
    import copier  # noqa: F401 - only checked for: the post-generation hook runs it
    from jinja2_ansible_filters import AnsibleCoreFiltersExtension
except ImportError as exc:
    raise ImportError(
        f"{exc}. modelrail's cookiecutter entry point hands the answers to Copier, which "
        "must be installed next to cookiecutter: run `uvx --with copier cookiecutter "
        "<template>`, or `pipx inject cookiecutter copier`, or `pip install copier`"
    ) from exc


class CopierFilters(AnsibleCoreFiltersExtension):
    """The filter set Copier adds to every template's Jinja environment."""
