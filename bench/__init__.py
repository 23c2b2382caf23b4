"""modelrail's benchmark: the generated service against the floor and the alternatives.

Run it with ``make bench`` (or ``uv run python -m bench --help``). See docs/performance.md.
"""
