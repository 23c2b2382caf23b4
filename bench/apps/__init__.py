"""Servers under test that the bench writes itself; each runs in its own venv."""
