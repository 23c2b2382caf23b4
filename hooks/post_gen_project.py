"""cookiecutter's post-generation hook: generate the project with Copier.

cookiecutter renders this file with Jinja before running it, which is how the answers
arrive: as JSON in the string below. The work is in hooks/cookiecutter_copy.py.
"""

import json
import sys
from pathlib import Path

CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")
# The template's directory, absolute (hooks/cookiecutter_filters.py): `_repo_dir` may be
# relative to the directory cookiecutter was started in, and this hook runs in the project.
CONTEXT["_repo_dir"] = r"""{{ modelrail_template_dir }}"""

sys.path.insert(0, str(Path(CONTEXT["_repo_dir"]) / "hooks"))
from cookiecutter_copy import main  # noqa: E402 - needs the path above

raise SystemExit(main(CONTEXT, Path.cwd()))
