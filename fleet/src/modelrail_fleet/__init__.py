"""``modelrail fleet``: template versions and updates across many generated repositories.

The distribution modelrail-fleet, for platform teams. It runs Copier and git on the
repositories it is given, and reads their conformance reports as data: it shares no code
with the conformance suite.

- ``repos``: git and the answers file of one repository, and the repository lists;
- ``versions``: template versions (git tags, PEP 440) and what a template source offers;
- ``status``: per repository, its version, the latest one, the last conformance result;
- ``update``: per repository, a ``copier update`` committed on a branch of its own;
- ``render``: the results as a Markdown table and as JSON;
- ``cli``: the ``modelrail`` command.
"""
