"""modelrail's pre-commit hooks, for any model-service repository.

Each module is one hook with a ``main(argv) -> int`` entry point (a console script named in
the root ``pyproject.toml`` and exposed in ``.pre-commit-hooks.yaml``). Every problem is
reported on one line that names the file (and line) and says how to fix it.
"""
