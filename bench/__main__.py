"""``python -m bench``: the one command behind ``make bench``."""

from bench.run import main

raise SystemExit(main())
