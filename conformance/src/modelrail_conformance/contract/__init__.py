"""The packaged contract tests that ``modelrail-conformance`` runs."""
