"""cookiecutter's post-generation hook: generate the project with Copier.

cookiecutter renders this file with Jinja before running it, which is how the answers
arrive: as JSON in the string below. The work is in hooks/cookiecutter_copy.py.
"""

import json
import sys
from pathlib import Path

CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")

sys.path.insert(0, str(Path(CONTEXT["_repo_dir"]) / "hooks"))
from cookiecutter_copy import main  # noqa: E402 - needs the path above

raise SystemExit(main(CONTEXT, Path.cwd()))
