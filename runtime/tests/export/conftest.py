"""The export tests need torch, which the runtime's own environment never has.

They run in a training environment that tests/test_runtime_export.py (at the repository
root) builds with torch's CPU wheel and runs them in, under CI as everywhere: that test
fails when any of these fails. In an environment without torch (the root one, the
runtime's) they are not collected here, and so are neither run twice nor skipped.
"""

from __future__ import annotations

import importlib.util
import os

collect_ignore_glob = [] if importlib.util.find_spec("torch") else ["test_*.py"]

# Nothing is fetched from a model hub: all-MiniLM-L6-v2 comes from its PyPI package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
