"""``python -m modelrail_runtime`` serves the model configured by the environment."""

from .server import main

raise SystemExit(main())
