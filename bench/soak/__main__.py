"""``python -m bench.soak``: the one command behind ``make soak``."""

from bench.soak.run import main

raise SystemExit(main())
