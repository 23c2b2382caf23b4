"""Rule modules, one per family; each exposes a ``RULES`` tuple."""
