"""Files derived from copier.yml, so that the questions are written once.

- ``cookiecutter.json``: the cookiecutter entry point's questions (same names, choices,
  help and defaults, the defaults' Jinja rewritten for cookiecutter's context);
- ``docs/questions.md``: the template questions page of the documentation site.

``python -m derived`` rewrites both (``make derived``); ``python -m derived --check`` fails
when either is stale, and tests/test_derived.py runs that check.
"""
