"""The real S3 store of this repository's tests (tests/servers), for the tests here.

Imported here, not in runtime/tests/conftest.py: the runtime's export tests also run from
runtime/ in an environment of their own, where this repository's tests package is absent.
"""

from tests.servers.fixtures import s3_store  # noqa: F401 - a fixture, by name
