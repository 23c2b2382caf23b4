"""``python -m <package>`` starts the service."""

from .server import main

raise SystemExit(main())
